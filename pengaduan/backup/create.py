"""`backup create`: one consistent backup of a running service (design.md section 7).

Order matters. The database is copied first, in one snapshot; then the files its rows name
are copied. A file is written before the row that points at it is committed, so every row of
the snapshot already has its file; files of rows committed later are simply not in the backup,
like the rows. The manifest is written last: a directory without one is not a backup."""
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


def _prepare(directory: Path) -> None:
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise database.Failed(f"{directory}: exists and is not an empty folder (each backup "
                              "goes into a new one, e.g. named after the date and time)")
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)  # it holds every complainant's personal data


def _copy_files(directory: Path, rows: list, backend) -> tuple[dict, list[str]]:
    """Copy the files the snapshot's rows name; each checked against its row's SHA-256."""
    listed, warnings = {}, []
    folder = directory / "files"
    folder.mkdir()
    for name, expected, _size in rows:
        target = folder / name
        sha, size = hashlib.sha256(), 0
        try:
            with open(target, "xb") as fh:
                for piece in backend.chunks(name):
                    sha.update(piece)
                    size += len(piece)
                    fh.write(piece)
        except FileNotFoundError:
            target.unlink(missing_ok=True)
            warnings.append(f"files/{name}: a row names it but the upload folder has no such "
                            "file (not in the backup)")
            continue
        if sha.hexdigest() != expected:
            warnings.append(f"files/{name}: its SHA-256 differs from its row's (copied as it is)")
        listed[f"files/{name}"] = {"sha256": sha.hexdigest(), "size": size}
    return listed, warnings


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
    _prepare(directory)
    try:
        return _write(directory, started)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)  # no half backup left lying about
        raise


def _write(directory: Path, started: datetime) -> Created:
    backend = storage.current()
    db.session.remove()  # the command's session holds no transaction during the copy
    snapshot = database.dump(db.engine, directory)
    files: dict = {snapshot.file: dict(zip(("sha256", "size"), manifest.digest(directory / snapshot.file)))}
    copied: dict = {}
    warnings: list[str] = []
    if backend.kind == "local":  # in the database storage, the files are in the dump
        copied, warnings = _copy_files(directory, snapshot.files, backend)
        files.update(copied)
    secrets = instance.back_up(directory)
    for name in (instance.SECRET_KEY, instance.SIGNING_KEY):
        if (directory / name).is_file():
            sha, size = manifest.digest(directory / name)
            files[name] = {"sha256": sha, "size": size}
    seq, head = snapshot.head
    manifest.write(directory, {
        "format": manifest.FORMAT,
        "version": manifest.VERSION,
        "app_version": __version__,
        "created_at": iso_utc(utcnow()),
        "started_at": iso_utc(started),
        "database": {"kind": snapshot.kind, "file": snapshot.file,
                     "alembic_revision": snapshot.revision, "rows": snapshot.counts},
        "audit_head": {"seq": seq, "hash": head},
        "storage": backend.kind,
        "attachments": len(snapshot.files),
        "secrets": secrets,
        "problems": warnings,
        "files": files,
    })
    return Created(directory, snapshot, backend.kind, len(copied),
                   sum(f["size"] for f in files.values()), secrets, warnings)
