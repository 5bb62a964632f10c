"""Monitoring (README "Monitoring: metrics, logs and readiness"): /metrics only for allowed
addresses or the token's holder, request figures labelled by endpoint and never by path,
gauges that match the database, each job run recorded, /readyz failing for pending
migrations and a silent worker, and under gunicorn one scrape adding up every worker."""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text, update

from live import procs  # noqa: F401  (the fixture: the app's real processes)
from pengaduan.extensions import db
from pengaduan.jobs import job
from pengaduan.models import (AuditCheckpoint, AuditEvent, Complaint, ComplaintClock, JobRun, OutboxMessage,
                              record_run, utcnow)
from pengaduan.monitoring import metrics, probes
from pengaduan.services import file_complaint
from test_citizen import org, valid_form  # noqa: F401  (org is a fixture)

TOKEN = "a-long-scrape-token-0123456789"


def scrape(client, **kwargs) -> dict:
    """The metrics as {(name, labels as a sorted tuple): value}."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.get_data(as_text=True))


def parse(body: str) -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def value(figures: dict, name: str, **labels) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


# --- who may read it ----------------------------------------------------------------------------

def test_metrics_answer_only_allowed_addresses_or_the_token(app):
    client = app.test_client()
    app.config["PENGADUAN_METRICS_TOKEN"] = TOKEN
    stranger = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    refused = client.get("/metrics", **stranger)
    assert refused.status_code == 404 and "pengaduan_" not in refused.get_data(as_text=True)
    for wrong in (f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "):
        assert client.get("/metrics", headers={"Authorization": wrong}, **stranger).status_code == 404, wrong
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, **stranger).status_code == 200
    assert client.get("/metrics").status_code == 200  # 127.0.0.1, allowed by default
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200

    app.config["PENGADUAN_METRICS_ALLOW"] = "10.20.0.0/16, 192.0.2.7"
    assert client.get("/metrics").status_code == 404  # loopback no longer listed
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.3.4"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.21.0.1"}).status_code == 404
    app.config["PENGADUAN_METRICS_TOKEN"] = None
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}, **stranger).status_code == 404


def test_metrics_set_no_cookie_and_are_never_rate_limited(app):
    """Even under a limit on every route of the application (none is set today), scrapes and
    probes go through; and no answer sets a cookie."""
    from pengaduan.extensions import limiter

    app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_APPLICATION="3 per minute")
    limiter.init_app(app)
    limiter.reset()
    try:
        client = app.test_client()
        client.set_cookie("lang", "en")
        for _ in range(5):
            response = client.get("/metrics")
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers
            assert client.get("/readyz").status_code == 200
        assert [client.get("/aksesibilitas").status_code for _ in range(4)][-1] == 429  # the limit is on
    finally:
        limiter.limit_manager.set_application_limits([])
        limiter.reset()
        app.config["RATELIMIT_ENABLED"] = False
        limiter.enabled = False


def test_the_metrics_settings_are_checked(tmp_path):
    from pengaduan.config import load_config

    config = load_config(str(tmp_path), env={})
    assert config["PENGADUAN_METRICS_ALLOW"] == "127.0.0.1,::1" and config["PENGADUAN_METRICS_TOKEN"] is None
    for env, problem in (({"PENGADUAN_METRICS_ALLOW": "10.0.0.0/8,intranet"}, "PENGADUAN_METRICS_ALLOW"),
                         ({"PENGADUAN_METRICS_TOKEN": "short"}, "PENGADUAN_METRICS_TOKEN"),
                         ({"PENGADUAN_READY_WORKER_MINUTES": "-1"}, "PENGADUAN_READY_WORKER_MINUTES")):
        with pytest.raises(ValueError, match=problem):
            load_config(str(tmp_path), env=env)


# --- the request figures -----------------------------------------------------------------------

def test_requests_are_counted_by_endpoint_never_by_path(app, org):  # noqa: F811
    client = app.test_client()
    before = scrape(client)
    secret = "SECRET-CODE-9Z"
    assert client.get(f"/track/{secret}").status_code in (302, 404)
    assert client.get(f"/staff/complaints/{secret}?pin=12345").status_code == 302
    assert client.get(f"/no-such-page-{secret}").status_code == 404
    assert client.get("/healthz").status_code == 200
    body = client.get("/metrics").get_data(as_text=True)
    assert secret not in body and "12345" not in body and "/track" not in body
    after = parse(body)
    grew = {key: v - before.get(key, 0) for key, v in after.items()
            if key[0] == "pengaduan_http_requests_total" and v != before.get(key, 0)}
    labels = {dict(key[1])["endpoint"]: dict(key[1]) for key in grew}
    assert {"citizen.view", "staff.complaint", "unmatched", "public.healthz"} <= set(labels), labels
    assert labels["unmatched"]["status"] == "4xx" and labels["public.healthz"]["status"] == "2xx"
    assert labels["staff.complaint"]["status"] == "3xx" and labels["public.healthz"]["method"] == "GET"
    assert value(after, "pengaduan_http_request_duration_seconds_count", endpoint="public.healthz", status="2xx") \
        == value(before, "pengaduan_http_request_duration_seconds_count", endpoint="public.healthz", status="2xx") + 1


def test_unknown_methods_share_one_label(app):
    client = app.test_client()
    for method in ("XYZ0", "XYZ1", "get", "PROPFIND"):
        client.open("/healthz", method=method)
    client.open("/healthz", method="OPTIONS")
    figures = scrape(client)
    methods = {dict(key[1])["method"] for key in figures if key[0] == "pengaduan_http_requests_total"}
    assert methods <= metrics.METHODS | {"other"}, methods
    assert {"other", "OPTIONS"} <= methods


# --- the gauges read from the database -------------------------------------------------------

def file_some(app, count: int) -> list[str]:
    with app.app_context():
        codes = [file_complaint({**valid_form(), "email": f"warga{i}@example.id"}).complaint.tracking_code
                 for i in range(count)]
        db.session.commit()
        return codes


def test_the_gauges_match_the_database(app, org):  # noqa: F811
    file_some(app, 3)
    now = utcnow()
    with app.app_context():
        clocks = db.session.scalars(select(ComplaintClock).order_by(ComplaintClock.id)).all()
        assert len(clocks) >= 3
        late_rule = clocks[0].rule
        db.session.execute(update(ComplaintClock).where(ComplaintClock.id.in_([clocks[0].id, clocks[1].id]))
                           .values(due_at=now - timedelta(hours=2)))
        # Past due but stopped, or paused: not overdue.
        db.session.execute(update(ComplaintClock).where(ComplaintClock.id == clocks[2].id)
                           .values(due_at=now - timedelta(hours=2), stopped_at=now - timedelta(hours=1)))
        db.session.add_all([OutboxMessage(recipient="x@example.id", subject="s", body_text="b", status="failed",
                                          attempts=5),
                            OutboxMessage(recipient="y@example.id", subject="s", body_text="b", status="failed",
                                          attempts=1)])
        db.session.commit()
        from pengaduan import audit
        audit.checkpoint(db.session, heartbeat=True)
        db.session.commit()
        expected_states = {state: n for state, n in db.session.execute(
            select(Complaint.state, func.count()).group_by(Complaint.state))}
        late = [c for c in db.session.scalars(select(ComplaintClock))
                if c.due_at is not None and c.due_at < utcnow() and c.stopped_at is None and c.paused_at is None]
        outbox = {s: db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                       .where(OutboxMessage.status == s)) for s in metrics.OUTBOX_WAITING}
        head = db.session.scalar(select(func.max(AuditEvent.seq)))
        checkpoint = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.counter.desc())).first()
    record_run_at(app, "sla-sweep", now - timedelta(seconds=90), ok=True, took=2.5)
    record_run_at(app, "sla-sweep", now - timedelta(seconds=30), ok=False, took=1.0)
    record_run_at(app, "backup", now - timedelta(hours=3), ok=True, took=40)

    figures = scrape(app.test_client())
    assert value(figures, "pengaduan_database_up") == 1
    by_state = {dict(k[1])["state"]: v for k, v in figures.items() if k[0] == "pengaduan_complaints"}
    assert {state: n for state, n in by_state.items() if n} == expected_states
    assert by_state["closed"] == 0 and set(by_state) >= {"received", "verified", "closed"}  # empty states too
    assert sum(expected_states.values()) == 3
    overdue = {dict(k[1])["rule"]: v for k, v in figures.items() if k[0] == "pengaduan_clocks_overdue"}
    assert sum(overdue.values()) == len(late) == 2 and overdue[late_rule] >= 1
    for status, count in outbox.items():
        assert value(figures, "pengaduan_outbox_messages", status=status) == count
    assert outbox["failed"] == 2 and value(figures, "pengaduan_outbox_given_up") == 1
    assert value(figures, "pengaduan_audit_head_seq") == head > 0
    assert value(figures, "pengaduan_audit_checkpoint_seq") == checkpoint.seq == head
    assert 0 <= value(figures, "pengaduan_audit_checkpoint_age_seconds") < 3600
    sweep = {"job": "sla-sweep"}
    assert value(figures, "pengaduan_job_last_success_timestamp_seconds", **sweep) \
        == pytest.approx((now - timedelta(seconds=90)).timestamp())
    assert value(figures, "pengaduan_job_last_finished_timestamp_seconds", **sweep) \
        == pytest.approx((now - timedelta(seconds=30)).timestamp())
    assert value(figures, "pengaduan_job_last_duration_seconds", **sweep) == pytest.approx(1.0)
    assert value(figures, "pengaduan_job_consecutive_failures", **sweep) == 1
    assert 3 * 3600 <= value(figures, "pengaduan_backup_age_seconds") < 4 * 3600
    assert 30 <= value(figures, "pengaduan_worker_last_run_age_seconds") < 3600  # the sweep started 31 s ago


def record_run_at(app, name: str, finished: datetime, ok: bool, took: float) -> None:
    with app.app_context():
        record_run(db.engine, name, finished - timedelta(seconds=took), finished, ok)


def test_never_is_infinitely_old(app):
    figures = scrape(app.test_client())
    for name in ("pengaduan_backup_age_seconds", "pengaduan_worker_last_run_age_seconds",
                 "pengaduan_audit_checkpoint_age_seconds"):
        assert math.isinf(value(figures, name)), name


def test_an_unreachable_database_is_said_by_both(tmp_path):
    """The database gone: /readyz says so with 503, /metrics still answers (the request
    figures) with pengaduan_database_up 0."""
    from pengaduan import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3"},
                     instance_path=str(tmp_path / "instance"))
    client = app.test_client()
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json == {"ready": False, "reasons": ["database unreachable"]}
    figures = scrape(client)
    assert value(figures, "pengaduan_database_up") == 0
    assert not any(key[0] in ("pengaduan_complaints", "pengaduan_backup_age_seconds") for key in figures)
    assert value(figures, "pengaduan_http_requests_total", endpoint="monitoring.readyz", method="GET",
                 status="5xx") >= 1


def test_the_overdue_count_reads_the_running_clocks_index(app):
    """At a million complaints nearly every clock is stopped: the count must read the partial
    index of running clocks, not every clock past its due time."""
    with app.app_context():
        query = (select(ComplaintClock.rule, func.count())
                 .where(ComplaintClock.stopped_at.is_(None), ComplaintClock.paused_at.is_(None),
                        ComplaintClock.due_at < utcnow()).group_by(ComplaintClock.rule))
        compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = "\n".join(db.session.scalars(text(f"EXPLAIN {compiled}")))
        else:
            plan = "\n".join(str(row) for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        db.session.rollback()
    assert "ix_complaint_clocks_running_due" in plan, plan


# --- job runs --------------------------------------------------------------------------------

def test_every_job_run_is_recorded(app):
    @job(name="test-job")
    def works():
        return 1

    @job(name="test-job")
    def breaks():
        raise RuntimeError("broken")

    def run(name):
        with app.app_context():
            row = db.session.get(JobRun, name)
            db.session.expunge_all()
            return row

    assert works(app) == 1
    first = run("test-job")
    assert first.last_success_at is not None and first.consecutive_failures == 0
    assert breaks(app) is None and breaks(app) is None
    failed = run("test-job")
    assert failed.consecutive_failures == 2 and failed.last_success_at == first.last_success_at
    assert failed.last_failure_at >= first.last_success_at and failed.last_duration_seconds >= 0

    @job
    def unnamed_job():
        return None

    unnamed_job(app)
    assert run("unnamed_job") is not None
    from pengaduan.jobs import WORKER_JOBS, sweep_job

    assert sweep_job.job_name == "sla-sweep" and "sla-sweep" in WORKER_JOBS and "backup" not in WORKER_JOBS


# --- readiness --------------------------------------------------------------------------------

def test_ready_on_a_migrated_database_before_the_first_run(app):
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200, answer.json
    assert answer.json["ready"] is True and answer.json["reasons"] == []
    assert answer.json["migrations"]["ok"] and answer.json["migrations"]["database"] == list(probes.code_heads())
    assert answer.json["worker"]["last_run"] is None and answer.json["worker"]["ok"]
    assert "Set-Cookie" not in answer.headers


def test_not_ready_while_migrations_are_pending(app):
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0036'"))
        db.session.commit()
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.json["reasons"] == ["migrations pending"]
    assert answer.json["migrations"]["database"] == ["0036"]
    with app.app_context():
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()
    assert app.test_client().get("/readyz").json["reasons"] == ["migrations pending"]


def test_ready_while_the_database_is_ahead_of_the_code(app):
    """The upgrade migrates first, then replaces the nodes: an old node meets a revision it
    does not know and stays in service."""
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'"))
        db.session.commit()
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200 and answer.json["reasons"] == []
    assert answer.json["migrations"]["ok"] and "ahead" in answer.json["migrations"]["note"]
    assert answer.json["migrations"]["database"] == ["9999_from_a_newer_release"]


def test_outsiders_are_told_only_ready_or_not(app):
    client = app.test_client()
    app.config["PENGADUAN_METRICS_TOKEN"] = TOKEN
    outsider = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    answer = client.get("/readyz", **outsider)
    assert answer.status_code == 200 and answer.json == {"ready": True}
    assert set(client.get("/readyz").json) == {"ready", "reasons", "migrations", "worker"}  # loopback
    token = client.get("/readyz", headers={"Authorization": f"Bearer {TOKEN}"}, **outsider)
    assert "migrations" in token.json
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0036'"))
        db.session.commit()
    assert client.get("/readyz").json["reasons"] == ["migrations pending"]  # the details: read now
    assert client.get("/readyz", **outsider).json == {"ready": True}  # the bare answer: a few seconds old
    app.extensions[probes.BARE] = (app.extensions[probes.BARE][0] - probes.BARE_SECONDS, True)
    stale = client.get("/readyz", **outsider)
    assert stale.status_code == 503 and stale.json == {"ready": False}


def test_not_ready_when_the_worker_is_silent(app):
    client = app.test_client()
    record_run_at(app, "audit-checkpoint", utcnow() - timedelta(minutes=1), ok=True, took=1)
    assert client.get("/readyz").status_code == 200
    record_run_at(app, "backup", utcnow(), ok=True, took=1)  # a backup is not the worker
    record_run_at(app, "sla-sweep", utcnow() - timedelta(minutes=6), ok=True, took=1)
    with app.app_context():
        db.session.execute(update(JobRun).where(JobRun.name == "audit-checkpoint")
                           .values(last_started_at=utcnow() - timedelta(minutes=7)))
        db.session.commit()
    stale = client.get("/readyz")
    assert stale.status_code == 503 and stale.json["reasons"] == ["the worker has not run for 5 minutes"]
    assert stale.json["worker"]["age_seconds"] >= 360
    app.config["PENGADUAN_READY_WORKER_MINUTES"] = 10
    assert client.get("/readyz").status_code == 200
    app.config["PENGADUAN_READY_WORKER_MINUTES"] = 0
    assert client.get("/readyz").json["worker"]["checked"] is False


def test_never_run_counts_after_the_grace_minutes(app):
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    app.extensions[probes.STARTED] -= 6 * 60  # the app was built six minutes ago
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.json["reasons"] == ["the worker has never run"]


# --- gunicorn: one scrape adds up every worker -------------------------------------------------

def test_gunicorn_workers_add_up_in_one_scrape(procs, tmp_path):  # noqa: F811
    """PROMETHEUS_MULTIPROC_DIR: each worker writes its figures there, any worker's scrape
    adds them all up, and gunicorn clears what an earlier run left when it starts."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_99999.db").write_bytes(b"left over by an earlier run")
    server = procs.gunicorn(workers=2, PROMETHEUS_MULTIPROC_DIR=str(folder))
    assert not (folder / "counter_99999.db").exists()

    def healthz_count() -> float:
        figures = parse(requests.get(server.url("/metrics"), timeout=10).text)
        return value(figures, "pengaduan_http_requests_total", endpoint="public.healthz", method="GET", status="2xx")

    def workers_with_figures() -> set[str]:
        return {path.stem.rsplit("_", 1)[1] for path in folder.glob("*.db")}

    before, sent = healthz_count(), 0
    with ThreadPoolExecutor(max_workers=6) as pool:
        while len(workers_with_figures()) < 2 and sent < 600:  # until both workers have answered
            answers = list(pool.map(lambda _: requests.get(server.url("/healthz"), timeout=10), range(12)))
            assert {a.status_code for a in answers} == {200}
            sent += len(answers)
    assert len(workers_with_figures()) == 2, sorted(folder.iterdir())
    assert healthz_count() == before + sent  # whichever worker answers the scrape
    assert healthz_count() == before + sent
