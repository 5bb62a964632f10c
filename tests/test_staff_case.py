"""The staff case page: one timeline of conversation and history, newest first and in plain
words; the steps a person may take as links that open one step's form (server-side, without
JavaScript); a refused step shown again open with what was typed; files sent with a step the
complainant sees, checked like the citizen's and downloadable on the tracking page; a bad
file leaves nothing saved; internal notes never reach the complainant.

Requests run outside any pushed application context, as in test_staff.py.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

from pages import Page
from test_citizen import jpeg_bytes, pdf_bytes
from test_staff import (DONE, LONG_AGO, OFFICER_A, SUPERVISOR_A, VERIFY, action_of, browser, citizen_does,
                        file, get_page, location, org, page_of, post_note, signed_in, snapshot,  # noqa: F401
                        staff_does, timeline, track)
from pengaduan.extensions import db
from pengaduan.jobs.sweep import sweep
from pengaduan.models import Attachment, Complaint, utcnow
from pengaduan.services.attachments import clean, upload_dir
from pengaduan.workflow import current_workflow

STEP_FORMS = ("/act/", "/note", "/assign", "/instruction", "/acknowledge")


def visible_text(html: str) -> str:
    """The words a reader sees: no tags, no attribute values."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def step_forms(page: Page, code: str) -> list[str]:
    """The actions of the page's step forms (workflow and casework steps)."""
    return sorted(a for a in page.forms if a.startswith(page_of(code) + "/")
                  and any(part in a for part in STEP_FORMS))


def stored_files(app) -> set[str]:
    with app.app_context():
        folder = upload_dir()
        return {p.name for p in folder.iterdir()} if folder.exists() else set()


def attachment_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Attachment.id)))


def send_step(client, code: str, trigger: str, files=(), **fields):
    """Send a step's form as `?step=<trigger>` draws it, with files as a browser would."""
    form = get_page(client, f"{page_of(code)}?step={trigger}").forms[action_of(code, trigger)]
    data = {**form.values, **fields,
            "attachments": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(action_of(code, trigger), data=data, content_type="multipart/form-data")


def test_timeline_is_newest_first_and_in_plain_words(app, org):
    """Every entry says who did what in words (the workflow's labels, the clock's name and the
    delay in working days), newest first; no trigger, state, clock or category code shows."""
    code, _ = file(app, at=LONG_AGO)
    staff_does(app, OFFICER_A, code, ("request_info", {"message": "Mohon foto KTP."}))
    citizen_does(app, code, "provide_info", message="Foto terlampir.")
    with app.app_context():
        sweep(now=utcnow())  # the verification deadline of January is long past
        db.session.commit()
    officer = signed_in(app, OFFICER_A)
    assert location(post_note(officer, code, "Cek loket 3.")) == page_of(code)
    html = get_page(officer, page_of(code)).html
    titles = [e.title for e in timeline(html)]
    assert titles[0] == "Wrote an internal note"
    assert titles[-3:] == ["The complainant provided the information", DONE["Request information"],
                           DONE["Complaint received"]]
    late = [t for t in titles if t.startswith("Escalation:")]
    assert late and all(re.fullmatch(r"Escalation: (Verification|Written response) (late by \d+ working days?|past its deadline)", t)
                        for t in late), late
    entries = timeline(html)
    assert "Siti Rahayu" in entries[-2].text and "Mohon foto KTP." in entries[-2].text
    assert "Complainant" in entries[-3].text and "Foto terlampir." in entries[-3].text
    officer.set_cookie("lang", "id")  # in Indonesian no English word can pass for a code
    words = visible_text(get_page(officer, page_of(code)).html)
    assert "Eskalasi: Verifikasi terlambat" in words
    with app.app_context():
        workflow = current_workflow()
        codes = ({t.trigger for t in workflow.transitions} | set(workflow.states) | set(workflow.sla)
                 | {level for rule in workflow.sla.values() for level in (s.level for s in rule.steps)}
                 | {"GENERAL", "UNIT-A"})
    assert {c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", words)} == set()


def test_step_link_opens_only_that_steps_form(app, org):
    """The page offers the steps as links; ?step=<key> draws that step's form and no other."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    page = get_page(officer, page_of(code))
    assert step_forms(page, code) == []
    for key in ("verify", "request_info", "reject", "assign", "note"):
        assert f"{page_of(code)}?step={key}#step-form" in page.links, key
        opened = get_page(officer, f"{page_of(code)}?step={key}")
        expected = action_of(code, key) if key not in ("assign", "note") else f"{page_of(code)}/{key}"
        assert step_forms(opened, code) == [expected], key
        assert opened.ids["step-form"] == 1
    assert step_forms(get_page(officer, f"{page_of(code)}?step=close"), code) == []  # not offered now
    assert step_forms(get_page(officer, f"{page_of(code)}?step=nonsense"), code) == []
    supervisor = get_page(signed_in(app, SUPERVISOR_A), f"{page_of(code)}?step=instruction")
    assert step_forms(supervisor, code) == [f"{page_of(code)}/instruction"]
    assert '<textarea id="instruction-instruction" name="instruction" rows="5"' in supervisor.html


def test_refused_step_stays_open_with_what_was_typed(app, org):
    """A step sent without its required text answers 422 with that step's form open, the
    typed note kept, the field marked; nothing changes."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    before = snapshot(app, code)
    response = send_step(officer, code, "request_info", message="  ", note="Telepon tidak aktif.")
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert step_forms(page, code) == [action_of(code, "request_info")]
    form = page.forms[action_of(code, "request_info")]
    assert form.values["note"] == "Telepon tidak aktif." and "message" in form.invalid
    assert "#request_info-message" in page.links
    assert snapshot(app, code) == before


def test_public_step_carries_files_the_complainant_can_download(app, org):
    """A follow-up sent with a photo and a PDF stores both, checked and stripped, linked to
    its timeline event and public; the staff timeline lists them under that step, and the
    complainant downloads them with the code and PIN."""
    code, pin = file(app)
    staff_does(app, OFFICER_A, code, ("verify", VERIFY))
    officer = signed_in(app, OFFICER_A)
    page = get_page(officer, f"{page_of(code)}?step=follow_up")
    assert 'enctype="multipart/form-data"' in page.html and 'name="attachments" multiple' in page.html
    response = send_step(officer, code, "follow_up", response="Jalan sudah diperbaiki.",
                         files=[("foto jalan.jpg", jpeg_bytes()), ("berita acara.pdf", pdf_bytes())])
    assert location(response) == page_of(code)
    with app.app_context():
        complaint = Complaint.by_code(code)
        event = complaint.events[-1]
        files = sorted(complaint.attachments, key=lambda a: a.id)
        assert event.trigger == "follow_up"
        assert [(f.filename, f.event_id, f.public) for f in files] == [
            ("foto jalan.jpg", event.id, True), ("berita acara.pdf", event.id, True)]
        ids = [f.id for f in files]
    [newest, *_] = timeline(get_page(officer, page_of(code)).html)
    assert newest.title == DONE["Follow up"] and "foto jalan.jpg" in newest.text and "berita acara.pdf" in newest.text
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    tracking = get_page(citizen, f"/track/{code}")
    assert f"/track/{code}/files/{ids[0]}" in tracking.links and f"/track/{code}/files/{ids[1]}" in tracking.links
    photo = citizen.get(f"/track/{code}/files/{ids[0]}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == clean(jpeg_bytes()).data
    assert browser(app).get(f"/track/{code}/files/{ids[0]}").status_code in (302, 404)  # no PIN, no file


def test_a_bad_file_is_refused_and_nothing_is_saved(app, org):
    """A program renamed .pdf is refused with a message naming it; the step stays open with the
    typed answer; no event, no attachment row, no file on disk."""
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, ("verify", VERIFY))
    officer = signed_in(app, OFFICER_A)
    before, files_before, rows_before = snapshot(app, code), stored_files(app), attachment_count(app)
    program = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
    response = send_step(officer, code, "follow_up", response="Sudah kami tangani.",
                         files=[("foto.jpg", jpeg_bytes()), ("surat.pdf", program)])
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert "surat.pdf" in page.html and "Nothing was saved; choose the files again." in page.html
    assert page.forms[action_of(code, "follow_up")].values["response"] == "Sudah kami tangani."
    assert "attachments" in page.forms[action_of(code, "follow_up")].invalid
    assert snapshot(app, code) == before
    assert attachment_count(app) == rows_before and stored_files(app) == files_before


def test_a_step_that_fails_after_its_files_were_stored_leaves_no_file(app, org):
    """Files are stored before the step is checked: a step then refused (its required text is
    missing) removes them again."""
    code, _ = file(app)
    staff_does(app, OFFICER_A, code, ("verify", VERIFY))
    officer = signed_in(app, OFFICER_A)
    files_before, rows_before = stored_files(app), attachment_count(app)
    response = send_step(officer, code, "follow_up", response=" ", files=[("foto.jpg", jpeg_bytes())])
    assert response.status_code == 422
    assert attachment_count(app) == rows_before and stored_files(app) == files_before
    page = Page(response.get_data(as_text=True))  # the officer is told to choose the photo again
    assert "attachments" in page.forms[action_of(code, "follow_up")].invalid
    assert "Nothing was saved; choose the files again." in page.html


def test_internal_notes_never_reach_the_complainant(app, org):
    """A note, and the internal note of a public step, show on the staff timeline marked
    internal and never on the tracking page, where the step itself does show."""
    code, pin = file(app)
    officer = signed_in(app, OFFICER_A)
    post_note(officer, code, "Pelapor pernah marah di loket.")
    response = send_step(officer, code, "verify", note="Kemungkinan pungli, cek CCTV.", **VERIFY)
    assert location(response) == page_of(code)
    html = get_page(officer, page_of(code)).html
    entries = timeline(html)
    assert entries[0].title == DONE["Verify and forward"] and not entries[0].internal
    assert "Kemungkinan pungli, cek CCTV." in entries[0].text
    assert "internal: not shown to the complainant" in entries[0].text
    assert entries[1].internal and "Pelapor pernah marah di loket." in entries[1].text
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    tracking = get_page(citizen, f"/track/{code}").html
    assert DONE["Verify and forward"] in tracking
    assert "Kemungkinan pungli" not in tracking and "marah di loket" not in tracking


def test_clock_countdown_in_working_days(app, org):
    """Each running clock shows its deadline and, in words, the working days left or late."""
    code, _ = file(app, at=LONG_AGO)
    html = get_page(signed_in(app, OFFICER_A), page_of(code)).html
    assert re.search(r"late by \d+ working days", html)
    fresh, _ = file(app, at=utcnow() - timedelta(minutes=5))
    html = get_page(signed_in(app, OFFICER_A), page_of(fresh)).html
    assert re.search(r"\d+ working days? left|due today", html)
    assert "How it was computed" in html and "Day 0:" in html
