"""A civil servant edits the workflow file: a renamed closure reason, expiry trigger or step
keeps working, and a file that drops a name the database still uses is refused in words."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from pengaduan.errors import InvalidFields
from pengaduan.extensions import db
from pengaduan.models import Complaint, ComplaintEvent
from pengaduan.services import advance
from pengaduan.workflow.definition import WorkflowError, parse_workflow
from pengaduan.workflow.in_use import WorkflowMismatch, missing_in_use, refuse_if_missing

SHIPPED = Path(__file__).resolve().parent.parent / "workflows" / "perpres76.yaml"
BASE = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def definition() -> dict:
    return copy.deepcopy(BASE)


def rename_trigger(data: dict, old: str, new: str) -> dict:
    """Rename a trigger everywhere the file names it (its transition and the clocks)."""
    for transition in data["transitions"]:
        if transition["trigger"] == old:
            transition["trigger"] = new
        for field, source in (transition.get("prefill") or {}).items():
            transition["prefill"][field] = new if source == old else source
        if "not_by" in transition:
            transition["not_by"] = [new if name == old else name for name in transition["not_by"]]
    for rule in data["sla"].values():
        for key in ("start", "stop"):
            rule[key] = [new if name == old else name for name in rule.get(key, [])]
        if rule.get("on_expiry") == old:
            rule["on_expiry"] = new
    return data


def rename_state(data: dict, old: str, new: str) -> dict:
    data["states"][new] = data["states"].pop(old)
    for transition in data["transitions"]:
        sources = transition["source"] if isinstance(transition["source"], list) else [transition["source"]]
        transition["source"] = [new if s == old else s for s in sources]
        transition["dest"] = new if transition["dest"] == old else transition["dest"]
    for rule in data["sla"].values():
        rule["pause_in"] = [new if s == old else s for s in rule.get("pause_in", [])]
    return data


def rename_closure_reason(data: dict, old: str, new: str) -> dict:
    data["closure_reasons"][new] = data["closure_reasons"].pop(old)
    for transition in data["transitions"]:
        if "closure_reasons" in transition:
            transition["closure_reasons"] = [new if r == old else r for r in transition["closure_reasons"]]
        if transition.get("closure_reason") == old:
            transition["closure_reason"] = new
    return data


def world_app():
    """The app of the test's application context."""
    return current_app._get_current_object()


def install(app, data: dict):
    """Put a workflow in force for this app, as PENGADUAN_WORKFLOW would."""
    workflow = parse_workflow(data, "edited.yaml")
    app.extensions["pengaduan.workflow"] = workflow
    return workflow


# --- closure reasons carry their required fields ----------------------------------------

@pytest.mark.parametrize("reason, needed", [("referred", "referred_to"), ("duplicate", "duplicate_of")])
def test_a_renamed_closure_reason_still_requires_its_field(world, reason, needed):
    """Renaming `referred` or `duplicate` keeps the rule that goes with it: the field the
    reason requires moves with the reason, so no guard is silently left behind."""
    install(world_app(), rename_closure_reason(definition(), reason, "alasan_baru"))
    complaint = world.file().complaint
    with pytest.raises(InvalidFields) as info:
        advance(complaint, "reject", world.officer_a, reason="Bukan kewenangan kami.",
                closure_reason="alasan_baru")
    assert set(info.value.errors) == {needed}
    assert complaint.state == "received"


def test_a_closure_reason_requiring_what_its_step_does_not_take_is_refused():
    data = definition()
    reject = next(t for t in data["transitions"] if t["trigger"] == "reject")
    reject["accepts"].remove("referred_to")
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, "edited.yaml")
    assert info.value.key == "transitions[4]"
    assert "closure reason 'referred' requires referred_to" in info.value.reason


def test_a_file_still_naming_the_retired_guard_is_told_where_the_rule_went():
    data = definition()
    next(t for t in data["transitions"] if t["trigger"] == "reject")["guards"] = [
        "referral_or_duplicate_named"]
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, "edited.yaml")
    assert info.value.key == "transitions[4].guards"
    assert "closure_reasons.<reason>.requires" in info.value.reason


# --- reminder texts come from the file --------------------------------------------------

def _reminder(complaint, rule, locale="en") -> str:
    with force_locale(locale):
        return render_template("emails/reminder.txt", complaint=complaint, rule=rule,
                               due=datetime(2026, 12, 3, 16, 59, 59, tzinfo=timezone.utc))


def test_a_renamed_expiry_trigger_keeps_each_reminders_own_words(world):
    """Renaming `expire_info` once put the reply window's words into the information
    window's reminder; each clock now carries its own text."""
    workflow = install(world_app(), rename_trigger(definition(), "expire_info", "anggap_dicabut"))
    complaint = world.file().complaint
    with world_app().test_request_context():
        info = _reminder(complaint, workflow.sla["info_window"])
        reply = _reminder(complaint, workflow.sla["reply_window"])
        info_id = _reminder(complaint, workflow.sla["info_window"], "id")
    assert "the complaint is deemed withdrawn" in info and "accept nor dispute" not in info
    assert "neither accept nor dispute" in reply
    assert "pengaduan dianggap dicabut" in info_id and "{due}" not in info_id
    assert "3 Dec 2026 23:59" in info  # the deadline in the unit's time


def test_a_reminding_clock_without_its_text_is_refused():
    data = definition()
    del data["sla"]["info_window"]["reminder"]
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, "edited.yaml")
    assert info.value.key == "sla.info_window.reminder"


def test_a_reminder_naming_anything_but_the_deadline_is_refused():
    data = definition()
    data["sla"]["info_window"]["reminder"]["en"] = "Reply by {deadline}."
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, "edited.yaml")
    assert (info.value.key, info.value.reason) == (
        "sla.info_window.reminder.en", "may name only {due} in braces")


# --- the demo walks whatever workflow is loaded -----------------------------------------

def test_demo_seed_walks_a_workflow_whose_every_trigger_was_renamed(app, runner):
    """`demo seed` (and `run.py --demo`) once crashed on any renamed trigger."""
    data = definition()
    for trigger in [t["trigger"] for t in BASE["transitions"]]:
        rename_trigger(data, trigger, f"langkah_{trigger}")
    workflow = install(app, data)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        fired = set(db.session.scalars(select(ComplaintEvent.trigger).where(
            ComplaintEvent.kind == "transition")))
        states = set(db.session.scalars(select(Complaint.state)))
    manual = {t.trigger for t in workflow.transitions if t.roles != ("system",)}
    assert {"langkah_verify", "langkah_request_info", "langkah_reject", "langkah_withdraw",
            "langkah_follow_up"} <= fired <= manual
    assert states == set(workflow.states)


# --- a file lacking what the database uses is refused before it serves ------------------

@pytest.fixture
def waiting(world):
    """A complaint waiting for information (state awaiting_info, trigger request_info)."""
    complaint = world.file().complaint
    advance(complaint, "request_info", world.officer_a, message="Mohon lampirkan foto KTP.")
    db.session.commit()
    return complaint


def test_the_shipped_file_fits_a_database_in_use(waiting, world):
    assert missing_in_use(world_app().extensions["pengaduan.workflow"], db.session) == []


def test_a_file_without_a_running_clock_is_refused(waiting):
    data = definition()
    data["sla"]["jendela_info"] = data["sla"].pop("info_window")
    workflow = parse_workflow(data, "edited.yaml")
    assert missing_in_use(workflow, db.session) == [
        "sla: clock 'info_window' is missing, but 1 complaint(s) have it running"]


def test_start_up_refuses_a_file_lacking_a_state_in_use(waiting):
    """`python run.py` stops with the reasons instead of serving 500s."""
    workflow = install(world_app(), rename_state(definition(), "awaiting_info", "menunggu"))
    with pytest.raises(WorkflowMismatch) as info:
        refuse_if_missing(workflow, db.session)
    assert str(info.value) == "edited.yaml: states: 'awaiting_info' is missing, but 1 complaint(s) are in it"


def test_each_event_names_the_workflow_it_happened_under(waiting, world):
    """The timeline keeps which file (name and version) was in force at each step."""
    data = definition()
    data["version"] = 2
    install(world_app(), data)
    advance(waiting, "provide_info", world_citizen(waiting), message="Foto KTP terlampir.")
    db.session.flush()
    assert [(e.kind, e.workflow_name, e.workflow_version) for e in waiting.events] == [
        ("filed", "perpres76", 1), ("transition", "perpres76", 1), ("transition", "perpres76", 2)]


def world_citizen(complaint):
    from pengaduan.policy import Actor

    return Actor.citizen(complaint)


def test_a_closure_reason_is_a_label_or_a_label_with_the_fields_it_requires():
    data = definition()
    data["closure_reasons"]["referred"]["requires"] = ["agency"]
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, "edited.yaml")
    assert (info.value.key, info.value.reason) == (
        "closure_reasons.referred.requires", "unknown field 'agency'")
    data = definition()
    data["closure_reasons"]["referred"]["because"] = "x"
    with pytest.raises(WorkflowError) as info:
        parse_workflow(data, "edited.yaml")
    assert (info.value.key, info.value.reason) == ("closure_reasons.referred.because", "unknown key")
    workflow = parse_workflow(definition(), "edited.yaml")
    assert workflow.closure_requires["referred"] == ("referred_to",)
    assert workflow.closure_requires["rejected"] == ()
    assert workflow.closure_reasons["referred"] == {"id": "Dilimpahkan ke instansi lain", "en": "Referred elsewhere"}
