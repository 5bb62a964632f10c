"""Serving a stored upload: only ever as the type its content was checked to be."""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import send_file

from .. import storage
from ..services.attachments import named_as_type


class _ChunkReader:
    """A file-like view of a stored file's pieces for send_file, which reads it in small
    blocks as the client takes them: one piece in memory at a time (no `fileno`, so no
    server tries sendfile on it)."""

    def __init__(self, chunks):
        self._chunks, self._piece, self._at = chunks, b"", 0

    def read(self, size: int = -1) -> bytes:
        if self._at >= len(self._piece):
            self._piece, self._at = next(self._chunks, b""), 0
        end = len(self._piece) if size < 0 else self._at + size
        taken = self._piece[self._at:end]
        self._at += len(taken)
        return taken

    def close(self) -> None:
        getattr(self._chunks, "close", lambda: None)()


def send_stored(item, download_name: str | None = None):
    """An image shown inline, a PDF as a download; never sniffed, never cached, and named
    with its checked type's extension (rows stored before names were corrected, too).
    A file kept in the database is streamed piece by piece, its length known from its row."""
    name = named_as_type(download_name or item.filename, item.content_type)
    backend = storage.holding(item.stored_name)
    as_attachment = not item.content_type.startswith("image/")
    if backend.kind == "local":
        response = send_file(backend.path(item.stored_name), mimetype=item.content_type,
                             download_name=name, as_attachment=as_attachment)
    else:
        response = send_file(_ChunkReader(backend.chunks(item.stored_name)),
                             mimetype=item.content_type, download_name=name,
                             as_attachment=as_attachment, conditional=False, etag=False)
        response.content_length = item.size
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
