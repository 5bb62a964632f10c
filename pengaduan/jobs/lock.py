"""A named lock that keeps a periodic job (the SLA sweep) to one process at a time, across
the web processes, the worker and the CLI."""
from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, text, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.engine import Engine

from ..database import is_sqlite
from ..models import JobLease, utcnow


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
        with self.engine.begin() as conn:
            conn.execute(update(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder)
                         .values(expires_at=utcnow() + self.ttl))
