"""The register of compensation given: recorded from a complaint's page or on its own with
evidence files checked by their content, audited, listed per unit and period without naming a
confidential or anonymous complainant, counted by the periodic report and carried by the
evidence pack, which its verifier checks."""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from test_citizen import jpeg_bytes
from test_staff import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, file, get_page,  # noqa: F401
                        org, page_of, signed_in)
from pengaduan.evidence import verify_pack
from pengaduan.evidence.pack import export_pack
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Compensation, CompensationFile, Unit
from pengaduan.services.oversight.reports import csv_rows, periodic_report

NEW = "/staff/compensation/new"
TODAY = date.today()


def send(client, data: dict, files=()):
    """The form as /staff/compensation/new draws it, with `data` and files."""
    form = get_page(client, NEW).forms[NEW]
    return client.post(NEW, data={**form.values, **data,
                                  "files": [(io.BytesIO(content), name) for name, content in files]},
                       content_type="multipart/form-data")


def refund(code: str = "", **overrides) -> dict:
    return {"unit": "UNIT-A", "complaint": code, "kind": "refund", "given_on": TODAY.isoformat(),
            "value": "Rp 50.000", "description": "", "approved_by": "Drs. Hendra, Kepala Dinas A",
            **overrides}


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Compensation.id)))


def test_an_officer_records_a_refund_on_a_complaint_with_its_receipt(app, org):
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    case = get_page(officer, page_of(code))
    assert f"{NEW}?complaint={code}" in case.html  # "Catat kompensasi" on the case page
    response = send(officer, refund(code), files=[("kuitansi.jpg", jpeg_bytes())])
    assert response.status_code == 302
    with app.app_context():
        given = db.session.scalars(select(Compensation)).one()
        assert (given.value, given.kind, given.complaint.tracking_code) == (50000, "refund", code)
        assert len(given.files) == 1 and given.files[0].content_type == "image/jpeg"
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "compensation.recorded")).one()
        assert event.complaint_code == code and '"value":50000' in event.body
        assert "Hendra" not in event.body  # free text only as its digest
        detail, file_id = f"/staff/compensation/{given.id}", given.files[0].id
    page = get_page(officer, detail)
    assert "Rp50,000" in page.html and code in page.html
    assert officer.get(f"/staff/compensation/files/{file_id}").status_code == 200
    assert "Rp50,000" in get_page(officer, page_of(code)).html  # listed on the case page
    assert 'data-testid="description-withheld"' not in page.html  # nothing withheld, nothing said


def test_given_on_its_own_with_a_description_and_no_value(app, org):
    officer = signed_in(app, OFFICER_A)
    response = send(officer, refund(value="", kind="apology",
                                    description="Surat permintaan maaf kepada warga antrean."))
    assert response.status_code == 302
    listing = get_page(officer, "/staff/compensation").html
    assert "none (given on its own)" in listing


@pytest.mark.parametrize("change, field", [
    ({"value": "", "description": ""}, "description"),
    ({"value": "lima puluh ribu"}, "value"),
    ({"value": "0"}, "value"),
    ({"given_on": (TODAY + timedelta(days=2)).isoformat()}, "given_on"),
    ({"kind": "bribe"}, "kind"),
    ({"approved_by": ""}, "approved_by"),
    ({"complaint": "ZZZZ-ZZZZ"}, "complaint"),
])
def test_what_is_missing_or_wrong_is_named_and_nothing_saved(app, org, change, field):
    officer = signed_in(app, OFFICER_A)
    response = send(officer, refund(**change))
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count(app) == 0


def test_a_file_that_is_not_what_it_says_is_refused_by_its_content(app, org):
    officer = signed_in(app, OFFICER_A)
    response = send(officer, refund(), files=[("kuitansi.jpg", b"MZ\x90\x00 not a photo")])
    assert response.status_code == 422 and 'id="files-error"' in response.get_data(as_text=True)
    assert count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(CompensationFile.id))) == 0


def test_who_may_record_and_read(app, org):
    """Officers record for their units only; auditors read every unit's but record nothing;
    admins do not open the register."""
    code, _ = file(app)
    other = signed_in(app, OFFICER_B)
    assert send(other, refund(unit="UNIT-B", complaint=code)).status_code == 422  # not her unit's complaint
    form = get_page(other, NEW).forms[NEW]
    assert other.post(NEW, data={**form.values, **refund()}).status_code == 403  # UNIT-A is not hers
    assert send(signed_in(app, OFFICER_A), refund(code)).status_code == 302
    auditor = signed_in(app, AUDITOR)
    assert auditor.get(NEW).status_code == 403
    assert "Rp50,000" in get_page(auditor, "/staff/compensation").html
    assert signed_in(app, ADMIN).get("/staff/compensation").status_code == 403
    with app.app_context():
        given = db.session.scalars(select(Compensation)).one().id
    assert other.get(f"/staff/compensation/{given}").status_code == 404


@pytest.mark.parametrize("privacy", ["confidential", "anonymous"])
def test_a_confidential_or_anonymous_complainant_is_never_named(app, org, privacy):
    overrides = {"privacy": privacy}
    if privacy == "anonymous":
        overrides.update(name=None, nik=None, email=None, phone=None, address=None, consent=False)
    code, _ = file(app, **overrides)
    public, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    assert send(officer, refund(code, description="Dikembalikan kepada Bu Budi Hartono."),
                files=[("kuitansi Budi Hartono.jpg", jpeg_bytes())]).status_code == 302
    assert send(officer, refund(public)).status_code == 302
    supervisor = signed_in(app, SUPERVISOR_A)
    for client in (officer, supervisor, signed_in(app, AUDITOR)):
        listing = get_page(client, "/staff/compensation").html
        assert listing.count("Budi Hartono") <= 1  # only the public complaint's, where shown
        with app.app_context():
            given = db.session.scalars(select(Compensation).join(Compensation.complaint)
                                       .where(Compensation.complaint.has(tracking_code=code))).one()
            detail, file_id = f"/staff/compensation/{given.id}", given.files[0].id
        page = get_page(client, detail).html
        assert "Budi" not in page and 'data-testid="description-withheld"' in page
        download = client.get(f"/staff/compensation/files/{file_id}")
        assert "Budi" not in download.headers["Content-Disposition"]


def test_the_periodic_report_and_the_evidence_pack_count_it(app, org, runner, tmp_path):
    code, _ = file(app, privacy="confidential")
    officer = signed_in(app, OFFICER_A)
    assert send(officer, refund(code, description="Dikembalikan kepada Budi Hartono."),
                files=[("kuitansi Budi.jpg", jpeg_bytes())]).status_code == 302
    assert send(officer, refund(value="", kind="apology", description="Surat maaf.")).status_code == 302
    with app.app_context():
        report = periodic_report(TODAY.replace(day=1), TODAY)
        assert (report.compensation.count, report.compensation.total_value) == (2, 50000)
        rows = set(csv_rows(report))
        assert {("compensation", "count", 2), ("compensation", "total_value_rupiah", 50000),
                ("compensation.kind", "refund", 1), ("compensation.kind", "apology", 1),
                ("compensation", "with_evidence", 1)} <= rows
        unit_b = periodic_report(TODAY.replace(day=1), TODAY, Unit.by_code("UNIT-B"))
        assert unit_b.compensation.count == 0
    page = get_page(signed_in(app, SUPERVISOR_A), f"/staff/reports?from={TODAY.replace(day=1)}&to={TODAY}")
    assert 'data-testid="report-compensation"' in page.html and "Rp50,000" in page.html

    out = tmp_path / "pack.zip"
    with app.app_context():
        export_pack(out, TODAY.replace(day=1), TODAY, Unit.by_code("UNIT-A"))
        db.session.commit()
    problems, _ = verify_pack.verify(str(out))
    assert problems == []
    with zipfile.ZipFile(out) as pack:
        lines = list(csv.DictReader(io.TextIOWrapper(pack.open(verify_pack.COMPENSATION), encoding="utf-8")))
        assert [line["kind"] for line in lines] == ["refund", "apology"]
        assert "Budi" not in lines[0]["description"] and lines[0]["description"].startswith("sha256:")
        assert "Budi" not in lines[0]["files"]
        name = lines[0]["files"].split(":")[0]
        assert name in pack.namelist()
        assert "Budi" not in " ".join(pack.namelist())


def test_the_verifier_names_a_compensation_line_that_does_not_fit(tmp_path):
    """A line naming an evidence file the pack lacks, or a value that is not whole rupiah."""
    out = tmp_path / "odd.zip"
    text = ",".join(verify_pack.COMPENSATION_COLUMNS) + "\n" \
        "1,UNIT-A,,refund,2026-01-05,12.5,,Kepala,Siti,compensation/1/1-a.jpg:abc\n"
    with zipfile.ZipFile(out, "w") as pack:
        pack.writestr(verify_pack.COMPENSATION, text)
    report = verify_pack.Report()
    with zipfile.ZipFile(out) as pack:
        verify_pack._check_compensation(pack, {"unit": "UNIT-A", "files": {},
                                               "period": {"from": "2026-01-01", "to": "2026-01-31"}}, report)
    assert any("not whole rupiah" in p for p in report.problems)
    assert any("evidence file compensation/1/1-a.jpg is not in the pack" in p for p in report.problems)


def test_the_demo_gives_the_ready_unit_a_compensation_and_the_unit_with_gaps_none(app, runner):
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0  # idempotent
    with app.app_context():
        given = db.session.scalars(select(Compensation)).all()
        assert [c.unit.code for c in given] == ["DUKCAPIL"]
        assert given[0].files and given[0].given_on.year == TODAY.year


def _recorded(app, officer, code: str = "") -> tuple[int, str]:
    assert send(officer, refund(code)).status_code == 302
    with app.app_context():
        given = db.session.scalars(select(Compensation).order_by(Compensation.id.desc())).first()
        return given.id, f"/staff/compensation/{given.id}/edit"


def test_evidence_is_added_later_and_the_correction_audited_with_what_changed(app, org):
    """Who recorded it corrects the value and adds the receipt afterwards (checked by its
    content); the audit event names each changed field before and after."""
    code, _ = file(app)
    officer = signed_in(app, OFFICER_A)
    given, edit = _recorded(app, officer, code)
    assert edit in get_page(officer, f"/staff/compensation/{given}").html
    form = get_page(officer, edit).forms[edit]
    fake = officer.post(edit, data={**form.values, "files": [(io.BytesIO(b"MZ not a photo"), "kuitansi.jpg")]},
                        content_type="multipart/form-data")
    assert fake.status_code == 422
    saved = officer.post(edit, data={**form.values, "value": "75.000",
                                     "files": [(io.BytesIO(jpeg_bytes()), "kuitansi.jpg")]},
                         content_type="multipart/form-data")
    assert saved.status_code == 302
    with app.app_context():
        record = db.session.get(Compensation, given)
        assert (record.value, record.version, len(record.files)) == (75000, 2, 1)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "compensation.corrected")).one()
        assert '"value":{"from":50000,"to":75000}' in event.body and "sha256" in event.body
        assert event.complaint_code == code


def test_a_correction_from_a_stale_form_is_refused_and_others_may_not_correct(app, org):
    officer = signed_in(app, OFFICER_A)
    given, edit = _recorded(app, officer)
    first = get_page(officer, edit).forms[edit].values
    second = dict(first)
    assert officer.post(edit, data={**first, "value": "60000"}).status_code == 302
    stale = officer.post(edit, data={**second, "value": "70000"})
    assert stale.status_code == 409
    with app.app_context():
        assert db.session.get(Compensation, given).value == 60000
    colleague = signed_in(app, "officer.a2@example.id")  # same unit, did not record it
    assert colleague.get(edit).status_code == 403
    assert edit not in get_page(colleague, f"/staff/compensation/{given}").html
    assert signed_in(app, AUDITOR).get(edit).status_code == 403
    supervisor = signed_in(app, SUPERVISOR_A)
    form = get_page(supervisor, edit).forms[edit].values
    assert supervisor.post(edit, data={**form, "approved_by": "Drs. Hendra, Kepala Dinas"}).status_code == 302
