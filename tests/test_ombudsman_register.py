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
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

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
TODAY = datetime.now(ZoneInfo("Asia/Jakarta")).date()  # the deployment's day, as the forms check it
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


def _item_of(app) -> int:
    with app.app_context():
        return db.session.scalars(select(OmbudsmanItem.id)).one()


def test_a_product_without_actions_is_open_late_and_red_once_past_its_limit(app, org):
    from test_readiness import statuses
    supervisor = signed_in(app, SUPERVISOR_A)
    received = TODAY - timedelta(days=10)
    assert send(supervisor, NEW, lahp(received_on=received.isoformat(),
                                      issued_on=received.isoformat())).status_code == 302
    pid = product_id(app)
    assert "LAHP/0123" not in get_page(supervisor, "/staff/ombudsman?status=done").html
    listing = get_page(supervisor, "/staff/ombudsman?status=open").html
    assert "LAHP/0123" in listing and "Actions not yet recorded" in listing
    assert "LAHP/0123" not in get_page(supervisor, "/staff/ombudsman?status=late").html
    assert statuses(supervisor)["ombudsman_products"] == "amber"  # within the kind's 30 days
    with app.app_context():
        db.session.get(OmbudsmanProduct, pid).received_on = TODAY - timedelta(days=45)
        db.session.get(OmbudsmanProduct, pid).issued_on = TODAY - timedelta(days=45)
        db.session.commit()
    assert "LAHP/0123" in get_page(supervisor, "/staff/ombudsman?status=late").html
    assert statuses(supervisor)["ombudsman_products"] == "red"
    assert "Actions not yet recorded" in get_page(supervisor, f"/staff/ombudsman/{pid}").html


def test_a_product_done_but_not_reported_back_turns_red_past_its_limit(app, org):
    from test_readiness import statuses
    supervisor = signed_in(app, SUPERVISOR_A)
    received = TODAY - timedelta(days=5)
    assert send(supervisor, NEW, lahp(received_on=received.isoformat(),
                                      issued_on=received.isoformat())).status_code == 302
    pid = product_id(app)
    assert send(supervisor, f"/staff/ombudsman/{pid}/items",
                {"action": "SOP", "unit": "UNIT-A", "owner": "Kabid"}).status_code == 302
    assert send(supervisor, f"/staff/ombudsman/items/{_item_of(app)}/done",
                {"done_on": TODAY.isoformat(), "evidence": "SOP terbit"}, files=[("sk.jpg", jpeg_bytes())]).status_code == 302
    assert statuses(supervisor)["ombudsman_products"] == "amber"  # done, report back not yet due
    with app.app_context():
        product = db.session.get(OmbudsmanProduct, pid)
        product.received_on = product.issued_on = TODAY - timedelta(days=40)
        db.session.commit()
    assert statuses(supervisor)["ombudsman_products"] == "red"  # the report back is past the limit
    assert send(supervisor, f"/staff/ombudsman/{pid}/reported", {"reported_back_on": TODAY.isoformat()}).status_code == 302
    assert statuses(supervisor)["ombudsman_products"] == "green"


def test_only_the_products_keepers_drop_reopen_or_change_a_deadline(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)
    item_id = _item_of(app)
    officer = signed_in(app, OFFICER_A)
    page = get_page(officer, f"/staff/ombudsman/{pid}").html
    assert "Mark done" in page and "Drop this action" not in page and "Change the deadline" not in page
    assert send(officer, f"/staff/ombudsman/items/{item_id}/drop", {"reason": "Tidak relevan"}).status_code == 403
    assert send(officer, f"/staff/ombudsman/items/{item_id}/deadline",
                {"due_on": TODAY.isoformat(), "reason": "x"}).status_code == 403
    assert "Drop this action" in get_page(supervisor, f"/staff/ombudsman/{pid}").html
    assert send(supervisor, f"/staff/ombudsman/items/{item_id}/drop", {"reason": "Dicabut"}).status_code == 302
    assert send(officer, f"/staff/ombudsman/items/{item_id}/reopen", {"reason": "x"}).status_code == 403
    assert "Reopen" not in get_page(officer, f"/staff/ombudsman/{pid}").html
    with app.app_context():
        assert db.session.get(OmbudsmanItem, item_id).status == "dropped"


def test_a_reopened_item_escalates_again(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    recorded(app, supervisor)
    item_id = _item_of(app)
    with app.app_context():
        assert sweep(now=utcnow())["ombudsman_serious"] == 1
        db.session.commit()
    assert send(supervisor, f"/staff/ombudsman/items/{item_id}/done",
                {"done_on": TODAY.isoformat(), "evidence": "SOP"}, files=[("sk.jpg", jpeg_bytes())]).status_code == 302
    assert send(supervisor, f"/staff/ombudsman/items/{item_id}/reopen", {"reason": "Belum tuntas"}).status_code == 302
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ombudsman.item_reopened")).one()
        assert '"escalations_cleared":2' in event.body
        assert sweep(now=utcnow())["ombudsman_serious"] == 1


def test_the_day_done_cannot_precede_the_action_nor_be_in_the_future(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)  # received 50 days ago, the action added today
    item_id = _item_of(app)
    url = f"/staff/ombudsman/items/{item_id}/done"
    for done_on, message in (((TODAY - timedelta(days=60)).isoformat(), "cannot be before the action was set"),
                             ((TODAY - timedelta(days=1)).isoformat(), "cannot be before the action was set"),
                             ((TODAY + timedelta(days=1)).isoformat(), "cannot be in the future")):
        refused = send(supervisor, url, {"done_on": done_on, "evidence": "SOP terbit ketik"},
                       files=[("sk.jpg", jpeg_bytes())])
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and message in body, done_on
        assert f'value="{done_on}"' in body and "SOP terbit ketik" in body  # what was typed stays
    with app.app_context():
        assert db.session.get(OmbudsmanItem, item_id).status == "open"
    assert pid


def test_the_keeper_changes_a_deadline_and_the_escalation_starts_over(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)
    item_id = _item_of(app)
    with app.app_context():
        assert sweep(now=utcnow())["ombudsman_overdue"] == 1
        db.session.commit()
    url = f"/staff/ombudsman/items/{item_id}/deadline"
    new_day = TODAY + timedelta(days=20)
    refused = send(supervisor, url, {"due_on": new_day.isoformat(), "reason": ""})
    assert refused.status_code == 422 and new_day.isoformat() in refused.get_data(as_text=True)
    assert send(supervisor, url, {"due_on": new_day.isoformat(),
                                  "reason": "Surat Ombudsman B/9/2026 memperpanjang"}).status_code == 302
    with app.app_context():
        item = db.session.get(OmbudsmanItem, item_id)
        assert item.due_at > utcnow() and item.due_explanation.startswith("changed by hand: Surat Ombudsman")
        assert db.session.scalar(select(func.count()).select_from(OmbudsmanEscalation)) == 0
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ombudsman.item_deadline_changed")).one()
        assert '"escalations_cleared":2' in event.body
        assert not any(k.startswith("ombudsman_") for k in sweep(now=utcnow()))
        later = datetime.combine(new_day + timedelta(days=2), datetime.min.time(), tzinfo=timezone.utc)
        assert sweep(now=later)["ombudsman_overdue"] == 1
    assert "Surat Ombudsman B/9/2026" in get_page(supervisor, f"/staff/ombudsman/{pid}").html


def test_the_keeper_corrects_a_product_audited_with_what_changed(app, org):
    supervisor = signed_in(app, SUPERVISOR_A)
    pid = recorded(app, supervisor)
    form = get_page(supervisor, f"/staff/ombudsman/{pid}/edit").html
    assert 'value="LAHP/0123/LM.01/2026"' in form
    url = f"/staff/ombudsman/{pid}/edit"
    assert send(signed_in(app, OFFICER_A), url, lahp(number="X")).status_code == 403
    refused = send(supervisor, url, lahp(number="LAHP/0124/LM.01/2026", units=["UNIT-B"]))
    assert refused.status_code in (403, 422)
    assert send(supervisor, url, lahp(number="LAHP/0124/LM.01/2026", title="Judul baru")).status_code == 302
    with app.app_context():
        product = db.session.get(OmbudsmanProduct, pid)
        assert (product.number, product.title) == ("LAHP/0124/LM.01/2026", "Judul baru")
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ombudsman.product_changed")).one()
        assert '"before":"LAHP/0123/LM.01/2026"' in event.body and "Judul baru" not in event.body
        assert "issued_on" not in event.body  # unchanged fields are not listed
