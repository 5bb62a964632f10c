"""Recovery from faults, tested in-process where the fault can be injected exactly and with the
real processes (tests/live.py) where only they show the behaviour:

1. The database is unreachable: web pages answer a friendly 503 (Indonesian by default,
   English with the language chosen) with Retry-After, the API a 503 JSON error, signed-in
   staff too (never a 500); everything acknowledged before is still there afterwards.
   PostgreSQL also: a real outage (ALLOW_CONNECTIONS false, backends terminated) under
   gunicorn, and the same server recovers once the database is back.
2. The disk fills up while an upload is written: 507 with the message on the files field,
   what was typed kept, no row, no audit event and no file left behind (citizen's filing
   form, supervision record with files).
3. `flask --app run sla worker` SIGKILLed mid-sweep (some escalations committed, not all):
   restarted, it finishes, each rung fired exactly once with one timeline and one audit event.
4. Orphan uploads (files no row points at) are removed after their grace period, referenced
   and fresh files are kept; `python run.py` removes them at start.

Kill points are chosen by observed progress, never by sleeping.
"""
from __future__ import annotations

import builtins
import errno
import io
import os
import time
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy.engine
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from live import (OFFICER, PASSWORD, SUPERVISOR, api_filing, count, file_long_ago, make_org,  # noqa: F401
                  png, probe_engine, problems, procs, scalar, uploaded_files, web_filing)
from pages import Page
from pengaduan.extensions import db
from pengaduan.models import (Attachment, AuditEvent, Complaint, ComplaintEvent, Escalation,
                              SupervisionFile, SupervisionRecord)
from pengaduan.services import attachments as attachments_module
from pengaduan.jobs.sweep import LOCK_NAME

NEW = "/complaints/new"
SUPERVISION_NEW = "/staff/supervision/new"


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def sign_in(client, email: str) -> None:
    page = Page(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"csrf_token": page.token, "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def html_text(response) -> str:
    return unescape(response.get_data(as_text=True))


def upload_dir(app) -> Path:
    return Path(app.config["PENGADUAN_UPLOAD_DIR"])


# =============================================================================================
# 1. The database unreachable
# =============================================================================================

def refuse_connections(monkeypatch):
    """Every new connection of any engine fails as a database that refuses connections."""
    def connect(self, *args, **kwargs):
        raise OperationalError("connect", {}, Exception("connection refused"))

    monkeypatch.setattr(sqlalchemy.engine.Engine, "connect", connect)


def test_database_unreachable_answers_503_and_loses_nothing(app, monkeypatch):
    make_org(app, token=False)
    citizen, officer, api = app.test_client(), app.test_client(), app.test_client()
    before = api.post("/api/v1/complaints", json=api_filing("sebelum gangguan"))
    assert before.status_code == 201, before.get_data(as_text=True)
    code = before.get_json()["tracking_code"]
    sign_in(officer, OFFICER)
    assert officer.get("/staff/queue").status_code == 200
    assert citizen.get(NEW).status_code == 200

    with monkeypatch.context() as patch:
        refuse_connections(patch)

        page = citizen.get(NEW)
        assert page.status_code == 503
        assert page.headers["Retry-After"].isdigit()
        body = html_text(page)
        assert "Layanan sedang tidak tersedia" in body
        assert "Data yang sudah Anda kirim sebelumnya tidak hilang" in body

        english = citizen.get(NEW + "?lang=en")
        assert english.status_code == 503
        assert "Service temporarily unavailable" in html_text(english)

        staff = officer.get("/staff/queue")
        assert staff.status_code == 503, staff.get_data(as_text=True)[:300]
        assert staff.headers["Retry-After"].isdigit()
        assert "Layanan sedang tidak tersedia" in html_text(staff)

        filed = api.post("/api/v1/complaints", json=api_filing("selama gangguan"))
        assert filed.status_code == 503
        assert filed.headers["Retry-After"].isdigit()
        assert filed.get_json()["error"]["code"] == "service_unavailable"

    # The database is back: the same clients carry on, nothing acknowledged is lost.
    assert officer.get("/staff/queue").status_code == 200
    assert citizen.get(NEW).status_code == 200
    after = api.post("/api/v1/complaints", json=api_filing("setelah gangguan"))
    assert after.status_code == 201
    with app.app_context():
        titles = {c.tracking_code: c.title for c in db.session.scalars(select(Complaint))}
        db.session.rollback()
    assert titles[code] == "sebelum gangguan"
    assert sorted(titles.values()) == ["sebelum gangguan", "setelah gangguan"]
    found, orphans = problems(app)
    assert found == [] and orphans == set()


# =============================================================================================
# 2. The disk full during an upload
# =============================================================================================

class FullFile:
    """A file on a disk that fills up after the first bytes: write fails with ENOSPC."""

    def __init__(self, fh):
        self.fh = fh

    def write(self, data):
        self.fh.write(bytes(data[:16]))
        self.fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self.fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()


def fill_disk(monkeypatch, folder: Path) -> list[Path]:
    """Writes of files inside `folder` fail with ENOSPC (after the file was created)."""
    real_open = builtins.open
    created: list[Path] = []

    def full_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file).parent == folder \
                and any(m in mode for m in "wxa"):
            created.append(Path(file))
            return FullFile(real_open(file, mode, *args, **kwargs))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", full_open)
    return created


ID_FULL = ("Server sedang tidak memiliki ruang untuk menyimpan berkas. Tidak ada yang tersimpan; "
           "silakan coba lagi nanti.")
EN_FULL = ("The server has no room to store the files right now. Nothing was saved; please try "
           "again later.")


def test_disk_full_while_filing_keeps_what_was_typed_and_saves_nothing(app, monkeypatch):
    make_org(app, token=False)
    folder = upload_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    browser = app.test_client()
    token = Page(browser.get(NEW).get_data(as_text=True)).token
    audits = count(app, AuditEvent)
    title = "Jalan berlubang di Jl. Merdeka"
    data = {**web_filing(token, title), "attachments": (io.BytesIO(png(3)), "foto.png")}
    with monkeypatch.context() as patch:
        created = fill_disk(patch, folder)
        response = browser.post(NEW, data=data, content_type="multipart/form-data")
    assert created, "the upload was never written"
    assert response.status_code == 507, response.get_data(as_text=True)[:500]
    body = html_text(response)
    assert ID_FULL in body
    assert title in body  # what was typed is kept
    assert count(app, Complaint) == 0
    assert count(app, Attachment) == 0
    assert count(app, AuditEvent) == audits
    assert uploaded_files(app) == {}  # the partial file removed

    # With room again, the same browser files it.
    data = {**web_filing(token, title), "attachments": (io.BytesIO(png(3)), "foto.png")}
    assert browser.post(NEW, data=data, content_type="multipart/form-data").status_code == 302
    assert count(app, Complaint) == 1 and len(uploaded_files(app)) == 1


def test_disk_full_while_recording_supervision_keeps_the_form(app, monkeypatch):
    make_org(app, token=False)
    folder = upload_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    browser = app.test_client()
    sign_in(browser, SUPERVISOR)
    token = Page(browser.get(SUPERVISION_NEW).get_data(as_text=True)).token
    audits = count(app, AuditEvent)
    title = "Monev triwulan III disk penuh"
    held_on = (date.today() - timedelta(days=3)).isoformat()
    data = {"csrf_token": token, "kind": "monitoring_evaluation", "held_on": held_on,
            "title": title, "units": ["UNIT-A"], "participants": "Bambang, Siti",
            "findings": "Temuan rapat.", "complaints": "",
            "action_description": [""], "action_owner": [""], "action_due_on": [""],
            "files": [(io.BytesIO(png(5)), "foto.png")]}
    with monkeypatch.context() as patch:
        created = fill_disk(patch, folder)
        response = browser.post(SUPERVISION_NEW + "?lang=en", data=data,
                                content_type="multipart/form-data")
    assert created, "the upload was never written"
    assert response.status_code == 507, response.get_data(as_text=True)[:500]
    body = html_text(response)
    assert EN_FULL in body
    assert title in body
    assert count(app, SupervisionRecord) == 0
    assert count(app, SupervisionFile) == 0
    assert count(app, AuditEvent) == audits
    assert uploaded_files(app) == {}


# =============================================================================================
# 3. The SLA worker SIGKILLed mid-sweep
# =============================================================================================

def test_sla_worker_killed_mid_sweep_fires_each_rung_once(app, procs):
    make_org(app, token=False)
    rungs = file_long_ago(app, 300)  # 600 due clocks: more than one batch of the sweep
    probe = probe_engine(app, pooled=True)
    try:
        fired = lambda: scalar(probe, "SELECT count(*) FROM escalations")  # noqa: E731
        worker = procs.worker()
        worker.step_until(lambda: 0 < fired() < len(rungs), "some escalations, not all")
        partial = fired()
        worker.kill()
        assert 0 < fired() == partial < len(rungs)
        if not is_postgres(app):  # the lease of the dead worker: expire it, no wait for its ttl
            with probe.begin() as conn:
                conn.execute(text("UPDATE job_leases SET holder = NULL, expires_at = NULL "
                                  "WHERE name = :name"), {"name": LOCK_NAME})
        restarted = procs.worker("worker-restarted")
        deadline = time.monotonic() + 120
        while fired() < len(rungs):
            assert restarted.alive(), restarted.tail()
            assert time.monotonic() < deadline, f"{fired()} of {len(rungs)} rungs fired"
            time.sleep(0.1)
        # Let the sweep finish its last batch (timeline and audit in the same transaction).
        restarted.stop()
    finally:
        probe.dispose()
    print(f"killed after {partial} of {len(rungs)} escalations")

    with app.app_context():
        escalations = list(db.session.scalars(select(Escalation)))
        keys = [(e.complaint_id, e.clock_id, e.cycle, e.level) for e in escalations]
        assert len(keys) == len(set(keys)) == len(rungs)
        assert set(keys) == rungs
        events = [e.data.get("escalation_id") for e in db.session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.kind == "escalation"))]
        assert sorted(events) == sorted(e.id for e in escalations)
        audited = db.session.scalar(select(db.func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.action == "complaint.escalated"))
        assert audited == len(rungs)
        db.session.rollback()
    found, _ = problems(app)
    assert found == []
    procs.audit_verify()


# =============================================================================================
# 4. Orphan uploads
# =============================================================================================

def file_with_photo(app) -> str:
    browser = app.test_client()
    token = Page(browser.get(NEW).get_data(as_text=True)).token
    data = {**web_filing(token, "Dengan foto"), "attachments": (io.BytesIO(png(9)), "foto.png")}
    assert browser.post(NEW, data=data, content_type="multipart/form-data").status_code == 302
    [name] = uploaded_files(app)
    return name


def old_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(png(1))
    old = time.time() - 7200
    os.utime(path, (old, old))
    return path


def test_remove_orphans_removes_only_unreferenced_files_past_the_grace(app):
    make_org(app, token=False)
    referenced = file_with_photo(app)
    folder = upload_dir(app)
    os.utime(folder / referenced, (time.time() - 7200,) * 2)  # old, but a row points at it
    orphan = old_file(folder, "0" * 32 + ".png")
    fresh = folder / ("1" * 32 + ".png")
    fresh.write_bytes(png(2))  # may belong to a request still in flight

    with app.app_context():
        assert attachments_module.remove_orphans() == 1  # default grace: one hour
        db.session.rollback()
    assert set(uploaded_files(app)) == {referenced, fresh.name}

    with app.app_context():
        assert attachments_module.remove_orphans(older_than=timedelta(0)) == 1
        db.session.rollback()
    assert set(uploaded_files(app)) == {referenced}
    assert not orphan.exists()
    found, orphans = problems(app)
    assert found == [] and orphans == set()


def test_run_py_removes_orphans_at_start(app, procs):
    make_org(app, token=False)
    referenced = file_with_photo(app)
    folder = upload_dir(app)
    orphan = folder / ("2" * 32 + ".pdf")
    orphan.write_bytes(b"%PDF-1.4\n%%EOF\n")  # just written: start-up uses no grace
    server = procs.run_py(threads=2)
    assert not orphan.exists(), server.tail()
    assert set(uploaded_files(app)) == {referenced}


def test_postgresql_outage_answers_503_and_the_same_server_recovers(app, procs):
    """PostgreSQL: the database refuses new connections and its open ones are terminated
    while gunicorn serves; every answer is a 503 (page or JSON), never a 500; once allowed
    again, the same server works on without a restart."""
    if not is_postgres(app):
        pytest.skip("PostgreSQL only (ALLOW_CONNECTIONS)")
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from live import Http

    make_org(app, token=False)
    server = procs.gunicorn(workers=2)
    client = Http(server)
    before = client.post("/api/v1/complaints", json=api_filing("sebelum putus"))
    assert before.status_code == 201, before.text[:300]
    code = before.json()["tracking_code"]

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    name = url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})
        for _ in range(4):  # both workers, their pooled connections now dead
            page = client.get(NEW)
            assert page.status_code == 503, page.text[:300]
            assert page.headers["Retry-After"].isdigit()
            assert "Layanan sedang tidak tersedia" in unescape(page.text)
            filed = client.post("/api/v1/complaints", json=api_filing("selama putus"))
            assert filed.status_code == 503, filed.text[:300]
            assert filed.json()["error"]["code"] == "service_unavailable"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()

    deadline = time.monotonic() + 30
    while (status := client.get(NEW).status_code) != 200:
        assert status == 503, status
        assert time.monotonic() < deadline, "the server did not recover"
        time.sleep(0.2)
    assert server.alive()
    after = client.post("/api/v1/complaints", json=api_filing("setelah putus"))
    assert after.status_code == 201, after.text[:300]
    with app.app_context():
        titles = {c.tracking_code: c.title for c in db.session.scalars(select(Complaint))}
        db.session.rollback()
    assert titles[code] == "sebelum putus"
    assert sorted(titles.values()) == ["sebelum putus", "setelah putus"]
    found, _ = problems(app)
    assert found == []
