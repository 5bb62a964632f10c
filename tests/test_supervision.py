"""Internal supervision through the staff pages (domain.md section 7, items 4, 5 and 7):
supervisors record monitoring, case reviews and coaching with their follow-up actions and
files; the index counts records per unit and kind; instructions on cases become records;
each unit keeps its standing documents with a checklist. Who may read, change or upload
what; every change is audited with free text only as digests (domain.md section 6); CSRF on
every POST.

Requests run outside any pushed application context (as in test_staff.py): data is built
and checked in short `with app.app_context():` blocks.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import NameObject, TextStringObject
from sqlalchemy import func, select

from pages import Page
from pengaduan.extensions import db
from pengaduan.models import (AuditEvent, Complaint, StandingDocument, SupervisionAction,
                              SupervisionFile, SupervisionRecord, User)
from pengaduan.policy import Actor
from pengaduan.services import create_category, create_unit, create_user, file_complaint
from pengaduan.services.oversight import supervision as sv
from pengaduan.services.attachments import clean
from pengaduan.services.complaints.casework import give_instruction
from test_staff import PASSWORD, browser, digest, get_page, location, signed_in, token_of

OFFICER_A, OFFICER_B = "officer.a@example.id", "officer.b@example.id"
SUPERVISOR_A, SUPERVISOR_B = "supervisor.a@example.id", "supervisor.b@example.id"
SUPERVISOR_AB = "supervisor.ab@example.id"  # a supervisor of both units
AUDITOR, ADMIN = "auditor@example.id", "admin@example.id"
STAFF = [  # email, role, units, name
    (OFFICER_A, "officer", ["UNIT-A"], "Siti Rahayu"),
    (OFFICER_B, "officer", ["UNIT-B"], "Agus Salim"),
    (SUPERVISOR_A, "supervisor", ["UNIT-A"], "Bambang Kepala"),
    (SUPERVISOR_B, "supervisor", ["UNIT-B"], "Wati Kepala"),
    (SUPERVISOR_AB, "supervisor", ["UNIT-A", "UNIT-B"], "Joko Koordinator"),
    (AUDITOR, "auditor", [], "Rina Inspektorat"),
    (ADMIN, "admin", [], "Admin Sistem"),
]
UNIT_NAMES = {"UNIT-A": "Dinas A", "UNIT-B": "Dinas B"}
KIND_LABELS = {
    "monitoring_evaluation": "Monitoring and evaluation", "case_review": "Review of overdue cases",
    "coaching": "Coaching of complaint handlers", "coordination_meeting": "Coordination meeting",
    "spot_check": "Spot check", "instruction": "Instruction on a case",
    "skm_follow_up": "Follow-up of the SKM results",
    "complaint_evaluation": "Follow-up of the complaint evaluation",
}
DOCUMENT_LABELS = {
    "handler_decree": "Decree appointing the complaint handlers (SK)",
    "complaint_sop": "Complaint-handling SOP",
    "channel_photos": "Photos of the published complaint channels",
    "compensation_policy": "Compensation policy",
    "ombudsman_followup": "Follow-up of Ombudsman findings",
}
INDEX, NEW, DOCUMENTS = "/staff/supervision", "/staff/supervision/new", "/staff/supervision/documents"
CONFLICT = "Someone else changed this record meanwhile. What you typed is kept; check and send it again."
NOT_A_FILE_WE_TAKE = "is not a photo (JPEG, PNG, WebP, GIF) or a PDF document"

# What the supervisor types in test 1; none of it may reach the audit chain as words.
TITLE = 'Monev triwulan III: "pengaduan" & tindak lanjut'
PARTICIPANTS = "Bambang Kepala, Siti Rahayu, Dewi Lestari (notulis)"
FINDINGS = "Tiga pengaduan KTP-el melewati batas verifikasi; SOP belum dipasang di loket."
ACTIONS = [("Pasang SOP di loket pelayanan", "Siti Rahayu"),
           ("Verifikasi ulang tiga pengaduan KTP-el", "Dewi Lestari")]


# --- files ---------------------------------------------------------------------------------

def png(color=(200, 30, 30)) -> bytes:
    """A real, small PNG image (uploads are checked by decoding them)."""
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), color).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf(text: str = "Notulen") -> bytes:
    """A small real PDF document (uploads must open in a PDF parser); `text`, kept in its
    catalog, tells documents apart."""
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.root_object[NameObject("/PengaduanTest")] = TextStringObject(text)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def stored_copy(data: bytes) -> bytes:
    """What is stored (and hashed) of an upload: its copy stripped of metadata."""
    return clean(data).data


NOT_AN_IMAGE = b"MZ\x90\x00 this is a renamed program, not a picture"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def uploads_left(app) -> list[str]:
    """Names of the files in PENGADUAN_UPLOAD_DIR (none when the folder does not exist)."""
    folder = Path(app.config["PENGADUAN_UPLOAD_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --- the organisation ----------------------------------------------------------------------

@pytest.fixture
def org(app):
    """Two units, a category for each, and the staff of STAFF."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_category("GENERAL", "Umum")
        create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
        for email, role, units, name in STAFF:
            create_user(email, role, name=name, password=PASSWORD, unit_codes=units)
        db.session.commit()


def local_today(app) -> date:
    """Today where the deployment is (supervision records are dated in local days)."""
    with app.app_context():
        return sv.today()


def file_in(app, unit: str = "UNIT-A", **overrides) -> str:
    """File a complaint with the unit; its tracking code."""
    with app.app_context():
        raw = {"unit": unit, "category": "GENERAL" if unit == "UNIT-A" else "ONLY-B",
               "classification": "pengaduan", "title": "KTP-el belum jadi",
               "description": "Sudah tiga bulan menunggu.", "privacy": "public",
               "name": "Budi Hartono", "consent": True, **overrides}
        filed = file_complaint(raw)
        db.session.commit()
        return filed.complaint.tracking_code


def actor_of(email: str) -> Actor:
    return Actor.staff(User.by_email(email))


def make_record(app, email: str = SUPERVISOR_A, actions=(), **raw) -> int:
    """A supervision record made through the service; its id."""
    with app.app_context():
        values = {"kind": "coaching", "held_on": sv.today(), "title": "Pembinaan petugas",
                  "units": ["UNIT-A"], **raw,
                  "actions": [{"description": d, "owner": o, "due_on": ""} for d, o in actions]}
        record = sv.record_supervision(actor_of(email), values)
        db.session.commit()
        return record.id


def record_state(app, record_id: int) -> dict:
    """What a record holds now, for before/after comparisons."""
    with app.app_context():
        r = db.session.get(SupervisionRecord, record_id)
        return {"kind": r.kind, "title": r.title, "findings": r.findings, "version": r.version,
                "units": [u.code for u in r.units], "complaints": [c.tracking_code for c in r.complaints],
                "actions": [(a.description, a.status, a.completed_on) for a in r.actions],
                "files": [f.sha256 for f in r.files]}


def first_action_id(app, record_id: int) -> int:
    with app.app_context():
        return db.session.get(SupervisionRecord, record_id).actions[0].id


def counts(app) -> dict:
    """How many rows of each supervision table and audit events there are."""
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in (SupervisionRecord, SupervisionAction, SupervisionFile,
                              StandingDocument, AuditEvent)}


def audited(app, action: str) -> list[tuple[str, dict]]:
    """(actor, payload) of the audit events of one action, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.seq))
        return [(row.actor, json.loads(row.body)["payload"]) for row in rows]


def audit_bodies(app) -> str:
    with app.app_context():
        return "\n".join(db.session.scalars(select(AuditEvent.body)))


def label_of(app, email: str) -> str:
    with app.app_context():
        return actor_of(email).label


# --- reading pages -------------------------------------------------------------------------

def text_of(html: str) -> str:
    """A piece of a page in words, as a reader sees it."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def error_summary(response) -> list[str]:
    """The messages of the page's error summary, in words."""
    html = response.get_data(as_text=True)
    match = re.search(r'<div class="error-summary".*?<ul>(.*?)</ul>', html, re.S)
    return [text_of(item) for item in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)] if match else []


def input_value(html: str, element_id: str) -> str:
    """The value of an input found by its id (for repeated names such as action rows)."""
    tag = re.search(rf'<input[^>]*\bid="{re.escape(element_id)}"[^>]*>', html).group(0)
    value = re.search(r'\bvalue="([^"]*)"', tag)
    return unescape(value.group(1)) if value else ""


def checked_units(html: str) -> set[str]:
    return set(re.findall(
        r'<input type="checkbox" id="unit-[^"]+" name="units" value="([^"]+)" checked>', html))


def listed_records(page: Page) -> list[int]:
    """Ids of the records listed on the index, in order."""
    return [int(link.rsplit("/", 1)[1]) for link in page.links
            if re.fullmatch(r"/staff/supervision/\d+", link)]


def frequency_table(html: str) -> dict[str, dict[str, str]]:
    """The index's frequency table: {unit name: {kind label or Total: cell in words}}."""
    section = re.search(r'<section aria-labelledby="frequency-title">(.*?)</section>', html, re.S).group(1)
    heads = [text_of(h) for h in re.findall(r'<th scope="col">(.*?)</th>', section, re.S)]
    table = {}
    for unit, cells in re.findall(r'<tr>\s*<th scope="row">(.*?)</th>(.*?)</tr>', section, re.S):
        values = [text_of(cell) for cell in re.findall(r"<td>(.*?)</td>", cells, re.S)]
        table[text_of(unit)] = dict(zip(heads[1:], values))
    return table


def frequency_row(**kinds: int) -> dict[str, str]:
    """A row of the frequency table as shown: a count, or zero said explicitly."""
    row = {label: str(kinds[kind]) if kinds.get(kind) else "0 · none" for kind, label in KIND_LABELS.items()}
    row["Total"] = str(sum(kinds.values()))
    return row


def checklist(html: str) -> dict[str, str]:
    """The documents checklist: {document kind: status in words}."""
    section = re.search(r'<section aria-labelledby="checklist-title">(.*?)</section>', html, re.S).group(1)
    labels = {label: kind for kind, label in DOCUMENT_LABELS.items()}
    return {labels[text_of(label)]: text_of(status).lstrip("✓ ")
            for label, status in re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", section, re.S)}


# --- sending forms -------------------------------------------------------------------------

def record_form(token: str, today: date, **overrides) -> dict:
    """A complete, valid new-record form (two follow-up rows and the empty spare row)."""
    return {
        "csrf_token": token, "kind": "monitoring_evaluation",
        "held_on": (today - timedelta(days=1)).isoformat(), "title": TITLE,
        "units": ["UNIT-A"], "participants": PARTICIPANTS, "findings": FINDINGS, "complaints": "",
        "action_description": [ACTIONS[0][0], ACTIONS[1][0], ""],
        "action_owner": [ACTIONS[0][1], ACTIONS[1][1], ""],
        "action_due_on": [(today + timedelta(days=14)).isoformat(), "", ""],
        **overrides,
    }


def post_new(client, data: dict, files=()):
    """Send the new-record form as a browser does (multipart, files under `files`)."""
    payload = dict(data)
    if files:
        payload["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(NEW, data=payload, content_type="multipart/form-data")


def post_files(client, record_id: int, files, token: str | None = None):
    data = {"files": [(io.BytesIO(content), name) for content, name in files]}
    if token is not None:
        data["csrf_token"] = token
    return client.post(f"{INDEX}/{record_id}/files", data=data, content_type="multipart/form-data")


def edit_form(client, record_id: int, **overrides) -> dict:
    """The edit form of a record as rendered, with some fields changed."""
    values = dict(get_page(client, f"{INDEX}/{record_id}/edit").forms[f"{INDEX}/{record_id}/edit"].values)
    values["units"] = [values["units"]] if values.get("units") else []
    values.update(overrides)
    return values


def document_form(token: str, unit: str = "UNIT-A", **overrides) -> dict:
    return {"csrf_token": token, "unit": unit, "kind": "handler_decree",
            "title": "SK Kepala Dinas No. 12/2026 tentang Pengelola Pengaduan",
            "valid_from": "2026-01-01", "valid_until": "", **overrides}


def post_document(client, data: dict, file=None):
    payload = dict(data)
    if file is not None:
        payload["file"] = (io.BytesIO(file[0]), file[1])
    return client.post(DOCUMENTS, data=payload, content_type="multipart/form-data")


def assert_download(response, content: bytes, content_type: str) -> None:
    """A stored file comes back as stored (stripped of metadata), with its checked type and
    nosniff."""
    assert response.status_code == 200
    assert response.data == stored_copy(content)
    assert response.headers["Content-Type"].startswith(content_type)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


# --- 1. recording an activity --------------------------------------------------------------

def test_supervisor_records_an_activity_through_the_form(app, org):
    """Units, participants, findings, linked complaints, two follow-ups and a photo are saved
    from one form; the record page shows them all and the photo is stored once."""
    first, second = file_in(app), file_in(app)
    today = local_today(app)
    supervisor = signed_in(app, SUPERVISOR_A)
    token = get_page(supervisor, NEW).token
    photo = png()
    response = post_new(supervisor, record_form(token, today, complaints=f"{second}, {first.lower()}"),
                        files=[(photo, "notulen rapat.png")])
    path = location(response)
    record_id = int(path.rsplit("/", 1)[1])
    assert path == f"{INDEX}/{record_id}"

    page = get_page(supervisor, path)
    words = text_of(page.html)
    for shown in (TITLE, PARTICIPANTS, FINDINGS, "Monitoring and evaluation", "Dinas A",
                  "Bambang Kepala", *(text for action in ACTIONS for text in action),
                  "notulen rapat.png", "Supervision record saved."):
        assert shown in words, shown
    assert {f"/staff/complaints/{first}", f"/staff/complaints/{second}"} <= set(page.links)
    with app.app_context():
        record = db.session.get(SupervisionRecord, record_id)
        assert (record.kind, record.held_on, record.title) == (
            "monitoring_evaluation", today - timedelta(days=1), TITLE)
        assert [u.code for u in record.units] == ["UNIT-A"]
        assert [c.tracking_code for c in record.complaints] == sorted([first, second])
        assert [(a.description, a.owner, a.status) for a in record.actions] == [
            (d, o, "open") for d, o in ACTIONS]
        assert record.actions[0].due_on == today + timedelta(days=14)
        [stored] = record.files
        assert (stored.filename, stored.content_type, stored.sha256) == (
            "notulen rapat.png", "image/png", sha256(photo))
        assert uploads_left(app) == [stored.stored_name]


def test_record_files_download_for_the_unit_and_auditors_only(app, org):
    """The unit's staff and auditors download the file as stored (nosniff); an officer or a
    supervisor of another unit gets 404, an admin 403."""
    today = local_today(app)
    supervisor = signed_in(app, SUPERVISOR_A)
    photo = png((10, 120, 10))
    location(post_new(supervisor, record_form(get_page(supervisor, NEW).token, today),
                      files=[(photo, "foto.png")]))
    with app.app_context():
        file_id = db.session.scalars(select(SupervisionFile.id)).one()
    url = f"{INDEX}/files/{file_id}"
    assert f"{url}" in get_page(supervisor, f"{INDEX}/{first_record(app)}").links
    for email in (SUPERVISOR_A, OFFICER_A, SUPERVISOR_AB, AUDITOR):
        assert_download(signed_in(app, email).get(url), photo, "image/png")
    for email in (OFFICER_B, SUPERVISOR_B):
        assert signed_in(app, email).get(url).status_code == 404
    assert signed_in(app, ADMIN).get(url).status_code == 403
    assert signed_in(app, OFFICER_A).get(f"{INDEX}/files/{file_id + 100}").status_code == 404


def first_record(app) -> int:
    with app.app_context():
        return db.session.scalars(select(SupervisionRecord.id).order_by(SupervisionRecord.id)).first()


def test_recording_is_audited_with_free_text_only_as_digests(app, org):
    """`supervision.recorded` keeps structure as is and every typed text as its SHA-256 and
    length: the findings (or any other words typed) appear in no audit event."""
    code = file_in(app)
    today = local_today(app)
    supervisor = signed_in(app, SUPERVISOR_A)
    photo = png()
    location(post_new(supervisor, record_form(get_page(supervisor, NEW).token, today, complaints=code),
                      files=[(photo, "notulen-rahasia.png")]))
    [(actor, payload)] = audited(app, "supervision.recorded")
    assert actor == label_of(app, SUPERVISOR_A)
    assert (payload["kind"], payload["held_on"], payload["units"], payload["complaints"]) == (
        "monitoring_evaluation", (today - timedelta(days=1)).isoformat(), ["UNIT-A"], [code])
    assert (payload["title"], payload["participants"], payload["findings"]) == (
        digest(TITLE), digest(PARTICIPANTS), digest(FINDINGS))
    assert [(a["description"], a["owner"], a["status"]) for a in payload["actions"]] == [
        (digest(d), digest(o), "open") for d, o in ACTIONS]
    assert payload["files"] == [{"sha256": sha256(photo), "size": len(photo), "type": "image/png"}]
    bodies = audit_bodies(app)
    for words in (TITLE, PARTICIPANTS, FINDINGS, "notulen-rahasia", *(t for a in ACTIONS for t in a)):
        assert json.dumps(words)[1:-1] not in bodies and words not in bodies, words
    assert "Tiga pengaduan" not in bodies


# --- 2. refused input ----------------------------------------------------------------------

@dataclass
class Setting:
    today: date
    code_a: str
    code_b: str


BAD_INPUT = {  # overrides of the form, files sent, the field named, its message
    "future-date": (lambda s: {"held_on": (s.today + timedelta(days=1)).isoformat()}, None,
                    "held_on", lambda s: "Date: cannot be in the future"),
    "no-unit": (lambda s: {"units": [], "complaints": ""}, None, "units",
                lambda s: "Units covered: choose at least one unit"),
    "unit-not-mine": (lambda s: {"units": ["UNIT-B"], "complaints": ""}, None, "units",
                      lambda s: "Units covered: UNIT-B is not one of your units"),
    "unknown-complaint": (lambda s: {"complaints": f"{s.code_a} ZZZZ-ZZZZ"}, None, "complaints",
                          lambda s: "Complaints reviewed: ZZZZ-ZZZZ is not a complaint of the units chosen"),
    "complaint-of-other-unit": (lambda s: {"complaints": s.code_b}, None, "complaints",
                                lambda s: f"Complaints reviewed: {s.code_b} is not a complaint of the units "
                                          "chosen"),
    "action-without-owner": (lambda s: {"action_owner": [ACTIONS[0][1], "", ""]}, None, "actions-1-owner",
                             lambda s: "Follow-up actions: is required"),
    "not-an-image": (lambda s: {}, [(NOT_AN_IMAGE, "notulen.png")], "files",
                     lambda s: f"Minutes, attendance lists, photos: notulen.png {NOT_A_FILE_WE_TAKE}"),
}


@pytest.mark.parametrize("change, files, field, message", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_record_input_is_refused_and_keeps_the_typed_text(app, org, change, files, field, message):
    """422 naming the field with a clear message, the form filled in as typed; no record, no
    action, no audit event and no file left in the upload folder (a good photo sent along is
    removed again)."""
    setting = Setting(local_today(app), file_in(app), file_in(app, "UNIT-B"))
    supervisor = signed_in(app, SUPERVISOR_A)
    before = counts(app)
    data = record_form(get_page(supervisor, NEW).token, setting.today, complaints=setting.code_a)
    data.update(change(setting))
    response = post_new(supervisor, data, files=files or [(png(), "foto-baik.png")])
    assert response.status_code == 422
    assert error_summary(response) == [message(setting)]
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html
    typed = Page(html).forms[NEW].values
    for name in ("title", "participants", "findings", "held_on", "kind", "complaints"):
        assert typed[name] == data[name], name
    assert checked_units(html) == set(data["units"]) & {"UNIT-A"}  # only my units are offered
    for i in range(2):
        assert input_value(html, f"action-{i}-description") == data["action_description"][i]
        assert input_value(html, f"action-{i}-owner") == data["action_owner"][i]
    assert "Files are not kept when the form is refused" in html
    assert counts(app) == before
    assert uploads_left(app) == []


def test_only_supervisors_open_the_new_record_form(app, org):
    """Officers, auditors and admins cannot record (403); the index offers no button to them."""
    for email in (OFFICER_A, AUDITOR):
        client = signed_in(app, email)
        assert client.get(NEW).status_code == 403
        assert NEW not in get_page(client, INDEX).links
        assert post_new(client, record_form(token_of(client), local_today(app))).status_code == 403
    assert signed_in(app, ADMIN).get(NEW).status_code == 403
    assert NEW in get_page(signed_in(app, SUPERVISOR_A), INDEX).links
    assert counts(app)["SupervisionRecord"] == 0


# --- 3. changing a record ------------------------------------------------------------------

def test_leading_supervisor_edits_with_before_and_after_audited(app, org):
    """The edit form comes filled in; a change is saved and audited as before and after
    (digests for the words)."""
    code = file_in(app)
    record_id = make_record(app, title="Rapat koordinasi", findings="Belum ada temuan.",
                            kind="coordination_meeting", complaints=[code])
    supervisor = signed_in(app, SUPERVISOR_A)
    form = edit_form(supervisor, record_id)
    assert (form["title"], form["findings"], form["kind"], form["complaints"], form["version"]) == (
        "Rapat koordinasi", "Belum ada temuan.", "coordination_meeting", code, "1")
    form.update(title="Rapat koordinasi (revisi)", findings="Dua loket tanpa SOP.", kind="spot_check",
                complaints="")
    assert location(supervisor.post(f"{INDEX}/{record_id}/edit", data=form)) == f"{INDEX}/{record_id}"
    state = record_state(app, record_id)
    assert (state["title"], state["findings"], state["kind"], state["complaints"], state["version"]) == (
        "Rapat koordinasi (revisi)", "Dua loket tanpa SOP.", "spot_check", [], 2)
    [(actor, payload)] = audited(app, "supervision.updated")
    assert actor == label_of(app, SUPERVISOR_A)
    before, after = payload["before"], payload["after"]
    assert payload["id"] == record_id
    assert (before["title"], after["title"]) == (
        digest("Rapat koordinasi"), digest("Rapat koordinasi (revisi)"))
    assert (before["findings"], after["findings"]) == (
        digest("Belum ada temuan."), digest("Dua loket tanpa SOP."))
    assert (before["kind"], after["kind"]) == ("coordination_meeting", "spot_check")
    assert (before["complaints"], after["complaints"]) == ([code], [])
    assert "Dua loket" not in audit_bodies(app)


def test_stale_edit_gets_409_and_keeps_what_was_typed(app, org):
    """Two supervisors open the form; the second to send gets 409 with her words kept and the
    current version, and her resend then succeeds."""
    record_id = make_record(app, title="Judul awal")
    leader, colleague = signed_in(app, SUPERVISOR_A), signed_in(app, SUPERVISOR_AB)
    mine = edit_form(leader, record_id, title="Judul menurut Bambang", findings="Temuan Bambang")
    theirs = edit_form(colleague, record_id, title="Judul menurut Joko")
    assert location(colleague.post(f"{INDEX}/{record_id}/edit", data=theirs)) == f"{INDEX}/{record_id}"
    response = leader.post(f"{INDEX}/{record_id}/edit", data=mine)
    assert response.status_code == 409
    assert error_summary(response) == [CONFLICT]
    again = Page(response.get_data(as_text=True)).forms[f"{INDEX}/{record_id}/edit"].values
    assert (again["title"], again["findings"], again["version"]) == (
        "Judul menurut Bambang", "Temuan Bambang", "2")
    assert record_state(app, record_id)["title"] == "Judul menurut Joko"
    assert len(audited(app, "supervision.updated")) == 1
    again["units"] = [again["units"]]
    assert location(leader.post(f"{INDEX}/{record_id}/edit", data=again)) == f"{INDEX}/{record_id}"
    assert record_state(app, record_id)["title"] == "Judul menurut Bambang"


def test_edit_with_bad_input_is_refused_and_keeps_the_typed_text(app, org):
    """A change to a unit not mine is refused with 422; the record is unchanged."""
    record_id = make_record(app, title="Judul awal")
    supervisor = signed_in(app, SUPERVISOR_A)
    form = edit_form(supervisor, record_id, title="Judul baru", units=["UNIT-B"])
    before = record_state(app, record_id)
    response = supervisor.post(f"{INDEX}/{record_id}/edit", data=form)
    assert response.status_code == 422
    assert error_summary(response) == ["Units covered: UNIT-B is not one of your units"]
    typed = Page(response.get_data(as_text=True)).forms[f"{INDEX}/{record_id}/edit"].values
    assert typed["title"] == "Judul baru"
    assert record_state(app, record_id) == before


def change_requests(client, record_id: int, action_id: int):
    """Every change of a record, sent with this browser's own valid token."""
    token = token_of(client)
    edit = {"csrf_token": token, "version": "1", "kind": "coaching", "held_on": "2026-01-05",
            "title": "Diubah", "units": ["UNIT-A"]}
    return {
        "edit-form": client.get(f"{INDEX}/{record_id}/edit"),
        "edit": client.post(f"{INDEX}/{record_id}/edit", data=edit),
        "add-action": client.post(f"{INDEX}/{record_id}/actions", data={
            "csrf_token": token, "description": "Tambahan", "owner": "Siapa saja"}),
        "action-status": client.post(f"{INDEX}/{record_id}/actions/{action_id}", data={
            "csrf_token": token, "status": "dropped"}),
        "files": post_files(client, record_id, [(png(), "foto.png")], token),
    }


@pytest.mark.parametrize("email, expected", [
    (OFFICER_A, 403), (AUDITOR, 403), (SUPERVISOR_B, 404), (OFFICER_B, 404), (ADMIN, 403),
], ids=["officer-of-unit", "auditor", "supervisor-of-other-unit", "officer-of-other-unit", "admin"])
def test_who_cannot_change_a_record(app, org, email, expected):
    """Readers of the unit get 403 on every change (and are offered none), other units' staff
    404 (as if it did not exist), admins 403; nothing changes and no file is left behind."""
    record_id = make_record(app, actions=[ACTIONS[0]])
    action_id = first_action_id(app, record_id)
    before, state = counts(app), record_state(app, record_id)
    client = signed_in(app, email)
    for what, response in change_requests(client, record_id, action_id).items():
        assert response.status_code == expected, what
    if email in (OFFICER_A, AUDITOR):  # they read the record, with no way offered to change it
        page = get_page(client, f"{INDEX}/{record_id}")
        assert [form for form in page.forms if form.startswith(INDEX)] == []
        assert f"{INDEX}/{record_id}/edit" not in page.links
    assert counts(app) == before
    assert record_state(app, record_id) == state
    assert uploads_left(app) == []


def test_colleague_supervisor_of_the_unit_may_change_the_record(app, org):
    """Another supervisor of every unit the record covers may change it too."""
    record_id = make_record(app, actions=[ACTIONS[0]])
    responses = change_requests(signed_in(app, SUPERVISOR_AB), record_id, first_action_id(app, record_id))
    assert responses["edit-form"].status_code == 200
    assert all(location(r) == f"{INDEX}/{record_id}" for what, r in responses.items() if what != "edit-form")
    assert record_state(app, record_id)["title"] == "Diubah"


def test_follow_up_status_changes_are_audited(app, org):
    """An action is done on a given day (or today when no day is given), dropped, or opened
    again; a day in the future is refused; each change is an audit event."""
    record_id = make_record(app, actions=ACTIONS)
    today = local_today(app)
    with app.app_context():
        first, second = [a.id for a in db.session.get(SupervisionRecord, record_id).actions]
    supervisor = signed_in(app, SUPERVISOR_A)
    url = f"{INDEX}/{record_id}/actions"
    token = token_of(supervisor)
    done_on = (today - timedelta(days=2)).isoformat()
    assert location(supervisor.post(f"{url}/{first}", data={
        "csrf_token": token, "status": "done", "completed_on": done_on})) == f"{INDEX}/{record_id}"
    assert location(supervisor.post(f"{url}/{second}", data={"csrf_token": token, "status": "dropped"}))
    future = supervisor.post(f"{url}/{second}", data={
        "csrf_token": token, "status": "done", "completed_on": (today + timedelta(days=1)).isoformat()})
    assert future.status_code == 422
    assert error_summary(future) == ["Completed on: cannot be in the future"]
    unknown = supervisor.post(f"{url}/{second}", data={"csrf_token": token, "status": "finished"})
    assert unknown.status_code == 422
    assert location(supervisor.post(f"{url}/{second}", data={"csrf_token": token, "status": "done"}))
    assert record_state(app, record_id)["actions"] == [
        (ACTIONS[0][0], "done", today - timedelta(days=2)), (ACTIONS[1][0], "done", today)]
    assert [p for _, p in audited(app, "supervision.action_status")] == [
        {"id": record_id, "action": first, "before": "open", "after": "done", "completed_on": done_on},
        {"id": record_id, "action": second, "before": "open", "after": "dropped", "completed_on": None},
        {"id": record_id, "action": second, "before": "dropped", "after": "done",
         "completed_on": today.isoformat()},
    ]
    page = get_page(supervisor, f"{INDEX}/{record_id}")
    shown = page.forms[f"{url}/{first}"].values
    assert (shown["status"], shown["completed_on"]) == ("done", done_on)
    missing = supervisor.post(f"{url}/{first + 1000}", data={"csrf_token": token, "status": "done"})
    assert missing.status_code == 404


def test_actions_and_files_added_later_are_audited(app, org):
    """Follow-ups and minutes can be added after the meeting; both are audited (digests for
    the words, SHA-256 for the files), a bad file or an empty action is refused with 422."""
    record_id = make_record(app)
    supervisor = signed_in(app, SUPERVISOR_A)
    token = token_of(supervisor)
    minutes, photo = pdf("Notulen rapat"), png()
    assert location(post_files(supervisor, record_id, [(minutes, "notulen.pdf"), (photo, "foto.png")], token))
    assert location(supervisor.post(f"{INDEX}/{record_id}/actions", data={
        "csrf_token": token, "description": "Perbarui SK pengelola", "owner": "Kasubag Umum",
        "due_on": "2027-01-31"}))
    [(actor, files_added)] = audited(app, "supervision.files_added")
    assert actor == label_of(app, SUPERVISOR_A)
    assert files_added == {"id": record_id, "attachments": [
        {"sha256": sha256(stored_copy(minutes)), "size": len(stored_copy(minutes)),
         "type": "application/pdf"},
        {"sha256": sha256(photo), "size": len(photo), "type": "image/png"}]}
    [(_, action_added)] = audited(app, "supervision.action_added")
    assert [(a["description"], a["owner"], a["due_on"], a["status"]) for a in action_added["actions"]] == [
        (digest("Perbarui SK pengelola"), digest("Kasubag Umum"), "2027-01-31", "open")]
    assert "Kasubag" not in audit_bodies(app) and "notulen" not in audit_bodies(app)
    with app.app_context():
        stored = db.session.scalars(select(SupervisionFile).order_by(SupervisionFile.id)).all()
        assert [f.content_type for f in stored] == ["application/pdf", "image/png"]
        pdf_id = stored[0].id
    pdf_download = signed_in(app, AUDITOR).get(f"{INDEX}/files/{pdf_id}")
    assert_download(pdf_download, minutes, "application/pdf")
    assert pdf_download.headers["Content-Disposition"].startswith("attachment")

    before, files_before = counts(app), uploads_left(app)
    refused = post_files(supervisor, record_id, [(png(), "baik.png"), (NOT_AN_IMAGE, "bukan.pdf")], token)
    assert refused.status_code == 422
    assert error_summary(refused) == [f"Files: bukan.pdf {NOT_A_FILE_WE_TAKE}"]
    assert post_files(supervisor, record_id, [], token).status_code == 422
    empty = supervisor.post(f"{INDEX}/{record_id}/actions", data={"csrf_token": token, "owner": "Kasubag"})
    assert empty.status_code == 422
    assert counts(app) == before and uploads_left(app) == files_before


# --- 4. the index: frequency, filters, who sees what ---------------------------------------

@pytest.fixture
def history(app, org):
    """Records of known kinds, units and dates: {name: record id}."""
    made = {
        "december": make_record(app, SUPERVISOR_A, kind="monitoring_evaluation", held_on=date(2025, 12, 20),
                                title="Monev Desember"),
        "a-coaching": make_record(app, SUPERVISOR_A, kind="coaching", held_on=date(2026, 2, 10),
                                  title="Pembinaan A"),
        "ab-coaching": make_record(app, SUPERVISOR_AB, kind="coaching", held_on=date(2026, 3, 5),
                                   title="Pembinaan bersama", units=["UNIT-A", "UNIT-B"]),
        "b-review": make_record(app, SUPERVISOR_B, kind="case_review", held_on=date(2026, 3, 20),
                                title="Telaah kasus B", units=["UNIT-B"]),
    }
    return made


Q1 = "from=2026-01-01&to=2026-03-31"


def test_frequency_counts_records_per_unit_and_kind_with_zero_said(app, history):
    """For the period chosen, each unit's row counts its records by kind (a record covering
    two units counts for both); a kind without record says 0 explicitly."""
    page = get_page(signed_in(app, AUDITOR), f"{INDEX}?{Q1}")
    assert frequency_table(page.html) == {
        "Dinas A": frequency_row(coaching=2),
        "Dinas B": frequency_row(coaching=1, case_review=1),
    }
    assert "Frequency, " in page.html
    whole = frequency_table(get_page(signed_in(app, AUDITOR), f"{INDEX}?from=2025-12-01&to=2026-03-31").html)
    assert whole["Dinas A"] == frequency_row(coaching=2, monitoring_evaluation=1)
    empty = frequency_table(get_page(signed_in(app, AUDITOR), f"{INDEX}?from=2024-01-01&to=2024-12-31").html)
    assert empty == {"Dinas A": frequency_row(), "Dinas B": frequency_row()}


@pytest.mark.parametrize("query, expected", [
    (Q1, ["b-review", "ab-coaching", "a-coaching"]),
    (f"{Q1}&unit=UNIT-B", ["b-review", "ab-coaching"]),
    (f"{Q1}&unit=UNIT-A", ["ab-coaching", "a-coaching"]),
    (f"{Q1}&kind=coaching", ["ab-coaching", "a-coaching"]),
    (f"{Q1}&kind=case_review&unit=UNIT-A", []),
    ("from=2026-03-01&to=2026-03-31", ["b-review", "ab-coaching"]),
    ("from=2025-01-01&to=2026-12-31", ["b-review", "ab-coaching", "a-coaching", "december"]),
], ids=["period", "unit-b", "unit-a", "kind", "kind-and-unit", "march", "all"])
def test_filters_by_unit_kind_and_period(app, history, query, expected):
    """The auditor's list follows the filters, newest first."""
    page = get_page(signed_in(app, AUDITOR), f"{INDEX}?{query}")
    assert listed_records(page) == [history[name] for name in expected]
    if not expected:
        assert "No supervision record in this period." in page.html


@pytest.mark.parametrize("email, units, expected", [
    (OFFICER_A, ["Dinas A"], ["ab-coaching", "a-coaching"]),
    (OFFICER_B, ["Dinas B"], ["b-review", "ab-coaching"]),
    (SUPERVISOR_A, ["Dinas A"], ["ab-coaching", "a-coaching"]),
    (SUPERVISOR_AB, ["Dinas A", "Dinas B"], ["b-review", "ab-coaching", "a-coaching"]),
    (AUDITOR, ["Dinas A", "Dinas B"], ["b-review", "ab-coaching", "a-coaching"]),
], ids=["officer-a", "officer-b", "supervisor-a", "supervisor-ab", "auditor"])
def test_each_reader_sees_the_records_of_their_units(app, history, email, units, expected):
    """Officers and supervisors see only records covering their units (the table has only
    their units, another unit's filter shows nothing of it); others' records answer 404."""
    client = signed_in(app, email)
    page = get_page(client, f"{INDEX}?{Q1}")
    assert list(frequency_table(page.html)) == units
    assert listed_records(page) == [history[name] for name in expected]
    for name, record_id in history.items():
        visible = name in expected or (name == "december" and "Dinas A" in units)
        assert client.get(f"{INDEX}/{record_id}").status_code == (200 if visible else 404), name
    if units == ["Dinas A"]:
        foreign = get_page(client, f"{INDEX}?{Q1}&unit=UNIT-B")  # not mine: ignored
        assert listed_records(foreign) == listed_records(page)


def test_admin_keeps_documents_but_reads_no_records(app, history):
    """Admins get 403 on the index and every record, but open the standing documents."""
    admin = signed_in(app, ADMIN)
    assert admin.get(INDEX).status_code == 403
    for record_id in history.values():
        assert admin.get(f"{INDEX}/{record_id}").status_code == 403
    page = get_page(admin, DOCUMENTS)
    assert "Checklist" in page.html and "Add a document" in page.html


def test_index_and_record_need_a_signed_in_staff_member(app, history):
    """Without signing in, every supervision page sends the browser to /login."""
    client = browser(app)
    for url in (INDEX, NEW, f"{INDEX}/{history['a-coaching']}", DOCUMENTS):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


# --- 5. instructions on cases --------------------------------------------------------------

def test_instruction_on_a_complaint_becomes_an_instruction_record(app, org):
    """A supervisor's instruction on a case is listed as a record of kind instruction of the
    complaint's unit, dated today, linked to the complaint, counted in the frequency."""
    code = file_in(app, privacy="anonymous")
    text = "Hubungi pelapor dan selesaikan verifikasi minggu ini."
    supervisor = signed_in(app, SUPERVISOR_A)
    token = get_page(supervisor, f"/staff/complaints/{code}").token
    response = supervisor.post(f"/staff/complaints/{code}/instruction",
                               data={"csrf_token": token, "instruction": text})
    assert location(response) == f"/staff/complaints/{code}"
    officer = signed_in(app, OFFICER_A)
    index = get_page(officer, f"{INDEX}?kind=instruction")
    [record_id] = listed_records(index)
    assert frequency_table(index.html)["Dinas A"] == frequency_row(instruction=1)
    page = get_page(officer, f"{INDEX}/{record_id}")
    words = text_of(page.html)
    assert f"Instruction on complaint {code}" in words and "Instruction on a case" in words
    assert text in words and "Bambang Kepala" in words
    assert f"/staff/complaints/{code}" in page.links
    with app.app_context():
        record = db.session.get(SupervisionRecord, record_id)
        assert (record.kind, record.findings, record.held_on) == ("instruction", text, sv.today())
        assert [u.code for u in record.units] == ["UNIT-A"]
        assert [c.tracking_code for c in record.complaints] == [code]
    [(actor, payload)] = audited(app, "supervision.recorded")
    assert (actor, payload["kind"], payload["complaints"], payload["findings"]) == (
        label_of(app, SUPERVISOR_A), "instruction", [code], digest(text))
    assert signed_in(app, OFFICER_B).get(f"{INDEX}/{record_id}").status_code == 404


def test_instruction_service_links_the_record_to_the_case(app, org):
    """give_instruction (the service behind the overdue review) makes the same record."""
    code = file_in(app, "UNIT-B")
    with app.app_context():
        give_instruction(Complaint.by_code(code), actor_of(SUPERVISOR_B), "Segera tindak lanjuti.")
        db.session.commit()
        record = db.session.scalars(select(SupervisionRecord)).one()
        assert record.kind == "instruction"
        assert ([u.code for u in record.units], [c.tracking_code for c in record.complaints]) == (
            ["UNIT-B"], [code])


# --- 6. standing documents -----------------------------------------------------------------

def test_checklist_shows_present_out_of_date_and_missing(app, org):
    """Uploads with validity dates fill the checklist: in force is present, expired or not yet
    valid is out of date, never uploaded is missing; each upload is audited."""
    today = local_today(app)
    supervisor = signed_in(app, SUPERVISOR_A)
    token = get_page(supervisor, f"{DOCUMENTS}?unit=UNIT-A").token
    uploads = [  # kind, valid_from, valid_until, file
        ("handler_decree", today - timedelta(days=400), today - timedelta(days=31), pdf("SK lama")),
        ("handler_decree", today - timedelta(days=30), today + timedelta(days=335), pdf("SK baru")),
        ("complaint_sop", today - timedelta(days=400), today - timedelta(days=1), pdf("SOP")),
        ("channel_photos", today + timedelta(days=10), None, png()),
        ("compensation_policy", today, today, pdf("Kompensasi")),
    ]
    for kind, start, end, content in uploads:
        name = f"{kind}.png" if content.startswith(b"\x89PNG") else f"{kind}.pdf"
        response = post_document(supervisor, document_form(
            token, kind=kind, title=f"Dokumen {kind} {start}", valid_from=start.isoformat(),
            valid_until=end.isoformat() if end else ""), file=(content, name))
        assert location(response) == DOCUMENTS
    page = get_page(supervisor, f"{DOCUMENTS}?unit=UNIT-A")
    assert checklist(page.html) == {
        "handler_decree": "present", "complaint_sop": "out of date", "channel_photos": "out of date",
        "compensation_policy": "present", "ombudsman_followup": "missing"}
    assert f"Dokumen handler_decree {today - timedelta(days=30)}" in page.html  # the one in force
    events = audited(app, "document.uploaded")
    assert [(actor, p["unit"], p["kind"], p["valid_from"], p["valid_until"], p["sha256"])
            for actor, p in events] == [
        (label_of(app, SUPERVISOR_A), "UNIT-A", kind, start.isoformat(), end.isoformat() if end else None,
         sha256(stored_copy(content))) for kind, start, end, content in uploads]
    with app.app_context():
        document_id = db.session.scalars(select(StandingDocument.id).where(
            StandingDocument.kind == "channel_photos")).one()
    url = f"{DOCUMENTS}/{document_id}/file"
    for email in (OFFICER_A, AUDITOR, ADMIN):
        assert_download(signed_in(app, email).get(url), uploads[3][3], "image/png")
    for email in (OFFICER_B, SUPERVISOR_B):
        assert signed_in(app, email).get(url).status_code == 404
    other = get_page(signed_in(app, AUDITOR), f"{DOCUMENTS}?unit=UNIT-B")
    assert set(checklist(other.html).values()) == {"missing"}


def test_who_may_upload_standing_documents(app, org):
    """Supervisors of the unit and admins upload; officers and auditors get 403 (and see no
    upload form), a supervisor of another unit 404."""
    content = pdf("SK")
    for email, unit, expected in [(OFFICER_A, "UNIT-A", 403), (AUDITOR, "UNIT-A", 403),
                                  (SUPERVISOR_B, "UNIT-A", 404), (OFFICER_B, "UNIT-A", 404)]:
        client = signed_in(app, email)
        response = post_document(client, document_form(token_of(client), unit), file=(content, "sk.pdf"))
        assert response.status_code == expected, email
        if expected == 403:
            assert "Add a document" not in get_page(client, f"{DOCUMENTS}?unit={unit}").html
    assert counts(app)["StandingDocument"] == 0 and uploads_left(app) == []
    admin = signed_in(app, ADMIN)
    assert "Add a document" in get_page(admin, f"{DOCUMENTS}?unit=UNIT-B").html
    uploaded = post_document(admin, document_form(token_of(admin), "UNIT-B"), file=(content, "sk.pdf"))
    assert location(uploaded) == DOCUMENTS
    [(actor, payload)] = audited(app, "document.uploaded")
    assert (actor, payload["unit"], payload["type"]) == (label_of(app, ADMIN), "UNIT-B", "application/pdf")
    assert checklist(get_page(signed_in(app, SUPERVISOR_B), DOCUMENTS).html)["handler_decree"] == "present"


BAD_DOCUMENTS = {
    "until-before-from": ({"valid_from": "2026-03-01", "valid_until": "2026-02-28"}, (pdf(), "sk.pdf"),
                          "Valid until: must not be before the start of validity"),
    "missing-file": ({}, None, "File: choose one file"),
    "wrong-type": ({}, (b"<?php system($_GET['c']); ?>", "sk.pdf"), f"File: sk.pdf {NOT_A_FILE_WE_TAKE}"),
    "no-title": ({"title": "  "}, (pdf(), "sk.pdf"), "Title: is required"),
    "bad-date": ({"valid_from": "1 Maret 2026"}, (pdf(), "sk.pdf"),
                 "Valid from: must be a date (YYYY-MM-DD)"),
}


@pytest.mark.parametrize("change, file, message", BAD_DOCUMENTS.values(), ids=BAD_DOCUMENTS.keys())
def test_bad_document_upload_is_refused(app, org, change, file, message):
    """422 with the message at its field and the typed title kept; nothing saved or stored."""
    supervisor = signed_in(app, SUPERVISOR_A)
    data = document_form(token_of(supervisor), **change)
    response = post_document(supervisor, data, file=file)
    assert response.status_code == 422
    assert error_summary(response) == [message]
    assert Page(response.get_data(as_text=True)).forms[""].values["title"] == data["title"]
    assert counts(app)["StandingDocument"] == 0 and audited(app, "document.uploaded") == []
    assert uploads_left(app) == []


# --- 7. CSRF -------------------------------------------------------------------------------

def supervision_posts(record_id: int, action_id: int) -> dict:
    """Every POST of the supervision pages: (url, fields, files)."""
    return {
        "new": (NEW, {"kind": "coaching", "held_on": "2026-01-05", "title": "Palsu", "units": ["UNIT-A"]},
                [(png(), "foto.png")]),
        "edit": (f"{INDEX}/{record_id}/edit", {"version": "1", "kind": "coaching", "held_on": "2026-01-05",
                                                "title": "Palsu", "units": ["UNIT-A"]}, []),
        "add-action": (f"{INDEX}/{record_id}/actions", {"description": "Palsu", "owner": "Palsu"}, []),
        "action-status": (f"{INDEX}/{record_id}/actions/{action_id}", {"status": "dropped"}, []),
        "files": (f"{INDEX}/{record_id}/files", {}, [(png(), "foto.png")]),
        "document": (DOCUMENTS, {"unit": "UNIT-A", "kind": "complaint_sop", "title": "Palsu",
                                 "valid_from": "2026-01-01"}, [(pdf(), "sop.pdf")]),
    }


TOKENS = {"missing": lambda app: None, "forged": lambda app: "IjAwMDAi.forged.token",
          "other-session": lambda app: token_of(signed_in(app, SUPERVISOR_AB))}


@pytest.mark.parametrize("token", TOKENS.values(), ids=TOKENS.keys())
@pytest.mark.parametrize("what", ["new", "edit", "add-action", "action-status", "files", "document"])
def test_every_supervision_post_needs_the_csrf_token(app, org, what, token):
    """A missing, forged or foreign token is refused with 400 and changes nothing at all."""
    record_id = make_record(app, actions=[ACTIONS[0]])
    supervisor = signed_in(app, SUPERVISOR_A)
    get_page(supervisor, f"{INDEX}/{record_id}")  # the session has a token of its own
    before, state = counts(app), record_state(app, record_id)
    url, fields, files = supervision_posts(record_id, first_action_id(app, record_id))[what]

    def send(csrf_token):
        data = dict(fields)
        if csrf_token is not None:
            data["csrf_token"] = csrf_token
        if files:
            data["file" if what == "document" else "files"] = [(io.BytesIO(c), n) for c, n in files]
        return supervisor.post(url, data=data, content_type="multipart/form-data")

    assert send(token(app)).status_code == 400
    assert counts(app) == before and record_state(app, record_id) == state
    assert uploads_left(app) == []
    assert send(token_of(supervisor)).status_code == 302  # with the page's own token it goes through
