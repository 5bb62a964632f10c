"""Leases that keep a periodic job to one process at a time where advisory locks are missing,
and the record of when each job last ran."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class JobLease(db.Model):
    """Held by `holder` until `expires_at`; an expired lease may be taken by anyone."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    """When each scheduled job (and each backup) last ran, succeeded and failed: what the
    readiness check, /metrics and an administrator read to know the worker is alive. One row
    per job name, written by `record_run` on a connection of its own, so that a job whose own
    transaction rolled back still leaves its failure behind."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_duration_seconds: Mapped[float | None] = mapped_column(Float)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


def record_run(engine: Engine, name: str, started_at: datetime, finished_at: datetime, ok: bool) -> None:
    """Record one run of job `name` in its own transaction (an upsert on either database)."""
    values = {"last_started_at": started_at, "last_finished_at": finished_at,
              "last_duration_seconds": (finished_at - started_at).total_seconds()}
    if ok:
        values.update(last_success_at=finished_at, consecutive_failures=0)
    else:
        values.update(last_failure_at=finished_at,
                      consecutive_failures=JobRun.__table__.c.consecutive_failures + 1)
    with engine.begin() as conn:
        conn.execute(_insert(engine)(JobRun.__table__).values(name=name, consecutive_failures=0)
                     .on_conflict_do_nothing(index_elements=["name"]))
        conn.execute(update(JobRun.__table__).where(JobRun.__table__.c.name == name).values(**values))


def _insert(engine: Engine):
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        from sqlalchemy.dialects.postgresql import insert
    return insert
