"""Timers: one process across every node runs them (`flask --app run sla worker`, or the
scheduler embedded in run.py).

Each job (jobs/__init__.py) is a single set-based pass in an app context and a unit of work of
its own; jobs coalesce so a backlog after downtime runs once, and `max_instances=1` keeps a
slow pass from overlapping itself.

Only the holder of the leader lock (jobs/lock.py `Leadership`) runs the scheduler. Every other
worker, or a `run.py` started beside one, waits as a standby, trying again every
PENGADUAN_LEADER_RETRY_SECONDS, and takes over when the leader stops or dies. A leader that
loses its lock stops its scheduler and becomes a standby. The SLA sweep, the statistics
refresh and the mailbox also take a lock of their own per run, a second line of defence for
the moment two leaders may overlap (the server ended a live leader's lock session).
"""
from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..extensions import db
from ..models import utcnow
from . import checkpoint_job, mailbox_job, orphans_job, outbox_job, standards_job, statistics_job, sweep_job
from .lock import Leadership

log = logging.getLogger(__name__)

SWEEP_MINUTES = 1
# The leader's lease (jobs/lock.py `Leadership.valid`), renewed every retry period, lasts this
# many of them and at least LEASE_SECONDS: on SQLite long enough for the leader's renewal to
# wait for the write lock behind one of its own jobs' transactions (a dead leader on the same
# machine is taken over at once anyway); on PostgreSQL the server frees the lock of a leader
# cut off by the network only after more silence than this (lock.server_silence_seconds).
LEASE_RENEWALS = 6
LEASE_SECONDS = 30


def leader_timing(app: Flask) -> tuple[float, timedelta]:
    """(seconds between a standby's tries and the leader's checks, the leader's lease)."""
    retry = float(app.config.get("PENGADUAN_LEADER_RETRY_SECONDS") or 5)
    return retry, timedelta(seconds=max(LEASE_SECONDS, retry * LEASE_RENEWALS))


def _only_while(valid: Callable[[], bool], job: Callable[[Flask], object]) -> Callable[[Flask], object]:
    """The job, skipped at a moment this process cannot be sure it still leads."""

    @wraps(job)
    def run(app: Flask):
        if not valid():
            log.warning("job %s skipped: the leader lock is not confirmed", job.__name__)
            return None
        return job(app)

    return run


def add_jobs(scheduler, app: Flask, valid: Callable[[], bool] = lambda: True) -> None:
    """Schedule every job on `scheduler`; each run first asks `valid()` (the leader lock)."""

    def every(job, job_id: str, at_start: bool = False, **interval) -> None:
        scheduler.add_job(_only_while(valid, job), "interval", args=[app], id=job_id,
                          replace_existing=True, coalesce=True, max_instances=1,
                          misfire_grace_time=None, **({"next_run_time": utcnow()} if at_start else {}),
                          **interval)

    every(sweep_job, "sla-sweep", at_start=True, minutes=SWEEP_MINUTES)
    every(checkpoint_job, "audit-checkpoint", at_start=True,
          minutes=max(1, app.config["PENGADUAN_CHECKPOINT_MINUTES"]))
    every(outbox_job, "mail-outbox", minutes=1)
    every(statistics_job, "public-statistics", at_start=True,
          minutes=max(1, app.config["PENGADUAN_STATISTICS_MINUTES"]))
    every(orphans_job, "orphan-uploads", hours=1)
    every(standards_job, "standard-reviews", at_start=True, hours=1)
    if app.config.get("PENGADUAN_IMAP_HOST"):
        every(mailbox_job, "mailbox", at_start=True, minutes=app.config["PENGADUAN_IMAP_MINUTES"])


def lead(app: Flask, stop: threading.Event, make_scheduler=lambda: BackgroundScheduler(timezone="UTC")) -> None:
    """Until `stop` is set: wait as a standby for the leader lock, then run the scheduled jobs
    while holding it, checking it every retry period; on losing it, stop them and wait again."""
    retry, ttl = leader_timing(app)
    with app.app_context():
        engine = db.engine
    leadership = Leadership(engine, ttl)
    said = None  # what was last logged while waiting: each is said once, not at every try
    while not stop.is_set():
        try:
            leading = leadership.acquire()
        except Exception as exc:
            if said != "unreachable":
                reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]  # no SQL, no parameters
                log.warning("leader lock: the database cannot be asked (%s: %s); trying again every %s s",
                            type(exc).__name__, " ".join(reason), retry)
                said = "unreachable"
            stop.wait(retry)
            continue
        if not leading:
            if said != "standby":
                log.info("standby: another process runs the scheduled jobs; trying the leader lock "
                         "every %s s", retry)
                said = "standby"
            stop.wait(retry)
            continue
        said = None
        log.info("leader: this process runs the scheduled jobs")
        scheduler = make_scheduler()
        add_jobs(scheduler, app, leadership.valid)
        scheduler.start()
        try:
            while not stop.wait(retry):
                if not leadership.renew():
                    log.error("leader lock lost (database connection or lease): stopping the "
                              "scheduled jobs; this process is a standby now")
                    break
        finally:
            scheduler.shutdown(wait=True)  # a job in flight ends before anyone may lead again
            leadership.release()
    log.info("scheduler stopped")


def run_worker(app: Flask) -> None:
    """The dedicated timer process (`flask --app run sla worker`): blocks until stopped by
    SIGINT or SIGTERM, letting a job in flight finish and releasing the leader lock."""
    stop = threading.Event()

    def _stop(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("SLA worker started")
    lead(app, stop)
    log.info("SLA worker stopped")


class EmbeddedScheduler:
    """The scheduler of `python run.py`, as a standby or leader in a thread of its own."""

    def __init__(self, app: Flask):
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lead, args=(app, self.stop), name="scheduler",
                                       daemon=True)
        self.thread.start()

    def shutdown(self, wait: bool = True) -> None:
        self.stop.set()
        if wait:
            self.thread.join()


def start_embedded(app: Flask) -> EmbeddedScheduler | None:
    """Start the in-process scheduler when PENGADUAN_SCHEDULER is 'embedded'."""
    if app.config.get("PENGADUAN_SCHEDULER") != "embedded":
        return None
    log.info("embedded scheduler started")
    return EmbeddedScheduler(app)
