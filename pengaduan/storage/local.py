"""Files in a folder of this machine (PENGADUAN_STORAGE=local): PENGADUAN_UPLOAD_DIR, outside
any static folder. Each is written once under its random name and made durable (fsync)
before the row that points at it is committed; if the transaction rolls back instead, the
unit of work removes the file again."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

from ..extensions import db
from ..unit_of_work import UnitOfWork

CHUNK = 256 * 1024  # what one read hands on, as the database backend's rows


class LocalStorage:
    kind = "local"

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / name

    def save(self, name: str, data: bytes) -> None:
        """Create the file (never over another) and make it durable; a file left half
        written by an error is removed before the error is raised."""
        path = self.path(name)
        with open(path, "xb") as fh:
            try:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            except BaseException:
                path.unlink(missing_ok=True)
                raise

    def write(self, name: str, chunks: Iterable[bytes]) -> None:
        """Write the file from pieces, replacing any copy of it (an interrupted move's):
        written aside and renamed, so the name never holds half a file."""
        path = self.path(name)
        partial = path.with_name(path.name + ".part")
        try:
            with open(partial, "wb") as fh:
                for piece in chunks:
                    fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        sync_folder(self.folder)

    def chunks(self, name: str) -> Iterator[bytes]:
        """The file's bytes, CHUNK at a time; FileNotFoundError now if there is none."""
        return _pieces(open(self.folder / name, "rb"))

    def has(self, name: str) -> bool:
        return (self.folder / name).is_file()

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def names(self) -> Iterator[str]:
        """Every file in the folder."""
        if self.folder.is_dir():
            for entry in os.scandir(self.folder):
                if entry.is_file():
                    yield entry.name

    def stale_names(self, cutoff: datetime) -> Iterator[str]:
        """Files last written at or before `cutoff`."""
        limit = cutoff.timestamp()
        if self.folder.is_dir():
            for entry in os.scandir(self.folder):
                if entry.is_file() and entry.stat().st_mtime <= limit:
                    yield entry.name

    def remove_on_rollback(self, names: Iterable[str]) -> None:
        """A file outlives a rolled-back transaction unless it is removed: the unit of work
        removes these if the session's transaction rolls back."""
        UnitOfWork.of(db.session).discard_on_failure(self.folder / name for name in names)


def _pieces(fh) -> Iterator[bytes]:
    with fh:
        while piece := fh.read(CHUNK):
            yield piece


def sync_folder(folder: Path) -> None:
    """Make a rename durable: the folder's entry is what a crash would otherwise lose."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
