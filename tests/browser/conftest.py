"""Browser fixtures: the app served by a real HTTP server, one Chromium for the session, and
fresh browser contexts (phone or desktop) per person in a journey.

The app comes from the suite's `app` fixture (tests/conftest.py), so these tests run on a
fresh migrated SQLite database and, with PENGADUAN_TEST_DATABASE_URL set, on PostgreSQL too.
The server answers from its own threads, each request in its own application context; the
data is built with the suite's `world` fixture and with services in short
`with app.app_context():` blocks (see `org` for why the `world` session is closed first).

Without Playwright or Chromium the tests are skipped, unless PENGADUAN_REQUIRE_BROWSER=1
(as in CI), where that is an error.
"""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from browser_support import (CHROMIUM, DESKTOP, LAUNCH_ARGS, REQUIRED, Shots, Words, expect,
                             sync_playwright, unavailable)
import pengaduan.jobs.outbox
import pengaduan.web.citizen
from pengaduan.extensions import db
from test_receipts import FakeSMTP  # the mail server that accepts everything


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: end-to-end test in a real browser (Chromium)")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _no_browser(reason: str):
    if REQUIRED:
        pytest.fail(f"PENGADUAN_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (the system's: a browser is never downloaded)."""
    reason = unavailable()
    if reason:
        _no_browser(reason)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=LAUNCH_ARGS)
    except Exception as exc:  # a broken or incompatible binary
        playwright.stop()
        _no_browser(f"Chromium at {CHROMIUM} does not start: {exc}")
    expect.set_options(timeout=10_000)
    yield chromium
    chromium.close()
    playwright.stop()


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # errors are still logged
        pass


class LiveServer:
    """The app on 127.0.0.1 and a free port, served from a background thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server",
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(browser, app):
    """The test's app, served. It asks for `browser` so that a missing browser skips the
    test before any server starts."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def org(world):
    """The suite's small organisation: UNIT-A "Dinas A" with category GENERAL "Umum" and an
    account of every role (browser_support.PASSWORD).

    Its session is closed here. Outside a request SQLite transactions begin IMMEDIATE, so a
    `world` object touched later would take the write lock and hold it against the server's
    requests; detached, such an access fails at once instead. Tests build further data in
    their own short `with app.app_context():` blocks."""
    db.session.close()
    return world


@pytest.fixture
def mail_server(app, live_server, monkeypatch) -> list:
    """A configured mail server that accepts everything, and the live server as the
    configured site, so that an emailed link opens in the browser. The emails delivered
    (email.message.EmailMessage), in the order sent; browser_support.outbox reads the
    outbox's rows (a link the worker would send is still there, with its body)."""
    monkeypatch.setattr(FakeSMTP, "sent", [])
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", FakeSMTP)
    monkeypatch.setattr(pengaduan.web.citizen, "FORGOT_PIN_SECONDS", 0)  # no waiting floor
    app.config.update(MAIL_SERVER="smtp.example.go.id", PENGADUAN_BASE_URL=live_server.url)
    return FakeSMTP.sent


@pytest.fixture
def shots(request) -> Shots:
    return Shots.for_test(request.node.name)


class Browsing:
    """Opens browser contexts for the people of a journey and watches them for trouble:
    console errors (CSP refusals among them), page errors, failed requests and failing
    sub-resources. Screenshots every open page if the test fails."""

    IGNORED_CONSOLE = ("Failed to load resource",)  # documents answered 4xx on purpose (422, 404)

    def __init__(self, browser, server: LiveServer):
        self.browser, self.server = browser, server
        self.contexts = []
        self.problems: list[str] = []

    def new_page(self, device: dict = DESKTOP):
        """A fresh browser (own cookies, no language chosen yet) on a phone or a desktop."""
        context = self.browser.new_context(base_url=self.server.url, accept_downloads=True,
                                           **device)
        context.set_default_timeout(15_000)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        context.on("requestfailed", self._request_failed)
        context.on("response", self._response)
        self.contexts.append(context)
        return context.new_page()

    def _console(self, message):
        if message.type == "error" and not message.text.startswith(self.IGNORED_CONSOLE):
            self.problems.append(f"console error on {message.page.url if message.page else '?'}: "
                                 f"{message.text}")

    def _request_failed(self, request):
        # Navigating away aborts what the previous page was still loading: not a fault.
        if request.resource_type != "document" and request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response):
        if response.request.resource_type != "document" and response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def close(self, shots: Shots | None):
        for context in self.contexts:
            if shots is not None:
                for page in context.pages:
                    try:
                        shots(page, "failure")
                    except Exception:  # the page may be gone; the report matters more
                        pass
            context.close()


@pytest.fixture
def browsing(browser, live_server, shots, request):
    session = Browsing(browser, live_server)
    yield session
    call = getattr(request.node, "rep_call", None)
    failed = call is not None and call.failed
    session.close(shots if failed else None)
    if call is not None and call.passed and session.problems:
        pytest.fail("the browser reported problems:\n" + "\n".join(session.problems), pytrace=False)


@pytest.fixture(params=["id", "en"])
def words(request, app) -> Words:
    """The language of the journey: Indonesian (the default) or English (the header switch)."""
    return Words(app, request.param)
