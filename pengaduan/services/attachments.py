"""Uploaded files: checked by content, stored outside any static folder under random names.

Files are written before the database rows that point at them; if the unit of work fails,
`discard` removes them again, so no orphan file and no dangling row survives a failure.
"""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from flask import current_app
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from ..errors import InvalidFields, StorageFull
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..i18n import lazy_ngettext
from ..models import Attachment
from ..models.base import FileColumns

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
PDF_TYPE = "application/pdf"
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; a larger image is a decompression bomb here
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
              "image/gif": ".gif", PDF_TYPE: ".pdf"}
OTHER_SPELLINGS = {"image/jpeg": (".jpeg", ".jpe")}


@dataclass
class StoredFile:
    filename: str
    stored_name: str
    content_type: str
    size: int
    sha256: str
    path: Path


def sniff(data: bytes) -> str | None:
    """The real type of a file from its bytes, or None if it is not one we accept.

    Images must decode completely; PDFs must start and end with the PDF markers (they are
    then only ever served as downloads with a fixed type and `nosniff`).
    """
    if data[:1024].find(b"%PDF-") != -1 and b"%%EOF" in data[-2048:]:
        return PDF_TYPE
    try:
        with Image.open(BytesIO(data)) as image:
            kind = image.format
            if image.width * image.height > MAX_PIXELS:
                return None
            image.load()  # decodes every pixel: a renamed executable or a padded script fails
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None
    return IMAGE_TYPES.get(kind)


def upload_dir() -> Path:
    path = Path(current_app.config["PENGADUAN_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def limits() -> tuple[int, int]:
    """(largest file in bytes, most files per submission) from configuration."""
    return (current_app.config["PENGADUAN_MAX_UPLOAD_MB"] * 1024 * 1024,
            current_app.config["PENGADUAN_MAX_ATTACHMENTS"])


def _display_name(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    return "".join(ch for ch in name if ch.isprintable())[:200] or "lampiran"


def named_as_type(name: str, kind: str) -> str:
    """The file name ending with the extension of the type its content was checked to be.
    Whoever saves `foto.html` that is a GIF gets `foto.gif`, which no system opens as a page;
    `foto.jpg.php` becomes `foto.jpg`. A suffix of letters is taken as an extension and
    replaced; anything else (`scan 12.03.2026`) keeps the whole name and gains one."""
    extension = EXTENSIONS[kind]
    endings = (extension, *OTHER_SPELLINGS.get(kind, ()))
    if name.lower().endswith(endings):
        return name
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and suffix.isascii() and suffix.isalpha() and len(suffix) <= 5:
        if stem.lower().endswith(endings):
            return stem
        name = stem
    return name[:200 - len(extension)] + extension


def masked_file_name(attachment) -> str:
    """A name for a file whose uploaded name is not to be shown (the complainant's identity is
    masked): `lampiran-<id>` with the extension of its checked type."""
    return named_as_type(f"lampiran-{attachment.id}", attachment.content_type)


def check_uploads(files, field: str = "attachments") -> list[tuple[str, bytes, str]]:
    """Read and check every upload; raise InvalidFields naming the first bad file."""
    max_bytes, max_count = limits()
    files = [f for f in files if f and getattr(f, "filename", "")]
    if len(files) > max_count:
        raise InvalidFields({field: lazy_ngettext("at most %(num)d file", "at most %(num)d files", max_count)})
    checked = []
    for upload in files:
        name = _display_name(upload.filename)
        data = upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InvalidFields({field: _l("%(name)s is larger than %(mb)d MB", name=name,
                                           mb=max_bytes // (1024 * 1024))})
        if not data:
            raise InvalidFields({field: _l("%(name)s is empty", name=name)})
        kind = sniff(data)
        if kind is None:
            raise InvalidFields({field: _l(
                "%(name)s is not a photo (JPEG, PNG, WebP, GIF) or a PDF document", name=name)})
        checked.append((named_as_type(name, kind), data, kind))
    return checked


NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def store(checked: list[tuple[str, bytes, str]], field: str = "attachments") -> list[StoredFile]:
    """Write checked files under random names; on any error remove what was written.
    A full disk is the user's to know about (StorageFull names the field), not a crash."""
    folder = upload_dir()
    stored: list[StoredFile] = []
    partial: Path | None = None  # a file created but not completely written
    try:
        for name, data, kind in checked:
            stored_name = secrets.token_hex(16) + EXTENSIONS[kind]
            path = folder / stored_name
            with open(path, "xb") as fh:
                partial = path
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            partial = None
            stored.append(StoredFile(name, stored_name, kind, len(data),
                                     hashlib.sha256(data).hexdigest(), path))
    except OSError as exc:
        discard(stored)
        if partial is not None:
            partial.unlink(missing_ok=True)
        if exc.errno in NO_SPACE:
            raise StorageFull({field: _l(
                "The server has no room to store the files right now. Nothing was saved; "
                "please try again later.")}) from exc
        raise
    return stored


@contextmanager
def stored_files(checked: list[tuple[str, bytes, str]], field: str = "attachments"):
    """Store checked files for a unit of work that must commit inside the block; if the
    block fails, the files are removed again (no orphan file survives a failure)."""
    stored = store(checked, field)
    try:
        yield stored
    except BaseException:
        discard(stored)
        raise


def remove_orphans(older_than: timedelta = timedelta(hours=1)) -> int:
    """Remove stored files that no row points at: what a process killed between writing a file
    and committing its row leaves behind. Files younger than `older_than` may belong to a
    request still in flight in another process, so they stay until a later pass."""
    folder = upload_dir()
    cutoff = time.time() - older_than.total_seconds()
    candidates = [p for p in folder.iterdir() if p.is_file() and p.stat().st_mtime <= cutoff]
    removed = 0
    for start in range(0, len(candidates), 500):
        chunk = {p.name: p for p in candidates[start:start + 500]}
        for model in FileColumns.__subclasses__():  # every table that keeps files
            for name in db.session.scalars(select(model.stored_name).where(model.stored_name.in_(chunk))):
                chunk.pop(name, None)
        for path in chunk.values():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def discard(stored: list[StoredFile]) -> None:
    """Remove files whose database rows were not committed."""
    for item in stored:
        item.path.unlink(missing_ok=True)


def attach(complaint, stored: list[StoredFile], *, event=None, public: bool = True) -> list[Attachment]:
    rows = [Attachment(filename=s.filename, stored_name=s.stored_name, content_type=s.content_type,
                       size=s.size, sha256=s.sha256, public=public, event=event) for s in stored]
    complaint.attachments.extend(rows)
    return rows


def attachment_digests(stored: list[StoredFile]) -> dict:
    """What the audit chain records of uploaded files: their digests, never their names."""
    if not stored:
        return {}
    return {"attachments": [{"sha256": s.sha256, "size": s.size, "type": s.content_type}
                            for s in stored]}


def path_of(attachment: Attachment) -> Path:
    return upload_dir() / attachment.stored_name
