"""Serving a stored upload: only ever as the type its content was checked to be."""
from __future__ import annotations

from flask import send_file

from ..services.attachments import named_as_type, path_of


def send_stored(item, download_name: str | None = None):
    """An image shown inline, a PDF as a download; never sniffed, never cached, and named
    with its checked type's extension (rows stored before names were corrected, too)."""
    name = named_as_type(download_name or item.filename, item.content_type)
    response = send_file(path_of(item), mimetype=item.content_type, download_name=name,
                         as_attachment=not item.content_type.startswith("image/"))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
