"""What staff do on a complaint besides moving it: internal notes, assignment, supervisors'
instructions (and marking them done) and identity reveals. Each is an internal timeline step
with its audit event."""
from __future__ import annotations

from sqlalchemy import select

from ... import audit
from ...errors import Forbidden, InvalidFields, NotFound
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import IDENTITY_FIELDS, Complaint, ComplaintEvent, Escalation, utcnow
from ...policy import (Actor, can_add_note, can_mark_instruction_done, can_reveal_identity,
                       can_see_identity, can_supervise)
from ...workflow import current_workflow
from ...workflow.fields import clean_values, for_audit, serialise
from . import instructions, notifications
from ..oversight.supervision import instruction_record


def record_internal_step(complaint: Complaint, actor: Actor, kind: str, action: str,
                         raw: dict, requires=(), accepts=(), extra: dict | None = None
                         ) -> tuple[ComplaintEvent, dict]:
    """Check the fields, add an internal timeline event and its audit event (free text
    digested, `extra` facts kept as they are); returns the event and the checked values."""
    values = clean_values(current_workflow(), complaint, raw, requires=requires, accepts=accepts)
    data = serialise(values)
    extra = extra or {}
    event = ComplaintEvent(complaint=complaint, kind=kind, actor_id=actor.user.id,
                           actor_role=actor.role, public=False, occurred_at=utcnow(),
                           data={**data, **extra}, unit=complaint.unit)
    db.session.add(event)
    db.session.flush()
    audit.record(db.session, action, actor=actor.label, unit=complaint.unit,
                 complaint=complaint.tracking_code,
                 payload={"event_id": event.id, "fields": for_audit(data), **extra})
    return event, values


def add_note(complaint: Complaint, actor: Actor, note: str) -> ComplaintEvent:
    """An internal note on the timeline; never shown to the complainant."""
    if not can_add_note(actor, complaint):
        raise Forbidden(str(_l("you may not add notes to this complaint")))
    event, _ = record_internal_step(complaint, actor, "note", "complaint.note", {"note": note},
                                    requires=("note",))
    return event


def assign(complaint: Complaint, actor: Actor, assignee: str | None) -> ComplaintEvent:
    """Give the complaint to an officer of its unit (or to nobody), without moving it."""
    if not can_add_note(actor, complaint):
        raise Forbidden(str(_l("you may not assign this complaint")))
    event, values = record_internal_step(complaint, actor, "assignment", "complaint.assigned",
                                         {"assignee": assignee}, accepts=("assignee",))
    complaint.assignee = values.get("assignee")
    notifications.after_assignment(complaint, complaint.assignee, actor.user)
    return event


def give_instruction(complaint: Complaint, actor: Actor, instruction: str) -> ComplaintEvent:
    """A supervisor's instruction on a case, kept on its internal timeline and audited."""
    if not can_supervise(actor, complaint):
        raise Forbidden(str(_l("only a supervisor of the unit may give instructions")))
    event, values = record_internal_step(complaint, actor, "instruction", "complaint.instruction",
                                         {"note": instruction}, requires=("note",),
                                         extra=instructions.addressee(complaint))
    instruction_record(complaint, actor, values["note"])
    notifications.after_instruction(complaint, event, actor.user)
    return event


def mark_instruction_done(complaint: Complaint, actor: Actor, event_id: int) -> ComplaintEvent:
    """Say that an instruction on the case has been carried out: an internal timeline step,
    audited, and a message to the supervisor who gave it."""
    instruction = db.session.get(ComplaintEvent, event_id)
    if instruction is None or instruction.complaint_id != complaint.id \
            or instruction.kind != instructions.INSTRUCTION:
        raise NotFound(str(_l("there is no such instruction on this complaint")))
    if not can_mark_instruction_done(actor, complaint, instruction):
        raise Forbidden(str(_l("you may not mark this instruction done")))
    if instructions.done_event_for(complaint, instruction.id) is not None:
        raise InvalidFields({"instruction": _l("this instruction is already marked done")})
    event, _ = record_internal_step(complaint, actor, instructions.DONE, "complaint.instruction_done",
                                    {}, extra={"instruction": instruction.id})
    # A new version of the complaint: of two people marking it at once, one gets a conflict.
    complaint.updated_at = event.occurred_at
    notifications.after_instruction_done(complaint, instruction, actor.user)
    return event


def acknowledge_escalations(complaint: Complaint, actor: Actor, note: str | None = None) -> list[Escalation]:
    """A supervisor of the unit confirms having seen the case's open escalations (optionally
    with a note); the acknowledgement is on the internal timeline and audited."""
    if not can_supervise(actor, complaint):
        raise Forbidden(str(_l("only a supervisor of the unit may acknowledge escalations")))
    pending = db.session.scalars(select(Escalation).where(
        Escalation.complaint_id == complaint.id, Escalation.acknowledged_at.is_(None),
        Escalation.level.in_(current_workflow().escalation_levels)).order_by(Escalation.id)).all()
    if not pending:
        raise InvalidFields({"escalations": _l("there is no escalation to acknowledge")})
    now = utcnow()
    record_internal_step(complaint, actor, "escalation_ack", "complaint.escalation_acknowledged",
                         {"note": note}, accepts=("note",),
                         extra={"levels": [e.level for e in pending],
                                "escalation_ids": [e.id for e in pending]})
    for escalation in pending:
        escalation.acknowledged_at, escalation.acknowledged_by_id = now, actor.user.id
    return pending


def identity_of(complaint: Complaint) -> dict[str, str | None]:
    return {name: getattr(complaint, f"complainant_{name}") for name in IDENTITY_FIELDS}


def visible_identity(complaint: Complaint, actor: Actor) -> dict[str, str | None] | None:
    """The identity if this actor may see it without a reveal, else None (masked)."""
    return identity_of(complaint) if can_see_identity(actor, complaint) else None


def reveal_identity(complaint: Complaint, actor: Actor, reason: str) -> dict[str, str | None]:
    """Show a masked identity to a supervisor, recording who, when and why."""
    if not can_reveal_identity(actor, complaint):
        raise Forbidden(str(_l("you may not reveal this complainant's identity")))
    record_internal_step(complaint, actor, "identity_reveal", "complaint.identity_revealed",
                         {"reason": reason}, requires=("reason",))
    return identity_of(complaint)
