"""Timers: one process runs them (`flask --app run sla worker`, or embedded in run.py).

Each job (jobs/__init__.py) is a single set-based pass in an app context and a unit of work of
its own; jobs coalesce so a backlog after downtime runs once, and `max_instances=1` keeps a
slow pass from overlapping itself.
The SLA sweep also takes a database lock, so a second worker started by mistake does nothing.
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from ..models import utcnow
from . import checkpoint_job, mailbox_job, orphans_job, outbox_job, standards_job, statistics_job, sweep_job

log = logging.getLogger(__name__)

SWEEP_MINUTES = 1


def add_jobs(scheduler, app: Flask) -> None:
    defaults = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    scheduler.add_job(sweep_job, "interval", minutes=SWEEP_MINUTES, args=[app],
                      id="sla-sweep", replace_existing=True, next_run_time=utcnow(), **defaults)
    scheduler.add_job(checkpoint_job, "interval", minutes=max(1, app.config["PENGADUAN_CHECKPOINT_MINUTES"]),
                      args=[app], id="audit-checkpoint", replace_existing=True,
                      next_run_time=utcnow(), **defaults)
    scheduler.add_job(outbox_job, "interval", minutes=1, args=[app],
                      id="mail-outbox", replace_existing=True, **defaults)
    scheduler.add_job(statistics_job, "interval", minutes=max(1, app.config["PENGADUAN_STATISTICS_MINUTES"]),
                      args=[app], id="public-statistics", replace_existing=True, next_run_time=utcnow(),
                      **defaults)
    scheduler.add_job(orphans_job, "interval", hours=1, args=[app],
                      id="orphan-uploads", replace_existing=True, **defaults)
    scheduler.add_job(standards_job, "interval", hours=1, args=[app],
                      id="standard-reviews", replace_existing=True, next_run_time=utcnow(), **defaults)
    if app.config.get("PENGADUAN_IMAP_HOST"):
        scheduler.add_job(mailbox_job, "interval", minutes=app.config["PENGADUAN_IMAP_MINUTES"],
                          args=[app], id="mailbox", replace_existing=True, next_run_time=utcnow(),
                          **defaults)


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
