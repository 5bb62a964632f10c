"""The worker's refresh of the public figures (/statistik): every PENGADUAN_STATISTICS_MINUTES,
under a job lock so two workers never do it twice, the snapshots services.transparency
says are due, most needed first, until the cycle's time budget is spent (the rest waits for
the next cycle; each page says as of when its figures are).

Each snapshot is read in a read-only transaction of its own (SQLite: no write lock held while
the figures are computed) and stored in a short write transaction after it.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime

from flask import current_app

from .. import unit_of_work
from ..database import read_only
from ..extensions import db
from ..models import utcnow
from ..services.surveys.periods import Period
from ..services.transparency import figures, snapshots
from .lock import exclusive

log = logging.getLogger(__name__)
LOCK_NAME = "public-statistics"
BUDGET_SHARE = 0.5  # of the interval between two cycles, spent computing at most


def budget_seconds() -> float:
    return max(1, current_app.config["PENGADUAN_STATISTICS_MINUTES"]) * 60 * BUDGET_SHARE


def refresh(now: datetime | None = None, budget: float | None = None, only: Period | None = None) -> dict:
    """One cycle (or, with `only`, that period for every scope); returns what it did. Run it
    outside any open unit of work: it commits snapshot by snapshot."""
    work = unit_of_work.current()
    work.commit()
    started = time.perf_counter()
    with exclusive(db.engine, LOCK_NAME) as lock:
        if not lock:
            return {"skipped": "another refresh is running"}
        checked_at = now or utcnow()
        with read_only():
            tasks, unchanged = snapshots.due(checked_at, only)
            work.commit()
        snapshots.mark_checked(unchanged, checked_at)
        work.commit()
        done: dict[str, int] = {}
        for task in tasks:
            if budget is not None and time.perf_counter() - started > budget:
                break
            at = utcnow()
            with read_only():
                result = figures.compute(task.period, task.unit)
                work.commit()
            snapshots.store(task.period, task.unit, result, at)
            work.commit()
            lock.renew()
            done[task.why] = done.get(task.why, 0) + 1
    report = {"refreshed": sum(done.values()), **done, "checked_unchanged": len(unchanged),
              "left_for_next_cycle": len(tasks) - sum(done.values()),
              "seconds": round(time.perf_counter() - started, 3)}
    log.info("public statistics %s", report)
    return report
