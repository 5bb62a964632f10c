"""Files as rows of the database (PENGADUAN_STORAGE=database), so that every web node serves
every file: each file is cut into pieces of CHUNK bytes, one `file_chunks` row each.

The rows are written in the session's own transaction, beside the row that points at them: a
rollback takes both, and no file can outlive a failed request. They are read back one piece
per query, each on a connection taken from the pool only for that query (a read-only
transaction), so a download never holds a whole file in memory, nor a connection or a
transaction while a slow client reads. Reads see committed files only.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Engine

from ..database import read_only
from ..extensions import db
from ..models import FileChunk
from ..models.base import utcnow

CHUNK = 256 * 1024  # bytes per row: small enough for any driver, few rows per photo
PAGE = 1000  # names read per query when listing


class DatabaseStorage:
    kind = "database"

    def save(self, name: str, data: bytes) -> None:
        """Insert the file's rows in the session's transaction, one row at a time (the file is
        never copied whole again)."""
        now = utcnow()
        view = memoryview(data)
        for seq, start in enumerate(range(0, max(len(data), 1), CHUNK)):
            db.session.execute(insert(FileChunk).values(
                stored_name=name, seq=seq, data=bytes(view[start:start + CHUNK]), created_at=now))

    def write(self, name: str, chunks: Iterable[bytes]) -> None:
        """Insert the file from pieces of any size, one row in memory at a time, replacing
        any rows of that name (an interrupted move's)."""
        self.delete(name)
        now, seq, buffer = utcnow(), 0, bytearray()

        def put(data: bytes) -> None:
            nonlocal seq
            db.session.execute(insert(FileChunk).values(stored_name=name, seq=seq, data=data,
                                                        created_at=now))
            seq += 1

        for piece in chunks:
            buffer += piece
            while len(buffer) >= CHUNK:
                put(bytes(buffer[:CHUNK]))
                del buffer[:CHUNK]
        if buffer or seq == 0:
            put(bytes(buffer))

    def chunks(self, name: str) -> Iterator[bytes]:
        """The file's rows in order, each read by its own small query when it is wanted;
        FileNotFoundError now if there is no such file (committed)."""
        engine = db.engine
        with read_only(), engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(FileChunk)
                                .where(FileChunk.stored_name == name))
        if not count:
            raise FileNotFoundError(f"no stored file {name!r}")
        return _pieces(engine, name, count)

    def has(self, name: str) -> bool:
        """Whether a committed file of that name exists."""
        with read_only(), db.engine.connect() as conn:
            return conn.scalar(select(FileChunk.seq).where(FileChunk.stored_name == name,
                                                           FileChunk.seq == 0)) is not None

    def delete(self, name: str) -> None:
        """Delete the file's rows in the session's transaction."""
        db.session.execute(delete(FileChunk).where(FileChunk.stored_name == name))

    def names(self) -> Iterator[str]:
        """Every stored file's name, in order."""
        return self._names()

    def stale_names(self, cutoff: datetime) -> Iterator[str]:
        """Files stored at or before `cutoff`."""
        return self._names(FileChunk.created_at <= cutoff)

    def remove_on_rollback(self, names: Iterable[str]) -> None:
        """Nothing to do: the rows go with the transaction."""

    def _names(self, *conditions) -> Iterator[str]:
        after = ""
        while True:
            page = db.session.scalars(
                select(FileChunk.stored_name)
                .where(FileChunk.seq == 0, FileChunk.stored_name > after, *conditions)
                .order_by(FileChunk.stored_name).limit(PAGE)).all()
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1]


def _pieces(engine: Engine, name: str, count: int) -> Iterator[bytes]:
    query = select(FileChunk.data).where(FileChunk.stored_name == name)
    for seq in range(count):
        with read_only(), engine.connect() as conn:  # SQLite: no write lock for a read
            data = conn.scalar(query.where(FileChunk.seq == seq))
        if data is None:  # deleted (moved) while it was being read: never hand on half a file silently
            raise FileNotFoundError(f"stored file {name!r} lost piece {seq} while being read")
        yield bytes(data)
