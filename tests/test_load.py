"""A bounded load test of the production topology on loopback: the web processes as the
README runs them (`gunicorn -w 4 'run:app'`) and the timer process (`flask --app run sla
worker`) sweeping a backlog of overdue complaints at the same time.

8 clients x 40 operations, each client with its own seeded mix of filings (API and web form),
status lookups with the PIN, the staff list and workflow steps on its own complaints, stop
starting new operations after BUDGET seconds (so the test is bounded whatever the machine),
and must see no error at all: no 5xx, no unexpected status. Afterwards every acknowledged
complaint and step is there, nothing else was created, every overdue rung fired exactly once,
and the audit chain has no fork (`flask --app run audit verify`, plus plain SQL: no two
events share a sequence number or a previous hash). The throughput is printed, never
asserted. Runs on SQLite and, with PENGADUAN_TEST_DATABASE_URL, on PostgreSQL.

Also here: `python run.py` behind a reverse proxy gives each citizen their own rate limit.
"""
from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select

from live import (Http, api_filing, file_long_ago, make_org, png, probe_engine, problems,  # noqa: F401
                  procs, scalar, session_cookie, web_filing)
from pengaduan.database import read_only
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, ComplaintEvent, Escalation, utcnow

CLIENTS, OPERATIONS = 8, 40
BUDGET = 25.0  # seconds after which clients start no new operation (reported, not asserted)
OVERDUE = 150  # complaints the worker escalates while the load runs (600 rungs)
NEXT_STEP = {"received": ("verify", {"unit": "UNIT-A", "category": "GENERAL",
                                     "classification": "pengaduan"}),
             "verified": ("follow_up", {"response": "Sudah kami tindak lanjuti."}),
             "followed_up": ("close", {"resolution": "Selesai."})}
MIX = {"file_api": 25, "file_web": 5, "lookup": 25, "staff_list": 20, "step": 25}


class Client(threading.Thread):
    """One simulated user: files complaints, looks them up with their PIN, and (as the
    officer, with the bearer token) lists the queue and moves its own complaints on."""

    def __init__(self, n: int, app, server, token: str, seed: int, deadline: float,
                 start: threading.Barrier):
        super().__init__(name=f"client-{n}")
        self.n, self.app, self.server, self.token = n, app, server, token
        self.rng = random.Random(seed + n)
        self.deadline, self.start_together = deadline, start
        self.mine: dict[str, dict] = {}  # code -> pin, title, state, version
        self.steps: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.done = 0

    def run(self) -> None:
        citizen, staff = Http(self.server), Http(self.server, token=self.token)
        self.start_together.wait()
        for i in range(OPERATIONS):
            if time.monotonic() > self.deadline:
                return
            op = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
            if op in ("lookup", "step") and not self.open(op):
                op = "file_api"
            began = time.perf_counter()
            try:
                getattr(self, op)(citizen, staff, i)
            except Exception as exc:  # a dropped connection, a page without its receipt, ...
                self.errors.append(f"{op}: {type(exc).__name__}: {exc}")
            self.latencies[op].append(time.perf_counter() - began)
            self.done += 1

    def open(self, op: str) -> list[str]:
        return [c for c, m in self.mine.items() if op == "lookup" or m["state"] in NEXT_STEP]

    def expect(self, op: str, response, status: int) -> bool:
        if response.status_code != status:
            self.errors.append(f"{op}: {response.status_code} {response.text[:300]}")
            return False
        return True

    def file_api(self, citizen, staff, i: int) -> None:
        title = f"load-{self.n}-{i}"
        response = citizen.post("/api/v1/complaints", json=api_filing(title))
        if self.expect("file_api", response, 201):
            body = response.json()
            self.mine[body["tracking_code"]] = {"pin": body["pin"], "title": title,
                                                "state": body["state"], "version": None}

    def file_web(self, citizen, staff, i: int) -> None:
        browser = Http(self.server)
        title = f"load-web-{self.n}-{i}"
        response = browser.post("/complaints/new", data=web_filing(browser.csrf("/complaints/new"), title),
                                files={"attachments": ("foto.png", png(self.n * 100 + i), "image/png")})
        if self.expect("file_web", response, 302):
            code = session_cookie(self.app, browser)["receipt"]["code"]
            self.mine[code] = {"pin": None, "title": title, "state": "received", "version": None}

    def lookup(self, citizen, staff, i: int) -> None:
        with_pin = [c for c in self.open("lookup") if self.mine[c]["pin"]]
        if not with_pin:
            return self.staff_list(citizen, staff, i)
        code = self.rng.choice(with_pin)
        response = citizen.get(f"/api/v1/complaints/{code}",
                               headers={"X-Tracking-Pin": self.mine[code]["pin"]})
        if self.expect("lookup", response, 200) and response.json()["state"] != self.mine[code]["state"]:
            self.errors.append(f"lookup {code}: state {response.json()['state']}, "
                               f"expected {self.mine[code]['state']}")

    def staff_list(self, citizen, staff, i: int) -> None:
        response = staff.get("/api/v1/complaints", params={"limit": 20})
        if self.expect("staff_list", response, 200) and len(response.json()["items"]) == 0:
            self.errors.append("staff_list: empty queue")

    def step(self, citizen, staff, i: int) -> None:
        code = self.rng.choice(self.open("step"))
        mine = self.mine[code]
        trigger, fields = NEXT_STEP[mine["state"]]
        body = {"trigger": trigger, **fields}
        if mine["version"] is not None:
            body["version"] = mine["version"]  # optimistic lock: nobody else moves my complaints
        response = staff.post(f"/api/v1/complaints/{code}/transitions", json=body)
        if self.expect(f"step {trigger}", response, 200):
            mine["state"], mine["version"] = response.json()["state"], response.json()["version"]
            self.steps.append((code, trigger))


def test_bounded_load_with_the_worker_sweeping(app, procs, capsys):
    token = make_org(app)
    rungs = file_long_ago(app, OVERDUE)
    with app.app_context(), read_only():
        seeded = db.session.scalar(select(func.count()).select_from(Complaint))
        db.session.rollback()
    server = procs.gunicorn(workers=4)  # the README's production web command
    assert Http(server, token=token).get("/api/v1/complaints").status_code == 200
    seed = random.randrange(1_000_000)
    start = threading.Barrier(CLIENTS + 1, timeout=120)
    began = time.monotonic()
    clients = [Client(n, app, server, token, seed, began + BUDGET + 60, start) for n in range(CLIENTS)]
    for client in clients:
        client.start()
    worker = procs.worker()  # its first sweep comes while the load runs
    start.wait()
    began, began_at = time.monotonic(), utcnow()
    for client in clients:
        client.deadline = began + BUDGET
    for client in clients:
        client.join(timeout=BUDGET + 120)
        assert not client.is_alive(), f"{client.name} hung"
    elapsed = time.monotonic() - began

    errors = [f"{c.name} {e}" for c in clients for e in c.errors]
    assert errors == [], errors[:20]
    operations = sum(c.done for c in clients)
    probe = probe_engine(app)
    escalations = "SELECT count(*) FROM escalations"
    during = scalar(probe, escalations)
    deadline = time.monotonic() + 120
    while scalar(probe, escalations) < len(rungs):  # the sweep may still be finishing
        assert worker.alive() and time.monotonic() < deadline, worker.tail()
        time.sleep(0.1)
    swept_at = min(row.fired_at for row in escalation_rows(app))
    probe.dispose()
    worker.kill()

    latencies = defaultdict(list)
    for client in clients:
        for op, values in client.latencies.items():
            latencies[op] += values
    with capsys.disabled():
        print(f"\nload ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}, seed {seed}): "
              f"{operations} operations by {CLIENTS} clients in {elapsed:.1f} s = "
              f"{operations / elapsed:.1f} ops/s" + (" (time budget reached)" if operations <
                                                     CLIENTS * OPERATIONS else "")
              + f"; the worker's sweep fired {len(rungs)} escalations "
              f"{(swept_at - began_at).total_seconds():+.1f} s after the load began "
              f"({during} of them before it ended)")
        for op, values in sorted(latencies.items()):
            values.sort()
            print(f"  {op:<10} n={len(values):<4} median {statistics.median(values) * 1000:6.0f} ms"
                  f"  p95 {values[int(0.95 * (len(values) - 1))] * 1000:6.0f} ms")

    filed = {code: mine for c in clients for code, mine in c.mine.items()}
    steps = Counter(step for c in clients for step in c.steps)
    with app.app_context(), read_only():
        stored = {c.tracking_code: c for c in db.session.scalars(select(Complaint))}
        assert len(stored) == seeded + len(filed), "a complaint was lost or one appeared unasked"
        for code, mine in filed.items():
            assert code in stored, f"acknowledged {mine['title']} ({code}) is lost"
            assert (stored[code].title, stored[code].state) == (mine["title"], mine["state"])
        timeline = Counter((e.complaint.tracking_code, e.trigger) for e in db.session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.kind == "transition")))
        audited = Counter((a.complaint_code, a.action.split(".", 1)[1]) for a in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(
                [f"complaint.{trigger}" for trigger, _ in NEXT_STEP.values()]))))
        assert timeline == steps and audited == steps
        db.session.rollback()
    fired = [(r.complaint_id, r.clock_id, r.cycle, r.level) for r in escalation_rows(app)]
    assert len(fired) == len(set(fired)) and set(fired) == rungs
    found, orphans = problems(app)  # includes: no duplicate seq or prev_hash in the chain
    assert found == [] and orphans == set()
    procs.audit_verify()


def escalation_rows(app):
    with app.app_context(), read_only():
        rows = db.session.execute(select(Escalation.complaint_id, Escalation.clock_id,
                                         Escalation.cycle, Escalation.level,
                                         Escalation.fired_at)).all()
        db.session.rollback()
    return rows


class SharedBucket(AssertionError):
    """Citizens with different addresses were rate-limited together."""


def test_run_py_behind_a_proxy_gives_each_citizen_their_own_rate_limit(app, procs):
    """PENGADUAN_PROXY_COUNT=1 (set by live.environment): twelve filings from twelve
    addresses in the X-Forwarded-For header must all be accepted (the limit is 10 a minute
    per address): waitress passes the header on to the app's ProxyFix."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the proxy handling does not depend on the database")
    make_org(app, token=False)
    server = procs.run_py()
    statuses = [Http(server).post("/api/v1/complaints", json=api_filing(f"citizen-{i}")).status_code
                for i in range(12)]
    if statuses != [201] * 12:
        raise SharedBucket(f"statuses of twelve citizens' filings, one address each: {statuses}")
