"""A lost tracking PIN (issue #16, item 6): "Forgot your PIN?" answers the same for any
well-formed code, emails a one-time, expiring link only to the complaint's own address, and
the link sets a new PIN that opens the complaint while the old one stops working."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

import pengaduan.jobs.outbox
import pengaduan.web.citizen as citizen_views
from pengaduan.extensions import db
from pengaduan.models import Complaint, OutboxMessage, utcnow
from pengaduan.services.complaints import pin_recovery
from test_citizen import (  # noqa: F401 (org, browser and rate_limits are fixtures)
    audit_trail,
    browser,
    by_testid,
    complaint_in_db,
    file_and_read_receipt,
    get_page,
    new_browser,
    org,
    rate_limits,
    track,
)
from test_receipts import FakeSMTP

FORGOT = "/track/forgot-pin"
RESET = "/track/reset-pin"
BASE_URL = "https://pengaduan.example.go.id/lapor"
LINK = re.compile(re.escape(BASE_URL) + r"/track/reset-pin\?token=([A-Za-z0-9_.-]+)")


@pytest.fixture(autouse=True)
def mail_server(app, monkeypatch):
    """A configured mail server (the link is sent by the worker, never in the request), a
    configured site, and no waiting for the answer's time floor."""
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", FakeSMTP)
    app.config.update(MAIL_SERVER="smtp.example.go.id", PENGADUAN_BASE_URL=BASE_URL)
    monkeypatch.setattr(citizen_views, "FORGOT_PIN_SECONDS", 0)


def masked(html: str) -> str:
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r'\1"', html)


def forgot(client, code: str):
    token = get_page(client, FORGOT).forms[FORGOT].values["csrf_token"]
    return client.post(FORGOT, data={"csrf_token": token, "code": code})


def messages(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def emailed_token(app) -> str:
    message = messages(app)[-1]
    return LINK.search(message.body_text).group(1)


def open_link(client, token: str):
    """Open the emailed link: the token moves into the session, the page loads without it."""
    opened = client.get(f"{RESET}?token={token}")
    assert opened.status_code == 302 and opened.headers["Location"] == RESET
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    page = client.get(RESET)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert token not in html
    return html


def reset(client, token: str):
    """Open the emailed link, then confirm on its page."""
    open_link(client, token)
    values = get_page(client, RESET).forms[RESET].values
    assert set(values) == {"csrf_token"}
    return client.post(RESET, data={"csrf_token": values["csrf_token"]})


def test_the_answer_does_not_tell_which_codes_exist_or_have_an_address(app, org):
    """Unknown code, a complaint without an address, one with: the same page, status and
    text (but for each browser's CSRF token); only the last gets an email, to its own address
    and without the PIN."""
    without = file_and_read_receipt(new_browser(app), email="")
    with_address = file_and_read_receipt(new_browser(app), email="budi@example.id")
    answers = [forgot(new_browser(app), code) for code in ("ZZZZ-ZZZZ", without.code, with_address.code)]
    assert {a.status_code for a in answers} == {200}
    bodies = {masked(a.get_data(as_text=True)) for a in answers}
    assert len(bodies) == 1 and "a link to set a new PIN is on its way" in bodies.pop()
    receipt, link = messages(app)
    assert link.recipient == "budi@example.id" and link.status == "pending"  # for the worker
    assert with_address.code in link.subject
    for body in (link.subject, link.body_text, link.body_html):
        assert with_address.pin not in body
    assert LINK.search(link.body_text) and LINK.search(link.body_html)
    assert app.config["PENGADUAN_OFFICE_NAME"] in link.body_text  # the office's footer


def test_the_link_sets_a_new_pin_once(app, org):
    """The new PIN is shown once, opens /track, the old one no longer does; the link then
    says it is no longer valid; the audit chain has the request and the reset, no PIN."""
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    forgot(new_browser(app), filed.code)
    token = emailed_token(app)
    phone = new_browser(app)
    done = reset(phone, token)
    assert done.status_code == 302 and done.headers["Location"] == f"/track/{filed.code}/pin"
    new_pin = by_testid(get_page(phone, done.headers["Location"]).html, "tracking-pin")
    assert new_pin != filed.pin
    assert phone.get(f"/track/{filed.code}").status_code == 200  # remembered in this browser
    assert track(new_browser(app), filed.code, filed.pin).status_code == 404
    assert track(new_browser(app), filed.code, new_pin).status_code == 302
    again = new_browser(app).get(f"{RESET}?token={token}")
    assert again.status_code == 410 and "no longer valid" in again.get_data(as_text=True)
    assert new_browser(app).post(RESET, data={"token": token}).status_code == 410
    trail = [(action, payload) for action, _, payload in audit_trail(app, filed.code)]
    assert ("complaint.pin_reset_requested", {}) in trail and ("complaint.pin_reset", {}) in trail
    assert not any(new_pin in str(p) or "budi@" in str(p) for _, p in trail)


def test_the_link_expires_and_cannot_be_altered(app, org, monkeypatch):
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    forgot(new_browser(app), filed.code)
    token = emailed_token(app)
    later = time.time() + pin_recovery.LINK_MINUTES * 60 + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = new_browser(app).get(f"{RESET}?token={token}")
    assert expired.status_code == 410
    assert "Tautan ini sudah tidak berlaku" in new_browser(app, "id").get(f"{RESET}?token={token}").get_data(as_text=True)
    monkeypatch.undo()
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert new_browser(app).get(f"{RESET}?token={altered}").status_code == 410
    assert new_browser(app).get(f"{RESET}?token={token}").status_code == 302
    assert new_browser(app).get(RESET).status_code == 410  # no link opened in this browser


def test_opening_the_link_changes_nothing_and_the_confirmation_needs_its_token(app, org):
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    forgot(new_browser(app), filed.code)
    token = emailed_token(app)
    client = new_browser(app)
    open_link(client, token)
    refused = client.post(RESET, data={"token": token})
    assert refused.status_code == 422 and "expired" in refused.get_data(as_text=True)
    assert track(new_browser(app), filed.code, filed.pin).status_code == 302


class Clock:
    """Moves the service's and the audit chain's clock forward."""

    def __init__(self, monkeypatch):
        self.ahead = timedelta()
        for where in ("pengaduan.services.complaints.pin_recovery.utcnow", "pengaduan.audit.chain.utcnow"):
            monkeypatch.setattr(where, lambda: utcnow() + self.ahead)


def test_one_link_at_a_time_a_few_a_day_and_none_without_a_mail_server(app, org, monkeypatch):
    """Asking again while the link sent works sends nothing (same answer); once it expired,
    or was used, another comes, up to RESETS_PER_DAY a day."""
    clock = Clock(monkeypatch)
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    for _ in range(3):
        assert forgot(new_browser(app), filed.code).status_code == 200
    assert len(messages(app)) == 2  # the receipt, then one link
    reset(new_browser(app), emailed_token(app))  # used: she may ask again at once
    assert forgot(new_browser(app), filed.code).status_code == 200
    assert len(messages(app)) == 3
    for _ in range(pin_recovery.RESETS_PER_DAY):
        clock.ahead += timedelta(minutes=pin_recovery.LINK_MINUTES + 1)
        assert forgot(new_browser(app), filed.code).status_code == 200
    assert len(messages(app)) == 1 + pin_recovery.RESETS_PER_DAY  # the receipt, then the links
    other = file_and_read_receipt(new_browser(app), email="siti@example.id")
    app.config["MAIL_SERVER"] = None
    page = get_page(new_browser(app), FORGOT).html
    assert "does not send email" in page and f'action="{FORGOT}"' not in page
    assert forgot_without_form(new_browser(app), other.code).status_code == 200
    assert len(messages(app)) == 2 + pin_recovery.RESETS_PER_DAY


def forgot_without_form(client, code: str):
    token = get_page(client, "/track").forms["/track"].values["csrf_token"]
    return client.post(FORGOT, data={"csrf_token": token, "code": code})


def test_a_malformed_code_is_named_and_kept(app, org):
    client = new_browser(app)
    answer = forgot(client, "K7QM-3X")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "8 letters and digits" in html and 'value="K7QM-3X"' in html


def test_track_offers_the_forgotten_pin_page_in_indonesian(app, org):
    html = get_page(new_browser(app, "id"), "/track").html
    link = re.search(r'<a href="([^"]+)" data-testid="forgot-pin-link">([^<]+)<', html)
    assert link.group(1) == FORGOT and link.group(2) == "Lupa PIN?"
    assert "Lupa PIN?" in get_page(new_browser(app, "id"), FORGOT).html


def test_strangers_asking_for_a_published_code_never_keep_its_owner_out(app, org, rate_limits):
    """Asking for one code from many addresses gets the same answer every time (no 429 a
    stranger could bring about for the complainant) and one email; one address asking too
    often is refused."""
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    for i in range(12):
        client = new_browser(app)
        token = get_page(client, FORGOT).forms[FORGOT].values["csrf_token"]
        answer = client.post(FORGOT, data={"csrf_token": token, "code": filed.code},
                             environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
        assert answer.status_code == 200 and "a link to set a new PIN is on its way" in answer.get_data(as_text=True)
    assert len(messages(app)) == 2  # the receipt, then one link
    codes = [forgot(new_browser(app), "ZZZZ-ZZZZ").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_a_new_pin_shuts_out_every_other_browser_that_had_opened_the_complaint(app, org):
    """The PIN leaked: the browser that sets a new one by the emailed link keeps the
    complaint, one that opened it with the old PIN is sent back to /track. A session of
    before (bare ids) tracks nothing."""
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    stranger = new_browser(app)
    assert track(stranger, filed.code, filed.pin).status_code == 302
    assert stranger.get(f"/track/{filed.code}").status_code == 200
    forgot(new_browser(app), filed.code)
    owner = new_browser(app)
    reset(owner, emailed_token(app))
    assert owner.get(f"/track/{filed.code}").status_code == 200
    for path in ("", "/withdraw", "/pin"):
        shut = stranger.get(f"/track/{filed.code}{path}")
        assert shut.status_code == 302 and shut.headers["Location"].startswith("/track")
    assert stranger.get(f"/track/{filed.code}").headers["Location"] == f"/track?code={filed.code}"
    with complaint_in_db(app, filed.code) as complaint:
        complaint_id = complaint.id
    old_session = new_browser(app)
    with old_session.session_transaction() as session:
        session[citizen_views.TRACKED_KEY] = [complaint_id]
    assert old_session.get(f"/track/{filed.code}").status_code == 302


def test_the_email_speaks_the_filing_language_and_the_new_pin_keeps_the_officers_form(app, org):
    """Filed in Indonesian, asked for from an English page: the link comes in Indonesian.
    Setting the PIN makes no new version of the complaint (an officer's open form stays
    valid)."""
    filed = file_and_read_receipt(new_browser(app, "id"), email="budi@example.id")
    forgot(new_browser(app, "en"), filed.code)
    assert "PIN baru" in messages(app)[-1].subject
    with complaint_in_db(app, filed.code) as complaint:
        version = complaint.version
    reset(new_browser(app), emailed_token(app))
    with app.app_context():
        complaint = Complaint.by_code(filed.code)
        assert complaint.version == version
