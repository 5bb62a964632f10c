"""Staff notifications: who is told about a new complaint, an assignment, the complainant's
reply and a disposition to another unit; the notifications page with its unread badge,
opening and marking messages read, paging; CSRF on its forms; and the email digest, which
like the page never carries an anonymous or confidential complainant's identity.

Requests run outside any pushed application context (as in test_staff.py): the `ctx` and
`world` fixtures keep one pushed for the whole test, and the test client would then share
`g` (CSRF token, locale) between browsers. Data is built and checked in short
`with app.app_context():` blocks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from pages import Page
from test_staff import browser, get_page, location, signed_in, staff_does
from pengaduan.extensions import db
from pengaduan.models import Complaint, Notification, OutboxMessage, User
from pengaduan.policy import Actor
from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint
from pengaduan.services.complaints.casework import assign
from pengaduan.services.complaints.notifications import INBOX_PAGE, notify, send_digests

WIB = ZoneInfo("Asia/Jakarta")
PASSWORD = "correct horse battery"
OFFICER_A, OFFICER_A2 = "officer.a@example.id", "officer.a2@example.id"
OFFICER_B, SUPERVISOR_A = "officer.b@example.id", "supervisor.a@example.id"
SUPERVISOR_C = "supervisor.c@example.id"  # the only staff member of UNIT-C
AUDITOR, ADMIN = "auditor@example.id", "admin@example.id"
STAFF = [  # email, role, units, name
    (OFFICER_A, "officer", ["UNIT-A"], "Siti Rahayu"),
    (OFFICER_A2, "officer", ["UNIT-A"], "Dewi Lestari"),
    (OFFICER_B, "officer", ["UNIT-B"], "Agus Salim"),
    (SUPERVISOR_A, "supervisor", ["UNIT-A"], "Bambang Kepala"),
    (SUPERVISOR_C, "supervisor", ["UNIT-C"], "Cahyo Kepala"),
    (AUDITOR, "auditor", [], "Rina Inspektorat"),
    (ADMIN, "admin", [], "Admin Sistem"),
]
EVERYBODY = [email for email, *_ in STAFF]
IDENTITY = {"name": "Budi Hartono", "nik": "3201234567890123", "email": "budi@example.id",
            "phone": "+62 812-3456-7890"}
VERIFY = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
TO_UNIT_B = {"unit": "UNIT-B", "category": "ONLY-B"}
INBOX = "/staff/notifications"
READ_ALL = "/staff/notifications/read"
MONDAY_10_WIB = datetime(2026, 2, 2, 10, 0, tzinfo=WIB)
SUNDAY_10_WIB = datetime(2026, 2, 1, 10, 0, tzinfo=WIB)
STEP_WORDS = {"provide_info": "Provide information", "dispute": "Dispute the response",
              "accept": "Accept the response", "withdraw": "Withdraw"}


# --- the database --------------------------------------------------------------------------

@pytest.fixture
def org(app):
    """Three units (UNIT-C staffed by a supervisor only), categories, one account per role."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_unit("UNIT-C", "Dinas C")
        create_category("GENERAL", "Umum")
        create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
        for email, role, units, name in STAFF:
            create_user(email, role, name=name, password=PASSWORD, unit_codes=units)
        db.session.commit()


def file(app, **overrides) -> tuple[str, str]:
    """File a complaint (about UNIT-A unless told) through the service; (code, PIN)."""
    raw = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
           "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
           "privacy": "public", **IDENTITY, "consent": True, **overrides}
    with app.app_context():
        filed = file_complaint(raw)
        db.session.commit()
        return filed.complaint.tracking_code, filed.pin


def assign_to(app, by: str, code: str, assignee: str | None) -> None:
    """`by` gives the complaint to `assignee` with casework.assign."""
    with app.app_context():
        assign(Complaint.by_code(code), Actor.staff(User.by_email(by)), assignee)
        db.session.commit()


def add_user(app, email: str, role: str, units: list[str], name: str) -> None:
    with app.app_context():
        create_user(email, role, name=name, password=PASSWORD, unit_codes=units)
        db.session.commit()


@dataclass(frozen=True)
class Message:
    id: int
    kind: str
    code: str
    data: dict
    unread: bool
    email: str | None  # None: in the app only; "pending"; "sent"


def messages(app, email: str, kind: str | None = None) -> list[Message]:
    """A staff member's notifications (of one kind), oldest first."""
    query = select(Notification).join(User, User.id == Notification.user_id).where(
        User.email == email).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    with app.app_context():
        return [Message(n.id, n.kind, n.complaint.tracking_code, dict(n.data), n.read_at is None,
                        n.email) for n in db.session.scalars(query)]


def told(app, kind: str, code: str) -> set[str]:
    """Who has a notification of this kind about this complaint."""
    return {email for email in EVERYBODY
            if any(m.code == code for m in messages(app, email, kind))}


def unread(app, email: str) -> int:
    return sum(m.unread for m in messages(app, email))


# --- browsers and pages --------------------------------------------------------------------

def badge(html: str) -> int:
    """The unread count beside the notifications link (0 when no badge is shown)."""
    link = re.search(r'<a [^>]*data-testid="notifications-link"[^>]*>(.*?)</a>', html, re.S)
    assert link, "no notifications link"
    count = re.search(r'<span class="badge"[^>]*>\s*(\d+)\s*</span>', link.group(1))
    return int(count.group(1)) if count else 0


@dataclass(frozen=True)
class Shown:
    id: int
    text: str
    unread: bool


def shown(html: str) -> list[Shown]:
    """The notifications listed on the page, in order, with their words and read state."""
    section = re.search(r'<ul class="notifications">(.*?)</ul>', html, re.S)
    if section is None:
        return []
    entries = []
    for css, body in re.findall(r'<li class="(unread|read)">(.*?)</li>', section.group(1), re.S):
        id_ = int(re.search(r'action="/staff/notifications/(\d+)/open"', body).group(1))
        words = re.search(r"<button[^>]*>(.*?)</button>", body, re.S).group(1)
        entries.append(Shown(id_, " ".join(unescape(words).split()), css == "unread"))
    return entries


def older_link(page: Page) -> str | None:
    links = [link for link in page.links if link.startswith(f"{INBOX}?before=")]
    assert len(links) <= 1
    return links[0] if links else None


def open_message(client, message_id: int, token: str | None = ""):
    """Press a message on the notifications page ("" takes the token from the page,
    None sends none)."""
    if token == "":
        token = get_page(client, INBOX).token
    data = {} if token is None else {"csrf_token": token}
    return client.post(f"/staff/notifications/{message_id}/open", data=data)


def read_all(client, token: str | None = ""):
    """Press "Mark all as read" (token as for open_message)."""
    if token == "":
        token = get_page(client, INBOX).forms[READ_ALL].values["csrf_token"]
    return client.post(READ_ALL, data={} if token is None else {"csrf_token": token})


def track(client, code: str, pin: str) -> None:
    """The complainant proves code and PIN on /track."""
    token = get_page(client, "/track").forms["/track"].values["csrf_token"]
    response = client.post("/track", data={"csrf_token": token, "code": code, "pin": pin})
    assert location(response) == f"/track/{code}"


def citizen_acts(app, code: str, pin: str, trigger: str, **fields) -> None:
    """The complainant sends a step's form from the tracking page."""
    client = browser(app)
    track(client, code, pin)
    page, action = ((f"/track/{code}/withdraw",) * 2 if trigger == "withdraw"  # its own page
                    else (f"/track/{code}", f"/track/{code}/act/{trigger}"))
    form = get_page(client, page).forms[action]
    response = client.post(action, data={**form.values, **fields})
    assert location(response) == f"/track/{code}", response.status_code


def page_of(code: str) -> str:
    return f"/staff/complaints/{code}"


def staff_acts(client, code: str, trigger: str, **fields):
    """Send a workflow step's form as rendered on the complaint page."""
    action = f"{page_of(code)}/act/{trigger}"
    form = get_page(client, f"{page_of(code)}?step={trigger}").forms[action]
    return client.post(action, data={**form.values, **fields})


# --- 1. a new complaint --------------------------------------------------------------------

def test_new_complaint_reaches_its_units_officers_only(app, org):
    """Filing for UNIT-A tells UNIT-A's officers (not its supervisor, not UNIT-B, not
    auditor or admin); their page lists it under a badge with the right count."""
    first, _ = file(app)
    second, _ = file(app, title="Antrean loket")
    assert told(app, "new_complaint", first) == told(app, "new_complaint", second) == \
        {OFFICER_A, OFFICER_A2}
    assert [(m.kind, m.code, m.data, m.email) for m in messages(app, OFFICER_A)] == [
        ("new_complaint", first, {}, None), ("new_complaint", second, {}, None)]

    siti = signed_in(app, OFFICER_A)
    page = get_page(siti, INBOX)
    assert badge(page.html) == 2
    assert [(s.text, s.unread) for s in shown(page.html)] == [  # newest first
        (f"New complaint {second} in your unit", True),
        (f"New complaint {first} in your unit", True)]
    assert badge(get_page(siti, "/staff/queue").html) == 2  # the badge is on every page

    for email in (OFFICER_B, SUPERVISOR_A, AUDITOR, ADMIN):
        page = get_page(signed_in(app, email), INBOX)
        assert (badge(page.html), shown(page.html)) == (0, []), email
        assert "No notifications." in page.html and first not in page.html


def test_new_complaint_reaches_the_supervisor_of_a_unit_without_officers(app, org):
    """A unit staffed only by a supervisor: the supervisor is told, nobody else."""
    code, _ = file(app, unit="UNIT-C")
    assert told(app, "new_complaint", code) == {SUPERVISOR_C}


def test_inactive_officer_is_not_told(app, org):
    """A deactivated officer gets no message about a new complaint in her unit."""
    with app.app_context():
        User.by_email(OFFICER_A2).active = False
        db.session.commit()
    code, _ = file(app)
    assert told(app, "new_complaint", code) == {OFFICER_A}


# --- 2. assignment -------------------------------------------------------------------------

def test_assignment_on_the_complaint_page_tells_the_assignee(app, org):
    """The page's assign form tells the colleague it names (with an email to come);
    assigning the complaint to oneself tells nobody."""
    code, _ = file(app)
    siti = signed_in(app, OFFICER_A)
    form = get_page(siti, f"{page_of(code)}?step=assign").forms[f"{page_of(code)}/assign"]
    response = siti.post(f"{page_of(code)}/assign", data={**form.values, "assignee": OFFICER_A2})
    assert location(response) == page_of(code)
    assert [(m.kind, m.code, m.email) for m in messages(app, OFFICER_A2, "assigned")] == [
        ("assigned", code, "pending")]
    dewi_page = get_page(signed_in(app, OFFICER_A2), INBOX)
    assert shown(dewi_page.html)[0].text == f"Complaint {code} was assigned to you"
    assert badge(dewi_page.html) == 2  # the new complaint and the assignment

    form = get_page(siti, f"{page_of(code)}?step=assign").forms[f"{page_of(code)}/assign"]
    response = siti.post(f"{page_of(code)}/assign", data={**form.values, "assignee": OFFICER_A})
    assert location(response) == page_of(code)
    with app.app_context():
        assert Complaint.by_code(code).assignee.email == OFFICER_A
    assert told(app, "assigned", code) == {OFFICER_A2}


def test_casework_assign_tells_the_assignee_but_not_oneself(app, org):
    """casework.assign by a supervisor tells the officer; taking it oneself or taking it
    back (no assignee) tells nobody."""
    code, _ = file(app)
    assign_to(app, SUPERVISOR_A, code, OFFICER_A)
    assert told(app, "assigned", code) == {OFFICER_A}
    assign_to(app, SUPERVISOR_A, code, SUPERVISOR_A)
    assign_to(app, SUPERVISOR_A, code, None)
    assert told(app, "assigned", code) == {OFFICER_A}
    assert len(messages(app, OFFICER_A, "assigned")) == 1


@pytest.mark.parametrize("assignee, expected", [
    (OFFICER_A2, {OFFICER_A2}), (OFFICER_A, set())], ids=["colleague", "oneself"])
def test_assignee_chosen_in_a_step_is_told(app, org, assignee, expected):
    """An assignee chosen in the verify step is told, unless it is the officer herself."""
    code, _ = file(app)
    response = staff_acts(signed_in(app, OFFICER_A), code, "verify", **VERIFY, assignee=assignee)
    assert location(response) == page_of(code)
    assert told(app, "assigned", code) == expected


# --- 3. the complainant acts ---------------------------------------------------------------

BEFORE_CITIZEN = {  # staff steps that bring a complaint to where the complainant may act
    "provide_info": [("request_info", {"message": "Mohon kirim foto KTP lama."})],
    "dispute": [("verify", VERIFY), ("follow_up", {"response": "KTP-el sudah dicetak."})],
    "accept": [("verify", VERIFY), ("follow_up", {"response": "KTP-el sudah dicetak."})],
    "withdraw": [],
}
CITIZEN_FIELDS = {"provide_info": {"message": "Foto KTP lama terlampir."},
                  "dispute": {"comment": "KTP-el belum saya terima."}, "accept": {},
                  "withdraw": {"comment": "Sudah selesai sendiri."}}


@pytest.mark.parametrize("assigned", [True, False], ids=["assigned", "unassigned"])
@pytest.mark.parametrize("trigger", list(BEFORE_CITIZEN))
def test_complainants_step_tells_the_handler(app, org, trigger, assigned):
    """provide_info, dispute, accept or withdraw from the tracking page tells the assignee,
    or without one the unit's officers (not its supervisor); the step is in the data and
    shown in words."""
    code, pin = file(app)
    if assigned:
        assign_to(app, OFFICER_A, code, OFFICER_A2)
    staff_does(app, OFFICER_A, code, *BEFORE_CITIZEN[trigger])
    citizen_acts(app, code, pin, trigger, **CITIZEN_FIELDS[trigger])

    expected = {OFFICER_A2} if assigned else {OFFICER_A, OFFICER_A2}
    assert told(app, "citizen_replied", code) == expected
    for email in expected:
        [message] = messages(app, email, "citizen_replied")
        assert message.data == {"trigger": trigger}
        page = get_page(signed_in(app, email), INBOX)
        assert shown(page.html)[0] == Shown(
            message.id, f"The complainant acted on {code}: {STEP_WORDS[trigger]}", True)


def test_complainants_reply_through_the_service_reaches_the_assignee(app, org):
    """Actor.citizen + advance tells the assignee only, with the trigger in the data."""
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, ("verify", {**VERIFY, "assignee": OFFICER_A2}),
               ("follow_up", {"response": "KTP-el sudah dicetak."}))
    with app.app_context():
        complaint = Complaint.by_code(code)
        advance(complaint, "dispute", Actor.citizen(complaint), comment="Belum diterima.")
        db.session.commit()
    assert told(app, "citizen_replied", code) == {OFFICER_A2}
    assert [m.data for m in messages(app, OFFICER_A2, "citizen_replied")] == [{"trigger": "dispute"}]


# --- 4. disposition to another unit --------------------------------------------------------

DISPOSITIONS = {
    "reassign": ([("verify", VERIFY)], "reassign", {**TO_UNIT_B, "reason": "Kewenangan Dinas B"}),
    "verify": ([], "verify", {**TO_UNIT_B, "classification": "pengaduan"}),
}


@pytest.mark.parametrize("how", list(DISPOSITIONS))
def test_disposition_tells_the_new_units_officers_not_the_one_who_did_it(app, org, how):
    """reassign (with a reason) or verify to UNIT-B tells UNIT-B's officers, naming the old
    unit; the officer who disposed it (a member of both units) is not told."""
    both = "officer.ab@example.id"
    add_user(app, both, "officer", ["UNIT-A", "UNIT-B"], "Yanto Dua Unit")
    code, _ = file(app)
    before, trigger, fields = DISPOSITIONS[how]
    staff_does(app, both, code, *before)
    response = staff_acts(signed_in(app, both), code, trigger, **fields)
    assert response.status_code == 302
    with app.app_context():
        assert Complaint.by_code(code).unit.code == "UNIT-B"

    moved = [m for m in messages(app, OFFICER_B, "new_complaint") if m.code == code]
    assert [(m.data, m.unread) for m in moved] == [({"from_unit": "UNIT-A"}, True)]
    assert [m for m in messages(app, both, "new_complaint") if m.data] == []
    assert told(app, "new_complaint", code) == {OFFICER_A, OFFICER_A2, OFFICER_B}  # A's: filing
    page = get_page(signed_in(app, OFFICER_B), INBOX)
    assert (badge(page.html), [s.text for s in shown(page.html)]) == (
        1, [f"Complaint {code} was forwarded to your unit"])


def test_disposition_with_an_assignee_tells_the_new_unit_and_the_assignee(app, org):
    """verify to UNIT-B naming UNIT-B's officer as assignee: she learns of both."""
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, ("verify", {**TO_UNIT_B, "classification": "pengaduan",
                                                 "assignee": OFFICER_B}))
    assert [(m.kind, m.data) for m in messages(app, OFFICER_B)] == [
        ("new_complaint", {"from_unit": "UNIT-A"}), ("assigned", {})]
    assert [m for m in messages(app, OFFICER_A) if m.data] == []


def test_disposition_to_a_unit_without_officers_tells_its_supervisor(app, org):
    """Disposed to UNIT-C (only a supervisor), the supervisor is told, as on filing."""
    with app.app_context():
        create_category("ONLY-C", "Khusus C", unit_codes=["UNIT-C"])
        db.session.commit()
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, ("verify", {"unit": "UNIT-C", "category": "ONLY-C",
                                                 "classification": "pengaduan"}))
    assert [m.data for m in messages(app, SUPERVISOR_C, "new_complaint")] == [{"from_unit": "UNIT-A"}]


# --- 5. opening and reading ----------------------------------------------------------------

def test_opening_marks_read_and_goes_to_the_complaint(app, org):
    """Opening a message marks only it read and leads to its complaint; the badge drops."""
    first, _ = file(app)
    second, _ = file(app)
    siti = signed_in(app, OFFICER_A)
    page = get_page(siti, INBOX)
    newest, oldest = shown(page.html)
    assert badge(page.html) == 2

    token = page.forms[f"{INBOX}/{oldest.id}/open"].values["csrf_token"]
    response = open_message(siti, oldest.id, token)
    assert location(response) == page_of(first)
    complaint_page = get_page(siti, page_of(first))
    assert badge(complaint_page.html) == 1
    assert [(m.code, m.unread) for m in messages(app, OFFICER_A)] == [(first, False), (second, True)]
    assert unread(app, OFFICER_A2) == 2  # a colleague's copies stay unread

    page = get_page(siti, INBOX)
    assert [(s.id, s.unread) for s in shown(page.html)] == [(newest.id, True), (oldest.id, False)]
    assert page.html.count('<span class="tag">new</span>') == 1
    assert location(open_message(siti, oldest.id)) == page_of(first)  # opening again is harmless
    assert unread(app, OFFICER_A) == 1


def test_mark_all_as_read(app, org):
    """"Mark all as read" clears the badge and every unread message of this user only."""
    for _ in range(3):
        file(app)
    siti = signed_in(app, OFFICER_A)
    response = read_all(siti)
    assert location(response) == INBOX
    page = get_page(siti, INBOX)
    assert "3 messages marked as read." in page.html
    assert badge(page.html) == 0
    assert [s.unread for s in shown(page.html)] == [False] * 3
    assert unread(app, OFFICER_A) == 0 and unread(app, OFFICER_A2) == 3


def test_another_users_message_is_not_found_and_stays_unread(app, org):
    """Opening a colleague's message answers 404 and leaves it unread."""
    file(app)
    [dewis] = messages(app, OFFICER_A2)
    for email in (OFFICER_A, OFFICER_B, SUPERVISOR_A, AUDITOR, ADMIN):
        client = signed_in(app, email)
        token = get_page(client, INBOX).token
        assert open_message(client, dewis.id, token).status_code == 404, email
        assert open_message(client, dewis.id + 1000, token).status_code == 404, email
    assert messages(app, OFFICER_A2) == [dewis]


def test_opening_after_the_complaint_moved_returns_to_the_list(app, org):
    """Once the complaint was disposed to UNIT-B, opening UNIT-A's message marks it read but
    leads back to the list, never to the complaint page (404 for that officer)."""
    code, _ = file(app)
    staff_does(app, OFFICER_A2, code, ("verify", VERIFY),
               ("reassign", {**TO_UNIT_B, "reason": "Kewenangan Dinas B"}))
    siti = signed_in(app, OFFICER_A)
    [message] = messages(app, OFFICER_A)
    response = open_message(siti, message.id)
    assert location(response) == INBOX
    assert code not in response.get_data(as_text=True)
    assert not messages(app, OFFICER_A)[0].unread
    assert siti.get(page_of(code)).status_code == 404


# --- 6. CSRF -------------------------------------------------------------------------------

def foreign_token(app) -> str:
    """A genuine token, but of another signed-in browser."""
    return get_page(signed_in(app, OFFICER_A2), INBOX).token


TOKENS = {"missing": lambda app: None, "forged": lambda app: "IjAwMDAi.forged.token",
          "other-session": foreign_token}


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
@pytest.mark.parametrize("what", ["open", "read-all"])
def test_posts_without_a_valid_token_change_nothing(app, org, what, token):
    """Opening a message or marking all read without this session's token: 400, all unread."""
    file(app)
    file(app)
    siti = signed_in(app, OFFICER_A)
    get_page(siti, INBOX)  # the session has a token
    before = messages(app, OFFICER_A)
    response = (open_message(siti, before[0].id, token(app)) if what == "open"
                else read_all(siti, token(app)))
    assert response.status_code == 400
    assert messages(app, OFFICER_A) == before and unread(app, OFFICER_A) == 2
    assert badge(get_page(siti, INBOX).html) == 2


# --- 7. no identity in messages or email ---------------------------------------------------

@pytest.mark.parametrize("privacy", ["anonymous", "confidential"])
def test_page_and_digest_never_show_a_masked_identity(app, org, privacy):
    """Every kind of message about an anonymous or confidential complaint, on the page and in
    the email digest sent during office hours, names it by code without the complainant's
    name, NIK, email or phone."""
    code, pin = file(app, privacy=privacy)
    assign_to(app, OFFICER_A, code, OFFICER_A2)
    staff_does(app, OFFICER_A, code, ("request_info", {"message": "Mohon kirim foto KTP."}))
    citizen_acts(app, code, pin, "provide_info", message="Foto terlampir.")
    staff_does(app, OFFICER_A, code, ("verify", {**TO_UNIT_B, "classification": "pengaduan",
                                                 "assignee": OFFICER_B}))
    kinds = {email: {m.kind for m in messages(app, email)} for email in (OFFICER_A2, OFFICER_B)}
    assert kinds == {OFFICER_A2: {"new_complaint", "assigned", "citizen_replied"},
                     OFFICER_B: {"new_complaint", "assigned"}}

    for email in (OFFICER_A, OFFICER_A2, OFFICER_B):
        html = get_page(signed_in(app, email), INBOX).html
        assert code in html
        assert not [value for value in IDENTITY.values() if value in html], email

    with app.app_context():
        assert send_digests(SUNDAY_10_WIB) == 0  # no email outside working days
        assert send_digests(MONDAY_10_WIB) == 2
        db.session.commit()
        outbox = db.session.scalars(select(OutboxMessage).where(  # the staff's, not the
            OutboxMessage.recipient != IDENTITY["email"]).order_by(OutboxMessage.id)).all()  # complainant's
        assert sorted(m.recipient for m in outbox) == [OFFICER_A2, OFFICER_B]
        for mail in outbox:
            text = "\n".join((mail.subject, mail.body_text, mail.body_html or ""))
            assert code in mail.body_text and code in mail.body_html
            assert not [value for value in IDENTITY.values() if value in text], mail.recipient
        assert send_digests(MONDAY_10_WIB) == 0  # each message is mailed once
    assert {m.email for m in messages(app, OFFICER_B, "assigned")} == {"sent"}
    assert {m.email for m in messages(app, OFFICER_A2, "citizen_replied")} == {None}


# --- 8. paging -----------------------------------------------------------------------------

def many_messages(app, email: str, code: str, count: int) -> None:
    """Give one user `count` more "assigned" messages about a complaint."""
    with app.app_context():
        user, complaint = User.by_email(email), Complaint.by_code(code)
        for _ in range(count):
            notify([user], "assigned", complaint)
        db.session.commit()


def test_more_than_a_page_of_messages_is_paged(app, org):
    """53 messages: the first page shows the newest 50 and an "older" link; the next page
    shows the remaining 3 and no further link."""
    code, _ = file(app)
    many_messages(app, OFFICER_A, code, 52)
    ids = [m.id for m in reversed(messages(app, OFFICER_A))]  # newest first
    assert len(ids) == 53 and INBOX_PAGE == 50

    siti = signed_in(app, OFFICER_A)
    first = get_page(siti, INBOX)
    assert [s.id for s in shown(first.html)] == ids[:50]
    assert badge(first.html) == 53
    older = older_link(first)
    assert older == f"{INBOX}?before={ids[49]}"
    second = get_page(siti, older)
    assert [s.id for s in shown(second.html)] == ids[50:]
    assert shown(second.html)[-1].text == f"New complaint {code} in your unit"
    assert older_link(second) is None
    assert [s.id for s in shown(get_page(signed_in(app, OFFICER_A2), INBOX).html)] == \
        [messages(app, OFFICER_A2)[0].id]  # a colleague sees only her own


def test_exactly_one_page_of_messages_has_no_older_link(app, org):
    """With exactly 50 messages there is nothing older to link to."""
    code, _ = file(app)
    many_messages(app, OFFICER_A, code, INBOX_PAGE - 1)
    page = get_page(signed_in(app, OFFICER_A), INBOX)
    assert len(shown(page.html)) == INBOX_PAGE
    assert older_link(page) is None


# --- 9. who may open the page --------------------------------------------------------------

def test_anonymous_visitor_is_sent_to_sign_in(app, org):
    """The notifications page is for signed-in staff: others go to /login."""
    response = browser(app).get(INBOX)
    assert location(response) == "/login"


@pytest.mark.parametrize("email", [ADMIN, AUDITOR])
def test_admin_and_auditor_see_an_empty_inbox(app, org, email):
    """Admins and auditors have no unit: the page opens empty, without a badge."""
    file(app)
    client = signed_in(app, email)
    page = get_page(client, INBOX)
    assert "No notifications." in page.html
    assert (badge(page.html), shown(page.html), older_link(page)) == (0, [], None)
    assert location(read_all(client, page.token)) == INBOX
