"""/readyz: may this node take traffic and is the service whole? Not ready while the
database cannot be reached, while migrations are pending (the database is behind the code's
Alembic head: run `flask --app run db upgrade`), or when the worker has started no job for
PENGADUAN_READY_WORKER_MINUTES (default 5; 0 leaves the worker out).

A database ahead of the code (at a revision this code does not know) is ready, with a note:
that is every old node during an upgrade (migrate first, then replace the nodes one by one),
and an orchestrator must not drop them all at once.

The worker's runs are read from job_runs, which the dedicated worker (`sla worker`) and the
embedded scheduler of `python run.py` both write, so both are judged alike. A database where
no job has ever run (a fresh install, the first minute of `python run.py`) is given the same
minutes from the app's start (its process's) before it counts as a missing worker.
"""
from __future__ import annotations

import time
from datetime import timedelta
from functools import lru_cache

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..config import PROJECT_ROOT
from ..extensions import db
from ..jobs import WORKER_JOBS
from ..models import JobRun, utcnow

STARTED = "pengaduan_monitoring_started"  # app.extensions key: when the app was built
BARE = "pengaduan_monitoring_bare_readiness"  # app.extensions key: (when, ready) told to outsiders
BARE_SECONDS = 5.0  # how long the bare answer is reused: outsiders cost a few queries per 5 s at most


def note_start(app) -> None:
    """Remember when `app` was built (its process's start, in production): the worker is
    given PENGADUAN_READY_WORKER_MINUTES from then to run its first job."""
    app.extensions.setdefault(STARTED, time.monotonic())


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory(str(PROJECT_ROOT / "migrations"))


@lru_cache(maxsize=1)
def code_heads() -> tuple[str, ...]:
    """The migrations this code expects (read once: they change only with a new release)."""
    return tuple(sorted(_script().get_heads()))


@lru_cache(maxsize=1)
def code_revisions() -> frozenset[str]:
    """Every revision this code knows."""
    return frozenset(revision.revision for revision in _script().walk_revisions())


def _migrations(database: tuple[str, ...]) -> dict:
    """Pending only when the database is behind the code; ahead (a revision from a newer
    release, as during an upgrade) is ready with a note."""
    answer = {"database": list(database), "code": list(code_heads()), "ok": database == code_heads()}
    if database and not answer["ok"] and not set(database) <= code_revisions():
        answer |= {"ok": True, "note": "the database is ahead of this code (a newer release migrated it)"}
    return answer


def readiness() -> tuple[bool, dict]:
    """(ready, the answer's body); the body names each check and the reasons for failing."""
    reasons: list[str] = []
    try:
        database = _database_heads()
        newest = db.session.scalar(select(func.max(JobRun.last_started_at))
                                   .where(JobRun.name.in_(WORKER_JOBS)))
        db.session.commit()  # ends the read
    except SQLAlchemyError:
        db.session.rollback()
        return False, {"ready": False, "reasons": ["database unreachable"]}
    migrations = _migrations(database)
    if not migrations["ok"]:
        reasons.append("migrations pending")
    worker = _worker(newest)
    if not worker["ok"]:
        reasons.append(worker.pop("reason"))
    return not reasons, {"ready": not reasons, "reasons": reasons, "migrations": migrations, "worker": worker}


def bare_readiness() -> bool:
    """Ready or not, without the details, for callers the metrics allow-list does not name:
    a probe from anywhere is answered from a result at most BARE_SECONDS old, so a flood of
    them costs the database nothing more."""
    now = time.monotonic()
    when, ready = current_app.extensions.get(BARE, (None, False))
    if when is None or now - when >= BARE_SECONDS:
        ready = readiness()[0]
        current_app.extensions[BARE] = (now, ready)
    return ready


def _database_heads() -> tuple[str, ...]:
    """The database's Alembic revision(s); none when it was never migrated."""
    connection = db.session.connection()
    if not inspect(connection).has_table("alembic_version"):
        return ()
    return tuple(sorted(db.session.scalars(text("SELECT version_num FROM alembic_version"))))


def _worker(newest) -> dict:
    minutes = current_app.config.get("PENGADUAN_READY_WORKER_MINUTES", 5)
    answer = {"last_run": newest.isoformat() if newest else None, "limit_minutes": minutes}
    if not minutes:
        return answer | {"ok": True, "checked": False}
    limit = timedelta(minutes=minutes)
    if newest is None:
        started = current_app.extensions.get(STARTED, 0.0)
        if time.monotonic() - started < limit.total_seconds():
            return answer | {"ok": True, "note": "no job has run yet"}
        return answer | {"ok": False, "reason": "the worker has never run"}
    age = utcnow() - newest
    answer["age_seconds"] = round(age.total_seconds(), 1)
    if age > limit:
        return answer | {"ok": False, "reason": f"the worker has not run for {minutes} minutes"}
    return answer | {"ok": True}
