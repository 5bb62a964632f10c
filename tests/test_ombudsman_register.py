"""The register of Ombudsman products: a supervisor records a corrective action with its
scan, adds the actions it requires, an action falls overdue and escalates once per level (to
the unit above at the last), is done with evidence checked by content; the workflow file's
section is validated; the periodic report and the evidence pack carry the register; who may
do what."""
from __future__ import annotations

import copy
import csv
import io
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from test_citizen import jpeg_bytes
from test_staff import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, PASSWORD, SUPERVISOR_A, file, get_page,  # noqa: F401
                        org, signed_in)
from pengaduan.evidence import verify_pack
from pengaduan.evidence.pack import export_pack
from pengaduan.extensions import db
from pengaduan.jobs import ombudsman as ombudsman_job
from pengaduan.jobs.sweep import sweep
from pengaduan.models import (AuditEvent, Notification, OmbudsmanEscalation, OmbudsmanItem, OmbudsmanProduct,
                              Unit, User, utcnow)
from pengaduan.services.administration.accounts import create_unit, create_user
from pengaduan.services.oversight.reports import csv_rows, periodic_report
from pengaduan.workflow import WorkflowError, parse_workflow

NEW = "/staff/ombudsman/new"
TODAY = date.today()
WORKFLOW = Path(__file__).resolve().parent.parent / "workflows" / "perpres76.yaml"


def send(client, url: str, data: dict, files=()):
    return client.post(url, data={**data, "csrf_token": get_page(client, "/staff/ombudsman").token,
                                  "files": [(io.BytesIO(content), name) for name, content in files]},
                       content_type="multipart/form-data")


def lahp(**overrides) -> dict:
    received = TODAY - timedelta(days=50)
    return {"kind": "tindakan_korektif", "number": "LAHP/0123/LM.01/2026", "issued_on": (received - timedelta(days=3)).isoformat(),
            "received_on": received.isoformat(), "title": "Penundaan berlarut penerbitan KTP-el",
            "summary": "Ombudsman meminta perbaikan antrean.", "units": ["UNIT-A"], "complaints": "", **overrides}


def product_id(app) -> int:
    with app.app_context():
        return db.session.scalars(select(OmbudsmanProduct.id)).one()


def recorded(app, supervisor) -> int:
    """A corrective action received 50 days ago, with one action for UNIT-A on the default limit."""
    response = send(supervisor, NEW, lahp(), files=[("lahp.jpg", jpeg_bytes())])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    pid = product_id(app)
    response = send(supervisor, f"/staff/ombudsman/{pid}/items",
                    {"action": "Menerbitkan SOP antrean KTP-el", "unit": "UNIT-A", "owner": "Kepala Bidang Pelayanan"})
    assert response.status_code == 302
    return pid


@pytest.fixture
def parent(app, org):
    """UNIT-A sits under KAB, whose supervisor is the next level."""
    with app.app_context():
        kab = create_unit("KAB", "Pemerintah Kabupaten")
        Unit.by_code("UNIT-A").parent = kab
        create_user("kepala.kab@example.id", "supervisor", name="Kepala Kab", password=PASSWORD, unit_codes=["KAB"])
        db.session.commit()


def test_the_register_life_create_overdue_escalated_once_done_with_evidence(app, org, parent):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)
    with app.app_context():
        item = db.session.scalars(select(OmbudsmanItem)).one()
        # 30 calendar days from the day received (rolled past a day off): already past.
        assert item.due_at < utcnow() and item.due_explanation.startswith("30 calendar_days")
        assert item.due_at.date() >= TODAY - timedelta(days=20)
        item_id = item.id
        events = {e.action for e in db.session.scalars(select(AuditEvent))}
        assert {"ombudsman.product_recorded", "ombudsman.item_added"} <= events
    listing = get_page(supervisor, "/staff/ombudsman?status=late").html
    assert "LAHP/0123/LM.01/2026" in listing and "Menerbitkan SOP" in listing
    home = get_page(supervisor, "/staff").html
    assert "Menerbitkan SOP" in home  # the home page names the late action

    with app.app_context():
        first = sweep(now=utcnow())
        second = sweep(now=utcnow())
        assert first["ombudsman_overdue"] == 1 and first["ombudsman_serious"] == 1
        assert "ombudsman_warning" not in first  # before the deadline, skipped once it has passed
        assert not any(k.startswith("ombudsman_") for k in second)
        assert db.session.scalar(select(func.count()).select_from(OmbudsmanEscalation)) == 2
        told = db.session.execute(select(User.email, Notification.data).join(User, User.id == Notification.user_id)
                                   .where(Notification.kind == "ombudsman_escalation")).all()
        assert {data["level"] for _, data in told} == {"overdue", "serious"}
        assert {email for email, data in told if data["level"] == "serious"} == {SUPERVISOR_A, "kepala.kab@example.id"}
        assert OFFICER_A in {email for email, data in told if data["level"] == "overdue"}
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "ombudsman.escalated")) == 2
        # A second worker that got past the lock fires nothing either.
        assert not any(k != "ombudsman_already_fired" for k in ombudsman_job.escalate(utcnow()))

    kab = signed_in(app, "kepala.kab@example.id")
    assert "Follow-up seriously overdue" in get_page(kab, "/staff/notifications").html

    officer = signed_in(app, OFFICER_A)
    refused = send(officer, f"/staff/ombudsman/items/{item_id}/done",
                   {"done_on": TODAY.isoformat(), "evidence": "SOP terbit"})
    assert refused.status_code == 422 and "attach the evidence" in refused.get_data(as_text=True)
    bad = send(officer, f"/staff/ombudsman/items/{item_id}/done",
               {"done_on": TODAY.isoformat(), "evidence": "SOP terbit"}, files=[("sop.pdf", b"not a pdf at all")])
    assert bad.status_code in (413, 415, 422)
    done = send(officer, f"/staff/ombudsman/items/{item_id}/done",
                {"done_on": TODAY.isoformat(), "evidence": "SOP antrean terbit dengan SK Kadis"},
                files=[("sk.jpg", jpeg_bytes())])
    assert done.status_code == 302
    with app.app_context():
        item = db.session.get(OmbudsmanItem, item_id)
        assert (item.status, item.done_on, len(item.files)) == ("done", TODAY, 1)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ombudsman.item_done")).one()
        assert '"on_time":false' in event.body and "SOP antrean" not in event.body
    assert send(supervisor, f"/staff/ombudsman/{pid}/reported",
                {"reported_back_on": TODAY.isoformat(), "reported_back_ref": "800/123/2026"}).status_code == 302
    page = get_page(supervisor, f"/staff/ombudsman/{pid}").html
    assert "800/123/2026" in page
    assert "LAHP/0123" in get_page(supervisor, "/staff/ombudsman?status=done").html
    assert "LAHP/0123" not in get_page(supervisor, "/staff/ombudsman?status=open").html


def test_dropping_and_reopening_need_a_reason(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    recorded(app, supervisor)
    with app.app_context():
        item_id = db.session.scalars(select(OmbudsmanItem.id)).one()
    assert send(supervisor, f"/staff/ombudsman/items/{item_id}/drop", {"reason": ""}).status_code == 422
    assert send(supervisor, f"/staff/ombudsman/items/{item_id}/drop", {"reason": "Dicabut Ombudsman"}).status_code == 302
    assert send(supervisor, f"/staff/ombudsman/items/{item_id}/reopen", {"reason": "Diterbitkan ulang"}).status_code == 302
    with app.app_context():
        assert db.session.get(OmbudsmanItem, item_id).status == "open"
        actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert "ombudsman.item_dropped" in actions and "ombudsman.item_reopened" in actions


def test_who_may_do_what(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)
    with app.app_context():
        item_id = db.session.scalars(select(OmbudsmanItem.id)).one()
    officer_a, officer_b = signed_in(app, OFFICER_A), signed_in(app, OFFICER_B)
    auditor, admin = signed_in(app, AUDITOR), signed_in(app, ADMIN)
    assert officer_a.get(NEW).status_code == 403  # officers do not record products
    assert officer_a.get(f"/staff/ombudsman/{pid}").status_code == 200
    assert officer_b.get(f"/staff/ombudsman/{pid}").status_code == 404  # another unit's
    assert "LAHP/0123" not in get_page(officer_b, "/staff/ombudsman?status=all").html
    assert auditor.get(f"/staff/ombudsman/{pid}").status_code == 200  # auditors read all
    assert "LAHP/0123" in get_page(auditor, "/staff/ombudsman?status=all").html
    assert send(auditor, f"/staff/ombudsman/items/{item_id}/drop", {"reason": "x"}).status_code == 403
    assert send(officer_a, f"/staff/ombudsman/{pid}/items",
                {"action": "x", "unit": "UNIT-A", "owner": "y"}).status_code == 403
    assert admin.get(NEW).status_code == 200
    # A supervisor records only for the units he oversees.
    assert send(supervisor, NEW, lahp(units=["UNIT-B"])).status_code == 403
    assert signed_in(app, OFFICER_A).get("/staff/ombudsman/files/999").status_code == 404


def test_the_periodic_report_and_the_evidence_pack_carry_the_register(app, org, tmp_path):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)
    with app.app_context():
        item_id = db.session.scalars(select(OmbudsmanItem.id)).one()
    send(supervisor, f"/staff/ombudsman/items/{item_id}/done",
         {"done_on": TODAY.isoformat(), "evidence": "SOP terbit"}, files=[("sk.jpg", jpeg_bytes())])
    start, end = TODAY - timedelta(days=60), TODAY
    with app.app_context():
        report = periodic_report(start, end)
        assert report.ombudsman.products_received == 1 and report.ombudsman.actions_done_late == 1
        rows = list(csv_rows(report))
        assert ("ombudsman", "products_received", 1) in rows
        out = tmp_path / "pack.zip"
        export_pack(out, start, end)
        db.session.commit()
    page = get_page(supervisor, f"/staff/reports?from={start.isoformat()}&to={end.isoformat()}").html
    assert 'data-testid="report-ombudsman"' in page
    problems, _ = verify_pack.verify(str(out))
    assert problems == []
    with zipfile.ZipFile(out) as pack:
        products = list(csv.DictReader(io.StringIO(pack.read("ombudsman/products.csv").decode())))
        items = list(csv.DictReader(io.StringIO(pack.read("ombudsman/items.csv").decode())))
        assert products[0]["number"] == "LAHP/0123/LM.01/2026" and products[0]["files"]
        assert items[0]["status"] == "done" and items[0]["on_time"] == "no"
        for named in items[0]["files"].split() + products[0]["files"].split():
            assert named.rpartition(":")[0] in pack.namelist()


def _broken(change) -> str:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    change(data["ombudsman_products"])
    with pytest.raises(WorkflowError) as caught:
        parse_workflow(copy.deepcopy(data), "perpres76.yaml")
    return f"{caught.value.key}: {caught.value.reason}"


@pytest.mark.parametrize("change, expected", [
    (lambda d: d["kinds"].update(surat_biasa={"label": {"id": "a", "en": "a"}, "time_limit": {"amount": 1, "unit": "calendar_days"}}),
     "ombudsman_products.kinds.surat_biasa: unknown kind of product"),
    (lambda d: d["kinds"]["rekomendasi"]["time_limit"].update(amount=0),
     "ombudsman_products.kinds.rekomendasi.time_limit.amount: must be a whole number of at least 1"),
    (lambda d: d["kinds"]["rekomendasi"]["time_limit"].update(unit="hours"),
     "ombudsman_products.kinds.rekomendasi.time_limit.unit: unknown time unit 'hours'"),
    (lambda d: d["kinds"]["rekomendasi"].pop("label"), "ombudsman_products.kinds.rekomendasi.label: is required"),
    (lambda d: d["escalation"]["levels"]["overdue"].update(notify=["handler"]),
     "ombudsman_products.escalation.levels.overdue.notify: unknown notify target 'handler'"),
    (lambda d: d["escalation"]["levels"]["serious"].update(offset=-10),
     "ombudsman_products.escalation.levels: levels must be listed in order of increasing offset"),
    (lambda d: d.update(extra=1), "ombudsman_products.extra: unknown key"),
])
def test_the_workflow_files_section_is_validated(change, expected):
    assert _broken(change).startswith(expected)


def test_workflow_check_names_file_key_and_reason(app, tmp_path):
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["ombudsman_products"]["kinds"]["rekomendasi"]["time_limit"]["amount"] = "enam puluh"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["workflow", "check", str(broken)])
    assert result.exit_code == 1
    assert "broken.yaml: ombudsman_products.kinds.rekomendasi.time_limit.amount: must be a whole number" in result.output
