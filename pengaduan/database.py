"""Engine tuning and transaction discipline for SQLite and PostgreSQL.

SQLite allows one writer at a time. A transaction that reads and then writes must hold the
write lock from its first statement (BEGIN IMMEDIATE), or a concurrent commit makes its write
fail at once with SQLITE_BUSY. Read-only requests begin DEFERRED so they never wait on writers.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

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


@contextlib.contextmanager
def read_apart():
    """Long read-only work of a `reads_first` request (an export streaming a million rows) in
    a transaction of its own: the request's transaction so far ends first (it changed nothing),
    the block reads in a read-only transaction (SQLite: no write lock held), which ends after
    it, and the next statement begins the write transaction (BEGIN IMMEDIATE on SQLite)."""
    with before_writing():
        token = _write_intent.set(False)
        try:
            yield
            db.session.commit()  # ends the read-only transaction, which changed nothing
        finally:
            _write_intent.reset(token)
