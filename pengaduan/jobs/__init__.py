"""Scheduled work: the SLA sweep, email retries, audit checkpoints, orphan uploads, the
service standards' review reminders and the office's mailbox.

Every job goes through `job`, the one wrapper that owns job transactions: an app context of
its own, the work as one unit of work (committed when it returns, rolled back when it
raises; the sweep also commits batch by batch inside it), a failure logged for the next run
to retry, the session discarded afterwards, and the run recorded in job_runs
(models.JobRun). The scheduler (jobs/scheduler.py) only says when each runs.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask

from .. import audit, unit_of_work
from ..extensions import db
from ..integrations import mailbox
from ..models import record_run, utcnow
from ..services.attachments import remove_orphans
from ..services.standards.reminders import notice_due_reviews
from . import outbox, statistics, sweep  # as modules: pengaduan.jobs.sweep must stay the module
from .lock import exclusive

log = logging.getLogger(__name__)


def job(work: Callable[[], object] | None = None, *, name: str | None = None):
    """Make `work()` a job, run as `job(app)`; returns what the work returned (None if it
    failed). Each run is recorded under `name` (the scheduler's id for it; the function's
    name by default) in job_runs: when it started, finished, succeeded or failed, which
    /readyz and /metrics read."""
    if work is None:
        return lambda work: job(work, name=name)
    run_name = name or work.__name__

    @wraps(work)
    def run_job(app: Flask):
        with app.app_context():
            started, ok = utcnow(), False
            try:
                result = unit_of_work.run(work)
                ok = True
                return result
            except Exception:
                log.exception("job %s failed; the next run retries", run_name)
                return None
            finally:
                db.session.remove()
                _record(run_name, started, ok)

    run_job.job_name = run_name  # type: ignore[attr-defined]
    return run_job


def _record(name: str, started, ok: bool) -> None:
    """Record the run on a connection of its own; a database that cannot take it (it is down,
    the reason the job failed) costs the record of this run, never the worker."""
    try:
        record_run(db.engine, name, started, utcnow(), ok)
    except Exception:
        log.warning("could not record the run of job %s", name, exc_info=True)


@job(name="sla-sweep")
def sweep_job() -> dict:
    """Fire the SLA ladders that have come due (warnings, escalations, reminders, expiries)."""
    return sweep.sweep()


@job(name="audit-checkpoint")
def checkpoint_job():
    """Sign the audit chain head, even when nothing happened since the last time: the chained
    checkpoints then show when the newest ones (and the events they signed) were removed."""
    cp = audit.checkpoint(db.session, heartbeat=True)
    counter, seq = cp.counter, cp.seq
    unit_of_work.current().on_commit(lambda: log.info("audit checkpoint %s at seq %s", counter, seq))
    return cp


@job(name="mail-outbox")
def outbox_job() -> int:
    """Retry email that could not be sent right after its commit."""
    return outbox.deliver()


MAILBOX_LOCK = "mailbox"


@job(name="mailbox")
def mailbox_job() -> dict:
    """Read the office's mailbox: new mail becomes complaints, replies messages (each message
    committed on its own); the receipts and replies it queued go out right after. A run holds
    a lock of its own (like the sweep): should a second scheduler overlap the leader for a
    moment, its poll is skipped rather than reading the same messages at the same time."""
    work = unit_of_work.current()
    work.commit()  # the lock is taken and given back outside any open transaction (SQLite)
    with exclusive(db.engine, MAILBOX_LOCK) as lock:
        if not lock:
            log.info("mailbox run skipped: another one is reading the mailbox")
            return {"skipped": "another mailbox run is in progress"}
        try:
            counts = mailbox.poll()
            work.commit()
            sent = work.take_committed_mail()
            if sent:
                outbox.deliver(sent)
            work.commit()
        except BaseException:
            work.rollback()  # before the lock is given back (SQLite: on a connection of its own)
            raise
        return counts


@job(name="public-statistics")
def statistics_job() -> dict:
    """Refresh the public figures of /statistik that are due, within the cycle's time budget."""
    return statistics.refresh(budget=statistics.budget_seconds())


@job(name="standard-reviews")
def standards_job() -> int:
    """Tell the keepers of the service standards whose yearly review has fallen due (once each)."""
    return notice_due_reviews()


@job(name="orphan-uploads")
def orphans_job() -> int:
    """Remove uploaded files a crashed request left without their row."""
    removed = remove_orphans()
    if removed:
        log.warning("removed %d uploaded files without a row (left by a crash)", removed)
    return removed


# The names the worker's runs are recorded under (readiness: has the worker run lately?).
WORKER_JOBS = tuple(j.job_name for j in (sweep_job, checkpoint_job, outbox_job, mailbox_job, statistics_job,
                                         standards_job, orphans_job))
