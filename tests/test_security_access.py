"""Direct object references: complaints, attachments, supervision records and their files,
standing documents, reports and evidence packs of another unit, asked for by every kind of
caller, with ids guessed one after the other (README: "Complaints of another unit do not
exist for an officer (404), even by guessing the code"; files "only served to whoever may
see them").

test_staff's role matrix covers the complaint page and its forms, test_supervision the
record files; this file sweeps every object route at once and checks that a refusal looks
exactly like an object that does not exist.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from pengaduan.extensions import db
from pengaduan.models import Attachment, Complaint, StandingDocument, SupervisionFile, SupervisionRecord
from test_security_corpus import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, SUPERVISOR_AB,
                                  SUPERVISOR_B, Scene, bearer, browser, changed_tables, citizen_of,
                                  fingerprint, get_page, period, signed_in, token_of, track)
from test_security_corpus import scene  # noqa: F401  (the fixture)
from test_supervision import org  # noqa: F401  (the fixture scene builds on)

LOGIN = "login"  # a redirect to the sign-in page
TRACK = "track"  # a redirect to the tracking form


def _object_urls(s: Scene) -> dict[str, str]:
    """One URL per kind of object of UNIT-A (GET)."""
    return {
        "complaint": f"/staff/complaints/{s.a}",
        "confidential complaint": f"/staff/complaints/{s.secret}",
        "record": f"/staff/supervision/{s.record_a}",
        "record edit": f"/staff/supervision/{s.record_a}/edit",
        "record file": f"/staff/supervision/files/{s.file_a}",
        "document file": f"/staff/supervision/documents/{s.document_a}/file",
        "documents of unit": "/staff/supervision/documents?unit=UNIT-A",
        "report of unit": f"/staff/reports?from={period()[0]}&to={period()[1]}&unit=UNIT-A",
        "report csv of unit": f"/staff/reports?from={period()[0]}&to={period()[1]}&unit=UNIT-A&format=csv",
        "evidence of unit": "/staff/evidence?unit=UNIT-A",
        "complaint file": f"/staff/complaints/{s.a}/files/{s.attachment_a}",
        "attachment": f"/track/{s.a}/files/{s.attachment_a}",
        "tracking page": f"/track/{s.a}",
    }


# who: answer per object, in the order of _object_urls
MATRIX = {
    OFFICER_A: (200, 200, 200, 403, 200, 200, 200, 200, 200, 403, 200, 404, TRACK),
    SUPERVISOR_A: (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, TRACK),
    SUPERVISOR_AB: (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, TRACK),
    OFFICER_B: (404, 404, 404, 404, 404, 404, 404, 404, 404, 403, 404, 404, TRACK),
    SUPERVISOR_B: (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, TRACK),
    AUDITOR: (200, 200, 200, 403, 200, 200, 200, 200, 200, 200, 200, 404, TRACK),
    ADMIN: (403, 403, 403, 403, 403, 200, 200, 403, 403, 403, 403, 404, TRACK),
    "anonymous": (LOGIN,) * 11 + (404, TRACK),
    "citizen of UNIT-B's complaint": (LOGIN,) * 11 + (404, TRACK),
    "citizen with the wrong PIN": (LOGIN,) * 11 + (404, TRACK),
    "citizen of this complaint": (LOGIN,) * 11 + (200, 200),
}


def _reader(app, scene: Scene, who: str):
    if who == "anonymous":
        return browser(app)
    if who == "citizen of UNIT-B's complaint":
        return citizen_of(app, scene.b, scene.b_pin)
    if who == "citizen with the wrong PIN":
        client = browser(app)
        wrong = scene.a_pin[:-1] + ("0" if scene.a_pin[-1] != "0" else "1")
        assert track(client, scene.a, wrong).status_code == 404
        return client
    if who == "citizen of this complaint":
        return citizen_of(app, scene.a, scene.a_pin)
    return signed_in(app, who)


def _answer(response):
    if response.status_code == 302:
        target = response.headers["Location"]
        if target.startswith("/login"):
            return LOGIN
        if target.startswith("/track"):
            return TRACK
        return target
    return response.status_code


def test_every_object_answers_each_caller_as_the_policy_says(app, scene):
    """Each kind of UNIT-A object, asked for by each caller: its staff and auditors read,
    staff of UNIT-B find nothing (404), admins are refused (403) except for standing
    documents, strangers are sent to sign in, citizens only reach their own complaint;
    nobody's request changes anything."""
    urls = _object_urls(scene)
    found = {}
    for who, expected in MATRIX.items():
        client = _reader(app, scene, who)
        before = fingerprint(app)
        answers = tuple(_answer(client.get(url)) for url in urls.values())
        if answers != expected:
            found[who] = {name: (got, want) for name, got, want in zip(urls, answers, expected) if got != want}
        assert changed_tables(before, fingerprint(app)) == [], who
    assert found == {}


def _strip(html: str, *variable: str) -> str:
    """A page without what differs between two requests: the CSRF token and the address."""
    html = re.sub(r'name="csrf_token" value="[^"]*"', "", html)
    for value in variable:
        html = html.replace(value, "X")
    return html


def _max_id(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(model.id)))


def _files_of(app, code: str) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(Attachment.id).join(Complaint).where(Complaint.tracking_code == code)))


def test_guessing_ids_in_turn_finds_only_ones_own_objects(app, scene):
    """Officer B walks every id from 1 past the last: records, their files and standing
    documents of UNIT-A answer exactly like ids that do not exist (same status, same page);
    UNIT-B's own are served."""
    officer_b = signed_in(app, OFFICER_B)
    kinds = {
        "record": (SupervisionRecord, "/staff/supervision/{}", {scene.record_b}),
        "record file": (SupervisionFile, "/staff/supervision/files/{}", {scene.file_b}),
        "document file": (StandingDocument, "/staff/supervision/documents/{}/file", {scene.document_b}),
        "complaint file": (Attachment, f"/staff/complaints/{scene.b}/files/{{}}", _files_of(app, scene.b)),
    }
    for kind, (model, pattern, mine) in kinds.items():
        last = _max_id(app, model)
        missing = officer_b.get(pattern.format(last + 1))
        assert missing.status_code == 404
        reference = _strip(missing.get_data(as_text=True), pattern.format(last + 1))
        for object_id in range(1, last + 3):
            response = officer_b.get(pattern.format(object_id))
            if object_id in mine:
                assert response.status_code == 200, (kind, object_id)
                continue
            assert response.status_code == 404, (kind, object_id)
            assert _strip(response.get_data(as_text=True), pattern.format(object_id)) == reference


def test_a_complainant_guessing_attachment_ids_gets_only_her_own(app, scene):
    """The complainant of UNIT-B's complaint walks every attachment id under her own code
    and under the other complaint's code: only her own photo is served; the rest is 404,
    never a file."""
    citizen = citizen_of(app, scene.b, scene.b_pin)
    last = _max_id(app, Attachment)
    for attachment_id in range(1, last + 3):
        own = citizen.get(f"/track/{scene.b}/files/{attachment_id}")
        if attachment_id == scene.attachment_b:
            assert own.status_code == 200 and own.mimetype == "image/png"
        else:
            assert own.status_code == 404 and own.mimetype == "text/html", attachment_id
        other = citizen.get(f"/track/{scene.a}/files/{attachment_id}")
        assert other.status_code == 404 and other.mimetype == "text/html", attachment_id


def _posts_on_unit_a(scene: Scene) -> dict[str, tuple[str, dict]]:
    """Every change on a UNIT-A object, with otherwise valid fields."""
    return {
        "step": (f"/staff/complaints/{scene.a}/act/request_info", {"message": "Kirim KTP", "version": "1"}),
        "note": (f"/staff/complaints/{scene.a}/note", {"note": "Catatan"}),
        "assign": (f"/staff/complaints/{scene.a}/assign", {"assignee": OFFICER_B}),
        "reveal": (f"/staff/complaints/{scene.secret}/reveal", {"reason": "Perlu"}),
        "instruction": (f"/staff/complaints/{scene.a}/instruction", {"instruction": "Segera"}),
        "acknowledge": (f"/staff/complaints/{scene.late}/acknowledge", {"note": "Sudah"}),
        "instruction done": (f"/staff/complaints/{scene.late}/instructions/{scene.instruction_a}/done", {}),
        "record edit": (f"/staff/supervision/{scene.record_a}/edit", {
            "version": "1", "kind": "coaching", "held_on": "2026-01-05", "title": "Diubah", "units": ["UNIT-B"]}),
        "record action": (f"/staff/supervision/{scene.record_a}/actions",
                          {"description": "Baru", "owner": "Agus", "due_on": ""}),
        "action status": (f"/staff/supervision/{scene.record_a}/actions/{scene.action_a}", {"status": "dropped"}),
        "action of another record": (f"/staff/supervision/{scene.record_b}/actions/{scene.action_a}",
                                     {"status": "dropped"}),
        "record files": (f"/staff/supervision/{scene.record_a}/files", {}),
        "document upload": ("/staff/supervision/documents", {"unit": "UNIT-A", "kind": "complaint_sop",
                                                             "title": "SOP palsu", "valid_from": "2026-01-01"}),
        "evidence": ("/staff/evidence", {"from": period()[0], "to": period()[1], "unit": "UNIT-A"}),
    }


@pytest.mark.parametrize("who", [OFFICER_B, SUPERVISOR_B])
def test_staff_of_another_unit_change_nothing_of_unit_a(app, scene, who):
    """Every change on UNIT-A's complaints, records, documents and exports, sent by staff
    of UNIT-B with their own valid token: 404 (nothing of UNIT-A exists for them), nothing
    changed. (For "action of another record": UNIT-A's action under UNIT-B's record.)"""
    client = signed_in(app, who)
    token = token_of(client)
    before = fingerprint(app)
    answers = {name: client.post(url, data={**data, "csrf_token": token}).status_code
               for name, (url, data) in _posts_on_unit_a(scene).items()}
    if who == OFFICER_B:
        answers.pop("evidence")  # officers export nothing at all: 403 (test_evidence)
    assert {name: status for name, status in answers.items() if status != 404} == {}
    assert changed_tables(before, fingerprint(app)) == []


def test_read_only_roles_change_nothing(app, scene):
    """The auditor reads UNIT-A's objects but every change is refused (403); the admin
    manages accounts, not cases: 403 on every case and record change."""
    for who in (AUDITOR, ADMIN):
        client = signed_in(app, who)
        token = token_of(client)
        before = fingerprint(app)
        answers = {name: client.post(url, data={**data, "csrf_token": token}).status_code
                   for name, (url, data) in _posts_on_unit_a(scene).items()
                   if name not in ("evidence", "document upload", "action of another record")}
        assert {name: s for name, s in answers.items() if s != 403} == {}, who
        assert changed_tables(before, fingerprint(app)) == [], who


def test_api_and_open311_do_not_reach_across_units_or_pins(app, scene):
    """With UNIT-B's officer token, UNIT-A's complaint, its timeline and its steps are 404,
    and the list never shows it; a PIN opens only its own complaint; Open311 answers a
    confidential complaint exactly like an unknown one and never lists it."""
    client = browser(app)
    officer_b = bearer(scene.tokens[OFFICER_B])
    client.get("/api/v1/complaints", headers=officer_b)  # records the token's last use
    before = fingerprint(app)
    for url in (f"/api/v1/complaints/{scene.a}", f"/api/v1/complaints/{scene.a}/events"):
        assert client.get(url, headers=officer_b).status_code == 404, url
    assert client.post(f"/api/v1/complaints/{scene.a}/transitions", headers=officer_b,
                       json={"trigger": "request_info", "message": "x"}).status_code == 404
    for query in ("", "?unit=UNIT-A", "?unit=unit-a", "?state=received", "?overdue=true", "?limit=100"):
        listed = client.get(f"/api/v1/complaints{query}", headers=officer_b).get_json()
        assert {item["tracking_code"] for item in listed["items"]} <= {scene.b}, query
    for code, pin in ((scene.a, scene.b_pin), (scene.b, scene.a_pin), (scene.secret, scene.a_pin)):
        assert client.get(f"/api/v1/complaints/{code}", headers={"X-Tracking-Pin": pin}).status_code == 404
        assert client.post(f"/api/v1/complaints/{code}/transitions", headers={"X-Tracking-Pin": pin},
                           json={"trigger": "withdraw"}).status_code == 404
    unknown = "ZZZZ-ZZZZ" if scene.secret != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    for pattern in ("/open311/v2/requests/{}.json", "/open311/v2/tokens/{}.json", "/open311/v2/requests/{}.xml"):
        hidden, missing = client.get(pattern.format(scene.secret)), client.get(pattern.format(unknown))
        assert hidden.status_code == missing.status_code == 404
        assert hidden.data.replace(scene.secret.encode(), b"X") == missing.data.replace(unknown.encode(), b"X") \
            or b"no such" in hidden.data
    listing = client.get(f"/open311/v2/requests.json?service_request_id={scene.secret},{scene.a}").get_json()
    assert [r["service_request_id"] for r in listing] == [scene.a]
    assert scene.secret not in client.get("/open311/v2/requests.xml").get_data(as_text=True)
    assert changed_tables(before, fingerprint(app)) == []


def test_reports_of_a_unit_stay_with_its_readers(app, scene):
    """A report without a unit defaults to the reader's only unit and shows none of UNIT-A;
    the report and the evidence pack of UNIT-A are 404 for UNIT-B's staff (HTML, CSV, the
    evidence form and its download)."""
    start, end = period()
    for who in (OFFICER_B, SUPERVISOR_B):
        client = signed_in(app, who)
        page = client.get(f"/staff/reports?from={start}&to={end}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert not any(code in html for code in scene.codes("UNIT-A"))
        assert "Dinas A" not in html
        for fmt in ("", "&format=csv"):
            assert client.get(f"/staff/reports?from={start}&to={end}&unit=UNIT-A{fmt}").status_code == 404
    supervisor_b = signed_in(app, SUPERVISOR_B)
    evidence = get_page(supervisor_b, "/staff/evidence")
    assert "UNIT-A" not in [v for f in evidence.forms.values() for v in f.values.values()]
    response = supervisor_b.post("/staff/evidence", data={"csrf_token": evidence.token, "from": start,
                                                          "to": end, "unit": "UNIT-A"})
    assert response.status_code == 404
