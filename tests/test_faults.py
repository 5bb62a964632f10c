"""Fault injection against the real processes: what survives when the server is killed
mid-stream (the database going away, a full disk and a worker killed mid-sweep are in
tests/test_faults_recovery.py).

The web processes (`gunicorn 'run:app'`, the README's production command) are SIGKILLed
   while several threads file complaints (API, and the web form with a photo) and officers
   move them through the workflow (API, bearer token from `flask --app run users token`);
   restarted on the same database, everything acknowledged is there with its timeline and
   audit events, nothing is half-written, and `flask --app run audit verify` passes.

Kill points are chosen by observed progress (acknowledged requests, rows in the escalations
table, a file appearing in the upload folder), never by sleeping; a process that must stop
at a precise point is run in short slices (SIGCONT/SIGSTOP) and stopped as soon as the point
is observed. Every process is killed at teardown. Runs on SQLite and, with
PENGADUAN_TEST_DATABASE_URL, on PostgreSQL (one database cloned per test, as conftest.py does).
"""
from __future__ import annotations

import queue
import random
import threading
import time

import requests
from sqlalchemy import select

from live import (Http, api_filing, make_org, png, problems, procs,  # noqa: F401 (procs: fixture)
                  session_cookie, web_filing)
from pengaduan.database import read_only
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, ComplaintEvent

NEW = "/complaints/new"
STEPS = [("verify", {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}),
         ("follow_up", {"response": "Sudah kami tindak lanjuti."}),
         ("close", {"resolution": "Selesai ditangani."})]


def is_postgres(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


# =============================================================================================
# 1. The server SIGKILLed mid-stream
# =============================================================================================

class Stream:
    """Citizens filing through the API and the web form (with a photo) and officers moving
    the filed complaints through verify, follow_up and close, each in its own thread, until
    told to stop or the server stops answering. Records what the server acknowledged."""

    def __init__(self, app, server, token: str, api_filers: int = 3, web_filers: int = 2,
                 officers: int = 2):
        self.app, self.server, self.token = app, server, token
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.filings: dict[str, dict] = {}  # acknowledged: code -> title, channel, photo
        self.steps: list[tuple[str, str]] = []  # acknowledged (code, trigger)
        self.unanswered = 0  # requests in flight when the server died
        self.unanswered_uploads = 0
        self.unexpected: list[str] = []
        self.work: queue.Queue = queue.Queue()
        self.threads = (
            [threading.Thread(target=self._guard, args=(self._file_api, i)) for i in range(api_filers)]
            + [threading.Thread(target=self._guard, args=(self._file_web, i)) for i in range(web_filers)]
            + [threading.Thread(target=self._guard, args=(self._officer, i)) for i in range(officers)])

    def start(self) -> "Stream":
        for thread in self.threads:
            thread.start()
        return self

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread hung"

    @property
    def acknowledged(self) -> tuple[int, int]:
        with self.lock:
            return len(self.filings), len(self.steps)

    def _guard(self, loop, n: int) -> None:
        try:
            loop(n)
        except requests.RequestException:  # the server died with this request in flight
            with self.lock:
                self.unanswered += 1
        except Exception as exc:  # reported by the test
            with self.lock:
                self.unexpected.append(f"{type(exc).__name__}: {exc}")

    def _unexpected(self, what: str, response) -> None:
        with self.lock:
            self.unexpected.append(f"{what}: {response.status_code} {response.text[:300]}")
        self.stop.set()

    def _file_api(self, n: int) -> None:
        client = Http(self.server)
        for i in range(10_000):
            if self.stop.is_set():
                return
            title = f"api-{n}-{i}"
            response = client.post("/api/v1/complaints", json=api_filing(title))
            if response.status_code != 201:
                return self._unexpected(title, response)
            body = response.json()
            with self.lock:
                self.filings[body["tracking_code"]] = {"title": title, "channel": "api",
                                                       "pin": body["pin"], "photo": None}
            self.work.put((body["tracking_code"], 0))

    def _file_web(self, n: int) -> None:
        for i in range(10_000):
            if self.stop.is_set():
                return
            browser = Http(self.server)
            token = browser.csrf(NEW)
            title, photo = f"web-{n}-{i}", png(seed=n * 1000 + i)
            try:
                response = browser.post(NEW, data=web_filing(token, title),
                                        files={"attachments": (f"{title}.png", photo, "image/png")})
            except requests.RequestException:
                with self.lock:
                    self.unanswered_uploads += 1
                raise
            if response.status_code != 302:
                return self._unexpected(title, response)
            code = session_cookie(self.app, browser)["receipt"]["code"]
            with self.lock:
                self.filings[code] = {"title": title, "channel": "web", "pin": None, "photo": photo}
            self.work.put((code, 0))

    def _officer(self, n: int) -> None:
        client = Http(self.server, token=self.token)
        while not self.stop.is_set():
            try:
                code, step = self.work.get(timeout=0.05)
            except queue.Empty:
                continue
            trigger, fields = STEPS[step]
            response = client.post(f"/api/v1/complaints/{code}/transitions",
                                   json={"trigger": trigger, **fields})
            if response.status_code != 200:
                return self._unexpected(f"{trigger} {code}", response)
            with self.lock:
                self.steps.append((code, trigger))
            if step + 1 < len(STEPS):
                self.work.put((code, step + 1))


def wait_until(condition, timeout: float, what: str, interval: float = 0.01, alive=None):
    deadline = time.monotonic() + timeout
    while not condition():
        assert alive is None or alive(), f"gave up waiting for {what}: a process died"
        assert time.monotonic() < deadline, f"gave up waiting for {what} after {timeout} s"
        time.sleep(interval)


def test_server_killed_mid_stream_loses_nothing_acknowledged(app, procs):
    """SIGKILL at a random amount of acknowledged work while filings and transitions are in
    flight; after a restart on the same database, everything acknowledged is there and
    complete, nothing is half-written, and the audit chain verifies."""
    token = make_org(app)
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    kill_after = (rng.randint(6, 16), rng.randint(2, 6))  # filings, transitions acknowledged
    server = procs.gunicorn(workers=3)  # the README's production web command
    stream = Stream(app, server, token).start()
    try:
        wait_until(lambda: all(a >= k for a, k in zip(stream.acknowledged, kill_after))
                   or stream.unexpected, 60, f"{kill_after} acknowledgements (seed {seed})",
                   interval=0.002, alive=server.alive)
        assert not stream.unexpected, stream.unexpected
        server.kill()  # mid-stream: every client thread is still sending
    finally:
        stream.join()
    assert not stream.unexpected, stream.unexpected
    filings, steps = dict(stream.filings), list(stream.steps)
    print(f"seed {seed}: killed after {len(filings)} filings and {len(steps)} transitions "
          f"acknowledged, {stream.unanswered} requests in flight")

    restarted = procs.gunicorn("gunicorn-restarted", workers=1)
    with app.app_context(), read_only():
        complaints = {c.tracking_code: c for c in db.session.scalars(select(Complaint))}
        for code, filed in filings.items():
            assert code in complaints, f"acknowledged filing {filed['title']} ({code}) is lost"
            complaint = complaints[code]
            assert (complaint.title, complaint.channel) == (filed["title"], filed["channel"])
            if filed["photo"] is not None:
                [attachment] = complaint.attachments
                assert attachment.size == len(filed["photo"])
        timeline = {(e.complaint.tracking_code, e.trigger) for e in db.session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.kind == "transition"))}
        audited = {(a.complaint_code, a.action.split(".", 1)[1]) for a in db.session.scalars(
            select(AuditEvent).where(AuditEvent.complaint_code.is_not(None)))}
        for step in steps:
            assert step in timeline, f"acknowledged {step} is not on the timeline"
            assert step in audited, f"acknowledged {step} is not in the audit chain"
        db.session.rollback()
    found, orphans = problems(app)
    assert found == []
    # A photo written by a filing that was in flight may stay behind without its row (see
    # test_a_filing_killed_between_storing_its_file_and_committing_leaves_no_orphan_file);
    # never more of them than uploads in flight, never a row without its file.
    assert len(orphans) <= stream.unanswered_uploads, orphans
    procs.audit_verify()

    # The restarted server works on: a filing and a step on an acknowledged complaint.
    client = Http(restarted, token=token)
    assert client.post("/api/v1/complaints", json=api_filing("after-restart")).status_code == 201
    code = next(iter(filings))
    assert client.get(f"/api/v1/complaints/{code}").status_code == 200
