"""Helpers for tests that run the real application in subprocesses (tests/test_faults.py,
tests/test_load.py): the web server as `python run.py` or gunicorn, the `flask --app run sla
worker` timer process and the `flask --app run` commands, all on the test's own database
(the `app` fixture of conftest.py: a SQLite file, or a PostgreSQL database cloned for the
test), plus HTTP clients and the integrity checks run after a fault.

Every process is started in its own session and killed (with its children) at teardown,
even when the test fails. Output goes to a log file in the test's folder, never to a pipe
nobody reads (a full pipe would stall the server).
"""
from __future__ import annotations

import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from pengaduan import storage
from pengaduan.database import read_only
from pengaduan.extensions import db
from pengaduan.models import (Attachment, AuditEvent, Complaint, ComplaintClock, ComplaintEvent,
                              Escalation, Notification, utcnow)
from pengaduan.services import file_complaint
from pengaduan.workflow import current_workflow

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
OFFICER = "officer.a@example.id"
SUPERVISOR = "supervisor.a@example.id"
STAGE_CLOCKS = {"verification", "response"}  # the clocks every filing starts
START_TIMEOUT = 60


# --- processes -------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(app, **overrides) -> dict:
    """The environment of a subprocess running this test's app: same database, secret key
    (sessions and PINs), signing key and upload folder. Behind one trusted proxy, so each
    simulated citizen can bring its own address (X-Forwarded-For) and the per-address rate
    limits apply per citizen, as in production behind nginx."""
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("PENGADUAN_", "MAIL_", "RATELIMIT_", "FLASK_"))
                 and k not in ("DATABASE_URL", "SECRET_KEY")}
    env = {**inherited,
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": app.config["SECRET_KEY"],
           "PENGADUAN_SIGNING_KEY": app.config["PENGADUAN_SIGNING_KEY"],
           "PENGADUAN_UPLOAD_DIR": app.config["PENGADUAN_UPLOAD_DIR"],
           "PENGADUAN_STORAGE": app.config.get("PENGADUAN_STORAGE", "local"),
           "PENGADUAN_PROXY_COUNT": "1", "PENGADUAN_SECURE_COOKIES": "0",
           "PENGADUAN_SCHEDULER": "off", "PYTHONUNBUFFERED": "1"}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class Process:
    """A subprocess in its own session (so its children die with it), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== {' '.join(args)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, sig)  # our child leads its own process group
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        """SIGKILL, no clean-up of any kind; returns once the process is gone."""
        self.send(signal.SIGKILL)
        self.popen.wait(timeout=30)

    def step_until(self, condition, what: str, slice_s: float = 0.01,
                   timeout: float = 120) -> None:
        """Let the process run in short slices (SIGCONT, sleep, SIGSTOP) until `condition()`
        holds, and leave it stopped there: it can never get more than one slice past the
        progress observed, however slowly this test process is scheduled."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.send(signal.SIGCONT)
                time.sleep(slice_s)
                self.send(signal.SIGSTOP)
                assert self.alive(), f"{self.name} exited:\n{self.tail()}"
                if condition():
                    return
                assert time.monotonic() < deadline, f"{what}: not reached in {timeout} s"
        except BaseException:
            self.send(signal.SIGCONT)
            raise

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20) -> int:
        """Ask it to stop; kill it if it does not within `timeout`."""
        self.send(sig)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.popen.returncode

    def log(self) -> str:
        """What this process wrote (a log file may hold earlier runs of the same name)."""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


PORT_TAKEN = ("Address already in use", "Connection in use")  # waitress, gunicorn


class PortTaken(Exception):
    """Another process took the free port between our look and the server's bind."""


class Server(Process):
    """The web application on a free loopback port."""

    def __init__(self, name, args, env, log_dir, port):
        super().__init__(name, args, env, log_dir)
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def wait_ready(self, healthy: bool = True, timeout: float = START_TIMEOUT) -> None:
        """Until /healthz answers (200 when `healthy`, anything otherwise)."""
        deadline = time.monotonic() + timeout
        while True:
            if any(sign in self.log() for sign in PORT_TAKEN):
                raise PortTaken(self.port)
            assert self.alive(), f"{self.name} exited:\n{self.tail()}"
            try:
                status = requests.get(self.url("/healthz"), timeout=5).status_code
                if status == 200 or not healthy:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"{self.name} not ready in {timeout} s:\n{self.tail()}"
            time.sleep(0.1)


class Processes:
    """Starts the app's processes for one test and kills whatever is left at teardown."""

    def __init__(self, app, log_dir: Path):
        self.app = app
        self.log_dir = log_dir
        self.started: list[Process] = []

    def env(self, **overrides) -> dict:
        return environment(self.app, **overrides)

    def serve(self, name: str, args, env: dict, healthy: bool | None) -> Server:
        """Start a server on a free port (another, should that one be taken meanwhile) and
        wait until /healthz answers: 200 if `healthy`, anything if False, no wait if None."""
        for _ in range(3):
            port = free_port()
            server = Server(name, args(port), self.env(**env), self.log_dir, port)
            self.started.append(server)
            if healthy is None:
                return server
            try:
                server.wait_ready(healthy)
                return server
            except PortTaken:
                server.kill()
        raise AssertionError(f"{name}: no free port after three tries")

    def run_py(self, name: str = "server", threads: int = 8, healthy: bool | None = True,
               **env) -> Server:
        """`python run.py`: migrates (a no-op here), serves with waitress."""
        return self.serve(name, lambda port: [sys.executable, "run.py", "--host", "127.0.0.1",
                                              "--port", str(port), "--threads", str(threads)],
                          env, healthy)

    def gunicorn(self, name: str = "gunicorn", workers: int = 2, healthy: bool | None = True,
                 **env) -> Server:
        """The README's production web command; gunicorn.conf.py checks the workflow first."""
        return self.serve(name, lambda port: [sys.executable, "-m", "gunicorn", "-w", str(workers),
                                              "-b", f"127.0.0.1:{port}", "run:app"], env, healthy)

    def worker(self, name: str = "worker", **env) -> Process:
        """`flask --app run sla worker`: sweeps at once, then every minute."""
        proc = Process(name, [sys.executable, "-m", "flask", "--app", "run", "sla", "worker"],
                       self.env(**env), self.log_dir)
        self.started.append(proc)
        return proc

    def flask(self, *args: str, timeout: float = 120, **env) -> subprocess.CompletedProcess:
        """A `flask --app run ...` command to completion."""
        return subprocess.run([sys.executable, "-m", "flask", "--app", "run", *args], cwd=ROOT,
                              env=self.env(**env), capture_output=True, text=True, timeout=timeout)

    def audit_verify(self, separate_process: bool = True) -> str:
        """`flask --app run audit verify` must exit 0 with `OK <n> events head <hash>`: as
        its own process, or (quicker) the same command through Flask's CLI runner."""
        if separate_process:
            result = self.flask("audit", "verify")
            code, output = result.returncode, result.stdout + result.stderr
        else:
            result = self.app.test_cli_runner().invoke(args=["audit", "verify"])
            code, output = result.exit_code, result.output
        assert code == 0, output
        assert output.startswith("OK "), output
        return output.strip()

    def kill_all(self) -> None:
        for proc in reversed(self.started):
            proc.kill()


@pytest.fixture
def procs(app, tmp_path):
    """Processes of this test; every one still running is SIGKILLed at teardown."""
    started = Processes(app, tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


# --- the organisation ------------------------------------------------------------------------

def make_org(app, token: bool = True) -> str | None:
    """UNIT-A with a category, an officer and a supervisor; the signing key generated now
    (before processes race to create it). Returns an API token of the officer, made by the
    real `users token` command."""
    from pengaduan import audit
    from pengaduan.services import create_category, create_unit, create_user

    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_category("GENERAL", "Umum")
        create_user(OFFICER, "officer", password=PASSWORD, unit_codes=["UNIT-A"])
        create_user(SUPERVISOR, "supervisor", password=PASSWORD, unit_codes=["UNIT-A"])
        db.session.commit()
        audit.public_key_hex()
    if not token:
        return None
    result = app.test_cli_runner().invoke(args=["users", "token", OFFICER])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


LEVELS = ("overdue", "serious")  # both past for a complaint filed 60 days ago; warnings skipped


def file_long_ago(app, n: int, days: int = 60) -> set[tuple[int, int, int, str]]:
    """n complaints filed `days` ago: every stage clock is overdue and seriously so. Returns
    the (complaint, clock, cycle, level) rungs the sweep must fire, each exactly once."""
    filed_at = utcnow() - timedelta(days=days)
    with app.app_context():
        for i in range(n):
            file_complaint({"unit": "UNIT-A", "category": "GENERAL", "title": f"Lama {i}",
                            "description": "Belum ditangani.", "name": "Budi", "consent": True},
                           at=filed_at + timedelta(seconds=i))
            if i % 250 == 249:
                db.session.commit()
        db.session.commit()
        rungs = {(clock.complaint_id, clock.id, clock.cycle, level)
                 for clock in db.session.scalars(select(ComplaintClock))
                 if clock.rule in STAGE_CLOCKS for level in LEVELS}
        db.session.rollback()
    assert len(rungs) == len(STAGE_CLOCKS) * len(LEVELS) * n
    return rungs


def probe_engine(app, pooled: bool = False):
    """A plain engine on the test's database for watching progress from outside the app:
    no app hooks (so SQLite reads never take the write lock, nor hold a transaction open);
    no connection kept unless `pooled` (for frequent polling; dispose it after)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return create_engine(url) if pooled else create_engine(url, poolclass=NullPool)


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


# --- HTTP --------------------------------------------------------------------------------------

_addresses = itertools.count(1)
_addresses_lock = threading.Lock()


def citizen_address() -> str:
    """A new client address for each request (10.0.0.0/8), as seen through the proxy."""
    with _addresses_lock:
        n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class Http:
    """A browser or API client of the live server: its own cookies, a new address per request."""

    def __init__(self, server: Server, token: str | None = None, lang: str | None = None,
                 address: str | None = None, timeout: float = 30):
        self.server = server
        self.session = requests.Session()
        self.timeout = timeout
        self.address = address  # a signed-in browser keeps its address (strong session protection)
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if lang:
            self.session.cookies.set("lang", lang, domain="127.0.0.1", path="/")

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"X-Forwarded-For": self.address or citizen_address(), **kwargs.pop("headers", {})}
        return self.session.request(method, self.server.url(path), headers=headers,
                                    timeout=kwargs.pop("timeout", self.timeout),
                                    allow_redirects=False, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def csrf(self, path: str) -> str:
        """The CSRF token of this browser's session, read from a form of the page."""
        from pages import Page

        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return Page(response.text).token

    def login(self, email: str, password: str = PASSWORD) -> None:
        response = self.post("/login", data={"csrf_token": self.csrf("/login"), "email": email,
                                             "password": password})
        assert response.status_code == 302, response.text[:500]


def api_filing(title: str, **overrides) -> dict:
    return {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
            "title": title, "description": f"Uraian {title}.", "privacy": "public",
            "name": "Budi Hartono", "consent": True, **overrides}


def web_filing(token: str, title: str, **overrides) -> dict:
    return {"csrf_token": token, **api_filing(title), "consent": "y", **overrides}


def png(seed: int = 0, side: int = 8) -> bytes:
    """A small real PNG (uploads are checked by decoding them); `seed` varies its bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (seed % 256, (seed // 256) % 256, 77)).save(buffer, "PNG")
    return buffer.getvalue()


def pdf(size: int, label: str = "Lampiran") -> bytes:
    """A PDF of exactly `size` bytes (its markers at both ends are what the upload check
    needs), padded with a comment of random hex so no two are alike."""
    head = f"%PDF-1.4\n% {label}\n%".encode()
    tail = b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    filler = os.urandom(size).hex().encode()[:max(0, size - len(head) - len(tail))]
    return head + filler + tail


def session_cookie(app, client: Http) -> dict:
    """The Flask session the server gave this client, read with the shared secret key (the
    receipt's tracking code is there the moment the filing is acknowledged by its 302)."""
    cookie = client.session.cookies.get(app.config.get("SESSION_COOKIE_NAME", "session"))
    if not cookie:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(cookie)


# --- integrity after a fault -----------------------------------------------------------------

def uploaded_files(app) -> dict[str, bytes]:
    """Every stored file by name, from the storage the app is configured with (the upload
    folder, or the database's file_chunks)."""
    if app.config.get("PENGADUAN_STORAGE", "local") == "local":
        folder = Path(app.config["PENGADUAN_UPLOAD_DIR"])
        return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}
    with app.app_context(), read_only():
        backend = storage.current()
        files = {name: b"".join(backend.chunks(name)) for name in backend.names()}
        db.session.rollback()
        return files


def stored_names(app) -> set[str]:
    """Every stored file name the database points at (every table that keeps files)."""
    from pengaduan.models.base import FileColumns

    with app.app_context(), read_only():
        names = set()
        for model in FileColumns.__subclasses__():
            names |= set(db.session.scalars(select(model.stored_name)))
        db.session.rollback()
        return names


def problems(app) -> tuple[list[str], set[str]]:
    """Everything half-written the database and the upload folder may hold after a crash:
    (descriptions of broken invariants, names of files no row points at)."""
    import hashlib

    found: list[str] = []
    with app.app_context(), read_only():  # SQLite: never wait for a writer's lock
        workflow = current_workflow()
        triggers = {t.trigger for t in workflow.transitions}
        complaints = {c.id: c for c in db.session.scalars(select(Complaint))}
        codes = {c.tracking_code: c for c in complaints.values()}
        events = defaultdict(list)
        for event in db.session.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id)):
            events[event.complaint_id].append(event)
        clocks = defaultdict(set)
        for clock in db.session.scalars(select(ComplaintClock)):
            clocks[clock.complaint_id].add(clock.rule)
        audited = defaultdict(Counter)
        escalation_audits = Counter()
        for code, action, body in db.session.execute(
                select(AuditEvent.complaint_code, AuditEvent.action, AuditEvent.body)):
            if code is not None:
                audited[code][action] += 1
            if action == "complaint.escalated":
                escalation_audits[json.loads(body)["payload"]["escalation_id"]] += 1

        for code in audited:
            if code not in codes:
                found.append(f"audit events for {code}, which does not exist")
        for cid in set(events) | set(clocks):
            if cid not in complaints:
                found.append(f"timeline or clocks of complaint id {cid}, which does not exist")
        for cid, complaint in complaints.items():
            code = complaint.tracking_code
            mine = events[cid]
            filed = [e for e in mine if e.kind == "filed"]
            if len(filed) != 1 or filed[0].to_state != workflow.initial:
                found.append(f"{code}: {len(filed)} 'filed' (received) events")
            if audited[code]["complaint.filed"] != 1:
                found.append(f"{code}: {audited[code]['complaint.filed']} complaint.filed audit events")
            if not STAGE_CLOCKS <= clocks[cid]:
                found.append(f"{code}: clocks {sorted(clocks[cid])}, missing the filing's")
            steps = [e for e in mine if e.kind == "transition"]
            timeline = Counter(e.trigger for e in steps)
            chain = Counter({a.split(".", 1)[1]: n for a, n in audited[code].items()
                             if a.split(".", 1)[1] in triggers})
            if timeline != chain:
                found.append(f"{code}: timeline steps {dict(timeline)} but audited {dict(chain)}")
            state = steps[-1].to_state if steps else workflow.initial
            if complaint.state != state:
                found.append(f"{code}: state {complaint.state} but its last step leads to {state}")
            if "verify" in timeline and not {"first_follow_up", "resolution"} <= clocks[cid]:
                found.append(f"{code}: verified without its follow-up and resolution clocks")

        backend = storage.current()
        for item in db.session.scalars(select(Attachment)):
            if item.complaint_id not in complaints:
                found.append(f"attachment {item.id} of a complaint that does not exist")
            try:
                digest = hashlib.sha256(b"".join(backend.chunks(item.stored_name))).hexdigest()
            except FileNotFoundError:
                found.append(f"attachment {item.id} ({item.stored_name}) has no file")
                continue
            if digest != item.sha256:
                found.append(f"attachment {item.id} ({item.stored_name}): file differs from its digest")

        escalations = list(db.session.scalars(select(Escalation)))
        keys = Counter((e.clock_id, e.cycle, e.level) for e in escalations)
        found += [f"escalation {key} fired {n} times" for key, n in keys.items() if n > 1]
        escalation_events = Counter(e.data.get("escalation_id") for es in events.values()
                                    for e in es if e.kind == "escalation")
        for e in escalations:
            if escalation_events[e.id] != 1 or escalation_audits[e.id] != 1:
                found.append(f"escalation {e.id}: {escalation_events[e.id]} timeline and "
                             f"{escalation_audits[e.id]} audit events")
        notices = Counter((n.user_id, n.data.get("escalation_id")) for n in db.session.scalars(
            select(Notification).where(Notification.kind == "escalation")))
        found += [f"notification {key} sent {n} times" for key, n in notices.items() if n > 1]
        found += chain_problems()
        db.session.rollback()
    orphans = set(uploaded_files(app)) - stored_names(app)
    return found, orphans


def chain_problems() -> list[str]:
    """A fork or a gap in the audit chain, by plain SQL (verify checks the hashes)."""
    rows = db.session.execute(select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.hash)
                              .order_by(AuditEvent.seq)).all()
    found = []
    if [r.seq for r in rows] != list(range(1, len(rows) + 1)):
        found.append("audit seq is not 1..n without gaps")
    if len({r.prev_hash for r in rows}) != len(rows):
        found.append("two audit events share a prev_hash (a fork)")
    for before, after in zip(rows, rows[1:]):
        if after.prev_hash != before.hash:
            found.append(f"audit seq {after.seq} does not follow seq {before.seq}")
            break
    return found


def count(app, model, *where) -> int:
    with app.app_context(), read_only():
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.rollback()
        return n
