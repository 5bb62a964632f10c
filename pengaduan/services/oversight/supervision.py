"""Internal supervision and coaching records (pengawasan internal, pembinaan): what
supervisors did, for which units and cases, what they found and what must follow.

Assessors score how often units are supervised, so `frequency` counts records per unit and
kind. Every record and change is an audit event; free text enters the chain as digests.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import audit
from ...errors import ConcurrentChange, Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import (ACTION_STATUSES, SUPERVISION_KINDS, Complaint, SupervisionAction,
                      SupervisionFile, SupervisionRecord, Unit, utcnow)
from ...models.supervision import supervision_units
from ...policy import Actor, can_edit_record, can_record_supervision, sees_every_record
from ...workflow.fields import digest
from ..attachments import StoredFile, attachment_digests
from ..inputs import day, local_today, text

LIMITS = {"title": 200, "participants": 5000, "findings": 20000, "description": 2000, "owner": 200}
# The follow-up of a survey period (services/surveys/follow_up.py) is made and changed only
# from its results page: its actions name an element and need evidence when done.
SKM_KIND = "skm_follow_up"
# So is the follow-up of a quarter's complaint evaluation (services/evaluation/actions.py).
EVALUATION_KIND = "complaint_evaluation"
REPORT_KINDS = {SKM_KIND: _l("change this follow-up on the survey's results page"),
                EVALUATION_KIND: _l("change this follow-up on the complaint evaluation report")}


def _not_skm(record: SupervisionRecord, field: str) -> None:
    if record.survey_period_id is not None or record.kind in REPORT_KINDS:
        raise InvalidFields({field: REPORT_KINDS.get(record.kind, REPORT_KINDS[SKM_KIND])})


def _codes(value) -> list[str]:
    """Codes from a list, or from text separated by commas, spaces or new lines."""
    items = value if isinstance(value, (list, tuple)) else str(value or "").replace(",", " ").split()
    return [str(code).strip().upper() for code in items if str(code).strip()]


@dataclass
class Checked:
    kind: str
    held_on: date
    title: str
    participants: str | None
    findings: str | None
    units: list[Unit]
    complaints: list[Complaint]


def _check(actor: Actor, raw: dict) -> Checked:
    errors: dict = {}
    kind = raw.get("kind")
    if kind not in SUPERVISION_KINDS:
        errors["kind"] = _l("choose one of the options")
    held_on = day(raw.get("held_on"), "held_on", errors, required=True, latest=today())
    title = text(raw, "title", errors, LIMITS, required=True)
    participants = text(raw, "participants", errors, LIMITS)
    findings = text(raw, "findings", errors, LIMITS)
    units = []
    for code in _codes(raw.get("units")):
        unit = Unit.by_code(code)
        if unit is None or unit.id not in actor.user.overseen_unit_ids:
            errors["units"] = _l("%(code)s is not one of your units", code=code)
        else:
            units.append(unit)
    if not units and "units" not in errors:
        errors["units"] = _l("choose at least one unit")
    complaints = []
    for code in _codes(raw.get("complaints")):
        complaint = Complaint.by_code(code)
        if complaint is None or complaint.unit_id not in {u.id for u in units}:
            errors["complaints"] = _l("%(code)s is not a complaint of the units chosen", code=code)
        elif complaint not in complaints:
            complaints.append(complaint)
    if errors:
        raise InvalidFields(errors)
    return Checked(kind, held_on, title, participants, findings, units, complaints)


def _actions(raw_actions, errors: dict) -> list[SupervisionAction]:
    actions = []
    for i, row in enumerate(raw_actions or []):
        if not any((row.get(k) or "").strip() for k in ("description", "owner", "due_on")):
            continue  # an empty row of the form
        row_errors: dict = {}
        description = text(row, "description", row_errors, LIMITS, required=True)
        owner = text(row, "owner", row_errors, LIMITS, required=True)
        due_on = day(row.get("due_on"), "due_on", row_errors)
        for name, message in row_errors.items():
            errors[f"actions-{i}-{name}"] = message
        actions.append(SupervisionAction(description=description, owner=owner, due_on=due_on,
                                         status="open"))
    return actions


def _state(record: SupervisionRecord) -> dict:
    """What the audit chain keeps of a record: structure as is, free text digested."""
    return {
        "id": record.id, "kind": record.kind, "held_on": record.held_on.isoformat(),
        "supervisor": record.supervisor_id, "title": digest(record.title),
        "participants": digest(record.participants), "findings": digest(record.findings),
        "units": [u.code for u in record.units],
        "complaints": [c.tracking_code for c in record.complaints],
        "actions": [{"id": a.id, "description": digest(a.description), "owner": digest(a.owner),
                     "due_on": a.due_on.isoformat() if a.due_on else None, "status": a.status}
                    for a in record.actions],
        "files": [{"sha256": f.sha256, "size": f.size, "type": f.content_type} for f in record.files],
    }


def record_supervision(actor: Actor, raw: dict, files: list[StoredFile] = ()) -> SupervisionRecord:
    """Record a supervision or coaching activity led by this supervisor; flushes only."""
    if not can_record_supervision(actor):
        raise Forbidden(str(_l("only supervisors record supervision activities")))
    errors: dict = {}
    try:
        checked = _check(actor, raw)
    except InvalidFields as exc:
        errors.update(exc.errors)
    if raw.get("kind") in REPORT_KINDS:
        errors["kind"] = REPORT_KINDS[raw["kind"]]
    actions = _actions(raw.get("actions"), errors)
    if errors:
        raise InvalidFields(errors)
    now = utcnow()
    record = SupervisionRecord(
        kind=checked.kind, held_on=checked.held_on, title=checked.title,
        participants=checked.participants, findings=checked.findings, supervisor=actor.user,
        units=checked.units, complaints=checked.complaints, actions=actions,
        created_at=now, updated_at=now)
    _attach(record, actor, files)
    db.session.add(record)
    db.session.flush()
    audit.record(db.session, "supervision.recorded", actor=actor.label, unit=record.units,
                 payload=_state(record))
    return record


def update_supervision(record: SupervisionRecord, actor: Actor, raw: dict,
                       expected_version=None) -> SupervisionRecord:
    """Change a record's facts (not its history): the audit event shows before and after."""
    if not can_edit_record(actor, record):
        raise Forbidden(str(_l("you may not change this record")))
    if expected_version is not None and str(expected_version) != str(record.version):
        raise ConcurrentChange()
    checked = _check(actor, raw)
    kept = next((kind for kind in (record.kind, checked.kind) if kind in REPORT_KINDS), None)
    if kept and (checked.kind != record.kind or checked.units != record.units):
        raise InvalidFields({"kind": REPORT_KINDS[kept]})
    before = _state(record)
    record.kind, record.held_on, record.title = checked.kind, checked.held_on, checked.title
    record.participants, record.findings = checked.participants, checked.findings
    record.units, record.complaints = checked.units, checked.complaints
    record.updated_at = utcnow()
    db.session.flush()
    audit.record(db.session, "supervision.updated", actor=actor.label,
                 unit=[*before["units"], *record.units],
                 payload={"id": record.id, "before": before, "after": _state(record)})
    return record


def add_actions(record: SupervisionRecord, actor: Actor, raw_actions) -> list[SupervisionAction]:
    if not can_edit_record(actor, record):
        raise Forbidden(str(_l("you may not change this record")))
    _not_skm(record, "actions-0-description")
    errors: dict = {}
    actions = _actions(raw_actions, errors)
    if not actions and not errors:
        errors["actions-0-description"] = _l("is required")
    if errors:
        raise InvalidFields(errors)
    record.actions.extend(actions)
    db.session.flush()
    audit.record(db.session, "supervision.action_added", actor=actor.label, unit=record.units, payload={
        "id": record.id, "actions": _state(record)["actions"][-len(actions):]})
    return actions


def set_action_status(action: SupervisionAction, actor: Actor, status: str,
                      completed_on=None) -> SupervisionAction:
    """Close a follow-up as done (on a date) or dropped, or open it again."""
    if not can_edit_record(actor, action.record):
        raise Forbidden(str(_l("you may not change this record")))
    _not_skm(action.record, "status")
    errors: dict = {}
    if status not in ACTION_STATUSES:
        errors["status"] = _l("choose one of the options")
    done_on = day(completed_on, "completed_on", errors, latest=today()) if status == "done" else None
    if status == "done" and done_on is None and "completed_on" not in errors:
        done_on = today()
    if errors:
        raise InvalidFields(errors)
    before = action.status
    action.status, action.completed_on = status, done_on
    audit.record(db.session, "supervision.action_status", actor=actor.label,
                 unit=action.record.units, payload={
        "id": action.record_id, "action": action.id, "before": before, "after": status,
        "completed_on": done_on.isoformat() if done_on else None})
    return action


def _attach(record: SupervisionRecord, actor: Actor, files: list[StoredFile]) -> None:
    for f in files:
        record.files.append(SupervisionFile(
            filename=f.filename, stored_name=f.stored_name, content_type=f.content_type,
            size=f.size, sha256=f.sha256, uploaded_by_id=actor.user.id))


def add_files(record: SupervisionRecord, actor: Actor, files: list[StoredFile]) -> None:
    """Minutes, attendance lists or photos added to a record later."""
    if not can_edit_record(actor, record):
        raise Forbidden(str(_l("you may not change this record")))
    if not files:
        raise InvalidFields({"files": _l("choose at least one file")})
    _attach(record, actor, files)
    db.session.flush()
    audit.record(db.session, "supervision.files_added", actor=actor.label, unit=record.units,
                 payload={"id": record.id, **attachment_digests(files)})


def records_for(actor: Actor, *, unit: Unit | None = None, kind: str | None = None,
                start: date | None = None, end: date | None = None, limit: int = 200
                ) -> list[SupervisionRecord]:
    """Records this actor may see, newest first, optionally by unit, kind and period."""
    query = select(SupervisionRecord).options(
        selectinload(SupervisionRecord.units), selectinload(SupervisionRecord.supervisor),
        selectinload(SupervisionRecord.actions))
    if not sees_every_record(actor):
        query = query.where(SupervisionRecord.id.in_(select(supervision_units.c.record_id).where(
            supervision_units.c.unit_id.in_(actor.user.overseen_unit_ids))))
    if unit is not None:
        query = query.where(SupervisionRecord.id.in_(select(supervision_units.c.record_id).where(
            supervision_units.c.unit_id == unit.id)))
    if kind:
        query = query.where(SupervisionRecord.kind == kind)
    if start:
        query = query.where(SupervisionRecord.held_on >= start)
    if end:
        query = query.where(SupervisionRecord.held_on <= end)
    return db.session.scalars(query.order_by(SupervisionRecord.held_on.desc(),
                                             SupervisionRecord.id.desc()).limit(limit)).all()


def frequency(unit_ids, start: date, end: date) -> dict[int, dict[str, int]]:
    """{unit id: {kind: records held in the period}} for the units given."""
    rows = db.session.execute(
        select(supervision_units.c.unit_id, SupervisionRecord.kind, func.count())
        .join(SupervisionRecord, SupervisionRecord.id == supervision_units.c.record_id)
        .where(supervision_units.c.unit_id.in_(list(unit_ids)),
               SupervisionRecord.held_on >= start, SupervisionRecord.held_on <= end)
        .group_by(supervision_units.c.unit_id, SupervisionRecord.kind)).all()
    counts: dict[int, dict[str, int]] = {}
    for unit_id, kind, n in rows:
        counts.setdefault(unit_id, {})[kind] = n
    return counts


def instruction_record(complaint: Complaint, actor: Actor, instruction: str) -> SupervisionRecord:
    """An instruction on a case is also a supervision entry (kind `instruction`) of its unit."""
    record = SupervisionRecord(
        kind="instruction", held_on=local_today(complaint.unit),
        title=str(_l("Instruction on complaint %(code)s", code=complaint.tracking_code)),
        findings=instruction, supervisor=actor.user, units=[complaint.unit],
        complaints=[complaint], created_at=utcnow(), updated_at=utcnow())
    db.session.add(record)
    db.session.flush()
    audit.record(db.session, "supervision.recorded", actor=actor.label, unit=record.units,
                 payload=_state(record))
    return record


def today() -> date:
    """Today where the deployment is (records are dated in local days)."""
    return local_today(None)
