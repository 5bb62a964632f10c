"""Supervision that is heard: a supervisor's instruction reaches the assignee (or the unit's
officers), can be marked done by them (never by another unit), the done step is on the
timeline and in the audit chain and tells the supervisor; the open instructions of a person;
lateness labels that name the clock and the delay; the overdue review, one row per
complaint, by unit, the longest overdue first.

Requests run outside any pushed application context (as in test_staff.py); data is built
and checked in short `with app.app_context():` blocks.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from pages import Page
from test_staff import (ADMIN, AUDITOR, OFFICER_A, OFFICER_A2, OFFICER_B, PASSWORD, SUPERVISOR_A,
                        file, get_page, location, org, signed_in)  # noqa: F401 (org)
from pengaduan.extensions import db
from pengaduan.jobs.sweep import sweep
from pengaduan.models import AuditEvent, Complaint, ComplaintEvent, Notification, User
from pengaduan.policy import Actor
from pengaduan.services import advance, create_user
from pengaduan.services.complaints.casework import assign, give_instruction, mark_instruction_done
from pengaduan.services.complaints.instructions import (open_instructions_for,
                                                        open_instructions_given_by)
from pengaduan.services.oversight.lateness import lateness

WIB = ZoneInfo("Asia/Jakarta")
LONG_AGO = datetime(2026, 1, 5, 9, 0, tzinfo=WIB)  # every deadline long past
MONDAY = datetime(2026, 2, 2, 10, 0, tzinfo=WIB)  # verification due Thursday 5 Feb 23:59 WIB
TEXT = "Hubungi pelapor hari ini dan laporkan hasilnya."


def actor(email: str) -> Actor:
    return Actor.staff(User.by_email(email))


def assigned_to(app, code: str, email: str) -> None:
    with app.app_context():
        assign(Complaint.by_code(code), actor(OFFICER_A), email)
        db.session.commit()


def instruct(app, code: str, text: str = TEXT) -> int:
    """The supervisor of UNIT-A gives an instruction from the complaint page; its event id."""
    supervisor = signed_in(app, SUPERVISOR_A)
    token = get_page(supervisor, f"/staff/complaints/{code}").token
    response = supervisor.post(f"/staff/complaints/{code}/instruction",
                               data={"csrf_token": token, "instruction": text})
    assert location(response) == f"/staff/complaints/{code}"
    with app.app_context():
        return db.session.scalars(select(ComplaintEvent.id).where(
            ComplaintEvent.kind == "instruction").order_by(ComplaintEvent.id.desc())).first()


def told(app, kind: str) -> dict[str, dict]:
    """Who got a message of this kind: email -> (data, email state)."""
    with app.app_context():
        rows = db.session.execute(select(User.email, Notification.data, Notification.email)
                                  .join(User, User.id == Notification.user_id)
                                  .where(Notification.kind == kind)).all()
        return {email: (dict(data), state) for email, data, state in rows}


def mark_done(app, email: str, code: str, event_id: int):
    client = signed_in(app, email)
    token = get_page(client, "/account/password").token
    return client.post(f"/staff/complaints/{code}/instructions/{event_id}/done",
                       data={"csrf_token": token})


def done_events(app) -> list[ComplaintEvent]:
    with app.app_context():
        return [(e.actor.email, dict(e.data)) for e in db.session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.kind == "instruction_done"))]


# --- who hears an instruction ------------------------------------------------------------

def test_an_instruction_reaches_the_assignee_only(app, org):
    """With an assignee, the instruction is a message for her (emailed in the digest), not
    for her colleague nor for the supervisor who gave it; her inbox says who gave it."""
    code, _ = file(app)
    assigned_to(app, code, OFFICER_A2)
    event_id = instruct(app, code)
    messages = told(app, "instruction")
    assert set(messages) == {OFFICER_A2}
    data, state = messages[OFFICER_A2]
    assert data["event_id"] == event_id and state == "pending"
    inbox = get_page(signed_in(app, OFFICER_A2), "/staff/notifications").html
    assert f"Bambang Kepala gave an instruction on complaint {code}" in inbox
    assert TEXT not in inbox  # the message names the case, not what the instruction says
    with app.app_context():
        event = db.session.get(ComplaintEvent, event_id)
        assert event.data["to_user"] == User.by_email(OFFICER_A2).id


def test_an_instruction_without_assignee_reaches_the_units_officers(app, org):
    code, _ = file(app)
    instruct(app, code)
    assert set(told(app, "instruction")) == {OFFICER_A, OFFICER_A2}


# --- marking it done ---------------------------------------------------------------------

def test_the_addressee_marks_it_done_and_the_supervisor_hears(app, org):
    """The assignee marks the instruction done: an internal timeline step naming it, an
    audit event, a message to the supervisor; the overdue review, which offered the button
    beside the open instruction, no longer lists it; a second try adds nothing."""
    code, _ = file(app, at=LONG_AGO)
    assigned_to(app, code, OFFICER_A2)
    event_id = instruct(app, code)
    action = f"/staff/complaints/{code}/instructions/{event_id}/done"
    review = get_page(signed_in(app, SUPERVISOR_A), "/staff/overdue")
    assert action in review.forms and TEXT in review.html
    officer = signed_in(app, OFFICER_A2)
    token = get_page(officer, "/account/password").token
    response = officer.post(action, data={"csrf_token": token})
    assert location(response) == f"/staff/complaints/{code}"
    assert done_events(app) == [(OFFICER_A2, {"instruction": event_id})]
    with app.app_context():
        [event] = db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.kind == "instruction_done"))
        assert not event.public and event.complaint.tracking_code == code
        audited = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "complaint.instruction_done")).one()
        assert audited.complaint_code == code
        assert re.search(rf'"instruction":\s*{event_id}\b', audited.body)
    assert set(told(app, "instruction_done")) == {SUPERVISOR_A}
    assert told(app, "instruction_done")[SUPERVISOR_A][1] is None  # in the app only
    supervisor = signed_in(app, SUPERVISOR_A)
    supervisor_inbox = get_page(supervisor, "/staff/notifications").html
    assert f"Dewi Lestari marked your instruction on complaint {code} done" in supervisor_inbox
    after = get_page(supervisor, "/staff/overdue")
    assert action not in after.forms and TEXT not in after.html
    again = officer.post(action, data={"csrf_token": token})
    assert location(again) == f"/staff/complaints/{code}"
    assert len(done_events(app)) == 1


def test_any_officer_of_the_unit_may_mark_it_done(app, org):
    code, _ = file(app)
    assigned_to(app, code, OFFICER_A2)
    event_id = instruct(app, code)
    assert mark_done(app, OFFICER_A, code, event_id).status_code == 302
    assert done_events(app) == [(OFFICER_A, {"instruction": event_id})]


def test_other_units_and_read_only_roles_cannot_mark_it_done(app, org):
    """An officer of another unit finds no such complaint (404); the auditor reads it but may
    not mark (403); the admin is no case worker (403); an instruction id of another
    complaint is 404. Nothing is recorded."""
    code, _ = file(app)
    other, _ = file(app)
    event_id = instruct(app, code)
    assert mark_done(app, OFFICER_B, code, event_id).status_code == 404
    assert mark_done(app, AUDITOR, code, event_id).status_code == 403
    assert mark_done(app, ADMIN, code, event_id).status_code == 403
    assert mark_done(app, OFFICER_A, other, event_id).status_code == 404
    with app.app_context():
        note = db.session.scalars(select(ComplaintEvent.id).where(ComplaintEvent.kind == "filed")).first()
    assert mark_done(app, OFFICER_A, code, note).status_code == 404
    assert done_events(app) == []


# --- open instructions of a person -------------------------------------------------------

def test_open_instructions_of_a_person(app, org):
    """Addressed to the assignee: hers, not her colleague's; addressed to nobody: every
    officer's of the unit, not the supervisor's; the supervisor sees what she gave until it
    is done."""
    mine, _ = file(app)
    unit_wide, _ = file(app)
    assigned_to(app, mine, OFFICER_A2)
    first = instruct(app, mine)
    second = instruct(app, unit_wide, "Periksa berkas.")
    with app.app_context():
        def ids(items):
            return [i.event.id for i in items]
        assert ids(open_instructions_for(actor(OFFICER_A2))) == [first, second]
        assert ids(open_instructions_for(actor(OFFICER_A))) == [second]
        assert ids(open_instructions_for(actor(SUPERVISOR_A))) == []
        assert ids(open_instructions_for(actor(OFFICER_B))) == []
        assert ids(open_instructions_given_by(actor(SUPERVISOR_A))) == [first, second]
        mark_instruction_done(Complaint.by_code(mine), actor(OFFICER_A2), first)
        db.session.commit()
        assert ids(open_instructions_for(actor(OFFICER_A2))) == [second]
        assert ids(open_instructions_given_by(actor(SUPERVISOR_A))) == [second]
        item = open_instructions_for(actor(OFFICER_A))[0]
        assert item.text == "Periksa berkas." and item.to_user is None and item.may_mark_done


# --- lateness labels ---------------------------------------------------------------------

def test_labels_name_the_clock_and_the_delay(app, org):
    """Filed on Monday 2 February 2026 (verification: 3 working days, due Thursday 5th).
    On Wednesday 11th it is late by four working days (6, 9, 10, 11 February), the overdue
    rung has fired and nothing else is late; in Indonesian the same label reads as offices
    write it."""
    code, _ = file(app, at=MONDAY)
    now = datetime(2026, 2, 11, 10, 0, tzinfo=WIB)
    with app.app_context():
        sweep(now=now)
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        complaint = Complaint.by_code(code)
        items = lateness([complaint], now)[complaint.id]
        assert [(i.rule, i.level, i.amount) for i in items] == [("verification", "overdue", 4)]
        assert items[0].text == "Verification late by 4 working days"
        assert items[0].rung_text is None  # "Overdue" would only repeat "late"
    with app.test_request_context(headers={"Cookie": "lang=id"}):
        complaint = Complaint.by_code(code)
        assert lateness([complaint], now)[complaint.id][0].text == "Verifikasi terlambat 4 hari kerja"


def test_a_clock_stopped_late_says_so_and_a_calendar_clock_counts_days(app, org):
    """Verified on Tuesday 10 February, three working days late: the unacknowledged rung
    stays, labelled as done late. On Friday 20 February the written response (14 calendar
    days, rolled past the Chinese New Year days off to Wednesday 18th) is late by 2 days and
    the first follow-up (5 working days from the 10th: due Thursday 19th) by one."""
    code, _ = file(app, at=MONDAY)
    with app.app_context():
        sweep(now=datetime(2026, 2, 9, 10, 0, tzinfo=WIB))
        complaint = Complaint.by_code(code)
        advance(complaint, "verify", actor(OFFICER_A), unit="UNIT-A", category="GENERAL",
                classification="pengaduan", at=datetime(2026, 2, 10, 10, 0, tzinfo=WIB))
        db.session.commit()
    now = datetime(2026, 2, 20, 10, 0, tzinfo=WIB)
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        complaint = Complaint.by_code(code)
        texts = [i.text for i in lateness([complaint], now)[complaint.id]]
        assert texts == ["Verification done 3 working days late", "Written response late by 2 days",
                         "First follow-up late by 1 working day"]


def _rows(html: str) -> list[tuple[str, str, str]]:
    """The overdue review's rows: (unit heading, code, the row's html), in page order."""
    section = html.split('id="late-title"', 1)[1]
    marks = list(re.finditer(r'<h3>(.*?)<span class="count">|<li class="late-case" id="late-([\w-]+)">',
                             section, re.S))
    rows, unit = [], None
    for mark, following in zip(marks, marks[1:] + [None]):
        if mark.group(1) is not None:
            unit = mark.group(1).strip()
        else:
            rows.append((unit, mark.group(2), section[mark.end():following.start() if following else None]))
    return rows


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_overdue_review_one_row_per_complaint_by_unit_most_late_first(app, org):
    """A supervisor of both units sees them under their unit headings (by name), the longest
    overdue first; each row names each late clock once with its delay, the highest rung
    once, and has one acknowledge button and a textarea for an instruction."""
    with app.app_context():
        create_user("kepala@example.id", "supervisor", name="Kepala Dua", password=PASSWORD,
                    unit_codes=["UNIT-A", "UNIT-B"])
        db.session.commit()
    newer, _ = file(app, at=datetime(2026, 3, 2, 9, 0, tzinfo=WIB))
    older, _ = file(app, at=LONG_AGO)
    in_b, _ = file(app, at=LONG_AGO, unit="UNIT-B", category="ONLY-B")
    with app.app_context():
        sweep()
    page = get_page(signed_in(app, "kepala@example.id"), "/staff/overdue")
    rows = _rows(page.html)
    assert [(unit, code) for unit, code, _ in rows] == [
        ("Dinas A", older), ("Dinas A", newer), ("Dinas B", in_b)]
    for _, code, row in rows:
        text = words(row)
        assert re.search(r"Verification late by \d+ working days", text)
        assert re.search(r"Written response late by \d+ days", text)
        assert text.count("Seriously overdue") == 1
        assert "Overdue" not in text.replace("Seriously overdue", "")
        tags = re.findall(r'<span class="tag tag-lateness[^"]*">(.*?)</span>', row, re.S)
        assert tags and all(n == 1 for n in Counter(tags).values())
        form = page.forms[f"/staff/complaints/{code}/instruction"]
        assert form.values["instruction"] == "" and form.values["back"] == "overdue"
        assert f'<textarea id="instruction-{code}"' in row
        assert row.count(f'action="/staff/complaints/{code}/acknowledge"') == 1


def test_a_refused_instruction_keeps_what_was_typed_on_the_review(app, org):
    """Too long an instruction sent from the review: the review again (422) with the error
    beside that complaint's textarea, which still holds the text; nothing is recorded."""
    code, _ = file(app, at=LONG_AGO)
    supervisor = signed_in(app, SUPERVISOR_A)
    page = get_page(supervisor, "/staff/overdue")
    typed = "Segera tindak lanjuti. " * 300
    response = supervisor.post(f"/staff/complaints/{code}/instruction",
                               data={"csrf_token": page.token, "instruction": typed, "back": "overdue"})
    assert response.status_code == 422
    again = Page(response.get_data(as_text=True))
    form = again.forms[f"/staff/complaints/{code}/instruction"]
    assert form.values["instruction"] == typed and "instruction" in form.invalid
    assert told(app, "instruction") == {}


def test_a_refused_instruction_or_acknowledgement_keeps_what_was_typed_on_the_case(app, org):
    """Too long an instruction, or too long an acknowledgement note, sent from the case page:
    the case page again (422) with that step open, the error beside its box and the text kept."""
    code, _ = file(app, at=LONG_AGO)
    supervisor = signed_in(app, SUPERVISOR_A)
    page = get_page(supervisor, f"/staff/complaints/{code}?step=instruction")
    typed = "Segera tindak lanjuti. " * 300
    response = supervisor.post(f"/staff/complaints/{code}/instruction",
                               data={"csrf_token": page.token, "instruction": typed})
    assert response.status_code == 422
    form = Page(response.get_data(as_text=True)).forms[f"/staff/complaints/{code}/instruction"]
    assert form.values["instruction"] == typed and "instruction" in form.invalid
    assert told(app, "instruction") == {}

    with app.app_context():
        sweep()  # the escalations to acknowledge
    note = "Sudah dibahas. " * 500
    response = supervisor.post(f"/staff/complaints/{code}/acknowledge",
                               data={"csrf_token": page.token, "note": note})
    assert response.status_code == 422
    form = Page(response.get_data(as_text=True)).forms[f"/staff/complaints/{code}/acknowledge"]
    assert form.values["note"] == note and "note" in form.invalid
