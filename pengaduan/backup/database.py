"""The database part of a backup: one consistent copy taken while the service runs, with what
that copy holds read from the copy itself (the audit chain head, the Alembic revision, the rows
of every table, the files the rows point at), and loading such a copy into an empty database.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot (pg_export_snapshot) and reads
the head in it; `pg_dump --snapshot` dumps exactly that snapshot, so the manifest's head is the
dump's. SQLite: the online backup API copies the database in one step (writers go on, in WAL
mode); everything else is read from the copy."""
from __future__ import annotations

import os
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ..audit import GENESIS
from ..models import AuditEvent
from ..models.base import FileColumns
from .manifest import DATABASE_FILES as FILES
from .manifest import Refused



class Failed(Exception):
    """A backup that could not be taken (nothing is written as complete)."""


@dataclass
class Snapshot:
    kind: str
    file: str  # its name inside the backup
    revision: str | None
    head: tuple[int, str]
    counts: dict[str, int]  # rows per table
    files: list[tuple[str, str, int]]  # stored name, SHA-256 and size of every file a row names


def kind(engine: Engine) -> str:
    if engine.dialect.name not in FILES:
        raise Failed(f"backups know PostgreSQL and SQLite, not {engine.dialect.name}")
    return engine.dialect.name


def dump(engine: Engine, directory: Path) -> Snapshot:
    """Write the database's consistent copy into `directory`; what it holds, read in it."""
    if kind(engine) == "postgresql":
        return _pg_dump(engine, directory)
    return _sqlite_copy(engine, directory)


def read(conn: Connection) -> tuple[str | None, tuple[int, str], dict[str, int], list]:
    """The revision, the audit head, the rows per table and the stored files, as `conn` sees them."""
    names = sorted(inspect(conn).get_table_names())
    counts = {name: conn.scalar(select(func.count()).select_from(table(name))) for name in names}
    revision = (conn.scalar(text("SELECT version_num FROM alembic_version"))
                if "alembic_version" in names else None)
    row = conn.execute(select(AuditEvent.seq, AuditEvent.hash)
                       .order_by(AuditEvent.seq.desc()).limit(1)).first()
    files = sorted({(r.stored_name, r.sha256, r.size)
                    for model in FileColumns.__subclasses__()  # every table that keeps files
                    for r in conn.execute(select(model.stored_name, model.sha256, model.size))})
    return revision, (row.seq, row.hash) if row else (0, GENESIS), counts, files


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


def _pg_dump(engine: Engine, directory: Path) -> Snapshot:
    target = directory / FILES["postgresql"]
    dsn, env = libpq(engine)
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.execute(text("SET TRANSACTION READ ONLY"))
            # The snapshot stays importable while this transaction is open: pg_dump runs
            # inside it, and the reads below see exactly what it dumps.
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            revision, head, rows, files = read(conn)
            run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", f"--file={target}",
                 f"--dbname={dsn}"], env)
    return Snapshot("postgresql", target.name, revision, head, rows, files)


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


def _sqlite_copy(engine: Engine, directory: Path) -> Snapshot:
    target = directory / FILES["sqlite"]
    sqlite_copy(sqlite_path(engine), target)
    # The copy, in rollback-journal mode, is read without writing anything next to it.
    reader = create_engine(f"sqlite:///file:{target}?mode=ro&uri=true", poolclass=NullPool)
    try:
        with reader.connect() as conn:
            revision, head, rows, files = read(conn)
    finally:
        reader.dispose()
    return Snapshot("sqlite", target.name, revision, head, rows, files)


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
