"""Scheduled work: the SLA sweep, email retries, audit checkpoints, orphan uploads, the
service standards' review reminders and the office's mailbox.

Every job goes through `job`, the one wrapper that owns job transactions: an app context of
its own, the work as one unit of work (committed when it returns, rolled back when it
raises; the sweep also commits batch by batch inside it), a failure logged for the next run
to retry, and the session discarded afterwards. The scheduler (jobs/scheduler.py) only
says when each runs.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask

from .. import audit, unit_of_work
from ..extensions import db
from ..integrations import mailbox
from ..services.attachments import remove_orphans
from ..services.standards.reminders import notice_due_reviews
from . import outbox, statistics, sweep  # as modules: pengaduan.jobs.sweep must stay the module

log = logging.getLogger(__name__)


def job(work: Callable[[], object]) -> Callable[[Flask], object]:
    """Make `work()` a job, run as `job(app)`; returns what the work returned (None if it failed)."""

    @wraps(work)
    def run_job(app: Flask):
        with app.app_context():
            try:
                return unit_of_work.run(work)
            except Exception:
                log.exception("job %s failed; the next run retries", work.__name__)
                return None
            finally:
                db.session.remove()

    return run_job


@job
def sweep_job() -> dict:
    """Fire the SLA ladders that have come due (warnings, escalations, reminders, expiries)."""
    return sweep.sweep()


@job
def checkpoint_job():
    """Sign the audit chain head, even when nothing happened since the last time: the chained
    checkpoints then show when the newest ones (and the events they signed) were removed."""
    cp = audit.checkpoint(db.session, heartbeat=True)
    counter, seq = cp.counter, cp.seq
    unit_of_work.current().on_commit(lambda: log.info("audit checkpoint %s at seq %s", counter, seq))
    return cp


@job
def outbox_job() -> int:
    """Retry email that could not be sent right after its commit."""
    return outbox.deliver()


@job
def mailbox_job() -> dict:
    """Read the office's mailbox: new mail becomes complaints, replies messages (each message
    committed on its own); the receipts and replies it queued go out right after."""
    counts = mailbox.poll()
    sent = unit_of_work.current().take_committed_mail()
    if sent:
        outbox.deliver(sent)
    return counts


@job
def statistics_job() -> dict:
    """Refresh the public figures of /statistik that are due, within the cycle's time budget."""
    return statistics.refresh(budget=statistics.budget_seconds())


@job
def standards_job() -> int:
    """Tell the keepers of the service standards whose yearly review has fallen due (once each)."""
    return notice_due_reviews()


@job
def orphans_job() -> int:
    """Remove uploaded files a crashed request left without their row."""
    removed = remove_orphans()
    if removed:
        log.warning("removed %d uploaded files without a row (left by a crash)", removed)
    return removed
