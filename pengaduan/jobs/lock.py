"""Locks that keep scheduled work to one process: `Leadership`, held by the one process that
runs the scheduler for as long as it lives, and `exclusive`, a named lock around one job run
(the SLA sweep, the statistics refresh, the mailbox) across the web processes, the worker and
the CLI, a second line of defence for the moment two schedulers may overlap."""
from __future__ import annotations

import contextlib
import hashlib
import math
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from ..database import is_sqlite
from ..models import JobLease, utcnow


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _died_here(holder: str | None) -> bool:
    """Whether `holder` names a process of this machine that no longer runs (a SQLite
    database lives on one machine, so its workers can see each other's processes)."""
    host, _, rest = (holder or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie: killed, not yet reaped by its parent
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


LEADER = "scheduler-leader"


# PostgreSQL: how long the leader's lock connection waits on a silent peer. libpq's keepalives
# and TCP user timeout make a renewal (or a connection attempt) fail within about
# CLIENT_SILENCE_SECONDS when the network between the worker and the server breaks, instead of
# hanging until the kernel gives up (up to two hours); the statement timeout bounds a query the
# server itself is slow to answer.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 10, 5, 3
CLIENT_SILENCE_SECONDS = KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT
LOCK_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": KEEPALIVE_IDLE,
    "keepalives_interval": KEEPALIVE_INTERVAL,
    "keepalives_count": KEEPALIVE_COUNT,
    "tcp_user_timeout": CLIENT_SILENCE_SECONDS * 1000,
}


def server_silence_seconds(ttl: timedelta) -> int:
    """PostgreSQL: after how many seconds without a word from the leader the server ends its
    lock session (and so frees the lock), always more than the lease `ttl`: its keepalives
    start probing after `ttl` (rounded up) of silence and give up `KEEPALIVE_COUNT` probes of
    `KEEPALIVE_INTERVAL` seconds later. An isolated leader's lease has run out by then."""
    return max(1, math.ceil(ttl.total_seconds())) + KEEPALIVE_INTERVAL * KEEPALIVE_COUNT


class Leadership:
    """The right to run the scheduler, held by one process across every node.

    Both databases: the holder may run a job (`valid`) only within `ttl` of the start of its
    last successful `acquire` or `renew`, so a leader cut off from the database, or stalled,
    stops starting jobs before anyone else can take the lock.

    PostgreSQL: a session-level advisory lock on a connection of its own (not pooled) kept for
    the holder's life. The server releases it when that session ends: at once when the process
    dies or the session is terminated, and `server_silence_seconds(ttl)` after the last word
    from the holder when the network between them breaks (the session's TCP keepalives and
    user timeout, set on the server side; the default would be about two hours). The client
    side of the connection has keepalives and a TCP user timeout too, so a renewal over a
    broken network fails within about CLIENT_SILENCE_SECONDS instead of hanging.
    SQLite: the `job_leases` row LEADER, taken when free, expired or left by a process of this
    machine that died, and renewed by `renew` well within `ttl`.
    """

    def __init__(self, engine: Engine, ttl: timedelta, name: str = LEADER):
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.held = False
        self._lock_engine = None  # PostgreSQL: the engine of the lock connection (no pool)
        self._conn = None  # PostgreSQL: the connection that holds the lock
        self._holder = _holder()
        self._valid_until = 0.0  # time.monotonic() until which the lock is surely ours

    def acquire(self) -> bool:
        """Take the lock if it is free; True when this process now holds it."""
        if self.held:
            return self.renew()
        asked = time.monotonic()
        if is_sqlite(self.engine):
            with self.engine.begin() as conn:
                conn.execute(insert(JobLease).values(name=self.name).on_conflict_do_nothing())
                now = utcnow()
                free = [JobLease.holder == self._holder, JobLease.expires_at.is_(None),
                        JobLease.expires_at < now]
                current = conn.execute(select(JobLease.holder).where(JobLease.name == self.name)).scalar()
                if _died_here(current):  # a crashed worker on this machine: no need to wait
                    free.append(JobLease.holder == current)
                self.held = conn.execute(update(JobLease).where(JobLease.name == self.name, or_(*free))
                                         .values(holder=self._holder, expires_at=now + self.ttl)).rowcount == 1
        else:
            conn = self._connect()
            asked = time.monotonic()  # the lease starts with the query, not the connection
            try:
                self.held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                              {"k": _lock_key(self.name)}).scalar())
                conn.commit()
            except Exception:
                conn.invalidate()
                conn.close()
                raise
            if self.held:
                self._conn = conn
            else:
                conn.close()
        if self.held:
            self._valid_until = asked + self.ttl.total_seconds()
        return self.held

    def _connect(self):
        """PostgreSQL: a new connection for the lock, with the bounds on a silent network set on
        both its ends (see the class)."""
        if self._lock_engine is None:
            self._lock_engine = create_engine(self.engine.url, poolclass=NullPool,
                                              connect_args=LOCK_CONNECT_ARGS)
        conn = self._lock_engine.connect()
        try:
            silence = server_silence_seconds(self.ttl)
            for setting, value in (("tcp_keepalives_idle", silence - KEEPALIVE_INTERVAL * KEEPALIVE_COUNT),
                                   ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                                   ("tcp_keepalives_count", KEEPALIVE_COUNT),
                                   ("tcp_user_timeout", silence * 1000),
                                   ("statement_timeout", CLIENT_SILENCE_SECONDS * 1000)):
                conn.execute(text(f"SET {setting} = {int(value)}"))
            conn.commit()
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        return conn

    def renew(self) -> bool:
        """Confirm (PostgreSQL) or extend (SQLite) the lock; False once it is lost."""
        if not self.held:
            return False
        asked = time.monotonic()
        try:
            if is_sqlite(self.engine):
                with self.engine.begin() as conn:
                    kept = conn.execute(update(JobLease).where(
                        JobLease.name == self.name, JobLease.holder == self._holder,
                    ).values(expires_at=utcnow() + self.ttl)).rowcount == 1
            else:
                self._conn.execute(text("SELECT 1")).scalar()
                self._conn.commit()
                kept = True
        except Exception:
            kept = False
        if kept:
            self._valid_until = asked + self.ttl.total_seconds()
        else:
            self._drop()
        return kept

    def valid(self) -> bool:
        """Whether this process may run a job now (checked before each run): it holds the lock
        and renewed it less than `ttl` ago."""
        return self.held and time.monotonic() < self._valid_until

    def release(self) -> None:
        """Give the lock up (a clean stop): a standby takes over at its next try."""
        if not self.held:
            self._drop()
            return
        try:
            if is_sqlite(self.engine):
                with self.engine.begin() as conn:
                    conn.execute(update(JobLease).where(JobLease.name == self.name,
                                                        JobLease.holder == self._holder)
                                 .values(holder=None, expires_at=None))
            else:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(self.name)})
                self._conn.commit()
        finally:
            self._drop()

    def _drop(self) -> None:
        self.held = False
        self._valid_until = 0.0
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.invalidate()  # its session may still hold the lock: end it
                conn.close()
            except Exception:
                pass


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
    holder = _holder()
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
