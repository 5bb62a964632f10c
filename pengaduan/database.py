"""Engine tuning and transaction discipline for SQLite and PostgreSQL.

SQLite allows one writer at a time. A transaction that reads and then writes must hold the
write lock from its first statement (BEGIN IMMEDIATE), or a concurrent commit makes its write
fail at once with SQLITE_BUSY. Read-only requests begin DEFERRED so they never wait on writers.
"""
from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, request
from sqlalchemy import event, or_, text, update
from sqlalchemy.engine import Engine

from .models.base import utcnow

log = logging.getLogger(__name__)

# True unless the current request is known to be read-only (GET/HEAD/OPTIONS).
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=True)

READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def configure_engine(engine: Engine) -> None:
    """Attach per-connection settings to the app's engine."""
    if not is_sqlite(engine):
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn, _record):
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal" and engine.url.database not in (None, "", ":memory:"):
            log.warning("SQLite refused WAL journal mode (got %s); concurrency will suffer", mode)
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def init_app(app: Flask) -> None:
    """Mark read-only requests so SQLite begins them DEFERRED."""

    @app.before_request
    def _mark_read_only():
        view = app.view_functions.get(request.endpoint)
        if request.method in READ_ONLY_METHODS or getattr(view, "reads_first", False):
            _write_intent.set(False)

    @app.teardown_request
    def _reset(_exc):
        _write_intent.set(True)


@contextlib.contextmanager
def writing():
    """Run a block as a writing unit of work even inside a read-only request (SQLite then
    takes the write lock at BEGIN, waiting for it, instead of failing when it upgrades)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def reads_first(view):
    """Mark a view that reads, then does slow work (decoding uploads) in `before_writing`, and
    only then writes: its request begins its transactions DEFERRED, holding no write lock."""
    view.reads_first = True
    return view


@contextlib.contextmanager
def before_writing():
    """Slow work of a `reads_first` request, outside any transaction: the read-only one begun
    so far ends first (it changed nothing), and after the block the next statement begins the
    write transaction (BEGIN IMMEDIATE on SQLite), so other writers never wait on the work."""
    from .extensions import db

    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("the request changed rows before its slow work; they would be committed")
    db.session.commit()  # ends the read-only transaction; there is nothing to write
    try:
        yield
    finally:
        _write_intent.set(True)


@contextlib.contextmanager
def read_only():
    """Run a block as a read-only unit of work (used by long exports and checks)."""
    token = _write_intent.set(False)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def exclusive(engine: Engine, name: str, ttl: timedelta = timedelta(minutes=10)):
    """Hold a named job lock for the duration of the block; yields whether it was obtained.

    PostgreSQL: a session-level advisory lock on a connection of its own, released by the
    server if this process dies. SQLite: a lease row taken with a conditional UPDATE, which
    another process may take over once `ttl` has passed without `renew`.
    Use it outside any open transaction of the caller's session.
    """
    if not is_sqlite(engine):
        key = _lock_key(name)
        with engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield Lease(engine, name, None, ttl, got)
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    from sqlalchemy.dialects.sqlite import insert

    from .models import JobLease

    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    lease = Lease(engine, name, holder, ttl, False)
    with engine.begin() as conn:
        conn.execute(insert(JobLease).values(name=name).on_conflict_do_nothing())
        now = utcnow()
        lease.held = conn.execute(update(JobLease).where(
            JobLease.name == name, or_(JobLease.expires_at.is_(None), JobLease.expires_at < now),
        ).values(holder=holder, expires_at=now + ttl)).rowcount == 1
    try:
        yield lease
    finally:
        if lease.held:
            with engine.begin() as conn:
                conn.execute(update(JobLease).where(JobLease.name == name, JobLease.holder == holder)
                             .values(holder=None, expires_at=None))


@dataclass
class Lease:
    engine: Engine
    name: str
    holder: str | None
    ttl: timedelta
    held: bool

    def __bool__(self) -> bool:
        return self.held

    def renew(self) -> None:
        """Extend a SQLite lease during long work (advisory locks need no renewal)."""
        if self.holder is None or not self.held:
            return
        from .models import JobLease

        with self.engine.begin() as conn:
            conn.execute(update(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder)
                         .values(expires_at=utcnow() + self.ttl))
