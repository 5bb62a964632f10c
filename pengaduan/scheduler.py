"""Timers: one process runs them (`flask --app run sla worker`, or embedded in run.py).

Each job is a single set-based pass wrapped in an app context; jobs coalesce so a backlog
after downtime runs once, and `max_instances=1` keeps a slow pass from overlapping itself.
The SLA sweep also takes a database lock, so a second worker started by mistake does nothing.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from . import audit, mail
from .extensions import db
from .models import utcnow

log = logging.getLogger(__name__)

SWEEP_MINUTES = 1


def sweep_job(app: Flask) -> None:
    """Fire the SLA ladders that have come due (warnings, escalations, reminders, expiries)."""
    from .sla.sweep import sweep

    with app.app_context():
        try:
            sweep()
        except Exception:
            db.session.rollback()
            log.exception("SLA sweep failed; the next one retries")
        finally:
            db.session.remove()


def checkpoint_job(app: Flask) -> None:
    """Sign the audit chain head, even when nothing happened since the last time: the chained
    checkpoints then show when the newest ones (and the events they signed) were removed."""
    with app.app_context():
        try:
            cp = audit.checkpoint(db.session, heartbeat=True)
            db.session.commit()
            log.info("audit checkpoint %s at seq %s", cp.counter, cp.seq)
        except Exception:
            db.session.rollback()
            log.exception("audit checkpoint failed")
        finally:
            db.session.remove()


def outbox_job(app: Flask) -> None:
    """Retry email that could not be sent right after its commit."""
    with app.app_context():
        try:
            mail.deliver()
        except Exception:
            db.session.rollback()
            log.exception("sending the outbox failed")
        finally:
            db.session.remove()


def orphans_job(app: Flask) -> None:
    """Remove uploaded files a crashed request left without their row."""
    from .services.attachments import remove_orphans

    with app.app_context():
        try:
            removed = remove_orphans()
            if removed:
                log.warning("removed %d uploaded files without a row (left by a crash)", removed)
        except Exception:
            log.exception("removing orphan uploads failed")
        finally:
            db.session.remove()


def add_jobs(scheduler, app: Flask) -> None:
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    scheduler.add_job(sweep_job, "interval", minutes=SWEEP_MINUTES, args=[app],
                      id="sla-sweep", replace_existing=True, next_run_time=utcnow(), **defaults)
    scheduler.add_job(checkpoint_job, "interval", minutes=max(1, app.config["PENGADUAN_CHECKPOINT_MINUTES"]),
                      args=[app], id="audit-checkpoint", replace_existing=True,
                      next_run_time=utcnow(), **defaults)
    scheduler.add_job(outbox_job, "interval", minutes=1, args=[app],
                      id="mail-outbox", replace_existing=True, **defaults)
    scheduler.add_job(orphans_job, "interval", hours=1, args=[app],
                      id="orphan-uploads", replace_existing=True, **defaults)


def run_worker(app: Flask) -> None:
    """The dedicated timer process (`flask --app run sla worker`): blocks until stopped."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, app)
    log.info("SLA worker started")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("SLA worker stopped")


def start_embedded(app: Flask) -> BackgroundScheduler | None:
    """Start the in-process scheduler when PENGADUAN_SCHEDULER is 'embedded'."""
    if app.config.get("PENGADUAN_SCHEDULER") != "embedded":
        return None
    scheduler = BackgroundScheduler(timezone="UTC")
    add_jobs(scheduler, app)
    scheduler.start()
    log.info("embedded scheduler started")
    return scheduler
