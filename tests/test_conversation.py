"""The tracking page around the next step, withdrawing on a page of its own, and the
conversation between the complainant and the office (services.complaints.conversation)."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from pages import Page
from pengaduan.extensions import db
from pengaduan.models import Complaint, ComplaintEvent, Notification
from pengaduan.policy import Actor
from pengaduan.errors import InvalidFields
from pengaduan.services import create_user
from pengaduan.services.complaints.conversation import post_message
from test_citizen import (FOLLOWED_UP, OFFICER, VERIFY, act, audit_trail, complaint_in_db, file_and_read_receipt,
                          get_page, new_browser, officer_does, png_bytes, uploads)
from test_citizen import browser, org  # noqa: F401  (fixtures)
from test_staff import login

PASSWORD = "correct horse battery"


def staff(app, email=OFFICER):
    client = new_browser(app)
    assert login(client, email, PASSWORD).status_code == 302
    return client


def send(client, code, text, files=()):
    """The complainant's message from the tracking page."""
    url = f"/track/{code}/message"
    form = get_page(client, f"/track/{code}").forms[url]
    data = {**form.values, "message": text}
    if files:
        data["attachments"] = uploads(files)
    return client.post(url, data=data, content_type="multipart/form-data")


def reply(client, code, text, files=()):
    """An officer's message to the complainant from the case page."""
    url = f"/staff/complaints/{code}/message"
    form = get_page(client, f"/staff/complaints/{code}?step=reply").forms[url]
    data = {**form.values, "message": text}
    if files:
        data["attachments"] = uploads(files)
    return client.post(url, data=data, content_type="multipart/form-data")


def position(html: str, *needles: str) -> list[int]:
    found = [html.find(n) for n in needles]
    assert -1 not in found, dict(zip(needles, found))
    return found


def test_tracking_page_shows_the_filing_and_puts_the_question_above_its_form(app, browser):
    """What she filed comes back (text, dates, place, her file, contacts in part), and the
    officer's question stands right above the form answering it."""
    photo = png_bytes()
    receipt = file_and_read_receipt(browser, files=[(photo, "antrean.png")])
    officer_does(app, receipt.code, ("request_info", {"message": "Mohon kirim nomor antrean."}))
    html = get_page(browser, f"/track/{receipt.code}").html
    for shown in ("Sudah tiga bulan menunggu.", "KTP-el segera dicetak.", "Loket 3, Kantor Disdukcapil",
                  "antrean.png", "Budi Hartono", "7890"):
        assert shown in html
    for hidden in ("3201234567890123", "+62 812-3456-7890", "Jl. Merdeka 1"):
        assert hidden not in html
    status, office, question, form, filed, history = position(
        html, 'class="deadline"', 'data-testid="office-latest"', "Mohon kirim nomor antrean.",
        f'action="/track/{receipt.code}/act/provide_info"', 'data-testid="filed"', 'id="history"')
    assert status < office < question < form < filed < history
    with complaint_in_db(app, receipt.code) as complaint:
        [file] = complaint.attachments
        assert browser.get(f"/track/{receipt.code}/files/{file.id}").data == photo


@pytest.mark.parametrize("privacy, name, shown", [
    ("confidential", "Budi Hartono Saputra", "Budi H. S."), ("anonymous", "Sukarno", "S•••")])
def test_a_hidden_identity_shows_the_name_only_in_part(app, browser, privacy, name, shown):
    receipt = file_and_read_receipt(browser, privacy=privacy, name=name)
    html = get_page(browser, f"/track/{receipt.code}").html
    assert f"<dd>{shown}</dd>" in html and name not in html
    assert "Your name, NIK, phone number and email are shown only in part" in html


def test_response_is_quoted_above_accept_and_dispute(app, browser):
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, *FOLLOWED_UP)
    html = get_page(browser, f"/track/{receipt.code}").html
    office, response, accept, dispute = position(
        html, 'data-testid="office-latest"', "KTP-el sudah dicetak.",
        f"/track/{receipt.code}/act/accept", f"/track/{receipt.code}/act/dispute")
    assert office < response < accept < dispute
    assert 'data-testid="withdraw-link"' not in html  # not possible once followed up
    response = act(browser, receipt.code, "dispute", comment="Belum saya terima.")
    assert "The unit will follow up on the complaint again" in get_page(browser, response.headers["Location"]).html


def test_withdrawing_asks_first_and_keeps_the_reason(app, browser):
    receipt = file_and_read_receipt(browser)
    view = f"/track/{receipt.code}"
    page = get_page(browser, view)
    assert f'href="{view}/withdraw" data-testid="withdraw-link"' in page.html
    assert not [action for action in page.forms if action.endswith("withdraw")]
    # A post to the step itself (an old page) only shows the question, with the reason kept.
    token = page.token
    asked = browser.post(f"{view}/act/withdraw", data={"csrf_token": token, "comment": "Salah kirim."})
    assert asked.status_code == 200
    asked_page = Page(asked.get_data(as_text=True))
    assert asked_page.forms[f"{view}/withdraw"].values["comment"] == "Salah kirim."
    assert f'href="{view}"' in asked_page.html  # Cancel
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "received"
    done = act(browser, receipt.code, "withdraw", comment="Sudah selesai sendiri.")
    assert done.status_code == 302 and done.headers["Location"] == view
    html = get_page(browser, view).html
    assert "Your complaint was withdrawn." in html and "Your answer was recorded" not in html
    assert "Sudah selesai sendiri." in html
    with complaint_in_db(app, receipt.code) as complaint:
        assert (complaint.state, complaint.closure_reason) == ("closed", "withdrawn")
        assert complaint.events[-1].data == {"comment": "Sudah selesai sendiri."}
    assert browser.get(f"{view}/withdraw").status_code == 302


def test_messages_both_ways_on_both_timelines_audited_without_moving_the_complaint(app, browser):
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, ("verify", {"unit": "UNIT-A", "category": "GENERAL",
                                                "classification": "pengaduan", "assignee": OFFICER}))
    with complaint_in_db(app, receipt.code) as complaint:
        before = (complaint.state, complaint.version)
    photo = png_bytes()
    sent = send(browser, receipt.code, "Apakah saya perlu datang ke kantor?", [(photo, "kk.png")])
    assert sent.status_code == 302
    with complaint_in_db(app, receipt.code) as complaint:
        assert (complaint.state, complaint.version) == before
        assert complaint.citizen_message_at is not None
        event = complaint.events[-1]
        assert (event.kind, event.public, event.actor_role, event.unit_id) == (
            "message", True, "citizen", complaint.unit_id)
        [file] = [a for a in complaint.attachments if a.event_id == event.id]
        assert file.public
        notices = db.session.scalars(select(Notification).where(
            Notification.complaint_id == complaint.id, Notification.kind == "citizen_replied")).all()
        assert [n.data for n in notices] == [{"message": event.id}]
    action, actor, payload = audit_trail(app, receipt.code)[-1]
    text = "Apakah saya perlu datang ke kantor?"
    assert (action, actor, payload["from"]) == ("complaint.message", "citizen", "complainant")
    assert payload["fields"]["message"] == {"sha256": hashlib.sha256(text.encode()).hexdigest(),
                                            "length": len(text)}
    assert text not in str(payload) and payload["attachments"][0]["sha256"] == hashlib.sha256(photo).hexdigest()

    officer = staff(app)
    assert "New message from the complainant" in get_page(officer, "/staff/queue").html
    assert "New message from the complainant" in get_page(officer, "/staff").html
    case = get_page(officer, f"/staff/complaints/{receipt.code}").html
    assert text in case and "Message from the complainant" in case and "Visible to the complainant" in case
    assert reply(officer, receipt.code, "Tidak perlu, cukup tunggu kabar.").status_code == 302
    with complaint_in_db(app, receipt.code) as complaint:
        assert (complaint.state, complaint.version) == before
        assert complaint.citizen_message_at is None
        assert complaint.events[-1].actor_role == "officer"
    assert audit_trail(app, receipt.code)[-1][2]["from"] == "staff"
    assert "New message from the complainant" not in get_page(officer, "/staff/queue").html
    html = get_page(browser, f"/track/{receipt.code}").html
    office, answer, mine = position(html, 'data-testid="office-latest"', "Tidak perlu, cukup tunggu kabar.", text)
    assert office < answer < mine  # quoted at the top; the history shows both, newest first
    assert html.count("Tidak perlu, cukup tunggu kabar.") == 2
    assert "Siti" not in html  # the office speaks as its unit


def test_a_public_step_answers_the_message_a_note_does_not(app, browser):
    receipt = file_and_read_receipt(browser)
    assert send(browser, receipt.code, "Mohon dipercepat.").status_code == 302
    officer = staff(app)
    token = get_page(officer, f"/staff/complaints/{receipt.code}?step=note").token
    officer.post(f"/staff/complaints/{receipt.code}/note", data={"csrf_token": token, "note": "cek"})
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.citizen_message_at is not None
    officer_does(app, receipt.code, ("request_info", {"message": "Kirim foto KTP."}))
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.citizen_message_at is None


def test_a_step_handing_on_keeps_the_mark_a_finished_complaint_drops_it(app, browser):
    """The receiving unit still sees the unanswered message; a step without words for her
    leaves it; a withdrawal (any terminal state) clears it, as nobody answers a closed case."""
    receipt = file_and_read_receipt(browser)
    assert send(browser, receipt.code, "Mohon dipercepat.").status_code == 302
    officer_does(app, receipt.code, ("verify", {**VERIFY, "unit": "UNIT-B"}))
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.unit.code == "UNIT-B" and complaint.citizen_message_at is not None
    assert act(browser, receipt.code, "withdraw", comment="Sudah selesai.").status_code == 302
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "closed" and complaint.citizen_message_at is None


def test_a_refused_message_keeps_the_text_and_asks_for_the_files_again(app, browser):
    receipt = file_and_read_receipt(browser)
    empty = send(browser, receipt.code, "   ", [(png_bytes(), "a.png")])
    assert empty.status_code == 422
    page = Page(empty.get_data(as_text=True))
    assert "message" in page.forms[f"/track/{receipt.code}/message"].invalid
    assert "write your message before sending it" in page.html and "Please choose them again" in page.html
    long = "x" * 5001
    refused = send(browser, receipt.code, long)
    assert refused.status_code == 422
    assert Page(refused.get_data(as_text=True)).forms[f"/track/{receipt.code}/message"].values["message"] == long
    with complaint_in_db(app, receipt.code) as complaint:
        assert [e.kind for e in complaint.events] == ["filed"] and complaint.citizen_message_at is None
        assert len(complaint.attachments) == 0


def test_no_messages_once_closed(app, browser):
    receipt = file_and_read_receipt(browser)
    form = get_page(browser, f"/track/{receipt.code}").forms[f"/track/{receipt.code}/message"]
    officer = staff(app)
    reply_form = get_page(officer, f"/staff/complaints/{receipt.code}?step=reply").forms[
        f"/staff/complaints/{receipt.code}/message"]
    assert act(browser, receipt.code, "withdraw").status_code == 302
    late = browser.post(f"/track/{receipt.code}/message", data={**form.values, "message": "Masih ada?"})
    assert late.status_code == 422 and "Masih ada?" in late.get_data(as_text=True)
    assert f"/track/{receipt.code}/message" not in Page(late.get_data(as_text=True)).forms
    staff_late = officer.post(f"/staff/complaints/{receipt.code}/message",
                              data={**reply_form.values, "message": "Baik, kami tutup."})
    assert staff_late.status_code == 409 and "Baik, kami tutup." in staff_late.get_data(as_text=True)
    assert "step=reply" not in get_page(officer, f"/staff/complaints/{receipt.code}").html
    with complaint_in_db(app, receipt.code) as complaint:
        assert "message" not in [e.kind for e in complaint.events]
        with pytest.raises(InvalidFields):
            post_message(complaint, Actor.citizen(complaint), "Halo")


def test_only_the_complainant_and_the_units_staff_may_write(app, browser):
    receipt = file_and_read_receipt(browser)
    stranger = new_browser(app)
    token = get_page(stranger, "/track").token
    answer = stranger.post(f"/track/{receipt.code}/message", data={"csrf_token": token, "message": "Hai"})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/track?")
    assert stranger.get(f"/track/{receipt.code}/withdraw").status_code == 302
    with app.app_context():
        create_user("officer.b@example.id", "officer", name="Agus", password=PASSWORD, unit_codes=["UNIT-B"])
        db.session.commit()
    other = staff(app, "officer.b@example.id")
    token = get_page(other, "/staff/queue").token
    assert other.post(f"/staff/complaints/{receipt.code}/message",
                      data={"csrf_token": token, "message": "Hai"}).status_code == 404
    with complaint_in_db(app, receipt.code) as complaint:
        assert db.session.scalar(select(ComplaintEvent.id).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == "message")) is None
        assert isinstance(complaint, Complaint)
