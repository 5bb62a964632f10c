"""Exactly one scheduler across nodes: the `sla worker` (or the scheduler of `python run.py`)
that holds the leader lock runs the scheduled jobs; every other one waits as a standby and
takes over when the leader dies or loses its lock (pengaduan/jobs/lock.py `Leadership`,
pengaduan/jobs/scheduler.py `lead`).

Which process runs jobs is seen in the database: every scheduler that starts leading signs
a heartbeat checkpoint of the audit chain at once (the checkpoint job runs at start, then
every PENGADUAN_CHECKPOINT_MINUTES), so the number of checkpoints counts the leaderships,
and in each process's log (`leader:` / `standby:`); job_runs says when each job last ran.
"""
from __future__ import annotations

import os
import signal
import socket
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from live import START_TIMEOUT, make_org, probe_engine, procs, scalar  # noqa: F401
from pengaduan.extensions import db
from pengaduan.jobs.lock import (
    CLIENT_SILENCE_SECONDS, LEADER, LOCK_CONNECT_ARGS, Leadership, _lock_key, server_silence_seconds,
)
from pengaduan.models import JobLease, utcnow

RETRY = "0.2"  # PENGADUAN_LEADER_RETRY_SECONDS of the processes here
SETTLE = 15 * float(RETRY)  # long enough for a standby to have tried several times


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def wait_for(condition, what: str, processes=(), timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in processes:
            assert proc.alive(), f"{proc.name} exited:\n{proc.tail()}"
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s:\n" + "\n".join(
            f"--- {p.name}\n{p.tail()}" for p in processes)
        time.sleep(0.05)


def leaderships(proc) -> int:
    return proc.log().count("leader: this process runs the scheduled jobs")


def last_run(probe, name: str):
    return scalar(probe, "SELECT last_started_at FROM job_runs WHERE name = :n", n=name)


def checkpoints(probe) -> int:
    return scalar(probe, "SELECT count(*) FROM audit_checkpoints")


def test_two_workers_one_runs_the_jobs_and_the_standby_takes_over_when_it_dies(app, procs):
    """Two `sla worker` processes started together: one leads and runs the jobs (one start-up
    checkpoint), the other says it is a standby and runs nothing however often it tries;
    SIGKILL the leader and the standby takes over and runs them."""
    make_org(app, token=False)
    probe = probe_engine(app, pooled=True)
    try:
        first = procs.worker("worker-a", PENGADUAN_LEADER_RETRY_SECONDS=RETRY)
        second = procs.worker("worker-b", PENGADUAN_LEADER_RETRY_SECONDS=RETRY)
        both = (first, second)
        wait_for(lambda: leaderships(first) + leaderships(second) == 1
                 and any("standby:" in p.log() for p in both), "one leader and one standby", both)
        leader, standby = both if leaderships(first) else both[::-1]
        wait_for(lambda: checkpoints(probe) == 1, "the leader's start-up checkpoint", both)
        time.sleep(SETTLE)
        assert leaderships(standby) == 0, standby.tail()
        assert checkpoints(probe) == 1
        assert "standby:" in standby.log() and "standby:" not in leader.log()
        assert standby.log().count("standby:") == 1  # said once, however many tries
        swept = last_run(probe, "sla-sweep")
        assert swept is not None  # the leader's sweep, recorded in job_runs

        killed = time.monotonic()
        leader.kill()
        wait_for(lambda: leaderships(standby) == 1, "the standby taking over", [standby])
        print(f"the standby led {time.monotonic() - killed:.2f} s after the SIGKILL "
              f"(a try every {RETRY} s)")
        wait_for(lambda: checkpoints(probe) == 2, "the new leader's start-up checkpoint", [standby])
        wait_for(lambda: last_run(probe, "sla-sweep") != swept, "the new leader's sweep", [standby])
        assert standby.stop(signal.SIGTERM) == 0  # as systemd stops it: the lock given up
        assert "SLA worker stopped" in standby.log()
        if not is_postgres(app):
            assert scalar(probe, "SELECT holder FROM job_leases WHERE name = :n", n=LEADER) is None
    finally:
        probe.dispose()
    procs.audit_verify(separate_process=False)


def _take_the_lock_away(app, probe, worker):
    """What a leader sees when it loses its lock: PostgreSQL, its lock connection ended by the
    server (and the lock taken meanwhile by this test's own session); SQLite, its lease row
    taken over by another holder. Returns the test's connection holding the lock (or None)."""
    if is_postgres(app):
        key = _lock_key(LEADER) & 0xFFFF_FFFF_FFFF_FFFF
        held = probe.connect()
        held.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND classid = :hi AND objid = :lo AND objsubid = 1"),
            {"hi": key >> 32, "lo": key & 0xFFFF_FFFF})
        held.commit()
        wait_for(lambda: held.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                      {"k": _lock_key(LEADER)}).scalar(), "the lock free", [worker])
        held.commit()
        return held
    with probe.begin() as conn:
        conn.execute(text("UPDATE job_leases SET holder = 'other-host:1:test', expires_at = :at "
                          "WHERE name = :n"), {"at": utcnow() + timedelta(hours=1), "n": LEADER})
    return None


def test_a_leader_that_loses_its_lock_stops_and_waits_as_a_standby(app, procs):
    """The leader's lock connection killed (PostgreSQL) or its lease taken (SQLite): it says
    so, stops its jobs and waits; when the lock is free again it leads again."""
    make_org(app, token=False)
    probe = probe_engine(app, pooled=True)
    held = None
    try:
        worker = procs.worker(PENGADUAN_LEADER_RETRY_SECONDS=RETRY)
        wait_for(lambda: leaderships(worker) == 1 and checkpoints(probe) == 1, "leading", [worker])
        held = _take_the_lock_away(app, probe, worker)
        wait_for(lambda: "standby:" in worker.log(), "the lost lock noticed", [worker])
        assert "leader lock lost" in worker.log()
        time.sleep(SETTLE)
        assert leaderships(worker) == 1 and checkpoints(probe) == 1  # no jobs while another leads

        if held is not None:
            held.execute(text("SELECT pg_advisory_unlock_all()"))
            held.commit()
        else:
            with probe.begin() as conn:
                conn.execute(text("UPDATE job_leases SET holder = NULL, expires_at = NULL "
                                  "WHERE name = :n"), {"n": LEADER})
        wait_for(lambda: leaderships(worker) == 2 and checkpoints(probe) == 2, "leading again", [worker])
    finally:
        if held is not None:
            held.close()
        probe.dispose()


def test_run_py_beside_a_worker_stands_by(app, procs):
    """`python run.py` (its embedded scheduler) started beside a worker runs no jobs."""
    make_org(app, token=False)
    probe = probe_engine(app, pooled=True)
    try:
        worker = procs.worker(PENGADUAN_LEADER_RETRY_SECONDS=RETRY)
        wait_for(lambda: leaderships(worker) == 1 and checkpoints(probe) == 1, "leading", [worker])
        server = procs.run_py(PENGADUAN_SCHEDULER="embedded", PENGADUAN_LEADER_RETRY_SECONDS=RETRY)
        wait_for(lambda: "standby:" in server.log(), "run.py standing by", [server, worker])
        time.sleep(SETTLE)
        assert leaderships(server) == 0 and checkpoints(probe) == 1, server.tail() + worker.tail()
    finally:
        probe.dispose()


# --- the lock itself, in this process ---------------------------------------------------------

def test_the_leader_lock_is_held_by_one_holder_at_a_time(app):
    """Two holders in one process (two nodes): only one gets the lock; released, the other
    gets it; a lost holder is neither held nor valid."""
    with app.app_context():
        engine = db.engine
    one, two = Leadership(engine, timedelta(seconds=30)), Leadership(engine, timedelta(seconds=30))
    try:
        assert one.acquire() and one.valid()
        assert not two.acquire() and not two.valid()
        assert one.renew() and one.acquire()  # acquiring again keeps it
        one.release()
        assert not one.valid()
        assert two.acquire() and not one.acquire()
    finally:
        one.release()
        two.release()


@pytest.fixture
def sqlite_only(request):
    """Skip before the `app` fixture makes a PostgreSQL database for nothing (list it first):
    there the server releases an advisory lock when its holder dies, and no lease is kept."""
    if request.node.callspec.params.get("backend") != "sqlite":
        pytest.skip("SQLite's lease; PostgreSQL's advisory lock ends with its holder's connection")


@pytest.mark.parametrize("holder, expires_in, taken", [
    ("other-host:4242:x", timedelta(minutes=5), False),   # alive elsewhere, until its lease ends
    ("other-host:4242:x", -timedelta(seconds=1), True),  # expired
    (f"{socket.gethostname()}:{os.getpid()}:x", timedelta(minutes=5), False),  # alive here
    (f"{socket.gethostname()}:DEAD:x", timedelta(minutes=5), True),  # died on this machine
], ids=["live-elsewhere", "expired", "live-here", "died-here"])
def test_a_sqlite_lease_is_taken_over_only_from_a_holder_gone(sqlite_only, app, holder, expires_in, taken):
    """SQLite: the lease of another holder is taken once it expired, or at once when it names
    a process of this machine that no longer runs (a crashed worker restarted)."""
    with app.app_context():
        if "DEAD" in holder:
            holder = holder.replace("DEAD", str(_dead_pid()))
        db.session.merge(JobLease(name=LEADER, holder=holder, expires_at=utcnow() + expires_in))
        db.session.commit()
        lock = Leadership(db.engine, timedelta(seconds=30))
        try:
            assert lock.acquire() is taken
        finally:
            lock.release()


def test_a_leader_that_could_not_renew_in_time_runs_no_job(app):
    """A leader that has not renewed within its lease (a paused process, or one cut off from
    the database) is not valid until it renews, on both databases; on SQLite a renewal after
    another holder took the row over fails."""
    with app.app_context():
        lock = Leadership(db.engine, timedelta(seconds=1))
        try:
            assert lock.acquire() and lock.valid()
            time.sleep(1.1)
            assert lock.held and not lock.valid()  # no job starts now
            assert lock.renew() and lock.valid()  # nobody took it meanwhile
            if is_postgres(app):
                return  # the server keeps an advisory lock for as long as its session lives
            time.sleep(1.1)
            other = Leadership(db.engine, timedelta(seconds=30))
            assert other.acquire()
            assert not lock.renew() and not lock.valid()
            other.release()
        finally:
            lock.release()


@pytest.fixture
def postgres_only(request):
    """Skip before the `app` fixture makes a SQLite database for nothing (list it first)."""
    if request.node.callspec.params.get("backend") == "sqlite":
        pytest.skip("PostgreSQL's lock connection")


class _Silent:
    """A lock connection over a network gone silent: each query waits until `fail` is set,
    then fails as libpq does when its keepalives or TCP user timeout give up."""

    def __init__(self, conn):
        self.conn, self.fail = conn, threading.Event()

    def execute(self, *args, **kwargs):
        self.fail.wait(30)
        raise OperationalError("SELECT 1", {}, Exception("connection timed out"))

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_postgresql_leader_whose_renewal_hangs_stops_being_valid(postgres_only, app):
    """The renewal hangs (the network to the server broke): the leader is no longer valid once
    its lease has run out, while the renewal is still waiting; the renewal then fails and the
    lock's session is ended, so another holder gets the lock."""
    with app.app_context():
        lock = Leadership(db.engine, timedelta(seconds=0.3))
        other = Leadership(db.engine, timedelta(seconds=30))
        try:
            assert lock.acquire() and lock.valid()
            silent = lock._conn = _Silent(lock._conn)
            renewed = []
            renewing = threading.Thread(target=lambda: renewed.append(lock.renew()))
            renewing.start()
            deadline = time.monotonic() + 30
            while lock.valid():
                assert time.monotonic() < deadline, "still valid long after its lease ran out"
                time.sleep(0.02)
            assert renewing.is_alive() and lock.held  # not valid while the renewal still waits
            silent.fail.set()
            renewing.join(30)
            assert renewed == [False] and not lock.held and not lock.valid()
            wait_for(other.acquire, "the lock free once the silent session is ended", timeout=10)
        finally:
            silent.fail.set()
            lock.release()
            other.release()


def test_a_postgresql_leader_whose_session_is_terminated_loses_the_lock(postgres_only, app):
    """pg_terminate_backend on the lock's session: the next renewal fails, the holder is not
    valid, and another holder gets the lock."""
    with app.app_context():
        lock = Leadership(db.engine, timedelta(seconds=30))
        other = Leadership(db.engine, timedelta(seconds=30))
        try:
            assert lock.acquire()
            pid = lock._conn.execute(text("SELECT pg_backend_pid()")).scalar()
            lock._conn.commit()
            with db.engine.connect() as conn:
                assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
            assert not lock.renew() and not lock.valid()
            wait_for(other.acquire, "the lock free", timeout=10)
        finally:
            lock.release()
            other.release()


def test_the_postgresql_lock_connection_bounds_a_silent_network(postgres_only, app):
    """The lock's connection is its own, with keepalives and a TCP user timeout on both ends:
    libpq's (a renewal fails within CLIENT_SILENCE_SECONDS) and the server's, which ends the
    session (freeing the lock) only after more silence than the lease lasts."""
    ttl = timedelta(seconds=30)
    assert server_silence_seconds(ttl) > ttl.total_seconds()
    assert server_silence_seconds(timedelta(seconds=0.05)) > 0.05
    with app.app_context():
        lock = Leadership(db.engine, ttl)
        try:
            assert lock.acquire()
            shown = {name: lock._conn.execute(text(f"SHOW {name}")).scalar() for name in (
                "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count",
                "tcp_user_timeout", "statement_timeout")}
            # SHOW reads the keepalive values back from the session's socket (seconds; the
            # user timeout in milliseconds)
            assert shown == {"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "5",
                             "tcp_keepalives_count": "3", "tcp_user_timeout": "45000",
                             "statement_timeout": f"{CLIENT_SILENCE_SECONDS}s"}
            client = lock._conn.connection.dbapi_connection.info.get_parameters()
            assert {k: client.get(k) for k in LOCK_CONNECT_ARGS} == {
                k: str(v) for k, v in LOCK_CONNECT_ARGS.items()}
            with db.engine.connect() as pooled:  # the app's own connections are left as they were
                assert pooled.execute(text("SHOW statement_timeout")).scalar() == "0"
        finally:
            lock.release()


def _dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
