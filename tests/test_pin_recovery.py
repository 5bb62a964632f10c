"""A lost tracking PIN (issue #16, item 6): "Forgot your PIN?" answers the same for any
well-formed code, emails a one-time, expiring link only to the complaint's own address, and
the link sets a new PIN that opens the complaint while the old one stops working."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

import pengaduan.jobs.outbox
import pengaduan.web.citizen as citizen_views
from pengaduan.extensions import db
from pengaduan.models import OutboxMessage
from pengaduan.services.complaints import pin_recovery
from test_citizen import (  # noqa: F401 (org, browser and rate_limits are fixtures)
    audit_trail,
    browser,
    by_testid,
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


def reset(client, token: str):
    """Open the emailed link, then confirm on its page."""
    page = get_page(client, f"{RESET}?token={token}")
    values = page.forms[RESET].values
    return client.post(RESET, data={"csrf_token": values["csrf_token"], "token": values["token"]})


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
    assert new_browser(app).get(f"{RESET}?token={token}").status_code == 200


def test_opening_the_link_changes_nothing_and_the_confirmation_needs_its_token(app, org):
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    forgot(new_browser(app), filed.code)
    token = emailed_token(app)
    client = new_browser(app)
    get_page(client, f"{RESET}?token={token}")
    refused = client.post(RESET, data={"token": token})
    assert refused.status_code == 422 and "expired" in refused.get_data(as_text=True)
    assert track(new_browser(app), filed.code, filed.pin).status_code == 302


def test_a_complaint_gets_a_few_links_a_day_and_none_without_a_mail_server(app, org):
    filed = file_and_read_receipt(new_browser(app), email="budi@example.id")
    for _ in range(pin_recovery.RESETS_PER_DAY + 1):
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


def test_the_form_is_rate_limited_per_code_across_addresses(app, org, rate_limits):
    codes = {forgot(new_browser(app), "ZZZZ-ZZZZ").status_code for _ in range(5)}
    assert codes == {200}
    client = new_browser(app)
    token = get_page(client, FORGOT).forms[FORGOT].values["csrf_token"]
    sixth = client.post(FORGOT, data={"csrf_token": token, "code": "zzzz zzzz"},
                        environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert sixth.status_code == 429
