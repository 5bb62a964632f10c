"""The staff side end to end through the test client: who may open which staff page, signing
in and out, CSRF on every staff form, the workflow steps on the complaint page, internal
notes, identity masking and audited reveals, and the officer's queue (design.md section 5,
domain.md sections 2, 3 and 6).

Requests run outside any pushed application context (as in test_citizen.py): the `ctx` and
`world` fixtures keep one pushed for the whole test, and the test client would then share
`g` (CSRF token, locale) between browsers. Data is built and checked in short
`with app.app_context():` blocks.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Callable
from urllib.parse import quote, urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from pages import Form, Page
from pengaduan import audit
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, SupervisionRecord, Unit, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint
from pengaduan.workflow import current_workflow

PASSWORD = "correct horse battery"
NEW_PASSWORD = "kopi tubruk pagi hari"
OFFICER_A, OFFICER_A2 = "officer.a@example.id", "officer.a2@example.id"
OFFICER_B, SUPERVISOR_A = "officer.b@example.id", "supervisor.a@example.id"
AUDITOR, ADMIN = "auditor@example.id", "admin@example.id"
STAFF = [  # email, role, units, name
    (OFFICER_A, "officer", ["UNIT-A"], "Siti Rahayu"),
    (OFFICER_A2, "officer", ["UNIT-A"], "Dewi Lestari"),
    (OFFICER_B, "officer", ["UNIT-B"], "Agus Salim"),
    (SUPERVISOR_A, "supervisor", ["UNIT-A"], "Bambang Kepala"),
    (AUDITOR, "auditor", [], "Rina Inspektorat"),
    (ADMIN, "admin", [], "Admin Sistem"),
]
IDENTITY = {"name": "Budi Hartono", "nik": "3201234567890123", "email": "budi@example.id",
            "phone": "+62 812-3456-7890", "address": "Jl. Merdeka 1, Bogor"}
VERIFY = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
QUEUE = "/staff/queue"
HOME = "/staff"  # where staff land after signing in
GENERIC_LOGIN_ERROR = "Wrong email or password."
CONFLICT = "Someone else changed this complaint while you were working on it."


# --- reading pages -------------------------------------------------------------------------


@dataclass
class Entry:
    title: str
    internal: bool  # styled as internal and tagged "internal" in words
    text: str


def timeline(html: str) -> list[Entry]:
    """The entries of the complaint page's conversation and history, as listed (newest first)."""
    section = re.search(r'<ol class="entries">(.*?)</ol>\s*</section>', html, re.S).group(1)
    entries = []
    for css, body in re.findall(r'<li class="entry ([^"]*)" id="event-\d+">(.*?)(?=<li class="entry |\Z)',
                                section, re.S):
        what = re.search(r'<p class="entry-what">(.*?)<span class="tag', body, re.S).group(1)
        title = " ".join(re.sub(r"<[^>]+>", " ", what).split())
        text = " ".join(re.sub(r"<[^>]+>", " ", body).split())
        internal = "entry-internal" in css.split() and '<span class="tag tag-internal">Internal</span>' in body
        entries.append(Entry(title, internal, text))
    return entries


# What the timeline says a workflow step did (the workflow file's done_label, in English).
DONE = {"Verify and forward": "Verified the complaint and forwarded it",
        "Reassign to another unit": "Forwarded the complaint to another unit",
        "Follow up": "Sent the follow-up to the complainant", "Close": "Closed the complaint",
        "Request information": "Asked the complainant for information",
        "Reject": "Rejected the complaint", "Complaint received": "Complaint received via Web form"}


def queue_codes(page: Page) -> list[str]:
    """The tracking codes listed on a queue page, in order (not the menu's "record a complaint")."""
    return [link.rsplit("/", 1)[1] for link in page.links
            if link.startswith("/staff/complaints/") and link != "/staff/complaints/new"]


def next_link(page: Page) -> str | None:
    links = [link for link in page.links if "cursor=" in link]
    assert len(links) <= 1
    return links[0] if links else None


def tab_counts(html: str) -> dict[str, int]:
    return {state: int(n) for state, n in re.findall(
        r'href="/staff/queue\?state=(\w+)"[^>]*>[^<]*<span class="count">(\d+)</span>', html)}


def login_error(response) -> str:
    match = re.search(r'<div class="error-summary" role="alert"><p>(.*?)</p>',
                      response.get_data(as_text=True), re.S)
    return match.group(1).strip() if match else ""


def digest(text: str) -> dict:
    """How the audit chain keeps free text: its SHA-256 and length, never the words."""
    return {"sha256": hashlib.sha256(text.encode()).hexdigest(), "length": len(text)}


# --- browsers ------------------------------------------------------------------------------

def browser(app):
    """A fresh browser (own cookies and session) reading the interface in English."""
    client = app.test_client()
    client.set_cookie("lang", "en")
    return client


def get_page(client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.get_data(as_text=True))


def login(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Send the sign-in form with the token of the rendered page."""
    url = "/login" if next_url is None else f"/login?next={quote(next_url, safe='')}"
    token = get_page(client, url).token
    return client.post(url, data={"csrf_token": token, "email": email, "password": password})


def signed_in(app, email: str):
    client = browser(app)
    assert login(client, email).status_code == 302
    return client


def token_of(client) -> str:
    """A valid CSRF token of this browser's own session (staff or not)."""
    with client.session_transaction() as session:
        staff = "_user_id" in session
    return get_page(client, "/account/password" if staff else "/login").token


def track(client, code: str, pin: str):
    """The citizen proves code and PIN on /track."""
    token = get_page(client, "/track").forms["/track"].values["csrf_token"]
    return client.post("/track", data={"csrf_token": token, "code": code, "pin": pin})


def location(response) -> str:
    """The redirect target; it must stay on this site."""
    assert response.status_code == 302, response.status_code
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc) == ("", ""), response.headers["Location"]
    return target.path


def to_login(response) -> bool:
    return response.status_code == 302 and location(response) == "/login"


def page_of(code: str) -> str:
    return f"/staff/complaints/{code}"


def action_of(code: str, trigger: str) -> str:
    return f"/staff/complaints/{code}/act/{trigger}"


def act(client, code: str, trigger: str, form: Form | None = None, **fields):
    """Send a workflow step's form as rendered on the complaint page; None omits a field."""
    form = form or get_page(client, f"{page_of(code)}?step={trigger}").forms[action_of(code, trigger)]
    data = {name: value for name, value in {**form.values, **fields}.items() if value is not None}
    return client.post(action_of(code, trigger), data=data)


def post_note(client, code: str, note: str, token: str | None = None):
    return client.post(f"/staff/complaints/{code}/note",
                       data={"csrf_token": token or token_of(client), "note": note})


def post_reveal(client, code: str, reason: str, token: str | None = None):
    return client.post(f"/staff/complaints/{code}/reveal",
                       data={"csrf_token": token or token_of(client), "reason": reason})


def change_password(client, current: str, new: str, confirm: str, token: str | None = None):
    return client.post("/account/password", data={
        "csrf_token": token or token_of(client), "current": current, "new": new, "confirm": confirm})


# --- the database --------------------------------------------------------------------------

@pytest.fixture
def org(app):
    """Two units, a shared, a UNIT-A-only and a UNIT-B-only category, and one account per role."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_category("GENERAL", "Umum")
        create_category("ROADS", "Jalan", unit_codes=["UNIT-A"])
        create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
        for email, role, units, name in STAFF:
            create_user(email, role, name=name, password=PASSWORD, unit_codes=units)
        db.session.commit()


def raw_complaint(**overrides) -> dict:
    return {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
            "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
            "privacy": "public", **IDENTITY, "consent": True, **overrides}


def file(app, at: datetime | None = None, **overrides) -> tuple[str, str]:
    """File a complaint through the service; (tracking code, PIN)."""
    with app.app_context():
        filed = file_complaint(raw_complaint(**overrides), at=at)
        db.session.commit()
        return filed.complaint.tracking_code, filed.pin


def staff_does(app, email: str, code: str, *steps) -> None:
    """A staff member fires workflow steps (trigger, fields) through the service."""
    with app.app_context():
        complaint, actor = Complaint.by_code(code), Actor.staff(User.by_email(email))
        for trigger, fields in steps:
            advance(complaint, trigger, actor, **fields)
        db.session.commit()


def citizen_does(app, code: str, trigger: str, **fields) -> None:
    with app.app_context():
        complaint = Complaint.by_code(code)
        advance(complaint, trigger, Actor.citizen(complaint), **fields)
        db.session.commit()


@dataclass(frozen=True)
class Snapshot:
    state: str
    version: int
    unit: str
    events: int  # timeline entries, notes and reveals included
    chain: int  # audit events, all of them


def snapshot(app, code: str) -> Snapshot:
    with app.app_context():
        complaint = Complaint.by_code(code)
        return Snapshot(complaint.state, complaint.version, complaint.unit.code,
                        len(complaint.events), db.session.scalar(select(func.count(AuditEvent.seq))))


def audit_trail(app, code: str | None = None, action: str | None = None) -> list[tuple]:
    """(action, actor, payload) of the audit events (of a complaint, of an action), oldest first."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if code:
        query = query.where(AuditEvent.complaint_code == code)
    if action:
        query = query.where(AuditEvent.action == action)
    with app.app_context():
        return [(row.action, row.actor, json.loads(row.body)["payload"])
                for row in db.session.scalars(query)]


def audit_bodies(app) -> str:
    with app.app_context():
        return "\n".join(db.session.scalars(select(AuditEvent.body)))


def label_of(app, email: str) -> str:
    """How a staff member appears as actor in the audit chain."""
    with app.app_context():
        return Actor.staff(User.by_email(email)).label


def password_hashes(app) -> dict[str, str]:
    with app.app_context():
        return {u.email: u.password_hash for u in db.session.scalars(select(User))}


# --- 1. who may open what ------------------------------------------------------------------

LOGIN = "login"
ROUTES = ("queue", "complaint", "act", "note", "reveal", "password")
MATRIX = {  # role: expected answer per route, in the order of ROUTES
    "anonymous": (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "citizen": (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "officer-of-unit": (200, 200, 302, 302, 403, 200),
    "officer-of-other-unit": (200, 404, 404, 404, 404, 200),
    "supervisor-of-unit": (200, 200, 302, 302, 200, 200),
    "auditor": (200, 200, 403, 403, 403, 200),
    "admin": (403, 403, 403, 403, 403, 200),
}
ROLE_EMAIL = {"officer-of-unit": OFFICER_A, "officer-of-other-unit": OFFICER_B,
              "supervisor-of-unit": SUPERVISOR_A, "auditor": AUDITOR, "admin": ADMIN}


def browser_as(app, role: str, code: str, pin: str):
    """A browser for the role; the citizen's one has proven the complaint's code and PIN."""
    if role in ROLE_EMAIL:
        return signed_in(app, ROLE_EMAIL[role])
    client = browser(app)
    if role == "citizen":
        assert track(client, code, pin).status_code == 302
        assert client.get(f"/track/{code}").status_code == 200
    return client


def request_route(client, route: str, code: str, version: int):
    """One request per route; POSTs carry a valid token of the browser's own session."""
    if route in ("queue", "complaint", "password"):
        return client.get({"queue": QUEUE, "complaint": page_of(code),
                           "password": "/account/password"}[route])
    token = token_of(client)
    if route == "act":
        return client.post(action_of(code, "request_info"), data={
            "csrf_token": token, "version": str(version), "message": "Mohon kirim foto KTP."})
    if route == "note":
        return post_note(client, code, "Catatan internal matriks", token)
    return post_reveal(client, code, "Pelapor perlu dihubungi langsung", token)


# The staff pages the menus of the page header may link to, by endpoint.
MENU_PAGES = ("intake.new", "staff.queue", "staff.overdue", "supervision.index", "reporting.report",
              "reporting.evidence", "admin.users", "admin.units", "admin.categories",
              "admin.responses", "admin.calendar", "supervision.documents")


def menu_links(html: str) -> set[str]:
    """The paths the page header links to."""
    header = re.search(r'<header class="site-header">(.*?)</header>', html, re.S).group(1)
    return {urlsplit(href).path for href in re.findall(r'<a href="([^"]+)"', header)}


@pytest.mark.parametrize("email", [OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN])
def test_the_menu_links_the_pages_the_user_may_open(app, org, email):
    """The menu asks the same policy as the pages: each staff page is linked exactly when
    it lets this user in (readers of supervision reach the standing documents from the
    supervision page, so only their keeper has them in the menu)."""
    with app.test_request_context():
        from flask import url_for
        pages = {endpoint: url_for(endpoint) for endpoint in MENU_PAGES}
    client = signed_in(app, email)
    html = client.get("/").get_data(as_text=True)
    linked = menu_links(html)
    for endpoint, path in pages.items():
        status = client.get(path).status_code
        assert status in (200, 403), (endpoint, status)
        if path in linked:
            assert status == 200, endpoint
        elif endpoint != "supervision.documents":
            assert status == 403, endpoint
    assert (pages["supervision.documents"] in linked) == (email == ADMIN)
    if pages["staff.queue"] in linked:  # auditors read complaints; the others work a queue
        assert (">Complaint queue<" in html) == (email != AUDITOR)
        assert (">Complaints<" in html) == (email == AUDITOR)


@pytest.mark.parametrize("role, route, expected", [
    pytest.param(role, route, expected, id=f"{role}-{route}")
    for role, answers in MATRIX.items() for route, expected in zip(ROUTES, answers)
])
def test_role_by_route(app, org, role, route, expected):
    """Each role gets exactly its answer on each staff route, and only allowed POSTs change data."""
    code, pin = file(app, privacy="anonymous")
    before = snapshot(app, code)
    client = browser_as(app, role, code, pin)
    response = request_route(client, route, code, before.version)
    if expected == LOGIN:
        assert to_login(response), response.status_code
    else:
        assert response.status_code == expected
    html = response.get_data(as_text=True)
    after = snapshot(app, code)
    if (route, expected) == ("act", 302):
        assert (after.state, after.events, after.chain) == (
            "awaiting_info", before.events + 1, before.chain + 1)
    elif (route, expected) == ("note", 302):
        assert (after.state, after.events, after.chain) == (
            before.state, before.events + 1, before.chain + 1)
    elif (route, expected) == ("reveal", 200):
        assert IDENTITY["name"] in html
        assert (after.state, after.events, after.chain) == (
            before.state, before.events + 1, before.chain + 1)
    else:
        assert after == before
    if (route, expected) == ("queue", 200):
        assert (code in queue_codes(Page(html))) == (role != "officer-of-other-unit")
    if (route, expected) == ("complaint", 200):
        assert IDENTITY["name"] not in html  # anonymous: masked for everybody
        assert (f"{page_of(code)}?step=verify#step-form" in Page(html).links) == (role != "auditor")


def test_auditor_reads_complaint_without_any_form(app, org):
    """The auditor lists and opens any unit's complaints read-only: history shown, no step,
    note or reveal, never the identity."""
    code, _ = file(app, privacy="confidential")
    staff_does(app, OFFICER_A, code, ("verify", VERIFY))
    auditor = signed_in(app, AUDITOR)
    page = get_page(auditor, page_of(code))
    assert [f for f in page.forms if f.startswith("/staff/") and f != "/staff/search"] == []  # search reads
    assert [e.title for e in timeline(page.html)] == [DONE["Verify and forward"], DONE["Complaint received"]]
    assert "The identity is hidden" in page.html
    assert not any(value in page.html for value in IDENTITY.values())
    listing = get_page(auditor, QUEUE).html  # every unit's complaints, read-only
    assert code in listing and not any(value in listing for value in IDENTITY.values())


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', html)


@pytest.mark.parametrize("spelling", [str, str.lower, lambda c: c.replace("-", "").lower()],
                         ids=["as-printed", "lower-case", "lower-no-dash"])
def test_other_unit_cannot_tell_complaint_exists(app, org, spelling):
    """Another unit's code, however spelled, answers exactly like a code that does not exist."""
    code, _ = file(app, title="Rahasia unit A")
    unknown = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    officer_b = signed_in(app, OFFICER_B)
    guessed, missing = officer_b.get(page_of(spelling(code))), officer_b.get(page_of(unknown))
    assert guessed.status_code == missing.status_code == 404
    # The pages differ only by the address asked for (the language links return to it) and by
    # the CSRF token, which carries the second it was signed.
    assert without_csrf(guessed.get_data(as_text=True).replace(spelling(code), "CODE")) == \
        without_csrf(missing.get_data(as_text=True).replace(unknown, "CODE"))
    for query in ({}, {"q": code}, {"q": "Rahasia"}, {"state": "received"}):
        page = get_page(officer_b, f"{QUEUE}?{urlencode(query)}")
        assert queue_codes(page) == [] and "Rahasia unit A" not in page.html


# --- 2. signing in and out -----------------------------------------------------------------

@pytest.mark.parametrize("next_url, lands_on", [
    (None, HOME),
    ("/account/password", "/account/password"),
    ("//evil.example", HOME),
    ("https://evil.example/login", HOME),
    ("/\\evil.example", HOME),
    ("javascript:alert(1)", HOME),
], ids=["no-next", "local-next", "protocol-relative", "absolute", "backslash", "javascript"])
def test_login_lands_on_home_or_safe_next(app, org, next_url, lands_on):
    """A successful sign-in goes to the home page, or to `next` when it is a path on this site."""
    client = browser(app)
    response = login(client, OFFICER_A, next_url=next_url)
    assert location(response) == lands_on
    assert client.get(QUEUE).status_code == 200


def test_login_page_from_a_protected_page_returns_there(app, org):
    """A staff page sends the anonymous browser to /login, which brings it back after sign-in."""
    client = browser(app)
    response = client.get("/account/password")
    assert to_login(response)
    login_url = response.headers["Location"]
    token = get_page(client, login_url).token
    response = client.post(login_url, data={"csrf_token": token, "email": OFFICER_A,
                                            "password": PASSWORD})
    assert location(response) == "/account/password"


def test_wrong_password_and_unknown_email_get_one_generic_answer(app, org):
    """A wrong password and an unknown email both answer 401 with the same single message."""
    wrong_password = login(browser(app), OFFICER_A, "not the password")
    unknown_email = login(browser(app), "nobody@example.id", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert login_error(wrong_password) == login_error(unknown_email) == GENERIC_LOGIN_ERROR
    assert "not the password" not in wrong_password.get_data(as_text=True)


def test_four_wrong_passwords_do_not_lock(app, org):
    """Four mistakes are forgiven: the right password still signs in."""
    client = browser(app)
    for _ in range(4):
        assert login(client, OFFICER_A, "not the password").status_code == 401
    assert location(login(client, OFFICER_A)) == HOME
    assert audit_trail(app, action="user.locked") == []


def test_five_wrong_passwords_lock_the_account(app, org):
    """After five wrong passwords from one address even the right one is refused there, from
    any browser; audited."""
    client = browser(app)
    for _ in range(5):
        response = login(client, OFFICER_A, "not the password")
        assert (response.status_code, login_error(response)) == (401, GENERIC_LOGIN_ERROR)
    for somebody in (client, browser(app)):
        response = login(somebody, OFFICER_A)
        assert response.status_code == 401
        assert "locked" in login_error(response)
        assert to_login(somebody.get(QUEUE))
    [(_, actor, payload)] = audit_trail(app, action="user.locked")
    assert (actor, payload["email"]) == ("system", OFFICER_A)
    with app.app_context():
        assert payload["scope"] == "pair"
        assert datetime.fromisoformat(payload["until"]) > utcnow()
    assert location(login(browser(app), OFFICER_B)) == HOME  # only that account


def test_logout_by_post_ends_the_session(app, org):
    """Signing out with the page's form (POST and CSRF token) ends the signed-in session."""
    client = signed_in(app, OFFICER_A)
    page = get_page(client, QUEUE)
    response = client.post("/logout", data={"csrf_token": page.forms["/logout"].values["csrf_token"]})
    assert location(response) == "/login"
    for url in (QUEUE, "/account/password"):
        assert to_login(client.get(url))
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_logout_by_get_is_not_allowed(app, org):
    """GET /logout answers 405 and signs nobody out (a link or image cannot end a session)."""
    client = signed_in(app, OFFICER_A)
    assert client.get("/logout").status_code == 405
    assert client.get(QUEUE).status_code == 200


def test_session_cookie_copied_before_logout_is_dead(app, org):
    """A session cookie copied before logout no longer opens staff pages after the logout."""
    client = signed_in(app, OFFICER_A)
    copied = client.get_cookie("session").value
    token = get_page(client, QUEUE).forms["/logout"].values["csrf_token"]
    assert location(client.post("/logout", data={"csrf_token": token})) == "/login"
    replay = browser(app)
    replay.set_cookie("session", copied)
    assert to_login(replay.get(QUEUE))


def test_session_data_from_before_login_does_not_survive(app, org):
    """Whatever the session held before sign-in is dropped by the sign-in (fixation)."""
    client = browser(app)
    with client.session_transaction() as session:
        session["x"] = "planted before login"
    assert location(login(client, OFFICER_A)) == HOME
    with client.session_transaction() as session:
        assert "x" not in session
        assert session.get("_user_id")


PASSWORD_MISTAKES = {
    "wrong-current": ({"current": "not my password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                      "current"),
    "too-short": ({"current": PASSWORD, "new": "pendek", "confirm": "pendek"}, "new"),
    "mismatch": ({"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"},
                 "confirm"),
}


@pytest.mark.parametrize("fields, at", PASSWORD_MISTAKES.values(), ids=PASSWORD_MISTAKES.keys())
def test_password_change_mistake_is_named_at_its_field(app, org, fields, at):
    """Each mistake answers 422 with the error at its field; the password stays as it was."""
    client = signed_in(app, OFFICER_A)
    hashes = password_hashes(app)
    response = change_password(client, **fields)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert f"#{at}" in page.links
    assert page.ids[f"{at}-error"] == 1
    assert page.forms[""].invalid == {at}
    assert password_hashes(app) == hashes
    assert audit_trail(app, action="user.password_changed") == []
    assert location(login(browser(app), OFFICER_A)) == HOME


def test_password_change_replaces_the_old_password(app, org):
    """After a change the new password signs in, the old one no longer does; audited."""
    client = signed_in(app, OFFICER_A)
    response = change_password(client, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert location(response) == HOME
    assert "Your password was changed." in client.get(QUEUE).get_data(as_text=True)
    assert login(browser(app), OFFICER_A, PASSWORD).status_code == 401
    assert location(login(browser(app), OFFICER_A, NEW_PASSWORD)) == HOME
    [(_, actor, payload)] = audit_trail(app, action="user.password_changed")
    assert (actor, payload) == (label_of(app, OFFICER_A), {"email": OFFICER_A})
    assert NEW_PASSWORD not in audit_bodies(app)


# --- 3. CSRF on every staff POST -----------------------------------------------------------

def other_session_token(app) -> str:
    """A genuine token, but of another signed-in browser."""
    return token_of(signed_in(app, OFFICER_A2))


TOKENS = {"missing": lambda app: None, "forged": lambda app: "IjAwMDAi.forged.token",
          "other-session": other_session_token}


def forged_post(app, client, what: str, code: str, token):
    """The staff POST `what`, with the given token (None: no token at all)."""
    data = {"csrf_token": token} if token is not None else {}
    if what == "act":
        data.update(version=str(snapshot(app, code).version), message="Mohon kirim foto KTP.")
        return client.post(action_of(code, "request_info"), data=data)
    if what == "note":
        return client.post(f"/staff/complaints/{code}/note", data={**data, "note": "Palsu"})
    if what == "reveal":
        return client.post(f"/staff/complaints/{code}/reveal", data={**data, "reason": "Palsu"})
    if what == "password":
        return client.post("/account/password", data={
            **data, "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    if what == "logout":
        return client.post("/logout", data=data)
    return client.post("/login", data={**data, "email": OFFICER_A, "password": PASSWORD})


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
@pytest.mark.parametrize("what", ["act", "note", "reveal", "password", "logout", "login"])
def test_staff_post_without_valid_token_changes_nothing(app, org, what, token):
    """A missing, forged or foreign CSRF token is refused and changes nothing at all."""
    code, _ = file(app, privacy="anonymous")
    client = browser(app) if what == "login" else signed_in(app, SUPERVISOR_A)
    get_page(client, "/login" if what == "login" else page_of(code))  # the session has a token
    before, hashes = snapshot(app, code), password_hashes(app)
    response = forged_post(app, client, what, code, token(app))
    if what == "act":  # the step's form is shown again with what was typed
        assert response.status_code == 422
        page = Page(response.get_data(as_text=True))
        assert "The form expired" in page.html
        assert page.forms[action_of(code, "request_info")].values["message"] == "Mohon kirim foto KTP."
    else:
        assert response.status_code == 400
    assert IDENTITY["name"] not in response.get_data(as_text=True)
    assert snapshot(app, code) == before
    assert password_hashes(app) == hashes
    assert client.get(QUEUE).status_code == (302 if what == "login" else 200)  # signed in as before


def test_mangled_version_field_is_refused_without_a_crash(app, org):
    """A hidden `version` that is not a number is refused (409/422), never a server error."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    before = snapshot(app, code)
    response = act(officer, code, "request_info", version="abc", message="Mohon kirim foto.")
    assert response.status_code in (400, 409, 422)
    assert snapshot(app, code) == before


# --- 4. workflow steps on the complaint page -----------------------------------------------

def test_complaint_travels_from_verification_to_closing(app, org):
    """verify, reassign, follow_up and close via the page forms: timeline, audit chain, unit change."""
    code, pin = file(app)
    siti, agus = signed_in(app, OFFICER_A), signed_in(app, OFFICER_B)
    steps = [
        (siti, "verify", {"unit": "UNIT-A", "category": "ROADS", "classification": "aspirasi",
                          "note": "Cek lokasi dulu"}, "verified", "Verify and forward"),
        (siti, "reassign", {"unit": "UNIT-B", "category": "ONLY-B",
                            "reason": "Kewenangan Dinas B"}, "verified", "Reassign to another unit"),
        (agus, "follow_up", {"response": "KTP-el sudah dicetak dan siap diambil."},
         "followed_up", "Follow up"),
        (agus, "close", {"resolution": "KTP-el diserahkan kepada pelapor."}, "closed", "Close"),
    ]
    for client, trigger, fields, state, title in steps:
        response = act(client, code, trigger, **fields)
        assert location(response) == (QUEUE if trigger == "reassign" else page_of(code)), trigger
        if trigger == "reassign":
            assert client.get(page_of(code)).status_code == 404
            assert code not in queue_codes(get_page(client, QUEUE))
            assert code in queue_codes(get_page(agus, QUEUE))
            continue
        page = get_page(client, page_of(code))
        assert f"Step completed: {title}." in page.html
        assert timeline(page.html)[0].title == DONE[title]
        assert snapshot(app, code).state == state
    entries = timeline(get_page(agus, page_of(code)).html)
    assert [(e.title, e.internal) for e in entries] == [(DONE[title], internal) for title, internal in [
        ("Close", False), ("Follow up", False), ("Reassign to another unit", True),
        ("Verify and forward", False), ("Complaint received", False)]]
    assert "Kewenangan Dinas B" in entries[2].text and "Cek lokasi dulu" in entries[3].text
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert (complaint.state, complaint.closure_reason, complaint.unit.code,
                complaint.category.code, complaint.classification) == (
            "closed", "resolved", "UNIT-B", "ONLY-B", "aspirasi")
        assert audit.verify_chain(db.session, audit.public_key_hex()).ok
    trail = audit_trail(app, code)
    siti_label, agus_label = label_of(app, OFFICER_A), label_of(app, OFFICER_B)
    assert [(action, actor) for action, actor, _ in trail] == [
        ("complaint.filed", "citizen"), ("complaint.verify", siti_label),
        ("complaint.reassign", siti_label), ("complaint.follow_up", agus_label),
        ("complaint.close", agus_label)]
    assert [(p["from"], p["to"]) for _, _, p in trail[1:]] == [
        ("received", "verified"), ("verified", "verified"), ("verified", "followed_up"),
        ("followed_up", "closed")]
    assert trail[2][2]["fields"] == {"unit": "UNIT-B", "category": "ONLY-B",
                                     "reason": digest("Kewenangan Dinas B")}
    assert trail[4][2]["closure_reason"] == "resolved"
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    assert "KTP-el sudah dicetak dan siap diambil." in get_page(citizen, f"/track/{code}").html


def test_officer_lands_on_a_page_she_may_see_after_reassigning(app, org):
    """After disposing a complaint to another unit the officer lands on a page she may open."""
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, ("verify", VERIFY))
    siti = signed_in(app, OFFICER_A)
    response = act(siti, code, "reassign", unit="UNIT-B", category="ONLY-B", reason="Kewenangan B")
    assert response.status_code == 302
    landing = siti.get(response.headers["Location"])
    assert landing.status_code == 200
    assert "Step completed: Reassign to another unit." in landing.get_data(as_text=True)


@pytest.mark.parametrize("trigger, fields, state, closure_reason, title", [
    ("request_info", {"message": "Mohon kirim foto KTP lama."}, "awaiting_info", None,
     "Request information"),
    ("reject", {"closure_reason": "referred", "referred_to": "Kantor Pertanahan Kota Bogor",
                "reason": "Sengketa tanah bukan kewenangan kami."}, "closed", "referred", "Reject"),
], ids=["request_info", "reject-referred"])
def test_step_from_received(app, org, trigger, fields, state, closure_reason, title):
    """request_info and a referral rejection move the complaint and are timeline and audit events."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    assert location(act(officer, code, trigger, **fields)) == page_of(code)
    entry = timeline(get_page(officer, page_of(code)).html)[0]
    assert (entry.title, entry.internal) == (DONE[title], False)
    assert all(value in entry.text for name, value in fields.items() if name != "closure_reason")
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert (complaint.state, complaint.closure_reason) == (state, closure_reason)
        assert complaint.events[-1].data == fields
    action, actor, payload = audit_trail(app, code)[-1]
    assert (action, actor, payload["to"]) == (f"complaint.{trigger}", label_of(app, OFFICER_A), state)
    assert payload["closure_reason"] == closure_reason
    assert payload["fields"] == {name: value if name == "closure_reason" else digest(value)
                                 for name, value in fields.items()}


VERIFIED = (("verify", VERIFY),)
FOLLOWED_UP = VERIFIED + (("follow_up", {"response": "Sudah dicetak."}),)
MISSING = {  # before, trigger, what the officer sends, the field at fault
    "verify-category-of-other-unit": ((), "verify", {"category": "ONLY-B", "note": "Cek dulu"},
                                      "category"),
    "request_info-blank-message": ((), "request_info",
                                   {"message": "   ", "note": "Pelapor sulit dihubungi"}, "message"),
    "reject-without-reason": ((), "reject", {"reason": "", "closure_reason": "referred",
                                             "referred_to": "BPN Kota Bogor"}, "reason"),
    "reject-referred-nowhere": ((), "reject", {"reason": "Bukan kewenangan kami",
                                               "closure_reason": "referred", "referred_to": ""},
                                "referred_to"),
    "reassign-without-reason": (VERIFIED, "reassign", {"unit": "UNIT-B", "category": "ONLY-B",
                                                       "reason": "", "note": "Sudah ditelepon"},
                                "reason"),
    "follow_up-without-response": (VERIFIED, "follow_up", {"response": "", "note": "Tunggu data"},
                                   "response"),
    "close-without-resolution": (FOLLOWED_UP, "close", {"resolution": " ", "note": "Tutup saja"},
                                 "resolution"),
}


@pytest.mark.parametrize("before, trigger, sent, at", MISSING.values(), ids=MISSING.keys())
def test_missing_field_answers_422_and_keeps_typed_text(app, org, before, trigger, sent, at):
    """A missing or invalid field answers 422 at that field, keeps the typed text, changes nothing."""
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, *before)
    officer = signed_in(app, OFFICER_A)
    unchanged = snapshot(app, code)
    response = act(officer, code, trigger, **sent)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    form = page.forms[action_of(code, trigger)]
    assert f"#{trigger}-{at}" in page.links
    assert at in form.invalid and page.ids[f"{trigger}-{at}-error"] == 1
    assert {name: form.values[name] for name in sent} == sent
    assert snapshot(app, code) == unchanged


def _request_then_provide(app, code):
    staff_does(app, SUPERVISOR_A, code, ("request_info", {"message": "Nomor antrean?"}))
    citizen_does(app, code, "provide_info", message="Nomor antrean 117.")


def _verify_meanwhile(app, code):
    staff_does(app, SUPERVISOR_A, code, ("verify", VERIFY))


@pytest.mark.parametrize("meanwhile, trigger, typed", [
    (_request_then_provide, "request_info", {"message": "Mohon kirim foto KTP lama."}),
    (_verify_meanwhile, "reject", {"reason": "Sengketa tanah, bukan kewenangan kami.",
                                   "closure_reason": "referred",
                                   "referred_to": "Kantor Pertanahan Kota Bogor"}),
], ids=["same-step-still-offered", "step-no-longer-offered"])
def test_stale_form_answers_409_and_keeps_typed_text(app, org, meanwhile, trigger, typed):
    """A form older than the complaint gets 409, a clear message and the typed text; no change."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    stale = get_page(officer, f"{page_of(code)}?step={trigger}").forms[action_of(code, trigger)]
    meanwhile(app, code)
    unchanged = snapshot(app, code)
    assert unchanged.version > int(stale.values["version"])
    response = act(officer, code, trigger, form=stale, **typed)
    assert response.status_code == 409
    page = Page(response.get_data(as_text=True))
    assert CONFLICT in page.html
    assert snapshot(app, code) == unchanged
    for name, value in typed.items():
        if name != "closure_reason":  # the words typed, not the option chosen
            assert escape(value) in page.html, f"the typed {name} is lost"
    form = page.forms.get(action_of(code, trigger))
    if form is not None:  # still offered: filled in again, with the version it now has
        assert {name: form.values[name] for name in typed} == typed
        assert int(form.values["version"]) == unchanged.version


# --- 5. internal notes ---------------------------------------------------------------------

def test_internal_note_is_for_staff_only(app, org):
    """A note shows on the staff page marked internal, never to the citizen; the chain has its digest."""
    code, pin = file(app)
    note = "Pelapor sering menelepon; cek loket 3 dulu"
    officer = signed_in(app, OFFICER_A)
    assert location(post_note(officer, code, note)) == page_of(code)
    [entry] = [e for e in timeline(get_page(officer, page_of(code)).html) if e.title == "Wrote an internal note"]
    assert entry.internal and note in entry.text and "Siti Rahayu" in entry.text
    assert note in get_page(signed_in(app, SUPERVISOR_A), page_of(code)).html
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    html = get_page(citizen, f"/track/{code}").html
    assert "KTP-el belum jadi" in html
    assert note not in html and "Internal note" not in html
    [(_, actor, payload)] = audit_trail(app, code, "complaint.note")
    assert (actor, payload["fields"]) == (label_of(app, OFFICER_A), {"note": digest(note)})
    assert note not in audit_bodies(app)


def test_blank_note_is_refused(app, org):
    """An empty note answers 422 at the note field and records nothing."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    before = snapshot(app, code)
    response = post_note(officer, code, "   ")
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert "#note-note" in page.links and "note" in page.forms[f"/staff/complaints/{code}/note"].invalid
    assert snapshot(app, code) == before


# --- 6. identity masking and reveals -------------------------------------------------------

@pytest.mark.parametrize("email", [OFFICER_A, SUPERVISOR_A], ids=["officer", "supervisor"])
@pytest.mark.parametrize("privacy, shown", [("public", True), ("anonymous", False),
                                            ("confidential", False)])
def test_identity_shown_only_for_public_complaints(app, org, email, privacy, shown):
    """The unit's staff see a public complainant's identity; anonymous and confidential are masked."""
    code, _ = file(app, privacy=privacy)
    html = get_page(signed_in(app, email), page_of(code)).html
    for value in IDENTITY.values():
        assert (value in html) == shown, value
    assert ("The identity is hidden" in html) != shown


@pytest.mark.parametrize("privacy", ["anonymous", "confidential"])
def test_supervisor_reveals_identity_once_for_a_reason(app, org, privacy):
    """The reveal needs a reason; then it shows the identity once, audited and on the timeline."""
    code, _ = file(app, privacy=privacy)
    supervisor = signed_in(app, SUPERVISOR_A)
    before = snapshot(app, code)
    response = post_reveal(supervisor, code, "  ")
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert "#reveal-reason" in page.links
    assert "reason" in page.forms[f"/staff/complaints/{code}/reveal"].invalid
    assert IDENTITY["name"] not in page.html
    assert snapshot(app, code) == before

    reason = "Pelapor perlu dihubungi untuk klarifikasi lapangan"
    response = post_reveal(supervisor, code, reason)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert all(value in html for value in IDENTITY.values())
    assert "Shown once for the reason you gave; this was recorded." in html
    entry = timeline(html)[0]
    assert (entry.title, entry.internal) == ("Showed the complainant's identity", True) and reason in entry.text
    [(_, actor, payload)] = audit_trail(app, code, "complaint.identity_revealed")
    assert actor == label_of(app, SUPERVISOR_A)
    assert payload["fields"] == {"reason": digest(reason)} and isinstance(payload["event_id"], int)
    assert not any(value in audit_bodies(app) for value in IDENTITY.values())
    again = get_page(supervisor, page_of(code)).html  # once: the next visit is masked again
    assert IDENTITY["name"] not in again and "The identity is hidden" in again


def test_officer_cannot_reveal_identity(app, org):
    """The officer gets no reveal form, and a reveal she sends anyway is refused (403)."""
    code, _ = file(app, privacy="anonymous")
    officer = signed_in(app, OFFICER_A)
    page = get_page(officer, page_of(code))
    assert f"/staff/complaints/{code}/reveal" not in page.forms
    before = snapshot(app, code)
    response = post_reveal(officer, code, "Ingin tahu saja", page.token)
    assert response.status_code == 403
    assert IDENTITY["name"] not in response.get_data(as_text=True)
    assert snapshot(app, code) == before


# --- 7. the queue --------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    code: str
    id: int
    state: str
    due: datetime | None
    category: str | None
    assignee: str | None
    title: str


def rows_of(app, unit: str = "UNIT-A") -> list[Row]:
    """Every complaint of the unit as the oracle sees it (plain Python, no queue code)."""
    with app.app_context():
        return [Row(c.tracking_code, c.id, c.state, c.stage_due_at,
                    c.category.code if c.category else None,
                    c.assignee.email if c.assignee else None, c.title)
                for c in db.session.scalars(select(Complaint).join(Unit).where(Unit.code == unit))]


def queue_order(row: Row):
    """Nearest deadline first, complaints without a running deadline last, then by id."""
    return (row.due is None, row.due or datetime.min.replace(tzinfo=timezone.utc), row.id)


def walk_queue(client, url: str) -> list[list[str]]:
    """Follow "Next page" from `url` to the end; the codes of each page."""
    pages = []
    while url:
        assert len(pages) < 500, "the queue does not end"
        page = get_page(client, url)
        pages.append(queue_codes(page))
        url = next_link(page)
    return pages


def test_queue_pages_through_thousands_once_in_deadline_order(app, org):
    """~2,500 complaints: "Next page" shows each open one of my unit once, nearest deadline first."""
    base, spread = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc), 2400
    with app.app_context():
        officer = Actor.staff(User.by_email(OFFICER_A))
        for i in range(spread + 60):
            unit = "UNIT-A" if i < spread else "UNIT-B"
            at = base + timedelta(minutes=29 * ((i * 7919) % spread))  # not in id order
            filed = file_complaint(raw_complaint(unit=unit, category="GENERAL", title=f"Antrean {i}"),
                                   at=at)
            if unit == "UNIT-A" and i % 60 == 7:  # paused: no deadline running
                advance(filed.complaint, "request_info", officer,
                        at=at + timedelta(hours=1), message="Nomor antrean?")
            elif unit == "UNIT-A" and i % 150 == 11:
                advance(filed.complaint, "reject", officer,
                        at=at + timedelta(hours=1), reason="Duplikat", closure_reason="rejected")
            if i % 200 == 199:
                db.session.commit()
        db.session.commit()
    rows = [row for row in rows_of(app) if row.state != "closed"]
    expected = [row.code for row in sorted(rows, key=queue_order)]
    no_deadline = [row.code for row in sorted(rows, key=queue_order) if row.due is None]
    assert len(expected) > 2300 and len(no_deadline) >= 30
    assert Counter(row.due for row in rows if row.due).most_common(1)[0][1] > 25  # ties span pages

    pages = walk_queue(signed_in(app, OFFICER_A), QUEUE)
    walked = [code for page in pages for code in page]
    assert [len(page) for page in pages[:-1]] == [25] * (len(pages) - 1)
    assert len(walked) == len(set(walked))
    assert walked == expected
    assert walked[-len(no_deadline):] == no_deadline


@pytest.fixture
def queue_world(app, org) -> datetime:
    """Unit A's queue in every situation the filters tell apart, plus unit B; returns `now`."""
    now = utcnow()
    with app.app_context():
        def filed(at, **overrides):
            return file_complaint(raw_complaint(**overrides), at=at).complaint

        def officer(email):
            return Actor.staff(User.by_email(email))

        for i in range(30):  # filed long ago: overdue
            filed(now - timedelta(days=40, hours=-i), title=f"Antrean lama {i}")
        fresh = [filed(now - timedelta(minutes=i + 1), category="ROADS",
                       title=f"Jalan berlubang {i}") for i in range(30)]
        for title in ("Dugaan PUNGLI di loket 3", "Pungli parkir pasar", "Diskon 50% palsu",
                      "Diskon 500 ribu"):
            filed(now - timedelta(hours=2), title=title)
        for complaint, assignee in zip(fresh[:8], [OFFICER_A] * 4 + [OFFICER_A2] * 2 + [None] * 2):
            advance(complaint, "verify", officer(OFFICER_A),
                    **VERIFY, **({"assignee": assignee} if assignee else {}))
        for complaint in fresh[8:11]:
            advance(complaint, "request_info", officer(OFFICER_A), message="Kirim foto.")
        for complaint in fresh[11:13]:
            advance(complaint, "reject", officer(OFFICER_A), reason="Bukan pengaduan",
                    closure_reason="rejected")
        for i in range(5):
            filed(now - timedelta(days=40), unit="UNIT-B", category="ONLY-B",
                  title=f"Dugaan pungli di Dinas B {i}")
        db.session.commit()
    return now


def _by_title(rows, title) -> Row:
    return next(row for row in rows if row.title == title)


def _days_to_first_open_deadline(rows, now) -> int:
    """A day count that includes the nearest future deadline but not the later ones."""
    first = min(row.due for row in rows if row.due and row.due > now and row.state != "closed")
    return (first - now).days + 1


@dataclass
class Filter:
    query: Callable[[list, datetime], dict]  # the query string, from the rows and `now`
    keep: Callable[[Row, datetime, dict], bool]  # the oracle


FILTERS = {
    "state-tab": Filter(lambda rows, now: {"state": "awaiting_info"}, lambda r, now, q: True),
    "closed-tab": Filter(lambda rows, now: {"state": "closed"}, lambda r, now, q: True),
    "category": Filter(lambda rows, now: {"category": "ROADS"},
                       lambda r, now, q: r.category == "ROADS"),
    "overdue": Filter(lambda rows, now: {"overdue": "1"},
                      lambda r, now, q: r.due is not None and r.due < now),
    "due-within": Filter(lambda rows, now: {"due_within": str(_days_to_first_open_deadline(rows, now))},
                         lambda r, now, q: r.due is not None
                         and r.due <= now + timedelta(days=int(q["due_within"]))),
    "assigned-to-me": Filter(lambda rows, now: {"mine": "1"}, lambda r, now, q: r.assignee == OFFICER_A),
    "unassigned": Filter(lambda rows, now: {"unassigned": "1"}, lambda r, now, q: r.assignee is None),
    "verified-and-mine": Filter(lambda rows, now: {"state": "verified", "mine": "1"},
                                lambda r, now, q: r.assignee == OFFICER_A),
    "code": Filter(lambda rows, now: {"q": _by_title(rows, "Jalan berlubang 20").code},
                   lambda r, now, q: r.title == "Jalan berlubang 20"),
    "code-lower-no-dash": Filter(
        lambda rows, now: {"q": _by_title(rows, "Antrean lama 3").code.replace("-", "").lower()},
        lambda r, now, q: r.title == "Antrean lama 3"),
    "title-word": Filter(lambda rows, now: {"q": "pungli"}, lambda r, now, q: "pungli" in r.title.lower()),
    "title-literal-percent": Filter(lambda rows, now: {"q": "50%"}, lambda r, now, q: "50%" in r.title),
}


@pytest.mark.parametrize("query", [{}, {"state": "closed"}, {"overdue": "1"}, {"q": "pungli"}],
                         ids=["open", "closed", "overdue", "search"])
def test_auditor_queue_merges_every_unit_in_queue_order(app, queue_world, query):
    """The auditor's queue reads every unit: each (unit, state) range comes off the index in
    order and the pages are their merge, which must equal one sort of all of them."""
    now = queue_world
    rows = rows_of(app, "UNIT-A") + rows_of(app, "UNIT-B")
    keep = {"state": lambda r: r.state == "closed",
            "overdue": lambda r: r.state != "closed" and r.due is not None and r.due < now,
            "q": lambda r: r.state != "closed" and "pungli" in r.title.lower()}
    wanted = keep[next(iter(query))] if query else (lambda r: r.state != "closed")
    expected = [row.code for row in sorted(filter(wanted, rows), key=queue_order)]
    walked = [code for page in walk_queue(signed_in(app, AUDITOR), f"{QUEUE}?{urlencode(query)}")
              for code in page]
    assert walked == expected and expected
    if not query:  # both units are in it
        assert {row.code for row in rows_of(app, "UNIT-B")} < set(walked)


@pytest.mark.parametrize("case", FILTERS.values(), ids=FILTERS.keys())
def test_queue_filter_shows_exactly_the_matching_complaints(app, queue_world, case):
    """Each filter lists exactly the matching complaints of my unit, in queue order, across pages."""
    rows = sorted(rows_of(app), key=queue_order)
    query = case.query(rows, queue_world)
    if query.get("q") and len(query["q"].replace("-", "")) == 8:  # a whole code opens its complaint
        code = next(r.code for r in rows if r.code.replace("-", "") == query["q"].replace("-", "").upper())
        response = signed_in(app, OFFICER_A).get(f"{QUEUE}?{urlencode(query)}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/staff/complaints/{code}")
        return
    tab = [r for r in rows if r.state == query["state"]] if "state" in query else [
        r for r in rows if r.state != "closed"]
    expected = [r.code for r in tab if case.keep(r, queue_world, query)]
    unfiltered = [r.code for r in rows if r.state != "closed"]
    assert expected and expected != unfiltered  # the case really tells complaints apart
    pages = walk_queue(signed_in(app, OFFICER_A), f"{QUEUE}?{urlencode(query)}")
    assert [code for page in pages for code in page] == expected


def test_queue_tabs_count_each_state_of_my_units(app, queue_world):
    """The tab counts are the numbers of my unit's complaints in each state (unit B not counted)."""
    expected = Counter(row.state for row in rows_of(app))
    html = get_page(signed_in(app, OFFICER_A), QUEUE).html
    with app.app_context():
        states = list(current_workflow().states)  # a tab per state of the workflow file
    assert tab_counts(html) == {state: expected.get(state, 0) for state in states}
    assert expected["received"] > 25 and expected["closed"] == 2


def test_other_unit_queue_never_lists_unit_a(app, queue_world):
    """Unit B's officer sees only unit B's complaints, in every tab and search."""
    b_codes = {row.code for row in rows_of(app, "UNIT-B")}
    officer_b = signed_in(app, OFFICER_B)
    for query in ({}, {"q": "pungli"}, {"overdue": "1"}, {"unassigned": "1"},
                  *({"state": s} for s in ("received", "awaiting_info", "verified", "closed"))):
        listed = {code for page in walk_queue(officer_b, f"{QUEUE}?{urlencode(query)}") for code in page}
        assert listed <= b_codes, query
    assert {code for page in walk_queue(officer_b, QUEUE) for code in page} == b_codes


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


MANGLED = {
    "garbage": lambda real: "not a cursor!!",
    "truncated": lambda real: real[:-6],
    "not-json": lambda real: _b64("hello"),
    "wrong-shape": lambda real: _b64('{"due": null, "id": 3}'),
    "bad-date": lambda real: _b64('["yesterday", 3]'),
    "naive-date": lambda real: _b64('["2025-01-01T00:00:00", 3]'),
    "infinite-id": lambda real: _b64("[null, 1e999]"),
    "huge-id": lambda real: _b64("[null, 100000000000000000000000]"),
    "date-past-year-9999": lambda real: _b64('["9999-12-31T23:00:00-14:00", 3]'),
}
@pytest.mark.parametrize("mangle", [pytest.param(fn, id=name) for name, fn in MANGLED.items()])
def test_mangled_cursor_starts_from_the_top(app, queue_world, mangle):
    """A cursor that was edited or cut short shows the first page instead of failing."""
    officer = signed_in(app, OFFICER_A)
    first = get_page(officer, QUEUE)
    real = next_link(first).split("cursor=")[1].split("&")[0]
    response = officer.get(f"{QUEUE}?{urlencode({'cursor': mangle(real)})}")
    assert response.status_code == 200
    assert queue_codes(Page(response.get_data(as_text=True))) == queue_codes(first)


@pytest.mark.parametrize("query", [
    {"due_within": "soon"},
    {"due_within": "1e3"},
    {"due_within": "99999999999"},
], ids=["word", "float", "huge"])
def test_nonsense_due_within_is_ignored(app, queue_world, query):
    """A `due_within` that is not a sensible day count is ignored instead of failing."""
    officer = signed_in(app, OFFICER_A)
    response = officer.get(f"{QUEUE}?{urlencode(query)}")
    assert response.status_code == 200
    assert queue_codes(Page(response.get_data(as_text=True))) == queue_codes(get_page(officer, QUEUE))


# --- supervisor's overdue review, assignment and instructions ----------------------------

LONG_AGO = datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc)  # every deadline long past


def test_overdue_review_is_for_supervisors(app, org):
    """Supervisors see the review; officers, auditors and admins are refused."""
    file(app, at=LONG_AGO)
    assert signed_in(app, SUPERVISOR_A).get("/staff/overdue").status_code == 200
    for email in (OFFICER_A, AUDITOR, ADMIN):
        assert signed_in(app, email).get("/staff/overdue").status_code == 403


def test_overdue_review_lists_late_cases_of_my_units_only(app, org):
    """A late complaint of my unit is listed with its delay; one of another unit is not."""
    late, _ = file(app, at=LONG_AGO)
    elsewhere, _ = file(app, at=LONG_AGO, unit="UNIT-B", category="ONLY-B")
    on_time, _ = file(app)
    page = get_page(signed_in(app, SUPERVISOR_A), "/staff/overdue").html
    assert late in page and elsewhere not in page and on_time not in page
    assert "Verification late by" in page and "On time" in page


def test_instruction_from_the_review_lands_on_the_timeline(app, org):
    """An instruction is recorded as an internal step and as a supervision entry of the
    unit, each with a digested audit event."""
    code, pin = file(app, at=LONG_AGO)
    supervisor = signed_in(app, SUPERVISOR_A)
    page = get_page(supervisor, "/staff/overdue")
    text = "Segera hubungi pelapor hari ini."
    response = supervisor.post(f"/staff/complaints/{code}/instruction",
                               data={"csrf_token": page.token, "instruction": text, "back": "overdue"})
    assert location(response) == "/staff/overdue"
    staff_view = get_page(supervisor, f"/staff/complaints/{code}").html
    assert text in staff_view and "Supervisor's instruction" in staff_view
    with app.app_context():
        newest = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(2)).all()
        assert {e.action for e in newest} == {"complaint.instruction", "supervision.recorded"}
        assert all(text not in e.body for e in newest)
        record = db.session.scalars(select(SupervisionRecord)).one()
        assert (record.kind, record.findings) == ("instruction", text)
        assert [c.tracking_code for c in record.complaints] == [code]
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    assert text not in get_page(citizen, f"/track/{code}").html
    officer = signed_in(app, OFFICER_A)
    token = get_page(officer, f"/staff/complaints/{code}").token
    refused = officer.post(f"/staff/complaints/{code}/instruction",
                           data={"csrf_token": token, "instruction": "Saya atasan."})
    assert refused.status_code == 403


def test_assignment_to_an_officer_of_the_unit(app, org):
    """An officer assigns the complaint to a colleague of her unit, never to another unit's."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    token = get_page(officer, f"/staff/complaints/{code}").token
    ok = officer.post(f"/staff/complaints/{code}/assign",
                      data={"csrf_token": token, "assignee": OFFICER_A2})
    assert location(ok) == f"/staff/complaints/{code}"
    refused = officer.post(f"/staff/complaints/{code}/assign",
                           data={"csrf_token": token, "assignee": OFFICER_B})
    assert refused.status_code == 422
    with app.app_context():
        assert Complaint.by_code(code).assignee.email == OFFICER_A2
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("complaint.assigned") == 1
    mine = get_page(signed_in(app, OFFICER_A2), f"{QUEUE}?mine=1").html
    assert code in mine
