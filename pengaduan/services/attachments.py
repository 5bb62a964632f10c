"""Uploaded files: checked by content, stripped of their metadata, stored outside any static
folder under random names.

A photo's EXIF (GPS position, camera owner and serial), a PNG's text chunks and a PDF's author
would tell the handling unit who a masked complainant is, so only a re-encoded copy without
them is ever stored; the original is not kept.

The bytes go to the storage backend PENGADUAN_STORAGE names (`storage`): a local folder,
where files are written before the database rows that point at them and `discard` removes
them again if the unit of work fails, or the database, where they are rows of the same
transaction. Either way no orphan file and no dangling row survives a failure.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .. import storage
from ..errors import InvalidFields, StorageFull
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..i18n import lazy_ngettext
from ..models import Attachment
from ..models.base import FileColumns, utcnow

log = logging.getLogger(__name__)

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
    path: Path | None = None  # where it lies, with local storage


class NotAccepted(Exception):
    """A file refused by its content: `reason` is "type", "encrypted" or "unreadable_pdf"."""

    def __init__(self, reason: str = "type"):
        super().__init__(reason)
        self.reason = reason


def refusal(exc: NotAccepted, name: str):
    """The message telling the sender why the file `name` was refused."""
    if exc.reason == "encrypted":
        return _l("%(name)s is a password-protected PDF. Please send it without a password.",
                  name=name)
    if exc.reason == "unreadable_pdf":
        return _l("%(name)s could not be read as a PDF document. Please save it as a PDF "
                  "again and send it.", name=name)
    return _l("%(name)s is not a photo (JPEG, PNG, WebP, GIF) or a PDF document", name=name)


class OverPixelBudget(Exception):
    """Decoding this image would exceed what one request may decode."""


@dataclass
class Cleaned:
    kind: str
    data: bytes
    pixels: int  # decoded, over all frames


def is_pdf(data: bytes) -> bool:
    return data[:1024].find(b"%PDF-") != -1


def clean(data: bytes, pixel_budget: int | None = None) -> Cleaned:
    """The file re-written without metadata, or NotAccepted: an image that decodes
    completely, or a PDF that pypdf opens and rewrites. An image whose decoded pixels (all
    frames) would exceed `pixel_budget` raises OverPixelBudget before it is decoded."""
    try:
        image = Image.open(BytesIO(data), formats=list(IMAGE_TYPES))
    except UnidentifiedImageError:
        if is_pdf(data):
            return Cleaned(PDF_TYPE, _pdf_without_metadata(data), 0)
        raise NotAccepted() from None
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise NotAccepted() from exc
    try:
        with image:
            kind = IMAGE_TYPES.get(image.format)
            frames = getattr(image, "n_frames", 1)
            if kind is None or image.width * image.height > MAX_PIXELS:
                raise NotAccepted()
            pixels = image.width * image.height * frames
            if pixel_budget is not None and pixels > pixel_budget:
                raise OverPixelBudget()
            return Cleaned(kind, _reencoded(image), pixels)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError) as exc:
        raise NotAccepted() from exc


def sniff(data: bytes) -> str | None:
    """The real type of a file from its bytes, or None if it is not one we accept."""
    try:
        return clean(data).kind
    except NotAccepted:
        return None


KEPT_IMAGE_INFO = ("transparency",)  # the pixels' meaning; everything else in `info` is metadata


def _reencoded(image: Image.Image) -> bytes:
    """The image in its own format, decoded completely (a renamed executable or a padded
    script fails) and saved again with EXIF orientation applied and no EXIF, XMP, ICC
    profile, comment or text chunk. Animations keep their frames, timing and loop."""
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        frame.load()
        upright = ImageOps.exif_transpose(frame)  # a copy; the EXIF goes with `info` below
        upright.info = {key: frame.info[key] for key in KEPT_IMAGE_INFO if key in frame.info}
        frames.append(upright)
        durations.append(frame.info.get("duration", 0))
    options: dict = {"format": image.format}
    if image.format in ("JPEG", "WEBP"):
        options["quality"] = 90
    if len(frames) > 1:
        options.update(save_all=True, append_images=frames[1:], duration=durations)
        if "loop" in image.info:  # without it, the animation plays once
            options["loop"] = image.info["loop"]
    out = BytesIO()
    frames[0].save(out, **options)
    return out.getvalue()


def _pdf_without_metadata(data: bytes) -> bytes:
    """A copy of the PDF without its document information (/Author, /Creator, ...) and
    without the XMP metadata of its catalog and pages, or NotAccepted."""
    try:
        reader = PdfReader(BytesIO(data))
        if reader.is_encrypted:
            raise NotAccepted("encrypted")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None  # no /Info dictionary at all
        for holder in (writer.root_object, *writer.pages):
            holder.pop(NameObject("/Metadata"), None)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = BytesIO()
        writer.write(out)
    except NotAccepted:
        raise
    except Exception as exc:  # pypdf fails on broken files with many kinds of error
        raise NotAccepted("unreadable_pdf") from exc
    return out.getvalue()


def upload_dir() -> Path:
    path = Path(current_app.config["PENGADUAN_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def limits() -> tuple[int, int]:
    """(largest file in bytes, most files per submission) from configuration."""
    return (current_app.config["PENGADUAN_MAX_UPLOAD_MB"] * 1024 * 1024,
            current_app.config["PENGADUAN_MAX_ATTACHMENTS"])


def pixel_limit() -> int:
    """Most pixels one request may decode, over all its images and their frames."""
    return current_app.config["PENGADUAN_MAX_UPLOAD_MEGAPIXELS"] * 1_000_000


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
    """Read, check and strip every upload; raise InvalidFields naming the first bad file.
    What is returned (and then stored and hashed) is the stripped copy, never the original.
    Decoding is slow: call this before the request's write transaction begins."""
    max_bytes, max_count = limits()
    files = [f for f in files if f and getattr(f, "filename", "")]
    if len(files) > max_count:
        raise InvalidFields({field: lazy_ngettext("at most %(num)d file", "at most %(num)d files", max_count)})
    pixel_budget = pixel_limit()
    checked = []
    for upload in files:
        name = _display_name(upload.filename)
        data = upload.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InvalidFields({field: _l("%(name)s is larger than %(mb)d MB", name=name,
                                           mb=max_bytes // (1024 * 1024))})
        if not data:
            raise InvalidFields({field: _l("%(name)s is empty", name=name)})
        try:
            cleaned = clean(data, pixel_budget)
        except NotAccepted as exc:
            raise InvalidFields({field: refusal(exc, name)}) from exc
        except OverPixelBudget as exc:
            raise InvalidFields({field: _l(
                "The photos are too large together: at most %(megapixels)d megapixels per "
                "submission. Please send smaller or fewer photos.",
                megapixels=pixel_limit() // 1_000_000)}) from exc
        pixel_budget -= cleaned.pixels
        checked.append((named_as_type(name, cleaned.kind), cleaned.data, cleaned.kind))
    return checked


NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
PG_DISK_FULL = "53100"  # SQLSTATE disk_full: "could not extend file", "No space left on device"


def database_full(exc: SQLAlchemyError) -> bool:
    """Whether the database refused a write for want of space (PostgreSQL's disk_full,
    SQLite's SQLITE_FULL); other errors of class 53 (memory, connections) are not that."""
    orig = getattr(exc, "orig", None)
    return (getattr(orig, "sqlstate", None) == PG_DISK_FULL
            or getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL)


def _full(field: str) -> StorageFull:
    return StorageFull({field: _l(
        "The server has no room to store the files right now. Nothing was saved; "
        "please try again later.")})


def store(checked: list[tuple[str, bytes, str]], field: str = "attachments") -> list[StoredFile]:
    """Write checked files under random names; on any error remove what was written.
    A full disk (or database) is the user's to know about (StorageFull names the field), not
    a crash. Rows of database storage are written under a savepoint, so a refused write
    leaves the request's transaction usable."""
    backend = storage.current()
    stored: list[StoredFile] = []
    try:
        with db.session.begin_nested() if backend.kind == "database" else nullcontext():
            for name, data, kind in checked:
                stored_name = secrets.token_hex(16) + EXTENSIONS[kind]
                backend.save(stored_name, data)
                path = backend.path(stored_name) if backend.kind == "local" else None
                stored.append(StoredFile(name, stored_name, kind, len(data),
                                         hashlib.sha256(data).hexdigest(), path))
    except OSError as exc:
        discard(stored)
        if exc.errno in NO_SPACE:
            raise _full(field) from exc
        raise
    except SQLAlchemyError as exc:
        if database_full(exc):  # the savepoint took the rows already written
            raise _full(field) from exc
        raise
    return stored


@contextmanager
def stored_files(checked: list[tuple[str, bytes, str]], field: str = "attachments"):
    """Store checked files for the session's unit of work: if the block fails, or the unit of
    work later rolls back instead of committing, the files are removed again (no orphan file
    survives a failure)."""
    stored = store(checked, field)
    storage.current().remove_on_rollback(item.stored_name for item in stored)
    try:
        yield stored
    except BaseException:
        discard(stored)
        raise


def remove_orphans(older_than: timedelta = timedelta(hours=1)) -> int:
    """Remove stored files that no row points at: what a process killed between writing a file
    and committing its row leaves behind (local storage; database storage commits both or
    neither, so only a row deleted without its file would leave one). Files younger than
    `older_than` may belong to a request still in flight in another process, so they stay
    until a later pass. With database storage the removal is part of the caller's unit of work."""
    backend = storage.current()
    candidates = list(backend.stale_names(utcnow() - older_than))
    removed = 0
    for start in range(0, len(candidates), 500):
        chunk = set(candidates[start:start + 500])
        for model in FileColumns.__subclasses__():  # every table that keeps files
            chunk -= set(db.session.scalars(select(model.stored_name).where(model.stored_name.in_(chunk))))
        for name in chunk:
            backend.delete(name)
            removed += 1
    return removed


def discard(stored: list[StoredFile]) -> None:
    """Remove files whose database rows will not be committed. With database storage a
    failed transaction takes them anyway; a refusal the caller commits after (a mail refused
    as invalid) must not keep them."""
    backend = storage.current()
    try:
        for item in stored:
            backend.delete(item.stored_name)
    except SQLAlchemyError:  # the session's transaction failed: it cannot commit its rows now
        log.debug("stored files left to the rollback of a failed transaction", exc_info=True)


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


def chunks_of(item) -> Iterator[bytes]:
    """The stored bytes of a file row (any FileColumns), piece by piece."""
    return storage.holding(item.stored_name).chunks(item.stored_name)
