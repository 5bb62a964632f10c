"""/metrics in Prometheus' text format.

Two kinds of figures:
- per request, counted in the process that served it: `pengaduan_http_requests_total` and
  `pengaduan_http_request_duration_seconds`, labelled with the Flask endpoint (the route's
  name, never the path: tracking codes and PINs travel in paths and query strings) and the
  status class. Under gunicorn every worker counts its own; with `PROMETHEUS_MULTIPROC_DIR`
  set they write to files there and a scrape of any worker adds up all of them.
- the state of the service, read from the database at scrape time with a few aggregate
  queries on indexed columns (cheap at a million complaints): complaints by state, running
  clocks past due, the outbox, the audit chain and its newest checkpoint, and each job's
  last run (models.JobRun: the SLA sweep, the other worker jobs, backups).
"""
from __future__ import annotations

import hmac
import math
import os
import time

from prometheus_client import (CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Counter, Histogram,
                               ProcessCollector, disable_created_metrics, generate_latest, multiprocess)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..config import address_in
from ..extensions import db
from ..jobs import WORKER_JOBS
from ..jobs.outbox import MAX_ATTEMPTS
from ..models import AuditCheckpoint, AuditEvent, Complaint, ComplaintClock, JobRun, OutboxMessage, utcnow
from ..workflow import current_workflow

# The text format every Prometheus server reads (its 1.0.0 is the same for these metrics).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
BACKUP_JOB = "backup"  # the name `backup create` records its runs under
OUTBOX_WAITING = ("pending", "sending", "failed", "held")  # every status but "sent"
UNMATCHED = "unmatched"  # the endpoint label of a request no route matched (404, 405)
# The method label's only values: anything else a client sends ("XYZ0", ...) counts as
# "other", so no client can grow the series (memory, multiprocess files) without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

disable_created_metrics()  # no `_created` series beside each counter: noise for this use

# This process's request figures. A registry of the module's own, so that a second app in one
# process (the tests) counts into the same series instead of registering them twice.
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("pengaduan_http_requests", "Requests answered, by Flask endpoint, method and status class.",
                   ["endpoint", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("pengaduan_http_request_duration_seconds",
                    "Time from the request's arrival in the app to its answer, by endpoint and status class.",
                    ["endpoint", "status"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
ProcessCollector(registry=REGISTRY)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    status_class = f"{status // 100}xx"
    endpoint = endpoint or UNMATCHED
    method = method if method in METHODS else OTHER_METHOD
    REQUESTS.labels(endpoint, method, status_class).inc()
    LATENCY.labels(endpoint, status_class).observe(seconds)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def clear_multiprocess_dir() -> None:
    """Remove the figures a previous gunicorn left (call before forking the workers): the
    counters start from zero with the new master, as Prometheus expects of a restart."""
    folder = multiprocess_dir()
    if not folder:
        return
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))


def exposition() -> bytes:
    """The whole scrape: the request figures (of every worker, in multiprocess mode) and the
    database's gauges, read now."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    return body + generate_latest(_DatabaseRegistry())


def may_read(remote_addr: str | None, authorization: str | None, allow: str, token: str | None) -> bool:
    """From an allowed address (PENGADUAN_METRICS_ALLOW) or with `Authorization: Bearer
    <PENGADUAN_METRICS_TOKEN>`, compared in constant time. `remote_addr` is the request's
    client as http/proxies.py settled it: the direct peer, or the client a trusted proxy
    forwarded."""
    if token and authorization:
        scheme, _, given = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    return address_in(remote_addr, allow)


class _DatabaseRegistry:
    """A one-scrape collector of the gauges read from the database (`generate_latest` takes
    anything with `collect`)."""

    def collect(self):
        return database_metrics()


def _gauge(name: str, documentation: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def _age(now, moment) -> float:
    """Seconds since `moment`; +Inf for never (an alert on `> N` then fires)."""
    return (now - moment).total_seconds() if moment is not None else math.inf


def database_metrics() -> list[GaugeMetricFamily]:
    """The gauges, each from one aggregate query. If the database cannot answer,
    `pengaduan_database_up` is 0 and the other gauges are left out."""
    began = time.perf_counter()
    up = _gauge("pengaduan_database_up", "1 when the database answered this scrape's queries, else 0.")
    try:
        families = _read_database(utcnow())
        db.session.commit()  # ends the read; nothing was written
        up.add_metric([], 1)
    except SQLAlchemyError:
        db.session.rollback()
        families = []
        up.add_metric([], 0)
    took = _gauge("pengaduan_metrics_database_seconds", "Time this scrape spent reading the database.")
    took.add_metric([], time.perf_counter() - began)
    return [up, took, *families]


def _read_database(now) -> list[GaugeMetricFamily]:
    session = db.session
    by_state = _gauge("pengaduan_complaints", "Complaints by workflow state.", ["state"])
    counts = dict(session.execute(select(Complaint.state, func.count()).group_by(Complaint.state)).all())
    # Every state of the workflow, an empty one as 0 (an alert on a backlog needs the series).
    for state in dict.fromkeys([*current_workflow().states, *sorted(counts)]):
        by_state.add_metric([state], counts.get(state, 0))

    overdue = _gauge("pengaduan_clocks_overdue", "Running statutory clocks past their due time, by rule.", ["rule"])
    for rule, count in session.execute(
            select(ComplaintClock.rule, func.count())
            .where(ComplaintClock.stopped_at.is_(None), ComplaintClock.paused_at.is_(None),
                   ComplaintClock.due_at < now)
            .group_by(ComplaintClock.rule)):
        overdue.add_metric([rule], count)

    outbox = _gauge("pengaduan_outbox_messages", "Email not sent (yet), by status: pending, sending, "
                    "failed (retried), held (no MAIL_SERVER).", ["status"])
    counts = dict(session.execute(select(OutboxMessage.status, func.count())
                                  .where(OutboxMessage.status.in_(OUTBOX_WAITING)).group_by(OutboxMessage.status)).all())
    for status in OUTBOX_WAITING:
        outbox.add_metric([status], counts.get(status, 0))
    given_up = _gauge("pengaduan_outbox_given_up", "Email that failed every attempt and is no longer retried.")
    given_up.add_metric([], session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == "failed", OutboxMessage.attempts >= MAX_ATTEMPTS)) or 0)

    head = session.scalar(select(func.max(AuditEvent.seq)))
    chain = _gauge("pengaduan_audit_head_seq", "Sequence number of the newest audit event (0: none).")
    chain.add_metric([], head or 0)
    newest = session.execute(select(AuditCheckpoint.seq, AuditCheckpoint.signed_at)
                             .where(AuditCheckpoint.counter.is_not(None))
                             .order_by(AuditCheckpoint.counter.desc()).limit(1)).first()
    checkpoint_seq = _gauge("pengaduan_audit_checkpoint_seq", "Sequence number the newest signed checkpoint covers.")
    checkpoint_seq.add_metric([], newest.seq if newest else 0)
    checkpoint_age = _gauge("pengaduan_audit_checkpoint_age_seconds",
                            "Seconds since the newest checkpoint was signed (+Inf: none yet).")
    checkpoint_age.add_metric([], _age(now, newest.signed_at if newest else None))

    return [by_state, overdue, outbox, given_up, chain, checkpoint_seq, checkpoint_age, *_job_metrics(session, now)]


def _job_metrics(session, now) -> list[GaugeMetricFamily]:
    runs = {run.name: run for run in session.scalars(select(JobRun))}
    success = _gauge("pengaduan_job_last_success_timestamp_seconds",
                     "When each job last succeeded (Unix time).", ["job"])
    finished = _gauge("pengaduan_job_last_finished_timestamp_seconds",
                      "When each job last finished, succeeded or not (Unix time).", ["job"])
    duration = _gauge("pengaduan_job_last_duration_seconds", "How long each job's last run took.", ["job"])
    failures = _gauge("pengaduan_job_consecutive_failures", "Failed runs of each job since its last success.",
                      ["job"])
    for name, run in sorted(runs.items()):
        if run.last_success_at is not None:
            success.add_metric([name], run.last_success_at.timestamp())
        if run.last_finished_at is not None:
            finished.add_metric([name], run.last_finished_at.timestamp())
        if run.last_duration_seconds is not None:
            duration.add_metric([name], run.last_duration_seconds)
        failures.add_metric([name], run.consecutive_failures or 0)
    backup = runs.get(BACKUP_JOB)
    backup_age = _gauge("pengaduan_backup_age_seconds", "Seconds since the last successful backup (+Inf: none).")
    backup_age.add_metric([], _age(now, backup.last_success_at if backup else None))
    started = [runs[name].last_started_at for name in WORKER_JOBS
               if name in runs and runs[name].last_started_at is not None]
    worker_age = _gauge("pengaduan_worker_last_run_age_seconds",
                        "Seconds since the worker last started any job (+Inf: never).")
    worker_age.add_metric([], _age(now, max(started) if started else None))
    return [success, finished, duration, failures, backup_age, worker_age]
