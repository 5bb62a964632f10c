"""Serving a stored upload: only ever as the type its content was checked to be."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

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


def attachment_header(name: str) -> str:
    """Content-Disposition for a download named `name` (a unit code may be in any script):
    headers are Latin-1, so an ASCII `filename` for old clients and, when the name is not
    plain ASCII, the exact name as RFC 5987 `filename*`."""
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r'["\\\x00-\x1f\x7f]', "", fallback)
    header = f'attachment; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header
