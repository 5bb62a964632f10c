"""`backup create`: one consistent backup of a running service (design.md section 7).

Order matters. The database is copied first, in one snapshot; then the files its rows name
are copied. A file is written before the row that points at it is committed, so every row of
the snapshot already has its file; files of rows committed later are simply not in the backup,
like the rows. Each file is taken from the upload folder when it is there, else it must be in
the dump's file_chunks (whatever PENGADUAN_STORAGE says now: a `storage move` may be under way).
Everything is written into DIR.partial, the manifest last, and only the complete backup is
renamed to DIR: a folder of that name is always a whole backup."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from .. import storage
from ..audit.chain import iso_utc
from ..extensions import db
from ..models import record_run, utcnow
from ..version import __version__
from . import database, instance, manifest

log = logging.getLogger(__name__)


@dataclass
class Created:
    directory: Path
    snapshot: database.Snapshot
    storage: str
    files: int  # attachment files copied
    size: int  # bytes in the backup
    secrets: dict
    warnings: list[str] = field(default_factory=list)


def partial_folder(directory: Path) -> Path:
    """Where a backup is written until it is complete: beside its folder, named `DIR.partial`."""
    return directory.with_name(directory.name + ".partial")


def _prepare(directory: Path) -> Path:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise database.Failed(f"{directory}: exists and is not an empty folder (each backup "
                              "goes into a new one, e.g. named after the date and time)")
    partial = partial_folder(directory)
    if partial.exists():
        raise database.Failed(f"{partial}: exists: a backup into {directory} is being written, "
                              "or one was interrupted (then delete it)")
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial.mkdir(mode=0o700)
    os.chmod(partial, 0o700)  # it holds every complainant's personal data
    return partial


def _copy_file(folder: Path, name: str, backend) -> tuple[str, int]:
    """Copy one file from the upload folder; its SHA-256 and size."""
    target = folder / name
    sha, size = hashlib.sha256(), 0
    try:
        with open(target, "xb") as fh:
            for piece in backend.chunks(name):
                sha.update(piece)
                size += len(piece)
                fh.write(piece)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return sha.hexdigest(), size


def _copy_files(directory: Path, snapshot: database.Snapshot, writer: manifest.Writer) -> tuple[int, int, list[str]]:
    """Every file a row of the snapshot names: copied from the upload folder when it is there
    (whatever PENGADUAN_STORAGE says now: a move may be under way), else found in the dump's
    file_chunks, else missing. (files named, files copied, warnings)"""
    local = storage.backend("local")
    folder = directory / "files"
    named = copied = 0
    warnings: list[str] = []
    for name, expected, _size in snapshot.file_rows():
        named += 1
        if local.has(name):
            folder.mkdir(exist_ok=True)
            try:
                sha, size = _copy_file(folder, name, local)
            except FileNotFoundError:  # moved into the database meanwhile
                sha = None
            if sha is not None:
                if sha != expected:
                    warnings.append(f"files/{name}: its SHA-256 differs from its row's (copied as it is)")
                writer.add(f"files/{name}", sha, size)
                copied += 1
                continue
        if not snapshot.holds_chunks(name):
            warnings.append(f"files/{name}: a row names it but neither the upload folder nor the "
                            "database holds it (not in the backup)")
    return named, copied, warnings


def create(directory: Path) -> Created:
    """Write a complete backup into `directory` (new or empty) and record the run (JobRun
    "backup"): ok when nothing is missing from it."""
    started = utcnow()
    ok = False
    try:
        created = _create(directory, started)
        ok = not created.warnings
        return created
    finally:
        try:
            record_run(db.engine, "backup", started, utcnow(), ok)
        except SQLAlchemyError:  # the database is down: the backup's own error says more
            log.exception("backup: the run could not be recorded")


def _create(directory: Path, started: datetime) -> Created:
    partial = _prepare(directory)
    try:
        created = _write(partial, started)
        os.replace(partial, directory)  # complete: only now under its name
        manifest.sync_folder(directory.parent)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # no half backup left lying about
        raise
    created.directory = directory
    return created


def _write(directory: Path, started: datetime) -> Created:
    backend = storage.current()
    db.session.remove()  # the command's session holds no transaction during the copy
    writer = manifest.Writer(directory)
    try:
        with database.dump(db.engine, directory) as snapshot:
            writer.add_file(snapshot.file)
            named, copied, warnings = _copy_files(directory, snapshot, writer)
        secrets = instance.back_up(directory)
        for name in (instance.SECRET_KEY, instance.SIGNING_KEY):
            if (directory / name).is_file():
                writer.add_file(name)
        seq, head = snapshot.head
        writer.finish({
            "format": manifest.FORMAT,
            "version": manifest.VERSION,
            "app_version": __version__,
            "created_at": iso_utc(utcnow()),
            "started_at": iso_utc(started),
            "database": {"kind": snapshot.kind, "file": snapshot.file,
                         "alembic_revision": snapshot.revision, "rows": snapshot.counts},
            "audit_head": {"seq": seq, "hash": head},
            "storage": backend.kind,
            "attachments": named,
            "secrets": secrets,
            "problems": warnings,
        })
    finally:
        writer.close()
    snapshot.conn = None  # closed with the snapshot
    return Created(directory, snapshot, backend.kind, copied, writer.size, secrets, warnings)
