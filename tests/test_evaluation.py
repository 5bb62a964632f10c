"""Maladministration findings on closed complaints and the quarterly complaint evaluation report
(/staff/evaluation): the finding a founded complaint needs (data in the workflow file), recording
it on a closed complaint, the report's groups (recurring causes, forms, categories, units, the
quarter before), its improvement actions, CSV and PDF, and who may do what.

Requests run outside any pushed application context: data is built in short
`with app.app_context():` blocks."""
from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from pengaduan.errors import Forbidden, InvalidFields
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, ComplaintEvent, SupervisionRecord, Unit
from pengaduan.services import advance
from pengaduan.services.evaluation import actions as evaluation_actions
from pengaduan.services.evaluation.findings import record_finding
from pengaduan.services.evaluation.report import evaluation, quarter
from pengaduan.services.oversight.reports import pdf_missing
from pengaduan.workflow.definition import WorkflowError, parse_workflow
from test_staff import get_page, signed_in, token_of

needs_pdf = pytest.mark.skipif(
    pdf_missing() is not None and os.environ.get("PENGADUAN_REQUIRE_PDF") != "1",
    reason=str(pdf_missing()))

OFFICER_A, OFFICER_B = "officer.a@example.id", "officer.b@example.id"
SUPERVISOR_A, AUDITOR, ADMIN = "supervisor.a@example.id", "auditor@example.id", "admin@example.id"
Q3, Q2 = "2026-Q3", "2026-Q2"
QUEUE = "Antrean loket tanpa nomor urut"
FOUNDED = {"finding": "founded", "maladministration": "penundaan_berlarut", "root_cause": QUEUE}


def close(world, when: datetime, *, unit="UNIT-A", category="GENERAL", privacy="public", **finding) -> str:
    """A complaint of `unit` walked to closed by its officer with `finding`, closed at `when`."""
    officer = world.officer_a if unit == "UNIT-A" else world.officer_b
    complaint = world.file(unit=unit, category=category, privacy=privacy,
                           title=f"Pengaduan {privacy} {when:%m%d%H%M%S%f}").complaint
    advance(complaint, "verify", officer, unit=unit, category=category, classification="pengaduan")
    advance(complaint, "follow_up", officer, response="Sudah kami tindak lanjuti.")
    advance(complaint, "close", officer, resolution="Selesai.", **finding)
    complaint.closed_at = when
    db.session.commit()
    return complaint.tracking_code


def day(month: int, d: int = 10) -> datetime:
    return datetime(2026, month, d, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def quarters(ctx, world):
    """UNIT-A: in 2026-Q3 three founded complaints with the same cause (one systemic, one
    confidential), one founded for another cause, one unfounded and one closed without a finding;
    in 2026-Q2 one founded with the queue cause. UNIT-B (category ONLY-B): one founded in Q3."""
    codes = {
        "q1": close(world, day(7), **FOUNDED, systemic="yes"),
        "q2": close(world, day(8), **{**FOUNDED, "root_cause": "antrean loket  tanpa nomor urut."}),
        "q3": close(world, day(9), privacy="confidential", **FOUNDED),
        "fee": close(world, day(8, 20), finding="founded", maladministration="permintaan_imbalan",
                     root_cause="Petugas meminta uang map"),
        "no": close(world, day(9, 2), finding="unfounded"),
        "gap": close(world, day(9, 3)),
        "before": close(world, day(5), **FOUNDED),
        "b": close(world, day(8), unit="UNIT-B", category="ONLY-B", finding="founded",
                   maladministration="tidak_kompeten", root_cause="Petugas baru belum dilatih"),
    }
    return codes


def test_founded_requires_the_form_and_the_root_cause(ctx, world):
    """A founded finding names the form and the cause (findings.founded.requires in the file);
    an unfounded one takes neither; the close step carries the finding to the complaint."""
    complaint = world.file().complaint
    advance(complaint, "verify", world.officer_a, unit="UNIT-A", category="GENERAL", classification="pengaduan")
    advance(complaint, "follow_up", world.officer_a, response="Jawaban.")
    with pytest.raises(InvalidFields) as refused:
        advance(complaint, "close", world.officer_a, resolution="Selesai.", finding="founded")
    assert set(refused.value.errors) == {"maladministration", "root_cause"}
    with pytest.raises(InvalidFields) as refused:
        advance(complaint, "close", world.officer_a, resolution="Selesai.", finding="unfounded",
                maladministration="tidak_patut")
    assert set(refused.value.errors) == {"maladministration"}
    with pytest.raises(InvalidFields) as refused:
        advance(complaint, "close", world.officer_a, resolution="Selesai.", finding="founded",
                maladministration="bukan_bentuk", root_cause="x")
    assert set(refused.value.errors) == {"maladministration"}
    advance(complaint, "close", world.officer_a, resolution="Selesai.", systemic="yes", **FOUNDED)
    assert (complaint.finding, complaint.maladministration, complaint.systemic, complaint.root_cause) == (
        "founded", "penundaan_berlarut", True, QUEUE)


def test_the_workflow_file_lists_the_forms_and_checks_the_steps():
    """The ten forms are data; a step taking finding fields must take what a finding requires."""
    import yaml
    from pathlib import Path
    data = yaml.safe_load(Path("workflows/perpres76.yaml").read_text())
    parsed = parse_workflow(data)
    assert set(parsed.maladministration) == {
        "penundaan_berlarut", "tidak_memberikan_pelayanan", "tidak_kompeten", "penyalahgunaan_wewenang",
        "penyimpangan_prosedur", "permintaan_imbalan", "tidak_patut", "berpihak", "diskriminasi",
        "konflik_kepentingan"}
    assert parsed.finding_requires["founded"] == ("maladministration", "root_cause")
    close_step = next(t for t in data["transitions"] if t["trigger"] == "close")
    close_step["accepts"] = ["note", "finding", "maladministration"]
    with pytest.raises(WorkflowError) as error:
        parse_workflow(data)
    assert "root_cause" in str(error.value)


def test_recording_a_finding_on_a_complaint_closed_without_one(ctx, world, quarters):
    """A complaint closed without an officer's finding gets one later: an internal timeline step,
    audited, by the unit's staff only."""
    complaint = Complaint.by_code(quarters["gap"])
    with pytest.raises(Forbidden):
        record_finding(complaint, world.officer_b, {"finding": "unfounded"})
    with pytest.raises(Forbidden):
        record_finding(complaint, world.auditor, {"finding": "unfounded"})
    with pytest.raises(InvalidFields) as refused:
        record_finding(complaint, world.officer_a, {"finding": "founded", "maladministration": "tidak_patut"})
    assert set(refused.value.errors) == {"root_cause"}
    event = record_finding(complaint, world.officer_a, {"finding": "founded", "maladministration": "tidak_patut",
                                                       "systemic": "no", "root_cause": "Petugas membentak"})
    db.session.commit()
    assert (event.kind, event.public) == ("finding", False)
    assert complaint.finding == "founded" and complaint.root_cause == "Petugas membentak"
    audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.finding")).all()
    assert len(audited) == 1 and "Petugas" not in audited[0].body  # the words as a digest
    open_one = world.file().complaint
    with pytest.raises(InvalidFields):
        record_finding(open_one, world.officer_a, {"finding": "unfounded"})
    # Corrected to unfounded: the founded details go.
    record_finding(complaint, world.supervisor_a, {"finding": "unfounded"})
    assert (complaint.maladministration, complaint.root_cause, complaint.systemic) == (None, None, None)


def test_the_report_groups_recurring_causes_forms_categories_units(ctx, world, quarters):
    unit_a = Unit.by_code("UNIT-A")
    report = evaluation(world.supervisor_a, [unit_a], quarter(Q3), unit_a)
    assert (report.closed, report.founded, report.unfounded, report.systemic, report.gap_count) == (6, 4, 1, 1, 1)
    assert (report.previous_closed, report.previous_founded) == (1, 1)
    assert [c.tracking_code for c in report.gaps] == [quarters["gap"]]
    [queue, fee] = report.groups["cause"]
    assert (queue.founded, queue.previous, queue.systemic, queue.recurring) == (3, 1, 1, True)
    assert queue.label == QUEUE
    assert [e.code for e in queue.examples] == [quarters["q1"], quarters["q2"], quarters["q3"]]
    assert (fee.founded, fee.previous, fee.recurring) == (1, 0, False)
    assert [(g.key, g.founded, g.previous) for g in report.groups["form"]] == [
        ("form:penundaan_berlarut", 3, 1), ("form:permintaan_imbalan", 1, 0)]
    assert [(g.key, g.founded, g.closed) for g in report.groups["category"]] == [("category:GENERAL", 4, 6)]
    assert [(g.key, g.founded, g.closed) for g in report.groups["unit"]] == [("unit:UNIT-A", 4, 6)]
    every = evaluation(world.auditor, [unit_a, Unit.by_code("UNIT-B")], quarter(Q3))
    assert [(g.key, g.founded) for g in every.groups["unit"]] == [("unit:UNIT-A", 4), ("unit:UNIT-B", 1)]
    assert {g.key for g in every.groups["category"]} == {"category:GENERAL", "category:ONLY-B"}


def test_a_confidential_complaints_words_stay_hidden(ctx, world):
    """A cause found only on a confidential complaint is counted, its words shown to the unit's
    staff but not to an auditor."""
    code = close(world, day(8), privacy="confidential", finding="founded", maladministration="tidak_patut",
                 root_cause="Nama pejabat tertentu")
    unit_a = Unit.by_code("UNIT-A")
    [hidden] = evaluation(world.auditor, [unit_a], quarter(Q3), unit_a).groups["cause"]
    assert hidden.label is None and hidden.examples[0].title is None and hidden.examples[0].code == code
    [shown] = evaluation(world.supervisor_a, [unit_a], quarter(Q3), unit_a).groups["cause"]
    assert shown.label == "Nama pejabat tertentu"


def test_improvement_actions_live_on_one_supervision_record(ctx, world, quarters):
    unit_a, period = Unit.by_code("UNIT-A"), quarter(Q3)
    report = evaluation(world.supervisor_a, [unit_a], period, unit_a)
    groups = {g.key for rows in report.groups.values() for g in rows}
    cause = report.groups["cause"][0].key
    with pytest.raises(Forbidden):
        evaluation_actions.add_action(unit_a, period, world.officer_a, {})
    with pytest.raises(InvalidFields) as refused:
        evaluation_actions.add_action(unit_a, period, world.supervisor_a, {"group": "cause:nothing"})
    assert set(refused.value.errors) == {"group", "description", "owner"}
    first = evaluation_actions.add_action(unit_a, period, world.supervisor_a, {
        "group": cause, "description": "Pasang mesin nomor antrean", "owner": "Sekretariat"})
    second = evaluation_actions.add_action(unit_a, period, world.supervisor_a, {
        "group": "form:permintaan_imbalan", "description": "Sosialisasi layanan gratis", "owner": "Kabid"})
    db.session.commit()
    [record] = db.session.scalars(select(SupervisionRecord).where(SupervisionRecord.kind == "complaint_evaluation")).all()
    assert record.evaluation_period == Q3 and record.units == [unit_a] and record.actions == [first, second]
    with pytest.raises(InvalidFields) as refused:
        evaluation_actions.update_action(unit_a, period, first, world.supervisor_a, {"status": "done"})
    assert set(refused.value.errors) == {"evidence"}
    evaluation_actions.update_action(unit_a, period, first, world.supervisor_a,
                                     {"status": "done", "evidence": "Foto mesin antrean terpasang"})
    evaluation_actions.update_action(unit_a, period, second, world.supervisor_a, {"status": "dropped"})
    evaluation_actions.update_action(unit_a, period, second, world.supervisor_a, {"status": "open"})
    db.session.commit()
    assert (first.status, first.evidence, second.status) == ("done", "Foto mesin antrean terpasang", "open")
    with pytest.raises(Forbidden):  # another quarter's report does not reach it
        evaluation_actions.update_action(unit_a, quarter(Q2), first, world.supervisor_a, {"status": "open"})
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
               if e.action.startswith("supervision.")]
    assert actions == ["supervision.recorded", "supervision.action_added", "supervision.action_status",
                       "supervision.action_status", "supervision.action_status"]
    again = evaluation(world.supervisor_a, [unit_a], period, unit_a)
    assert [a.description for a in again.groups["cause"][0].actions] == ["Pasang mesin nomor antrean"]


def test_filing_the_report_with_or_without_actions_or_closed_complaints(ctx, world, quarters):
    """A supervisor files (adopts) the quarter's report without any action: the record is made,
    signed, with the figures of the day; a quarter with nothing closed is filed too."""
    from pengaduan.services.evaluation.report import record_for, recurring_groups

    unit_a = Unit.by_code("UNIT-A")
    with pytest.raises(Forbidden):
        evaluation_actions.file_report(unit_a, quarter(Q3), world.officer_a)
    record = evaluation_actions.file_report(unit_a, quarter(Q3), world.supervisor_a)
    db.session.commit()
    assert record_for(unit_a, quarter(Q3)) is record and record.actions == []
    assert record.supervisor == world.supervisor_a.user and record.units == [unit_a]
    assert record.findings == evaluation_actions.summary(unit_a, quarter(Q3), world.supervisor_a)
    assert "6" in record.findings and recurring_groups(unit_a, quarter(Q3)) > 0
    with pytest.raises(InvalidFields) as refused:  # filed once
        evaluation_actions.file_report(unit_a, quarter(Q3), world.supervisor_a)
    assert set(refused.value.errors) == {"file"}
    empty = evaluation_actions.file_report(unit_a, quarter("2026-Q1"), world.supervisor_a)
    db.session.commit()
    assert empty.findings == evaluation_actions.summary(unit_a, quarter("2026-Q1"), world.supervisor_a)
    assert ": 6" not in empty.findings and recurring_groups(unit_a, quarter("2026-Q1")) == 0
    events = [e for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
              if e.action == "supervision.recorded"]
    assert len(events) == 2 and Q3 in events[0].body and "2026-Q1" in events[1].body


def test_a_record_made_by_the_first_action_is_signed_when_filed(ctx, world, quarters):
    unit_a, period = Unit.by_code("UNIT-A"), quarter(Q3)
    action = evaluation_actions.add_action(unit_a, period, world.supervisor_a, {
        "group": "unit:UNIT-A", "description": "Tambah loket", "owner": "Sekretariat"})
    db.session.commit()
    record = action.record
    assert record.findings == evaluation_actions.summary(unit_a, period, world.supervisor_a)  # filed
    with pytest.raises(InvalidFields):
        evaluation_actions.file_report(unit_a, period, world.supervisor_a)


def test_readiness_of_the_evaluation_report(ctx, world, quarters, monkeypatch):
    """Not filed: red; filed without actions while a group recurs: amber; filed without actions
    when nothing recurs: green; with an action: green."""
    from datetime import date
    from pengaduan.services.readiness import sources

    unit_a = Unit.by_code("UNIT-A")

    def status(on):
        params = {"kind": "complaint_evaluation", "quarters_back": 1, "require_actions": True}
        return sources.evaluation_report(sources.Context(on), [unit_a], params)[unit_a.id].status

    monkeypatch.setattr(evaluation_actions, "local_today", lambda unit, at=None: date(2026, 7, 5))
    assert status(date(2026, 10, 20)) == "red"
    evaluation_actions.file_report(unit_a, quarter(Q3), world.supervisor_a)
    evaluation_actions.file_report(unit_a, quarter(Q2), world.supervisor_a)
    db.session.commit()
    assert status(date(2026, 10, 20)) == "amber"  # the queue cause recurs, no action
    assert status(date(2026, 7, 20)) == "green"  # Q2: one founded complaint, nothing recurs
    evaluation_actions.add_action(unit_a, quarter(Q3), world.supervisor_a, {
        "group": "unit:UNIT-A", "description": "Tambah loket", "owner": "Sekretariat", "due_on": "2026-12-01"})
    db.session.commit()
    assert status(date(2026, 10, 20)) == "green"


def test_a_reopened_complaint_loses_the_finding_of_its_undone_closure(ctx, world, quarters):
    """Reopened, the old finding does not count; closed again, it takes the new one."""
    complaint = Complaint.by_code(quarters["q1"])
    advance(complaint, "reopen", world.supervisor_a, reason="Masalah muncul lagi.")
    db.session.commit()
    assert (complaint.finding, complaint.maladministration, complaint.systemic, complaint.root_cause) == (
        None, None, None, None)
    before = evaluation(world.supervisor_a, [Unit.by_code("UNIT-A")], quarter(Q3), Unit.by_code("UNIT-A"))
    assert quarters["q1"] not in [e.code for e in before.groups["cause"][0].examples]
    advance(complaint, "follow_up", world.officer_a, response="Ditindaklanjuti lagi.")
    advance(complaint, "close", world.officer_a, resolution="Selesai.", finding="unfounded")
    db.session.commit()
    assert (complaint.finding, complaint.root_cause) == ("unfounded", None)


def _seeded(app):
    from organisation import organisation, seed_world
    with app.app_context():
        seed_world()
        world = organisation()
        codes = {"q1": close(world, day(7), **FOUNDED, systemic="yes"), "q2": close(world, day(8), **FOUNDED),
                 "gap": close(world, day(9, 3))}
        return codes


def test_the_pages_csv_and_who_reads_them(app):
    codes = _seeded(app)
    url = f"/staff/evaluation?unit=UNIT-A&period={Q3}"
    supervisor = signed_in(app, SUPERVISOR_A)
    page = get_page(supervisor, url)
    assert QUEUE in page.html and codes["q1"] in page.html and "recurring" in page.html
    assert f'href="/staff/complaints/{codes["gap"]}#finding"' in page.html
    assert 'id="new-action"' in page.html
    assert signed_in(app, OFFICER_A).get(url).status_code == 403
    assert signed_in(app, AUDITOR).get(url).status_code == 200
    assert 'id="new-action"' not in get_page(signed_in(app, AUDITOR), url).html
    assert signed_in(app, ADMIN).get(f"/staff/evaluation?period={Q3}").status_code == 200
    assert supervisor.get(f"/staff/evaluation?unit=UNIT-B&period={Q3}").status_code == 404
    assert supervisor.get(f"/staff/evaluation?unit=UNIT-A&period=2026-13").status_code == 422
    rows = list(csv.reader(io.StringIO(supervisor.get(url + "&format=csv").get_data(as_text=True))))
    cause = next(r for r in rows if r and r[0] == "cause")
    assert cause[2:8] == [QUEUE, "2", "2", "0", "1", "yes"]
    assert ["without_finding", codes["gap"]] == next(r for r in rows if r and r[0] == "without_finding" and r[1] != "tracking_code")[:2]


def test_actions_and_findings_through_the_pages(app):
    codes = _seeded(app)
    supervisor = signed_in(app, SUPERVISOR_A)
    token = token_of(supervisor)
    with app.app_context():
        unit_a = Unit.by_code("UNIT-A")
        from pengaduan.policy import Actor
        from pengaduan.models import User
        report = evaluation(Actor.staff(User.by_email(SUPERVISOR_A)), [unit_a], quarter(Q3), unit_a)
        cause = report.groups["cause"][0].key
    form = {"csrf_token": token, "unit": "UNIT-A", "period": Q3, "group": cause,
            "description": "Pasang mesin nomor antrean", "owner": "Sekretariat"}
    refused = supervisor.post("/staff/evaluation/actions", data={**form, "description": ""})
    assert refused.status_code == 422
    done = supervisor.post("/staff/evaluation/actions", data=form)
    assert done.status_code == 302 and "/staff/evaluation?unit=UNIT-A&period=2026-Q3#actions" in done.headers["Location"]
    assert supervisor.post("/staff/evaluation/actions", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 400
    officer = signed_in(app, OFFICER_A)
    assert officer.post("/staff/evaluation/actions", data={**form, "csrf_token": token_of(officer)}).status_code == 403
    # The finding of the complaint closed without one, from its case page.
    case = get_page(officer, f"/staff/complaints/{codes['gap']}")
    assert 'id="finding"' in case.html and 'data-step="finding"' in case.html  # among what to do now
    assert "<details class=\"reveal\" open>" in get_page(officer, f"/staff/complaints/{codes['gap']}?step=finding").html
    sent = officer.post(f"/staff/complaints/{codes['gap']}/finding",
                        data={"csrf_token": token_of(officer), "finding": "founded"})
    assert sent.status_code == 422
    sent = officer.post(f"/staff/complaints/{codes['gap']}/finding", data={
        "csrf_token": token_of(officer), "finding": "founded", "maladministration": "penyimpangan_prosedur",
        "systemic": "no", "root_cause": QUEUE})
    assert sent.status_code == 302
    with app.app_context():
        complaint = Complaint.by_code(codes["gap"])
        assert complaint.finding == "founded"
        [event] = db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id,
                                                                  ComplaintEvent.kind == "finding")).all()
        assert not event.public
    assert 'data-step="finding"' not in get_page(officer, f"/staff/complaints/{codes['gap']}").html
    # Filing the report from its page: the page then says who filed it.
    page = get_page(supervisor, f"/staff/evaluation?unit=UNIT-A&period={Q2}")
    assert 'action="/staff/evaluation/file"' in page.html and "No complaint was closed" in page.html
    filed = supervisor.post("/staff/evaluation/file", data={"csrf_token": token, "unit": "UNIT-A", "period": Q2})
    assert filed.status_code == 302 and filed.headers["Location"].endswith("#filed")
    page = get_page(supervisor, f"/staff/evaluation?unit=UNIT-A&period={Q2}")
    assert "Filed on" in page.html and 'action="/staff/evaluation/file"' not in page.html
    assert supervisor.post("/staff/evaluation/file", data={"csrf_token": token, "unit": "UNIT-A",
                                                             "period": Q2}).status_code == 422
    assert officer.post("/staff/evaluation/file", data={"csrf_token": token_of(officer), "unit": "UNIT-A",
                                                          "period": Q2}).status_code == 403
    other = signed_in(app, OFFICER_B)
    assert other.post(f"/staff/complaints/{codes['gap']}/finding",
                      data={"csrf_token": token_of(other), "finding": "unfounded"}).status_code == 404


def test_the_close_form_keeps_what_was_typed_when_the_founded_rule_refuses(app):
    from organisation import organisation, seed_world
    from test_staff import act
    with app.app_context():
        seed_world()
        world = organisation()
        complaint = world.file(unit="UNIT-A", category="GENERAL", title="Antrean panjang").complaint
        advance(complaint, "verify", world.officer_a, unit="UNIT-A", category="GENERAL", classification="pengaduan")
        advance(complaint, "follow_up", world.officer_a, response="Sudah kami tindak lanjuti.")
        db.session.commit()
        code = complaint.tracking_code
    officer = signed_in(app, OFFICER_A)
    refused = act(officer, code, "close", resolution="Loket ditambah.", finding="founded",
                  root_cause="Petugas loket kurang")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Loket ditambah." in html and "Petugas loket kurang" in html
    assert '<option value="founded" selected' in html


def test_the_demo_files_its_findings_once_across_quarters(app, runner):
    from datetime import timedelta
    from sqlalchemy import func
    from pengaduan.models import utcnow
    from pengaduan.services.administration import demo

    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    with app.app_context():
        count = db.session.scalar(select(func.count(Complaint.id)))
        assert demo._evaluation(utcnow() + timedelta(days=95)) == []  # seeded again a quarter later
        assert db.session.scalar(select(func.count(Complaint.id))) == count


@needs_pdf
def test_the_pdf(app):
    _seeded(app)
    response = signed_in(app, SUPERVISOR_A).get(f"/staff/evaluation?unit=UNIT-A&period={Q3}&format=pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")


def test_the_evidence_pack_carries_the_quarters_reports_and_actions(ctx, world, quarters, tmp_path):
    """A pack of July to September 2026 holds UNIT-A's 2026-Q3 report (the confidential cause's
    words left out) and its actions; it verifies, and a report that does not add up is named."""
    import zipfile
    from datetime import date
    from pengaduan.audit.checkpoints import public_key_hex, signing_key
    from pengaduan.evidence import export_pack, verify
    from pengaduan.evidence.verify_pack import Report, _check_evaluation
    from pengaduan.policy import Actor

    unit_a, period = Unit.by_code("UNIT-A"), quarter(Q3)
    report = evaluation(world.supervisor_a, [unit_a], period, unit_a)
    action = evaluation_actions.add_action(unit_a, period, world.supervisor_a, {
        "group": report.groups["cause"][0].key, "description": "Pasang mesin antrean", "owner": "Sekretariat"})
    evaluation_actions.update_action(unit_a, period, action, world.supervisor_a,
                                     {"status": "done", "evidence": "Foto mesin"})
    db.session.commit()
    out = tmp_path / "pack.zip"
    manifest = export_pack(out, date(2026, 7, 1), date(2026, 9, 30), unit_a, actor=Actor.cli("test"))
    db.session.commit()
    assert manifest["counts"]["evaluation_reports"] == 1 and manifest["counts"]["evaluation_actions"] == 1
    with zipfile.ZipFile(out) as pack:
        rows = list(csv.reader(io.StringIO(pack.read("evaluation/UNIT-A-2026-Q3.csv").decode())))
        actions = list(csv.reader(io.StringIO(pack.read("evaluation/actions.csv").decode())))
    assert rows[1][:7] == ["total", "", "", "4", "6", "1", "1"]
    assert ["cause", QUEUE, "3"] == [rows[2][0], rows[2][2], rows[2][3]]
    assert ["without_finding", quarters["gap"]] == [rows[-1][0], rows[-1][8]]
    assert actions[1][1:4] == ["UNIT-A", Q3, report.groups["cause"][0].key] and actions[1][7] == "done"
    problems, _summary = verify(str(out), public_key_hex(signing_key()))
    assert problems == []
    # The checks themselves: totals that the units do not make are named.
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as pack:
        pack.writestr("evaluation/UNIT-A-2026-Q3.csv", "section,group,label,founded,closed,previous_founded,"
                      "systemic,recurring,examples\ntotal,,,5,6,0,1,,\nunit,unit:UNIT-A,Dinas A,4,6,0,1,no,\n")
        pack.writestr("evaluation/actions.csv", "id,unit,period,group,description,owner,due_on,status,"
                      "completed_on,evidence\n1,UNIT-A,2026-Q3,unit:UNIT-A,x,y,,done,,\n")
    found = Report()
    with zipfile.ZipFile(broken) as pack:
        _check_evaluation(pack, {"unit": "UNIT-A"}, found)
    assert len(found.problems) == 2
