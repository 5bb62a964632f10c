"""The workflow service `advance`: every transition of the default workflow, who may fire it,
its fields and side effects, optimistic locking, and the SLA clocks it moves."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update

from pengaduan.unit_of_work import UnitOfWork
from pengaduan.errors import (
    ConcurrentChange,
    DomainError,
    Forbidden,
    InvalidFields,
    TriggerNotAllowed,
)
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, ComplaintEvent, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.workflow import current_workflow

WIB = ZoneInfo("Asia/Jakarta")


class Case(NamedTuple):
    trigger: str
    source: str
    dest: str
    closure_reason: str | None
    roles: tuple[str, ...]


# The default workflow as the domain describes it (domain.md section 3): the specification,
# written out by hand so that a change to workflows/perpres76.yaml shows up here.
CASES = [
    Case("verify", "received", "verified", None, ("officer", "supervisor")),
    Case("request_info", "received", "awaiting_info", None, ("officer", "supervisor")),
    Case("provide_info", "awaiting_info", "received", None, ("citizen",)),
    Case("expire_info", "awaiting_info", "closed", "deemed_withdrawn", ("system",)),
    Case("reject", "received", "closed", "rejected", ("officer", "supervisor")),
    Case("reassign", "verified", "verified", None, ("officer", "supervisor")),
    Case("follow_up", "verified", "followed_up", None, ("officer", "supervisor")),
    Case("close", "followed_up", "closed", "resolved", ("officer", "supervisor")),
    Case("accept", "followed_up", "closed", "resolved", ("citizen",)),
    Case("dispute", "followed_up", "verified", None, ("citizen",)),
    Case("auto_close", "followed_up", "closed", "auto_closed", ("system",)),
    Case("withdraw", "received", "closed", "withdrawn", ("citizen",)),
    Case("withdraw", "awaiting_info", "closed", "withdrawn", ("citizen",)),
    Case("withdraw", "verified", "closed", "withdrawn", ("citizen",)),
    Case("reopen", "closed", "verified", None, ("supervisor",)),
]
CASE_OF = {case.trigger: case for case in CASES}  # withdraw: any of its sources will do
PRIVATE_TRIGGERS = {"reassign"}  # kept off the complainant's public timeline

# Who may act, as seen from a complaint of UNIT-A.
ROLES = ("officer", "supervisor", "citizen", "system",
         "officer_other_unit", "auditor", "admin", "citizen_other_complaint")
OUTSIDERS = ("officer_other_unit", "admin", "citizen_other_complaint")

VERIFY = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
VALID_FIELDS = {
    "verify": VERIFY,
    "request_info": {"message": "Mohon lampirkan nomor registrasi."},
    "provide_info": {"message": "Nomor registrasi 3201-0001."},
    "expire_info": {},
    "reject": {"reason": "Bukan pengaduan pelayanan publik.", "closure_reason": "rejected"},
    "reassign": {"unit": "UNIT-B", "reason": "Kewenangan Dinas B."},
    "follow_up": {"response": "Sudah kami proses."},
    "close": {"resolution": "KTP-el sudah diserahkan."},
    "accept": {"rating": 5, "comment": "Terima kasih."},
    "dispute": {"comment": "KTP-el belum saya terima."},
    "auto_close": {},
    "withdraw": {"comment": "Sudah selesai sendiri."},
    "reopen": {"reason": "Pelapor melapor lagi."},
}
# The officer's way from filing to each state.
ROUTE = {
    "received": [],
    "awaiting_info": ["request_info"],
    "verified": ["verify"],
    "followed_up": ["verify", "follow_up"],
    "closed": ["verify", "follow_up", "close"],
}
# What each role may fire in each state, in workflow order (the 409 answer's list).
ALLOWED = {
    "received": {"officer": ["verify", "request_info", "reject"],
                 "supervisor": ["verify", "request_info", "reject"],
                 "citizen": ["withdraw"], "system": [], "auditor": []},
    "awaiting_info": {"officer": [], "supervisor": [],
                      "citizen": ["provide_info", "withdraw"], "system": ["expire_info"],
                      "auditor": []},
    "verified": {"officer": ["reassign", "follow_up"], "supervisor": ["reassign", "follow_up"],
                 "citizen": ["withdraw"], "system": [], "auditor": []},
    "followed_up": {"officer": ["close"], "supervisor": ["close"],
                    "citizen": ["accept", "dispute"], "system": ["auto_close"], "auditor": []},
    "closed": {"officer": [], "supervisor": ["reopen"], "citizen": [], "system": [],
               "auditor": []},
}
WRONG_TRIGGER = {"received": "close", "awaiting_info": "close", "verified": "close",
                 "followed_up": "verify", "closed": "verify"}
SELF = object()  # stands for the complaint's own tracking code in field values
OMIT = object()  # drops a field from the valid ones


# -- helpers -------------------------------------------------------------------------------


def digested(fields: dict) -> dict:
    """Free text as the audit chain keeps it: SHA-256 and length, never the words."""
    text = {"message", "response", "resolution", "reason", "referred_to", "note", "comment"}
    return {name: {"sha256": hashlib.sha256(value.encode()).hexdigest(), "length": len(value)}
            if name in text else value for name, value in fields.items()}


def complaint_in(world, state: str) -> Complaint:
    """File a UNIT-A complaint, walk it to `state` as the unit's officer, and commit."""
    complaint = world.file().complaint
    for trigger in ROUTE[state]:
        advance(complaint, trigger, world.officer_a, **VALID_FIELDS[trigger])
    db.session.commit()
    return complaint


def actor_for(world, role: str, complaint: Complaint) -> Actor:
    """The actor playing `role` towards a complaint of UNIT-A."""
    if role == "citizen":
        return Actor.citizen(complaint)
    if role == "citizen_other_complaint":
        return Actor.citizen(world.file(title="Pengaduan lain").complaint)
    if role == "system":
        return Actor.system()
    return {"officer": world.officer_a, "supervisor": world.supervisor_a,
            "officer_other_unit": world.officer_b, "auditor": world.auditor,
            "admin": world.admin}[role]


def audit_head() -> int:
    """Sequence number of the newest audit event (0 for an empty chain)."""
    return db.session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0)))


def audit_rows(complaint: Complaint, action: str) -> list[AuditEvent]:
    """The complaint's audit events with this action."""
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.complaint_code == complaint.tracking_code, AuditEvent.action == action)))


def fields_with(trigger: str, overrides: dict, complaint: Complaint) -> dict:
    """Valid fields for `trigger` with some replaced (SELF: own code, OMIT: left out)."""
    fields = {**VALID_FIELDS[trigger], **overrides}
    return {name: complaint.tracking_code if value is SELF else value
            for name, value in fields.items() if value is not OMIT}


def refused(complaint: Complaint, error: type[DomainError], trigger: str, actor: Actor,
            **fields) -> DomainError:
    """Fire a failing call; check nothing changed in memory, database or audit chain."""
    state, version, events, head = (complaint.state, complaint.version,
                                    len(complaint.events), audit_head())
    with pytest.raises(error) as caught:
        advance(complaint, trigger, actor, **fields)
    assert (complaint.state, complaint.version, len(complaint.events)) == (state, version, events)
    db.session.rollback()
    db.session.commit()
    db.session.refresh(complaint)
    assert (complaint.state, complaint.version, len(complaint.events)) == (state, version, events)
    assert audit_head() == head
    return caught.value


def outcome(call) -> str:
    """The name of the domain error a call raised, or 'fired' (then rolled back)."""
    try:
        call()
    except DomainError as exc:
        return type(exc).__name__
    db.session.rollback()
    return "fired"


def wib_end_of(year: int, month: int, day: int) -> datetime:
    """23:59:59 Western Indonesian Time on that day, where deadlines end."""
    return datetime(year, month, day, 23, 59, 59, tzinfo=WIB)


# -- 1. every transition, for every role allowed to fire it ------------------------------

def _category_states(workflow) -> set[str]:
    """The states only steps offered for some categories reach (a follow-up under review):
    they and those steps are the verification of follow-up's, test_follow_up_verification.py."""
    some = [t for t in workflow.transitions if t.categories is not None]
    return {t.dest for t in some} - {t.dest for t in workflow.transitions if t not in some}


def test_cases_cover_every_transition_of_the_default_workflow(ctx):
    """The table above lists exactly the workflow's transitions, sources and roles."""
    workflow = current_workflow()
    theirs = _category_states(workflow)
    in_workflow = {(t.trigger, source, t.dest, t.roles)
                   for t in workflow.transitions for source in t.sources
                   if t.categories is None and source not in theirs}
    assert {(c.trigger, c.source, c.dest, c.roles) for c in CASES} == in_workflow


@pytest.mark.parametrize("case, role", [
    pytest.param(case, role, id=f"{case.trigger}-from-{case.source}-by-{role}")
    for case in CASES for role in case.roles
])
def test_allowed_role_fires_transition(world, case, role):
    """Each allowed role moves the complaint, records the timeline and audits on commit."""
    complaint = complaint_in(world, case.source)
    actor = actor_for(world, role, complaint)
    version, fields, at = complaint.version, VALID_FIELDS[case.trigger], utcnow()

    event = advance(complaint, case.trigger, actor, expected_version=version, at=at, **fields)

    assert complaint.state == case.dest
    assert complaint.closure_reason == case.closure_reason
    assert complaint.closed_at == (at if case.dest == "closed" else None)
    assert complaint.version == version + 1
    assert event is complaint.events[-1]
    assert (event.kind, event.trigger, event.from_state, event.to_state, event.public) == (
        "transition", case.trigger, case.source, case.dest,
        case.trigger not in PRIVATE_TRIGGERS)
    assert (event.actor_role, event.actor_id) == (actor.role, actor.user.id if actor.user else None)
    assert event.data == fields
    assert event.occurred_at == at
    queued = UnitOfWork.of(db.session).audit_events[-1]
    assert queued[:3] == (actor.label, f"complaint.{case.trigger}", complaint.tracking_code)
    assert audit_rows(complaint, f"complaint.{case.trigger}") == []  # written only on commit

    db.session.commit()

    [row] = audit_rows(complaint, f"complaint.{case.trigger}")
    assert row.seq == audit_head() and row.actor == actor.label
    payload = json.loads(row.body)["payload"]
    assert payload == {"from": case.source, "to": case.dest, "version": version + 1,
                       "event_id": event.id, "fields": digested(fields),
                       "closure_reason": case.closure_reason}
    stored = db.session.get(ComplaintEvent, event.id)
    assert (stored.trigger, stored.from_state, stored.to_state, stored.data) == (
        case.trigger, case.source, case.dest, fields)
    assert db.session.get(Complaint, complaint.id).state == case.dest


def test_rolled_back_advance_leaves_no_trace(world):
    """A transition whose unit of work is rolled back writes neither state nor audit event."""
    complaint = complaint_in(world, "received")
    head = audit_head()
    advance(complaint, "verify", world.officer_a, **VERIFY)
    db.session.rollback()
    db.session.commit()
    assert (complaint.state, complaint.version) == ("received", 1)
    assert [e.kind for e in complaint.events] == ["filed"]
    assert audit_head() == head


# -- 2. roles that may not fire a transition ---------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.trigger}-from-{c.source}")
def test_other_roles_are_forbidden(world, case):
    """Every role not allowed to fire a transition gets Forbidden, with valid fields."""
    complaint = complaint_in(world, case.source)
    others = [role for role in ROLES if role not in case.roles]
    actors = {role: actor_for(world, role, complaint) for role in others}
    head = audit_head()
    outcomes = {
        role: outcome(lambda: advance(complaint, case.trigger, actor,
                                      **VALID_FIELDS[case.trigger]))
        for role, actor in actors.items()
    }
    assert outcomes == dict.fromkeys(others, "Forbidden")
    db.session.rollback()
    db.session.commit()
    assert complaint.state == case.source
    assert audit_head() == head


@pytest.mark.parametrize("state", ROUTE)
def test_outsiders_are_forbidden_whatever_they_fire(world, state):
    """Another unit's officer, an admin and another complaint's citizen learn nothing."""
    complaint = complaint_in(world, state)
    actors = {role: actor_for(world, role, complaint) for role in OUTSIDERS}
    triggers = sorted({case.trigger for case in CASES}) + ["escalate"]
    outcomes = {
        (role, trigger): outcome(lambda: advance(complaint, trigger, actor,
                                                 **VALID_FIELDS.get(trigger, {})))
        for role, actor in actors.items()
        for trigger in triggers
    }
    assert outcomes == dict.fromkeys(outcomes, "Forbidden")
    assert complaint.state == state


def test_forbidden_call_changes_nothing(world):
    """A Forbidden call leaves state, version and audit chain as they were."""
    complaint = complaint_in(world, "received")
    refused(complaint, Forbidden, "verify", world.officer_b, **VERIFY)
    refused(complaint, Forbidden, "verify", Actor.citizen(complaint), **VERIFY)


# -- 3. triggers not available in the current state --------------------------------------

@pytest.mark.parametrize("state, role", [
    (state, role) for state, by_role in ALLOWED.items() for role in by_role
])
def test_wrong_state_lists_the_triggers_the_actor_may_fire(world, state, role):
    """A trigger from another state, or an unknown one, answers with what the actor may do."""
    complaint = complaint_in(world, state)
    actor = actor_for(world, role, complaint)
    for trigger in (WRONG_TRIGGER[state], "escalate"):
        error = refused(complaint, TriggerNotAllowed, trigger, actor)
        assert (error.trigger, error.state, error.allowed) == (trigger, state, ALLOWED[state][role])
        assert error.to_dict()["allowed_triggers"] == ALLOWED[state][role]


def test_officer_trying_to_close_a_received_complaint(world):
    """Close on a received complaint answers with the officer's three options."""
    complaint = complaint_in(world, "received")
    error = refused(complaint, TriggerNotAllowed, "close", world.officer_a,
                    resolution="Sudah selesai.")
    assert error.allowed == ["verify", "request_info", "reject"]


@pytest.mark.parametrize("trigger", ["file", "query", "state", ""])
def test_reserved_or_empty_trigger_names_are_not_triggers(world, trigger):
    """Names that are not transitions (filing, model attributes) are refused like unknowns."""
    complaint = complaint_in(world, "received")
    error = refused(complaint, TriggerNotAllowed, trigger, world.officer_a)
    assert error.allowed == ["verify", "request_info", "reject"]


# -- 4. required and invalid fields ------------------------------------------------------

REQUIRED = [
    ("verify", "unit"), ("verify", "category"), ("verify", "classification"),
    ("request_info", "message"), ("provide_info", "message"),
    ("reject", "reason"), ("reject", "closure_reason"),
    ("reassign", "unit"), ("reassign", "reason"),
    ("follow_up", "response"), ("close", "resolution"), ("dispute", "comment"),
    ("reopen", "reason"),
]


@pytest.mark.parametrize("trigger, field", REQUIRED, ids=[f"{t}-{f}" for t, f in REQUIRED])
@pytest.mark.parametrize("missing", [OMIT, "   "], ids=["absent", "blank"])
def test_missing_required_field(world, trigger, field, missing):
    """Each required field, absent or blank, is named in InvalidFields."""
    case = CASE_OF[trigger]
    complaint = complaint_in(world, case.source)
    actor = actor_for(world, case.roles[0], complaint)
    error = refused(complaint, InvalidFields, trigger, actor,
                    **fields_with(trigger, {field: missing}, complaint))
    with force_locale("en"):
        assert {name: str(message) for name, message in error.errors.items()} == {field: "is required"}


def test_required_fields_match_the_workflow(ctx):
    """The list above is every field the default workflow requires."""
    workflow = current_workflow()
    theirs = _category_states(workflow)
    required = {(t.trigger, f) for t in workflow.transitions for f in t.requires
                if t.categories is None and not set(t.sources) <= theirs}
    assert set(REQUIRED) == required


INVALID = [
    ("verify", {"unit": "UNIT-Z"}, "unit"),
    ("verify", {"category": "NO-SUCH"}, "category"),
    ("verify", {"category": "ONLY-B"}, "category"),  # offered by UNIT-B only
    ("verify", {"classification": "keluhan"}, "classification"),
    ("verify", {"assignee": "officer.b@example.id"}, "assignee"),  # not in UNIT-A
    ("verify", {"assignee": "auditor@example.id"}, "assignee"),
    ("verify", {"assignee": "nobody@example.id"}, "assignee"),
    ("verify", {"unit": "UNIT-B", "assignee": "officer.a@example.id"}, "assignee"),
    ("verify", {"rating": 5}, "rating"),  # not accepted by verify
    ("request_info", {"message": "x" * 5001}, "message"),
    ("request_info", {"message": 42}, "message"),
    ("request_info", {"unit": "UNIT-B"}, "unit"),
    ("provide_info", {"comment": "Ini lampirannya."}, "comment"),
    ("expire_info", {"reason": "Lewat 30 hari."}, "reason"),
    ("reject", {"closure_reason": "resolved"}, "closure_reason"),
    ("reject", {"closure_reason": "withdrawn"}, "closure_reason"),
    ("reject", {"closure_reason": "lainnya"}, "closure_reason"),
    ("reject", {"closure_reason": "referred"}, "referred_to"),
    ("reject", {"closure_reason": "duplicate"}, "duplicate_of"),
    ("reject", {"closure_reason": "duplicate", "duplicate_of": SELF}, "duplicate_of"),
    ("reject", {"closure_reason": "duplicate", "duplicate_of": "ZZZZ-ZZZZ"}, "duplicate_of"),
    ("reassign", {"unit": "UNIT-A"}, "unit"),  # already there
    ("reassign", {"unit": "UNIT-Z"}, "unit"),
    ("reassign", {"assignee": "officer.a@example.id"}, "assignee"),  # not in UNIT-B
    ("reassign", {"category": "ONLY-B", "unit": "UNIT-A"}, "unit"),
    ("follow_up", {"resolution": "Selesai."}, "resolution"),
    ("close", {"rating": 5}, "rating"),
    ("accept", {"rating": 0}, "rating"),
    ("accept", {"rating": 6}, "rating"),
    ("accept", {"rating": "abc"}, "rating"),
    ("accept", {"message": "Oke."}, "message"),
    ("accept", {"rating": 4.5}, "rating"),
    ("accept", {"rating": True}, "rating"),
    ("dispute", {"rating": 6}, "rating"),
    ("withdraw", {"reason": "Tidak jadi."}, "reason"),
    ("auto_close", {"comment": "Tidak ada jawaban."}, "comment"),
    ("reopen", {"unit": "UNIT-B"}, "unit"),
]


def invalid_id(index: int, param) -> str:
    """Test id of an INVALID row: trigger, field at fault, row number."""
    trigger, _, field = getattr(param, "values", param)
    return f"{trigger}-{field}-{index}"


@pytest.mark.parametrize("trigger, overrides, field", INVALID,
                         ids=[invalid_id(i, p) for i, p in enumerate(INVALID)])
def test_invalid_field_value(world, trigger, overrides, field):
    """An invalid or unaccepted field is named in InvalidFields, alone."""
    case = CASE_OF[trigger]
    complaint = complaint_in(world, case.source)
    actor = actor_for(world, case.roles[0], complaint)
    error = refused(complaint, InvalidFields, trigger, actor,
                    **fields_with(trigger, overrides, complaint))
    assert set(error.errors) == {field}


def test_every_problem_is_reported_at_once(world):
    """Several bad fields are all named in one InvalidFields."""
    complaint = complaint_in(world, "received")
    error = refused(complaint, InvalidFields, "verify", world.officer_a,
                    unit="UNIT-Z", category="NO-SUCH", note="catatan", rating=3)
    assert set(error.errors) == {"unit", "category", "classification", "rating"}


# -- 5. side effects ---------------------------------------------------------------------

@pytest.mark.parametrize("unit, category, assignee, owner", [
    ("UNIT-A", "GENERAL", "officer.a@example.id", "officer_a"),
    ("UNIT-B", "ONLY-B", "officer.b@example.id", "officer_b"),
    ("UNIT-B", "GENERAL", None, "officer_b"),
], ids=["own-unit", "other-unit", "other-unit-unassigned"])
def test_verify_disposes_the_complaint(world, unit, category, assignee, owner):
    """verify sets unit, category, classification and assignee; the target unit owns it."""
    complaint = complaint_in(world, "received")
    fields = {"unit": unit, "category": category, "classification": "aspirasi"}
    advance(complaint, "verify", world.officer_a,
            **fields, **({"assignee": assignee} if assignee else {}))
    db.session.commit()
    assert (complaint.unit.code, complaint.category.code, complaint.classification) == (
        unit, category, "aspirasi")
    assert (complaint.assignee.email if complaint.assignee else None) == assignee
    outsider = world.officer_b if owner == "officer_a" else world.officer_a
    refused(complaint, Forbidden, "follow_up", outsider, response="Jawaban.")
    advance(complaint, "follow_up", getattr(world, owner), response="Jawaban.")
    assert complaint.state == "followed_up"


def test_reassign_moves_the_complaint_to_the_other_unit(world):
    """After reassign UNIT-A's staff can no longer act and UNIT-B's officer can."""
    complaint = complaint_in(world, "verified")
    verified_at = complaint.state_changed_at
    follow_up_started = complaint.clock("first_follow_up").counting_from
    advance(complaint, "reassign", world.supervisor_a, unit="UNIT-B", reason="Kewenangan B.",
            category="ONLY-B", assignee="officer.b@example.id")
    db.session.commit()
    assert (complaint.state, complaint.unit.code, complaint.category.code) == (
        "verified", "UNIT-B", "ONLY-B")
    assert complaint.assignee.email == "officer.b@example.id"
    assert complaint.state_changed_at == verified_at
    assert complaint.clock("first_follow_up").counting_from == follow_up_started  # no restart
    assert complaint.events[-1].public is False
    for actor in (world.officer_a, world.supervisor_a):
        refused(complaint, Forbidden, "follow_up", actor, response="Jawaban.")
    advance(complaint, "follow_up", world.officer_b, response="Jawaban Dinas B.")
    assert complaint.state == "followed_up"


def test_reassign_without_assignee_drops_the_previous_units_assignee(world):
    """The assignee always belongs to the complaint's unit (or there is none)."""
    complaint = complaint_in(world, "received")
    advance(complaint, "verify", world.officer_a, **VERIFY, assignee="officer.a@example.id")
    advance(complaint, "reassign", world.officer_a, unit="UNIT-B", reason="Kewenangan B.")
    db.session.commit()
    assert complaint.assignee is None


def test_reassign_needs_a_category_the_new_unit_offers(world):
    """A complaint in a category the target unit does not handle cannot simply move there."""
    complaint = complaint_in(world, "received")
    advance(complaint, "verify", world.officer_a, unit="UNIT-B", category="ONLY-B",
            classification="pengaduan")
    db.session.commit()
    error = refused(complaint, InvalidFields, "reassign", world.officer_b, unit="UNIT-A",
                    reason="Kewenangan A.")
    assert set(error.errors) == {"category"}
    advance(complaint, "reassign", world.officer_b, unit="UNIT-A", reason="Kewenangan A.",
            category="GENERAL")
    assert (complaint.unit.code, complaint.category.code) == ("UNIT-A", "GENERAL")


@pytest.mark.parametrize("closure_reason, named", [
    ("rejected", None), ("referred", "referred_to"), ("duplicate", "duplicate_of"),
])
def test_reject_records_the_closure_reason(world, closure_reason, named):
    """reject closes with the chosen reason and records where it went or what it duplicates."""
    original = world.file(title="Pengaduan pertama").complaint
    complaint = complaint_in(world, "received")
    extra = {"referred_to": "Kantor Imigrasi", "duplicate_of": original.tracking_code}
    fields = {"reason": "Lihat keterangan.", "closure_reason": closure_reason,
              **({named: extra[named]} if named else {})}
    event = advance(complaint, "reject", world.officer_a, **fields)
    db.session.commit()
    assert (complaint.state, complaint.closure_reason) == ("closed", closure_reason)
    assert event.data == fields


def test_duplicate_of_names_only_complaints_the_actor_may_see(world):
    """A code of another unit's complaint is refused with the very words of a code that
    names nothing, so the field cannot be used to probe other units' codes."""
    other_unit = world.file(unit="UNIT-B", title="Pengaduan di B").complaint
    answers = {}
    for label, code in (("other unit", other_unit.tracking_code), ("unknown", "ZZZZ-ZZZZ")):
        complaint = complaint_in(world, "received")
        error = refused(complaint, InvalidFields, "reject", world.officer_a, reason="Sama.",
                        closure_reason="duplicate", duplicate_of=code)
        answers[label] = {k: str(v) for k, v in error.errors.items()}
    assert answers["other unit"] == answers["unknown"] and set(answers["unknown"]) == {"duplicate_of"}
    complaint = complaint_in(world, "received")
    same_unit = world.file(title="Pengaduan pertama").complaint
    advance(complaint, "reject", world.officer_a, reason="Sama.", closure_reason="duplicate",
            duplicate_of=same_unit.tracking_code)


def test_duplicate_of_accepts_lower_case_code(world):
    """A tracking code typed in lower case still finds the original complaint."""
    original = world.file(title="Pengaduan pertama").complaint
    complaint = complaint_in(world, "received")
    event = advance(complaint, "reject", world.officer_a, reason="Sama.",
                    closure_reason="duplicate", duplicate_of=original.tracking_code.lower())
    assert event.data["duplicate_of"] == original.tracking_code


@pytest.mark.parametrize("fields, rating, comment", [
    ({"rating": "4", "comment": "  Cepat.  "}, 4, "Cepat."),
    ({"rating": 1}, 1, None),
    ({}, None, None),
])
def test_accept_stores_rating_and_comment(world, fields, rating, comment):
    """accept closes as resolved and keeps the citizen's rating and comment."""
    complaint = complaint_in(world, "followed_up")
    advance(complaint, "accept", Actor.citizen(complaint), **fields)
    db.session.commit()
    assert (complaint.state, complaint.closure_reason) == ("closed", "resolved")
    assert (complaint.rating, complaint.rating_comment) == (rating, comment)


def test_dispute_sends_the_complaint_back_to_follow_up(world):
    """dispute returns to verified, where the unit must follow up again."""
    complaint = complaint_in(world, "followed_up")
    advance(complaint, "dispute", Actor.citizen(complaint), comment="Belum beres.", rating=2)
    assert (complaint.state, complaint.rating, complaint.closure_reason) == ("verified", 2, None)
    advance(complaint, "follow_up", world.officer_a, response="Sudah kami perbaiki.")
    assert complaint.state == "followed_up"


@pytest.mark.parametrize("source, trigger", [
    ("followed_up", "close"), ("received", "reject"), ("awaiting_info", "expire_info"),
])
def test_reopen_clears_the_closure(world, source, trigger):
    """reopen brings a closed complaint back to verified without closure reason or date."""
    complaint = complaint_in(world, source)
    actor = actor_for(world, CASE_OF[trigger].roles[0], complaint)
    advance(complaint, trigger, actor, **VALID_FIELDS[trigger])
    db.session.commit()
    assert complaint.closure_reason is not None and complaint.closed_at is not None
    advance(complaint, "reopen", world.supervisor_a, reason="Pelapor melapor lagi.")
    db.session.commit()
    assert (complaint.state, complaint.closure_reason, complaint.closed_at) == (
        "verified", None, None)
    assert complaint.clock("first_follow_up").running
    advance(complaint, "follow_up", world.officer_a, response="Tanggapan baru.")
    assert complaint.state == "followed_up"


# -- 6. optimistic locking ---------------------------------------------------------------

@pytest.mark.parametrize("delta", [-1, 1])
def test_expected_version_must_match(world, delta):
    """A caller that saw another version gets ConcurrentChange and changes nothing."""
    complaint = complaint_in(world, "received")
    refused(complaint, ConcurrentChange, "verify", world.officer_a,
            expected_version=complaint.version + delta, **VERIFY)


def test_one_transition_bumps_the_version_once(world):
    """A client that saw version N sees N+1 after its own transition, timeline not loaded."""
    complaint = complaint_in(world, "received")
    advance(complaint, "verify", world.officer_a, expected_version=1, **VERIFY)
    assert complaint.version == 2


def test_expected_version_as_text_from_a_form(world):
    """The version posted by a form (text) is compared as a number."""
    complaint = complaint_in(world, "received")
    advance(complaint, "verify", world.officer_a, expected_version=str(complaint.version),
            **VERIFY)
    assert complaint.state == "verified"


def _another_request_advances(app, code: str) -> str:
    """A concurrent request moves the complaint and commits; returns the state it left."""
    with app.app_context():  # its own session, as a concurrent request would have
        theirs = Complaint.by_code(code)
        advance(theirs, "request_info", Actor.staff(User.by_email("officer.a@example.id")),
                message="Mohon lengkapi.")
        db.session.commit()
    return "awaiting_info"


def _another_connection_bumps_version(app, code: str) -> str:
    """Some other writer changes the row's version behind the session's back."""
    with db.engine.begin() as conn:
        conn.execute(update(Complaint.__table__)
                     .where(Complaint.__table__.c.tracking_code == code)
                     .values(version=Complaint.__table__.c.version + 1))
    return "received"


@pytest.mark.parametrize("other_writer", [_another_request_advances,
                                          _another_connection_bumps_version],
                         ids=["another-request", "another-connection"])
@pytest.mark.parametrize("timeline_loaded", [True, False],
                         ids=["timeline-loaded", "timeline-not-loaded"])
def test_stale_complaint_raises_concurrent_change_at_flush(world, app, other_writer,
                                                           timeline_loaded):
    """Two writers on one complaint: the one that flushes second gets ConcurrentChange."""
    complaint = complaint_in(world, "received")
    code, seen = complaint.tracking_code, complaint.version
    if timeline_loaded:
        assert complaint.events and complaint.clocks
    # Keep what this request loaded, and end its transaction so the other writer can commit
    # (SQLite has a single writer).
    db.session().expire_on_commit = False
    db.session.commit()
    their_state = other_writer(app, code)

    with pytest.raises(ConcurrentChange):
        advance(complaint, "verify", world.officer_a, expected_version=seen, **VERIFY)
    db.session.rollback()

    assert (complaint.state, complaint.version) == (their_state, seen + 1)
    assert complaint.unit.code == "UNIT-A" and complaint.category.code == "GENERAL"
    assert audit_rows(complaint, "complaint.verify") == []
    advance(complaint, "withdraw", Actor.citizen(complaint), expected_version=complaint.version)
    db.session.commit()
    assert complaint.state == "closed"


# -- 7. SLA clocks -----------------------------------------------------------------------

FILED_AT = datetime(2026, 3, 17, 3, 0, tzinfo=timezone.utc)  # Tuesday 10:00 WIB
STEP_AT = {
    "request_info": datetime(2026, 3, 25, 3, 0, tzinfo=timezone.utc),  # Wednesday
    "provide_info": datetime(2026, 3, 30, 3, 0, tzinfo=timezone.utc),  # Monday
    "verify": datetime(2026, 4, 1, 3, 0, tzinfo=timezone.utc),  # Wednesday
    "follow_up": datetime(2026, 4, 2, 3, 0, tzinfo=timezone.utc),  # Thursday
    "close": datetime(2026, 4, 6, 3, 0, tzinfo=timezone.utc),  # Monday
    "auto_close": datetime(2026, 4, 18, 3, 0, tzinfo=timezone.utc),
    "expire_info": datetime(2026, 4, 25, 3, 0, tzinfo=timezone.utc),
    "withdraw": datetime(2026, 3, 26, 3, 0, tzinfo=timezone.utc),
    "reject": datetime(2026, 3, 18, 3, 0, tzinfo=timezone.utc),
}
STEP_ACTOR = {step: CASE_OF[step].roles[0] for step in STEP_AT}


SLA_FILING = {"unit": "UNIT-A", "category": "GENERAL", "title": "Antrean puskesmas",
              "description": "Menunggu lima jam.", "name": "Siti Aminah", "consent": True}


def sla_complaint(world, *steps: str) -> Complaint:
    """File on Tuesday 17 March 2026 and take the given steps at their fixed times."""
    complaint = file_complaint(dict(SLA_FILING), at=FILED_AT).complaint
    for step in steps:
        advance(complaint, step, actor_for(world, STEP_ACTOR[step], complaint),
                at=STEP_AT[step], **VALID_FIELDS[step])
    db.session.commit()
    return complaint


def running(complaint: Complaint) -> dict[str, datetime]:
    """Due dates of the clocks that are neither paused nor stopped."""
    return {c.rule: c.due_at for c in complaint.clocks if c.running}


def test_filing_starts_verification_and_response_clocks(world):
    """Verification ends 27 March (cuti bersama, Nyepi, Idul Fitri skipped); response 31 March."""
    complaint = sla_complaint(world)
    assert running(complaint) == {"verification": wib_end_of(2026, 3, 27),
                                  "response": wib_end_of(2026, 3, 31)}
    assert complaint.stage_due_at == wib_end_of(2026, 3, 27)
    assert complaint.resolution_due_at is None
    explanation = complaint.clock("verification").explanation
    assert explanation["counted"] == ["2026-03-25", "2026-03-26", "2026-03-27"]
    assert [day for day, _ in explanation["skipped"]] == [
        "2026-03-18", "2026-03-19", "2026-03-20", "2026-03-21", "2026-03-22",
        "2026-03-23", "2026-03-24"]


def test_request_info_pauses_stage_clocks_and_starts_info_window(world):
    """While the complainant is asked for more, the unit's clocks stand still."""
    complaint = sla_complaint(world, "request_info")
    paused_at = STEP_AT["request_info"]
    for rule in ("verification", "response"):
        clock = complaint.clock(rule)
        assert (clock.due_at, clock.paused_at, clock.stopped_at) == (None, paused_at, None)
    # The day of the pause counts (policy): 25 March is the only working day so far.
    assert complaint.clock("verification").consumed == 1  # 18-24 March are all days off
    assert complaint.clock("response").consumed == 8  # 18-25 March
    assert running(complaint) == {"info_window": wib_end_of(2026, 4, 24)}
    assert complaint.stage_due_at is None


def test_provide_info_resumes_without_counting_the_pause(world):
    """Resumed on 30 March: 2 working days left for verification, 6 days for response
    (5 April is Easter Sunday: rolled to Monday)."""
    complaint = sla_complaint(world, "request_info", "provide_info")
    assert running(complaint) == {"verification": wib_end_of(2026, 4, 1),
                                  "response": wib_end_of(2026, 4, 6)}
    assert complaint.clock("info_window").stopped_at == STEP_AT["provide_info"]
    assert complaint.stage_due_at == wib_end_of(2026, 4, 1)
    assert complaint.clock("verification").explanation["pauses"] == [
        [STEP_AT["request_info"].isoformat(), STEP_AT["provide_info"].isoformat()]]


def test_verify_stops_verification_and_starts_follow_up_and_resolution(world):
    """Follow-up ends 9 April (Good Friday skipped), resolution 2 June (rolled past holidays)."""
    complaint = sla_complaint(world, "request_info", "provide_info", "verify")
    assert complaint.clock("verification").stopped_at == STEP_AT["verify"]
    assert running(complaint) == {"response": wib_end_of(2026, 4, 6),
                                  "first_follow_up": wib_end_of(2026, 4, 9),
                                  "resolution": wib_end_of(2026, 6, 2)}
    assert complaint.stage_due_at == wib_end_of(2026, 4, 6)
    assert complaint.resolution_due_at == wib_end_of(2026, 6, 2)


def test_follow_up_starts_the_reply_window(world):
    """After the response only the complainant's reply window and the resolution run."""
    complaint = sla_complaint(world, "verify", "follow_up")
    assert running(complaint) == {"resolution": wib_end_of(2026, 6, 2),
                                  "reply_window": wib_end_of(2026, 4, 17)}
    assert complaint.stage_due_at is None


@pytest.mark.parametrize("steps", [
    ("verify", "follow_up", "close"),
    ("verify", "follow_up", "auto_close"),
    ("request_info", "expire_info"),
    ("request_info", "withdraw"),
    ("reject",),
], ids=["close", "auto_close", "expire_info", "withdraw-while-paused", "reject"])
def test_closing_stops_every_clock(world, steps):
    """A closed complaint has no running or paused clock and no due dates."""
    complaint = sla_complaint(world, *steps)
    assert complaint.state == "closed"
    assert {c.rule: (c.stopped_at is not None, c.paused_at) for c in complaint.clocks} == (
        dict.fromkeys((c.rule for c in complaint.clocks), (True, None)))
    assert (complaint.stage_due_at, complaint.resolution_due_at) == (None, None)


def test_reopen_resumes_the_original_resolution_deadline(world):
    """A reopened complaint is again on its first resolution clock, not a fresh one."""
    complaint = complaint_in(world, "received")
    advance(complaint, "verify", world.officer_a, **VERIFY)
    due = complaint.resolution_due_at
    advance(complaint, "follow_up", world.officer_a, response="Sudah kami tangani.")
    advance(complaint, "close", world.officer_a, resolution="Selesai.")
    assert complaint.resolution_due_at is None
    advance(complaint, "reopen", world.supervisor_a, reason="Dokumen salah nama.")
    db.session.commit()
    assert complaint.resolution_due_at == due
    assert complaint.clock("resolution").stopped_at is None


def test_comment_is_a_rating_comment_only_with_a_rating(world):
    """A withdrawal reason is not stored as the satisfaction comment."""
    complaint = complaint_in(world, "received")
    citizen = Actor.citizen(complaint)
    advance(complaint, "withdraw", citizen, comment="Sudah selesai sendiri.")
    db.session.commit()
    assert complaint.rating is None and complaint.rating_comment is None


def test_a_pause_within_one_day_leaves_the_deadline_where_it_was(world):
    """Asking and answering on the same day costs the unit nothing and gives it nothing."""
    filed_at = datetime(2026, 4, 6, 2, 0, tzinfo=timezone.utc)  # Monday 09:00 WIB
    complaint = file_complaint(dict(SLA_FILING), at=filed_at).complaint
    db.session.commit()
    before = complaint.clock("verification").due_at
    advance(complaint, "request_info", world.officer_a, message="Mohon nomor registrasi.",
            at=filed_at.replace(hour=4))
    advance(complaint, "provide_info", Actor.citizen(complaint), message="Nomor 12345.",
            at=filed_at.replace(hour=6))
    db.session.commit()
    assert complaint.clock("verification").due_at == before == wib_end_of(2026, 4, 9)


def test_a_clock_overdue_before_a_pause_stays_overdue_after_it(world):
    """Time that had run out is not given back by asking the complainant something."""
    filed_at = datetime(2026, 4, 6, 2, 0, tzinfo=timezone.utc)  # due Thursday 9 April
    complaint = file_complaint(dict(SLA_FILING), at=filed_at).complaint
    db.session.commit()
    due = complaint.clock("verification").due_at
    advance(complaint, "request_info", world.officer_a, message="Mohon nomor registrasi.",
            at=datetime(2026, 4, 14, 2, 0, tzinfo=timezone.utc))
    advance(complaint, "provide_info", Actor.citizen(complaint), message="Nomor 12345.",
            at=datetime(2026, 4, 20, 2, 0, tzinfo=timezone.utc))
    db.session.commit()
    assert complaint.clock("verification").due_at == due == wib_end_of(2026, 4, 9)


def test_a_counter_filing_is_audited_with_the_officer_who_entered_it(world):
    """A walk-in complaint typed in by an officer names that officer in the chain."""
    filed = file_complaint(dict(SLA_FILING), actor=world.officer_a.via("walk_in"))
    db.session.commit()
    [row] = audit_rows(filed.complaint, "complaint.filed")
    assert row.actor == world.officer_a.label
    event = filed.complaint.events[0]
    assert (event.actor_role, event.actor_id) == ("officer", world.officer_a.user.id)
