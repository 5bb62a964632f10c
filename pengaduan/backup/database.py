"""The database part of a backup: one consistent copy taken while the service runs, with what
that copy holds read from the copy itself (the audit chain head, the Alembic revision, the rows
of every table, the files the rows point at), and loading such a copy into an empty database.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot (pg_export_snapshot) and reads
the head in it; `pg_dump --snapshot` dumps exactly that snapshot, so the manifest's head is the
dump's. SQLite: the online backup API copies the database in one step (writers go on, in WAL
mode); everything else is read from the copy."""
from __future__ import annotations

import heapq
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ..audit import GENESIS
from ..models import AuditEvent, FileChunk
from ..models.base import FileColumns
from .manifest import DATABASE_FILES as FILES
from .manifest import Refused

PAGE = 1000  # file rows read per query

class Failed(Exception):
    """A backup that could not be taken (nothing is written as complete)."""


@dataclass
class Snapshot:
    kind: str
    file: str  # its name inside the backup
    revision: str | None
    head: tuple[int, str]
    counts: dict[str, int]  # rows per table
    conn: Connection  # sees exactly what the dump holds, while the snapshot is open

    def file_rows(self) -> Iterator[tuple[str, str, int]]:
        """Stored name, SHA-256 and size of every file a row names, in name order, once each,
        read a page at a time (never the whole list in memory)."""
        last = None
        for row in heapq.merge(*(_paged(self.conn, model) for model in FileColumns.__subclasses__())):
            if row != last:
                yield row
            last = row

    def holds_chunks(self, name: str) -> bool:
        """Whether the dump holds the file as rows of file_chunks (database storage)."""
        if "file_chunks" not in self.counts:
            return False
        return self.conn.scalar(select(FileChunk.seq).where(FileChunk.stored_name == name,
                                                            FileChunk.seq == 0)) is not None


def _paged(conn: Connection, model) -> Iterator[tuple[str, str, int]]:
    after = ""
    while True:
        page = conn.execute(select(model.stored_name, model.sha256, model.size)
                            .where(model.stored_name > after)
                            .order_by(model.stored_name).limit(PAGE)).all()
        for row in page:
            yield tuple(row)
        if len(page) < PAGE:
            return
        after = page[-1][0]


def kind(engine: Engine) -> str:
    if engine.dialect.name not in FILES:
        raise Failed(f"backups know PostgreSQL and SQLite, not {engine.dialect.name}")
    return engine.dialect.name


@contextmanager
def dump(engine: Engine, directory: Path) -> Iterator[Snapshot]:
    """Write the database's consistent copy into `directory`; what it holds, read in it, for
    as long as the block runs (PostgreSQL: the snapshot's transaction stays open)."""
    if kind(engine) == "postgresql":
        with _pg_dump(engine, directory) as snapshot:
            yield snapshot
    else:
        with _sqlite_copy(engine, directory) as snapshot:
            yield snapshot


def read(conn: Connection) -> tuple[str | None, tuple[int, str], dict[str, int]]:
    """The revision, the audit head and the rows per table, as `conn` sees them."""
    names = sorted(inspect(conn).get_table_names())
    counts = {name: conn.scalar(select(func.count()).select_from(table(name))) for name in names}
    revision = (conn.scalar(text("SELECT version_num FROM alembic_version"))
                if "alembic_version" in names else None)
    row = conn.execute(select(AuditEvent.seq, AuditEvent.hash)
                       .order_by(AuditEvent.seq.desc()).limit(1)).first()
    return revision, (row.seq, row.hash) if row else (0, GENESIS), counts


def tables(engine: Engine) -> list[str]:
    """The tables the database holds already (a restore target must hold none)."""
    with engine.connect() as conn:
        return sorted(inspect(conn).get_table_names())


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return read(conn)[2]


# --- PostgreSQL -------------------------------------------------------------------------------

def libpq(engine: Engine) -> tuple[str, dict]:
    """A libpq connection URI for pg_dump and pg_restore and their environment: the password
    goes in PGPASSWORD, never on a command line (where `ps` shows it)."""
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # URL.set() takes None for "unchanged": _replace really removes the password.
    plain = url._replace(password=None).set(drivername="postgresql")
    return plain.render_as_string(hide_password=False), env


def run(args: list[str], env: dict) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise Failed(f"{args[0]} is not installed (Debian: apt install postgresql-client)") from None
    if done.returncode != 0:
        raise Failed(f"{args[0]} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


@contextmanager
def _pg_dump(engine: Engine, directory: Path) -> Iterator[Snapshot]:
    target = directory / FILES["postgresql"]
    dsn, env = libpq(engine)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            # The snapshot stays importable while this transaction is open: pg_dump runs
            # inside it, and the reads below see exactly what it dumps.
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            revision, head, rows = read(conn)
            run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                 f"--dbname={dsn}"], env)
            yield Snapshot("postgresql", target.name, revision, head, rows, conn)


def pg_restore(engine: Engine, path: Path) -> None:
    """Load a custom-format dump in one transaction: a failure leaves the database empty.
    Objects are owned by the restoring account (the one DATABASE_URL names)."""
    dsn, env = libpq(engine)
    run(["pg_restore", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         f"--dbname={dsn}", str(path)], env)


# --- SQLite -----------------------------------------------------------------------------------

def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise Failed("only a SQLite database in a file can be backed up and restored")
    return Path(database)


@contextmanager
def _sqlite_copy(engine: Engine, directory: Path) -> Iterator[Snapshot]:
    target = directory / FILES["sqlite"]
    sqlite_copy(sqlite_path(engine), target)
    # The copy, in rollback-journal mode, is read without writing anything next to it.
    reader = create_engine(f"sqlite:///file:{target}?mode=ro&uri=true", poolclass=NullPool)
    try:
        with reader.connect() as conn:
            revision, head, rows = read(conn)
            yield Snapshot("sqlite", target.name, revision, head, rows, conn)
    finally:
        reader.dispose()


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database with the online backup API, in one step: one read transaction,
    so the copy is consistent while other connections go on writing (WAL)."""
    if not source.is_file():
        raise Failed(f"{source}: no such SQLite database")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single file, no -wal beside it
    finally:
        dst.close()
        src.close()


def refuse_unless_empty(engine: Engine) -> None:
    names = tables(engine)
    if names:
        raise Refused([f"the target database is not empty ({len(names)} tables, e.g. "
                       f"{', '.join(names[:3])}): restore only into a new, empty database "
                       "(PostgreSQL: createdb; SQLite: a path with no file), without running "
                       "db upgrade first"])
