"""The complaint service standard and maklumat: the kabupaten-wide default drafted from the
workflow and the office, a unit's own made from it, changes audited with the components that
changed, who may keep it, the public page, the A4 poster, the yearly review's reminder and
notice, the standing documents' row and the evidence pack that carries it."""
from __future__ import annotations

import json
import os
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from test_staff import ADMIN, AUDITOR, OFFICER_A, SUPERVISOR_A, browser, get_page, org, signed_in  # noqa: F401
from pengaduan.evidence import verify_pack
from pengaduan.evidence.pack import export_pack
from pengaduan.extensions import db
from pengaduan.models import (PUBLISHED_COMPONENTS, STANDARD_COMPONENTS, AuditEvent, Notification,
                              ServiceStandard, Unit)
from pengaduan.services import standards
from pengaduan.services.oversight.reports import pdf_missing
from pengaduan.services.standards.reminders import notice_due_reviews

needs_pdf = pytest.mark.skipif(
    pdf_missing() is not None and os.environ.get("PENGADUAN_REQUIRE_PDF") != "1",
    reason=str(pdf_missing()))
TODAY = date.today()


def make(client, scope: str):
    page = get_page(client, f"/staff/standards/{scope}")
    return client.post(f"/staff/standards/{scope}/create", data={"csrf_token": page.token})


def save(client, scope: str, **changes):
    """The standard's form as drawn, with `changes` (published=None unticks the box)."""
    url = f"/staff/standards/{scope}"
    values = dict(get_page(client, url).forms[url].values)
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    return client.post(url, data=values)


def own(app, code: str | None):
    with app.app_context():
        unit = Unit.by_code(code) if code else None
        standard = standards.own_standard(unit) if unit else standards.default_standard()
        return None if standard is None else {
            "version": standard.version, "components": dict(standard.components), "maklumat": standard.maklumat,
            "published": standard.published, "reviewed_on": standard.reviewed_on}


def test_the_default_is_drafted_from_the_workflow_and_the_office(app, org):
    admin = signed_in(app, ADMIN)
    assert make(admin, "default").status_code == 302
    made = own(app, None)
    texts = made["components"]
    assert set(texts) == set(STANDARD_COMPONENTS) and all(texts.values())
    assert texts["cost"] == "Gratis / tanpa biaya."
    assert "Verifikasi: 3 hari kerja" in texts["time_limit"]  # the workflow's SLA clock
    assert "Diterima" in texts["procedure"]  # the workflow's first stage
    assert "/complaints/new" in texts["complaint_handling"] and "/track" in texts["complaint_handling"]
    assert "sanggup" in made["maklumat"] and not made["published"]
    page = get_page(admin, "/staff/standards/default")
    assert "Persyaratan" in page.html or "Requirements" in page.html
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "standard.created")).one()


def test_a_unit_follows_the_default_until_it_makes_its_own_from_it(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    save(admin, "default", component_requirements="Uraian dan identitas.", published="1",
         maklumat="Kami sanggup.", reviewed_on=TODAY.isoformat())
    with app.app_context():
        assert standards.standard_for(Unit.by_code("UNIT-A")).unit_id is None  # the default applies
    public = browser(app).get("/standar-pelayanan/UNIT-A")
    assert public.status_code == 200 and "Uraian dan identitas." in public.get_data(as_text=True)
    supervisor = signed_in(app, SUPERVISOR_A)
    assert make(supervisor, "UNIT-A").status_code == 302
    mine = own(app, "UNIT-A")
    assert mine["components"]["requirements"] == "Uraian dan identitas."  # copied from the default
    assert mine["maklumat"] == "Kami sanggup." and not mine["published"] and mine["reviewed_on"] is None
    with app.app_context():
        assert standards.standard_for(Unit.by_code("UNIT-A")).unit.code == "UNIT-A"
        assert standards.standard_for(Unit.by_code("UNIT-B")).unit_id is None
    # Its draft is not published: the public keeps seeing the published default, not nothing.
    save(supervisor, "UNIT-A", component_requirements="Draf persyaratan sendiri.")
    with app.app_context():
        assert standards.published_standard_for(Unit.by_code("UNIT-A")).unit_id is None
        assert [u.code for u, s in standards.published_units()] == ["UNIT-A", "UNIT-B"]
    text = browser(app).get("/standar-pelayanan/UNIT-A").get_data(as_text=True)
    assert "Uraian dan identitas." in text and "Draf persyaratan sendiri." not in text
    assert 'href="/standar-pelayanan/UNIT-A"' in browser(app).get("/standar-pelayanan").get_data(as_text=True)
    assert "Draf persyaratan sendiri." in get_page(supervisor, "/staff/standards/UNIT-A").html  # staff see it
    save(supervisor, "UNIT-A", published="1", maklumat="Kami sanggup.")
    text = browser(app).get("/standar-pelayanan/UNIT-A").get_data(as_text=True)
    assert "Draf persyaratan sendiri." in text and "Uraian dan identitas." not in text


def test_a_change_is_audited_with_the_components_that_changed(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    response = save(admin, "default", component_cost="Gratis.", decree_number="188/12/2026",
                    decree_date=TODAY.isoformat(), published="1")
    assert response.status_code == 302
    assert own(app, None)["version"] == 2 and own(app, None)["published"]
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "standard.updated")).one()
        payload = json.loads(event.body)["payload"]
        assert set(payload["changed"]) == {"cost", "decree_number", "decree_date", "published"}
        assert "Gratis." not in event.body  # texts as their digest
    assert save(admin, "default").status_code == 302  # nothing changed: nothing written
    assert own(app, None)["version"] == 2
    log = get_page(admin, "/staff/audit?action=standard.updated")
    assert "cost, decree_number" in log.html


def test_publishing_needs_the_six_components_and_the_maklumat(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    response = save(admin, "default", component_procedure="", maklumat="", published="1")
    assert response.status_code == 422
    assert own(app, None)["version"] == 1


def test_a_stale_form_is_refused(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    url = "/staff/standards/default"
    stale = dict(get_page(admin, url).forms[url].values)
    save(admin, "default", component_cost="Gratis.")
    assert admin.post(url, data={**stale, "component_cost": "Rp 0"}).status_code == 409
    assert own(app, None)["components"]["cost"] == "Gratis."


def test_a_form_without_its_version_is_refused_keeping_what_was_typed(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    url = "/staff/standards/default"
    values = dict(get_page(admin, url).forms[url].values)
    values.pop("version")
    response = admin.post(url, data={**values, "component_cost": "Rp 0 untuk semua."})
    assert response.status_code == 409 and "Rp 0 untuk semua." in response.get_data(as_text=True)
    assert own(app, None)["version"] == 1


def test_who_may_keep_a_standard(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    supervisor = signed_in(app, SUPERVISOR_A)
    assert make(supervisor, "default").status_code == 403  # the default is the admins'
    assert get_page(supervisor, "/staff/standards/UNIT-A")
    assert supervisor.get("/staff/standards/UNIT-B").status_code == 404  # not her unit
    officer = signed_in(app, OFFICER_A)
    page = get_page(officer, "/staff/standards/UNIT-A")  # reads it
    assert "create-standard" not in page.html
    assert make(officer, "UNIT-A").status_code == 403
    auditor = signed_in(app, AUDITOR)
    assert get_page(auditor, "/staff/standards").html.count("UNIT-B") >= 1
    assert make(auditor, "UNIT-B").status_code == 403
    assert browser(app).get("/staff/standards").status_code == 302  # to sign in


def test_the_public_pages_in_both_languages(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "UNIT-A")
    save(admin, "UNIT-A", published="1", maklumat="Kami berjanji melayani.")
    visitor = browser(app)
    visitor.get("/lang/id")
    listing = visitor.get("/standar-pelayanan").get_data(as_text=True)
    assert "/standar-pelayanan/UNIT-A" in listing and "/standar-pelayanan/UNIT-B" not in listing
    page = visitor.get("/standar-pelayanan/UNIT-A").get_data(as_text=True)
    assert "Kami berjanji melayani." in page and "Maklumat pelayanan" in page
    assert "/complaints/new?unit=UNIT-A" in page
    for code in PUBLISHED_COMPONENTS:
        assert STANDARD_COMPONENTS[code]["label"]["id"] in page
    assert STANDARD_COMPONENTS["competence"]["label"]["id"] not in page  # kept for the office
    visitor.get("/lang/en")
    english = visitor.get("/standar-pelayanan/UNIT-A").get_data(as_text=True)
    assert "Requirements" in english and "issued in Indonesian" in english
    assert visitor.get("/standar-pelayanan/NOPE").status_code == 404
    assert "/standar-pelayanan" in visitor.get("/").get_data(as_text=True)  # footer and home


@needs_pdf
def test_the_poster_is_an_a4_pdf_with_the_qr_code_to_the_form(app, org):
    from pypdf import PdfReader
    import io

    admin = signed_in(app, ADMIN)
    make(admin, "UNIT-A")
    save(admin, "UNIT-A", maklumat="Kami berjanji melayani.", decree_number="188/7/2026")
    response = admin.get("/staff/standards/UNIT-A/poster.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 in points
    text = "".join(p.extract_text() for p in reader.pages)
    assert "MAKLUMAT PELAYANAN" in text and "188/7/2026" in text and "complaints/new?unit=UNIT-A" in text


def test_the_yearly_review_reminds_and_notifies_once(app, org):
    admin = signed_in(app, ADMIN)
    make(admin, "UNIT-A")
    save(admin, "UNIT-A", reviewed_on=(TODAY - timedelta(days=350)).isoformat())
    supervisor = signed_in(app, SUPERVISOR_A)
    home = get_page(supervisor, "/staff").html
    assert 'data-testid="standard-reminder"' in home and "/staff/standards/UNIT-A" in home
    officer = signed_in(app, OFFICER_A)
    assert 'data-testid="standard-reminder"' not in get_page(officer, "/staff").html
    with app.app_context():
        assert notice_due_reviews() == 0  # due in 15 days: not yet
        assert notice_due_reviews(TODAY + timedelta(days=20)) == 1
        assert notice_due_reviews(TODAY + timedelta(days=21)) == 0  # told once
        db.session.commit()
        told = db.session.scalars(select(Notification).where(Notification.kind == "standard_review")).all()
        assert len(told) == 1  # the unit's supervisor
    inbox = get_page(supervisor, "/staff/notifications").html
    assert "UNIT-A" in inbox
    save(admin, "UNIT-A", reviewed_on=TODAY.isoformat())
    assert 'data-testid="standard-reminder"' not in get_page(supervisor, "/staff").html


def test_the_standing_documents_page_has_a_row_for_the_standard(app, org):
    admin = signed_in(app, ADMIN)
    page = get_page(admin, "/staff/supervision/documents?unit=UNIT-A").html
    assert 'data-testid="standard-row"' in page
    make(admin, "UNIT-A")
    page = get_page(admin, "/staff/supervision/documents?unit=UNIT-A").html
    assert "/staff/standards/UNIT-A" in page and "Own standard, version 1" in page


def test_the_evidence_pack_carries_the_standard_in_force(app, org, tmp_path):
    admin = signed_in(app, ADMIN)
    make(admin, "default")
    make(admin, "UNIT-A")
    save(admin, "UNIT-A", published="1", maklumat="Kami berjanji melayani.")
    out = tmp_path / "pack.zip"
    with app.app_context():
        export_pack(out, TODAY - timedelta(days=30), TODAY)
    problems, _ = verify_pack.verify(str(out))
    assert problems == []
    with zipfile.ZipFile(out) as pack:
        names = pack.namelist()
        manifest = json.loads(pack.read("manifest.json"))
        assert {"standards/UNIT-A.json", "standards/UNIT-A.html", "standards/UNIT-B.json"} <= set(names)
        a = json.loads(pack.read("standards/UNIT-A.json"))
        b = json.loads(pack.read("standards/UNIT-B.json"))
    assert a["source"] == "own" and a["published"] and a["maklumat"] == "Kami berjanji melayani."
    assert b["source"] == "default" and not b["published"]
    assert set(a["components"]) == set(STANDARD_COMPONENTS)
    assert "standards/UNIT-A.json" in manifest["files"]


def test_a_tampered_standard_in_a_pack_is_caught(app, org, tmp_path):
    admin = signed_in(app, ADMIN)
    make(admin, "UNIT-A")
    out, bad = tmp_path / "pack.zip", tmp_path / "bad.zip"
    with app.app_context():
        export_pack(out, TODAY - timedelta(days=30), TODAY)
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "standards/UNIT-A.json":
                data = data.replace(b"Gratis", b"Rp 50.000")
            dst.writestr(item, data)
    problems, _ = verify_pack.verify(str(bad))
    assert any("standards/UNIT-A.json" in p for p in problems)
