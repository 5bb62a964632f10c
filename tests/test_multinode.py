"""Several web nodes (README "Several web nodes"): everything a second node needs is shared
through PostgreSQL (data, attachments with PENGADUAN_STORAGE=database, the scheduler's lock)
and Redis (rate limits, PIN budgets), never through a node's disk.

The cluster: two gunicorn nodes on two loopback ports, each with an empty upload folder of its
own, behind Debian's nginx running the deploy kit's site (deploy/nginx/pengaduan.conf, with
this machine's ports, paths and a self-signed certificate), one `sla worker`, PostgreSQL and a
Redis server of the test's own. Clients reach nginx from addresses of their own (127.x.y.z:
the whole of 127.0.0.0/8 is this machine), so the rate limits see one citizen per address, as
they would on the Internet. In one test, in this order (one cluster, started once):

1. nginx: HTTP is redirected to HTTPS; /static is served by nginx itself, with caching; a
   JSON body over PENGADUAN_MAX_BODY_KB is refused by nginx, a larger multipart form on the
   complaint form is passed on; /metrics only to the monitoring address; the client's own
   X-Forwarded-For does not change the address the limits count (PENGADUAN_PROXY_COUNT=1).
2. Ten wrong PINs through nginx, which spreads them over both nodes (its access log says which
   node answered each), spend the one budget in Redis: the next is 429 on either node.
3. A complaint filed with a file through node 1 is tracked, answered by staff and its file
   downloaded through node 2 (whose upload folder stays empty).
4. Node 1 is SIGKILLed while clients file through nginx: every 201 received is in the
   database with its audit event, the chain verifies (`audit verify`), nothing was filed
   twice, and filings go on through node 2.

PostgreSQL only (PENGADUAN_TEST_DATABASE_URL): attachments in the database and several
processes writing at once are what it is for. The config check at the top runs everywhere.
"""
from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import os
import re
import threading
import time

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

import nginx_site
from live import (OFFICER, PASSWORD, Http, Processes, api_filing, chain_problems, free_port,
                  make_org, png, web_filing)
from pengaduan import create_app
from pengaduan.database import read_only
from pengaduan.extensions import db
from pengaduan.models import Attachment, AuditEvent, Complaint
from redis_server import RedisServer, skip_unless_available as skip_without_redis

PIN = re.compile(r'data-testid="tracking-pin"[^>]*>\s*([0-9A-Z]{5}-[0-9A-Z]{5})')
ANSWER = "Jalan sudah kami tambal pada hari Senin."
UPLOAD_SIGNS = ("request.files", "checked_uploads", "file_form(")


# --- the site's body limits against the app's ------------------------------------------------

def _source(function) -> str:
    """A view's source and that of the functions of its module it calls (one level down: a
    view often hands the form to a helper that reads the files)."""
    function = inspect.unwrap(function)
    module = inspect.getmodule(function)
    text = inspect.getsource(function)
    called = set(re.findall(r"\b([A-Za-z_]\w*)\(", text))
    helpers = [getattr(module, name) for name in called
               if inspect.isfunction(getattr(module, name, None))
               and getattr(module, name).__module__ == module.__name__]
    return text + "".join(inspect.getsource(h) for h in helpers)


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule)


FORM_TAG = re.compile(r"<form\b[^>]*>")


def multipart_endpoints(app) -> set[str]:
    """The endpoints the templates' multipart forms post to: those the form's action names
    (url_for), or, for a form without an action (it posts to its own page), the views that
    render that template."""
    folder = nginx_site.ROOT / "templates"
    endpoints = set()
    for template in sorted(folder.rglob("*.html")):
        for form in FORM_TAG.findall(template.read_text()):
            if "multipart/form-data" not in form:
                continue
            named = set(re.findall(r"url_for\(\s*['\"]([\w.]+)['\"]", form))
            if not named:
                name = f'"{template.relative_to(folder).as_posix()}"'
                named = {endpoint for endpoint, view in app.view_functions.items()
                         if name in _source(view)}
            assert named, f"no view found for a multipart form in {template}"
            assert named <= set(app.view_functions), f"{template}: {named - set(app.view_functions)}"
            endpoints |= named
    return endpoints


def upload_routes(app) -> list[str]:
    """The paths of the views that take attachments: every endpoint a multipart form of the
    templates posts to, and any view reading files (an API or a form built elsewhere)."""
    forms = multipart_endpoints(app)
    return sorted({_sample_path(rule.rule) for rule in app.url_map.iter_rules()
                   if "POST" in rule.methods
                   and (rule.endpoint in forms
                        or any(sign in _source(app.view_functions[rule.endpoint])
                               for sign in UPLOAD_SIGNS))})


def test_the_sites_body_limits_are_the_apps(tmp_path):
    """client_max_body_size in deploy/nginx/pengaduan.conf: the server's is the app's limit on
    any body but a multipart form (PENGADUAN_MAX_BODY_KB); each route that takes attachments
    gets PENGADUAN_MAX_UPLOAD_MB x PENGADUAN_MAX_ATTACHMENTS + 1 MB (MAX_CONTENT_LENGTH);
    where anonymous clients post most (the API, Open311, tracking, sign-in) the small one."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"},
                     instance_path=str(tmp_path / "instance"))
    upload = app.config["MAX_CONTENT_LENGTH"]
    assert upload == (app.config["PENGADUAN_MAX_UPLOAD_MB"] * app.config["PENGADUAN_MAX_ATTACHMENTS"] + 1) * 1024 ** 2
    body = app.config["PENGADUAN_MAX_BODY_KB"] * 1024
    server = nginx_site.tls_server(nginx_site.site())
    assert nginx_site.size_in_bytes(server.one("client_max_body_size")[0]) == body

    routes = upload_routes(app)
    assert {"/complaints/new", "/staff/complaints/new", "/track/1/message", "/track/1/act/1",
            "/admin/office", "/staff/compensation/new", "/staff/ombudsman/items/1/done",
            "/staff/supervision/documents"} <= set(routes), routes
    too_small = {path: nginx_site.body_limit(server, path) for path in routes
                 if nginx_site.body_limit(server, path) != upload}
    assert too_small == {}, f"upload routes whose location does not allow {upload} bytes"
    for path in ("/api/v1/complaints", "/api/v1/complaints/1/transitions", "/open311/v2/requests.json",
                 "/track", "/login", "/"):
        assert nginx_site.body_limit(server, path) == body, path
    sizes = {nginx_site.size_in_bytes(loc.one("client_max_body_size")[0])
             for loc in server.inner("location") if loc.one("client_max_body_size")}
    assert sizes == {upload}, "a location with a limit that is neither of the app's"


def test_the_site_forwards_what_proxy_count_one_expects():
    """The headers ProxyFix reads with PENGADUAN_PROXY_COUNT=1 (the nodes' setting); an
    upstream of two nodes tried in turn when one fails; HTTP only redirects; TLS only."""
    config = nginx_site.site()
    server = nginx_site.tls_server(config)
    headers = {args[0]: args[1] for args in server.directives["proxy_set_header"]}
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme" and headers["X-Forwarded-Host"] == "$host"
    [upstream] = config.inner("upstream")
    assert len(upstream.directives["server"]) == 2
    retried = set(server.one("proxy_next_upstream"))
    assert {"error", "timeout"} <= retried
    assert "non_idempotent" not in retried  # a POST that reached a node is never sent twice
    assert not {"http_500", "http_503"} & retried  # a 503 of /readyz must not empty the upstream
    every_proxied = [loc for loc in server.inner("location") if loc.one("proxy_pass")]
    assert all(loc.one("proxy_pass") == ["http://pengaduan_nodes"] for loc in every_proxied)
    assert all(not loc.directives.get("proxy_set_header") for loc in every_proxied)  # inherited
    [plain] = [s for s in config.inner("server") if s is not server]
    redirect = nginx_site.location_for(plain, "/track").one("return")
    assert redirect == ["301", "https://$server_name$request_uri"]
    for each in (plain, server):  # no version shown; no request line (query strings) in its log
        assert each.one("server_tokens") == ["off"]
        assert each.one("error_log")[-1] == "crit"
    assert nginx_site.location_for(server, "/static/css/app.css").one("alias")
    metrics = nginx_site.location_for(server, "/metrics")
    assert metrics.one("deny") == ["all"] and metrics.one("allow")


# --- the cluster -----------------------------------------------------------------------------

_sources = itertools.count(2)


def source_address() -> str:
    """A new loopback address to connect from: one citizen, as nginx sees it."""
    n = next(_sources)
    return f"127.1.{n >> 8 & 255}.{n & 255}"


class FromAddress(HTTPAdapter):
    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Front:
    """nginx's HTTPS address, in the shape Http expects of a server."""

    def __init__(self, nginx: nginx_site.Nginx):
        self.nginx = nginx

    def url(self, path: str) -> str:
        return self.nginx.https + path


class Citizen(Http):
    """A client of nginx; the certificate is checked against the test's own (passed with each
    request: REQUESTS_CA_BUNDLE in the environment would win over the session's)."""

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return super().request(method, path, verify=self.server.nginx.ca, **kwargs)


def citizen(front: Front, address: str | None = None, token: str | None = None) -> Http:
    """A client of nginx connecting from `address` (a new one when None)."""
    client = Citizen(front, token=token)
    client.session.mount("https://", FromAddress(address or source_address()))
    return client


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, request):
    if not os.environ.get("PENGADUAN_TEST_DATABASE_URL"):
        pytest.skip("several web nodes need PostgreSQL: set PENGADUAN_TEST_DATABASE_URL")
    nginx_site.skip_unless_available()
    skip_without_redis()
    databases = request.getfixturevalue("postgres_databases")
    _config = request.getfixturevalue("app_config")
    tmp = tmp_path_factory.mktemp("cluster")
    url = databases.create(tmp)
    app = create_app(_config(url, tmp), instance_path=str(tmp / "instance"))
    token = make_org(app)
    redis = RedisServer()
    procs = Processes(app, tmp)
    nginx = None
    try:
        shared = {"RATELIMIT_STORAGE_URI": redis.url, "PENGADUAN_STORAGE": "database",
                  "PENGADUAN_METRICS_ALLOW": "127.0.0.1"}
        nodes = []
        for n in (1, 2):
            folder = tmp / f"node-{n}-uploads"
            folder.mkdir()
            nodes.append(procs.gunicorn(f"node-{n}", workers=2, PENGADUAN_UPLOAD_DIR=folder, **shared))
        worker_folder = tmp / "worker-uploads"
        worker_folder.mkdir()
        worker = procs.worker(PENGADUAN_UPLOAD_DIR=worker_folder, **shared)
        http_port, https_port = free_port(), free_port()
        folder = tmp / "nginx"
        folder.mkdir()
        config = nginx_site.render(folder, [node.port for node in nodes], http_port, https_port)
        nginx = nginx_site.Nginx(folder, config, http_port, https_port)
        yield {"app": app, "token": token, "nodes": nodes, "worker": worker, "nginx": nginx,
               "front": Front(nginx), "procs": procs, "redis": redis, "tmp": tmp}
    finally:
        if nginx:
            nginx.stop()
        procs.kill_all()
        redis.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        databases.drop(url)


def upstreams(nginx, path_part: str, at_least: int = 1) -> list[str]:
    """The node (upstream address, "-" for none) that answered each request for `path_part`,
    in order; waits for `at_least` of them (nginx logs a request after answering it)."""
    deadline = time.monotonic() + 10
    while True:
        found = [re.search(r"upstream=(\S+)", line).group(1) for line in nginx.access_log()
                 if path_part in line]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def node_address(node) -> str:
    return f"127.0.0.1:{node.port}"


def test_two_nodes_behind_nginx(cluster):
    """The four parts of the module's docstring, on one cluster."""
    nginx_front(cluster)
    one_pin_budget_for_both_nodes(cluster)
    filed_on_one_node_served_by_the_other(cluster)
    a_node_killed_loses_no_acknowledged_complaint(cluster)


def nginx_front(c) -> None:
    nginx, front = c["nginx"], c["front"]
    plain = requests.get(nginx.http + "/track?x=1", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == "https://pengaduan.example.go.id/track?x=1"  # not the Host asked
    assert "nginx/" not in plain.headers.get("Server", "") and "nginx/" not in plain.text

    static = citizen(front).get("/static/css/app.css")
    assert static.status_code == 200
    assert static.content == (nginx_site.ROOT / "static" / "css" / "app.css").read_bytes()
    assert "max-age=86400" in static.headers["Cache-Control"] and static.headers.get("ETag")
    assert static.headers["X-Content-Type-Options"] == "nosniff"
    assert static.headers.get("Expires")  # nginx's `expires`; a node sets no such header
    from_node = Http(c["nodes"][0]).get("/static/css/app.css")
    assert from_node.status_code == 200 and "Expires" not in from_node.headers
    again = citizen(front).get("/static/css/app.css", headers={"If-None-Match": static.headers["ETag"]})
    assert again.status_code == 304

    big_json = citizen(front).post("/api/v1/complaints", data=b"{" + b" " * (1100 * 1024) + b"}",
                                   headers={"Content-Type": "application/json"})
    assert big_json.status_code == 413 and "nginx" in big_json.text
    form = citizen(front).post("/complaints/new", data={"title": "x"},
                               files={"attachments": ("big.pdf", b"%PDF-1.4\n" + b"0" * (3 * 1024 ** 2), "application/pdf")})
    assert "nginx" not in form.text and upstreams(nginx, "POST /complaints/new")[-1] != "-"

    refused = citizen(front).get("/metrics")
    assert refused.status_code == 403 and "nginx" in refused.text
    citizen(front, address="127.0.0.1").get("/metrics")
    assert upstreams(nginx, "GET /metrics", at_least=2)[-1] != "-"  # the monitoring host reaches a node

    # The client's own X-Forwarded-For is not its address: eleven wrong PINs from one place,
    # each claiming another address, meet the per-address budget all the same.
    filed = citizen(front).post("/api/v1/complaints", json=api_filing("Trotoar rusak")).json()
    address, wrong = source_address(), filed["pin"][:-1] + ("0" if filed["pin"][-1] != "0" else "1")
    answers = [citizen(front, address).get(f"/api/v1/complaints/{filed['tracking_code']}",
                                           headers={"X-Tracking-Pin": wrong,
                                                    "X-Forwarded-For": f"10.55.0.{i}"}).status_code
               for i in range(11)]
    assert answers == [404] * 10 + [429]


def one_pin_budget_for_both_nodes(c) -> None:
    """Ten 6-digit guesses at one code, each from an address of its own (so only the code's
    budget counts), spread by nginx over both nodes; then 429 from both."""
    nginx, front, nodes = c["nginx"], c["front"], c["nodes"]
    filed = citizen(front).post("/api/v1/complaints", json=api_filing("Air PDAM keruh")).json()
    path, logged = f"/api/v1/complaints/{filed['tracking_code']}", "GET /api/v1/complaints/****-****"
    before = len(upstreams(nginx, logged, at_least=0))
    answers = [citizen(front).get(path, headers={"X-Tracking-Pin": "123456"}).status_code
               for _ in range(12)]
    assert answers == [404] * 10 + [429, 429]
    served = upstreams(nginx, logged, at_least=before + 12)[before:]
    assert set(served[:10]) == set(served[10:]) == {node_address(n) for n in nodes}, served
    assert citizen(front).get(path, headers={"X-Tracking-Pin": filed["pin"]}).status_code == 200
    assert filed["tracking_code"] not in "\n".join(nginx.access_log())  # nor any other code


def filed_on_one_node_served_by_the_other(c) -> None:
    app, token, (one, two) = c["app"], c["token"], c["nodes"]
    photo = png(seed=20, side=16)
    browser = Http(one, address="10.20.0.1")
    form = browser.csrf("/complaints/new")
    filed = browser.post("/complaints/new", data=web_filing(form, "Jalan berlubang di Jl. Sudirman"),
                         files={"attachments": ("jalan.png", photo, "image/png")})
    assert filed.status_code == 302, filed.text[:500]
    receipt = Http(two, address="10.20.0.1")
    receipt.session = browser.session  # the session cookie, signed with the shared key
    page = receipt.get(filed.headers["Location"])
    assert page.status_code == 200
    pin = PIN.search(page.text).group(1)
    with app.app_context(), read_only():
        complaint = db.session.scalar(select(Complaint).where(Complaint.title == "Jalan berlubang di Jl. Sudirman"))
        code = complaint.tracking_code
        [attachment] = db.session.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id)).all()
        attachment_id, digest = attachment.id, attachment.sha256
        db.session.rollback()
    assert digest == hashlib.sha256(photo).hexdigest()

    staff = Http(two, token=token)
    for trigger, fields in (("verify", {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}),
                            ("follow_up", {"response": ANSWER})):
        step = staff.post(f"/api/v1/complaints/{code}/transitions", json={"trigger": trigger, **fields})
        assert step.status_code == 200, step.text[:500]
    tracked = Http(two).get(f"/api/v1/complaints/{code}", headers={"X-Tracking-Pin": pin})
    assert tracked.status_code == 200 and tracked.json()["state"] == "followed_up"
    assert ANSWER in json.dumps(tracked.json())

    officer = Http(one, address="10.20.0.2")
    officer.login(OFFICER, PASSWORD)
    on_two = Http(two, address="10.20.0.2")
    on_two.session = officer.session
    download = on_two.get(f"/staff/complaints/{code}/files/{attachment_id}")
    assert download.status_code == 200, download.text[:300]
    assert download.content == photo
    for n in (1, 2):  # the bytes are in PostgreSQL, not on either node's disk
        assert not any((c["tmp"] / f"node-{n}-uploads").iterdir())


class Filers:
    """Clients filing through nginx, each filing from an address of its own, recording every
    answer: 201s (acknowledged: code and title), and anything else."""

    def __init__(self, front: Front, threads: int = 4):
        self.front = front
        self.acknowledged: dict[str, str] = {}
        self.other: list[int] = []
        self.unexpected: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._file, args=(n,)) for n in range(threads)]

    def start(self) -> "Filers":
        for thread in self.threads:
            thread.start()
        return self

    def _file(self, n: int) -> None:
        for i in itertools.count():
            if self.stop.is_set():
                return
            title = f"kill-{n}-{i}"
            try:
                response = citizen(self.front).post("/api/v1/complaints", json=api_filing(title))
            except requests.RequestException as exc:  # nginx itself never goes away
                with self.lock:
                    self.unexpected.append(f"{title}: {exc}")
                continue
            with self.lock:
                if response.status_code == 201:
                    self.acknowledged[response.json()["tracking_code"]] = title
                elif response.status_code in (502, 504):  # sent to the node that died
                    self.other.append(response.status_code)
                else:
                    self.unexpected.append(f"{title}: {response.status_code} {response.text[:200]}")

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def wait_for(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            assert not self.unexpected, self.unexpected[:5]
            assert time.monotonic() < deadline, f"only {self.count()} filings acknowledged"
            time.sleep(0.02)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def a_node_killed_loses_no_acknowledged_complaint(c) -> None:
    app, nginx, (one, two) = c["app"], c["nginx"], c["nodes"]
    filers = Filers(c["front"]).start()
    try:
        filers.wait_for(20)
        one.kill()  # SIGKILL to gunicorn's master and its workers: no clean-up of any kind
        killed_at = filers.count()
        filers.wait_for(killed_at + 20)  # nginx goes on with node 2
    finally:
        filers.finish()
    assert not filers.unexpected, filers.unexpected[:5]
    assert two.alive() and c["worker"].alive()
    assert node_address(two) in upstreams(nginx, "POST /api/v1/complaints")[-5:]  # nginx went on

    acknowledged = filers.acknowledged
    with app.app_context(), read_only():
        stored = dict(db.session.execute(select(Complaint.tracking_code, Complaint.title)
                                         .where(Complaint.title.like("kill-%"))).all())
        audited = set(db.session.scalars(select(AuditEvent.complaint_code)
                                         .where(AuditEvent.action == "complaint.filed")))
        titles = db.session.scalars(select(Complaint.title).where(Complaint.title.like("kill-%"))).all()
        broken = chain_problems()
        db.session.rollback()
    missing = {code: title for code, title in acknowledged.items() if stored.get(code) != title}
    assert missing == {}, f"acknowledged but not stored: {missing}"
    assert set(acknowledged) <= audited
    assert len(titles) == len(set(titles)), "a filing was stored twice"
    assert broken == []
    verified = c["procs"].audit_verify()
    print(f"\n{len(acknowledged)} filings acknowledged, {filers.other.count(502)} answered 502 "
          f"(in flight on the killed node), {len(stored) - len(acknowledged)} stored unacknowledged; {verified}")
