"""What staff do on a complaint besides moving it: internal notes and identity reveals."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .. import audit
from ..errors import Forbidden
from ..extensions import db
from ..models import IDENTITY_FIELDS, Complaint, ComplaintEvent, utcnow
from ..policy import Actor, can_add_note, can_reveal_identity, can_see_identity
from ..workflow import current_workflow
from ..workflow.fields import clean_values, for_audit, serialise


def add_note(complaint: Complaint, actor: Actor, note: str) -> ComplaintEvent:
    """An internal note on the timeline; never shown to the complainant."""
    if not can_add_note(actor, complaint):
        raise Forbidden(str(_l("you may not add notes to this complaint")))
    values = clean_values(current_workflow(), complaint, {"note": note}, requires=("note",),
                          accepts=())
    event = ComplaintEvent(complaint=complaint, kind="note", actor_id=actor.user.id,
                           actor_role=actor.role, public=False, occurred_at=utcnow(),
                           data=values, unit=complaint.unit)
    db.session.add(event)
    db.session.flush()
    audit.record(db.session, "complaint.note", actor=actor.label, complaint=complaint.tracking_code,
                 payload={"event_id": event.id, "fields": for_audit(values)})
    return event


def identity_of(complaint: Complaint) -> dict[str, str | None]:
    return {name: getattr(complaint, f"complainant_{name}") for name in IDENTITY_FIELDS}


def visible_identity(complaint: Complaint, actor: Actor) -> dict[str, str | None] | None:
    """The identity if this actor may see it without a reveal, else None (masked)."""
    return identity_of(complaint) if can_see_identity(actor, complaint) else None


def reveal_identity(complaint: Complaint, actor: Actor, reason: str) -> dict[str, str | None]:
    """Show a masked identity to a supervisor, recording who, when and why."""
    if not can_reveal_identity(actor, complaint):
        raise Forbidden(str(_l("you may not reveal this complainant's identity")))
    values = clean_values(current_workflow(), complaint, {"reason": reason}, requires=("reason",),
                          accepts=())
    db.session.add(ComplaintEvent(complaint=complaint, kind="identity_reveal",
                                  actor_id=actor.user.id, actor_role=actor.role, public=False,
                                  occurred_at=utcnow(), data=values, unit=complaint.unit))
    audit.record(db.session, "complaint.identity_revealed", actor=actor.label,
                 complaint=complaint.tracking_code, payload={"fields": for_audit(values)})
    return identity_of(complaint)


def assign(complaint: Complaint, actor: Actor, assignee: str | None) -> ComplaintEvent:
    """Give the complaint to an officer of its unit (or to nobody), without moving it."""
    if not can_add_note(actor, complaint):
        raise Forbidden(str(_l("you may not assign this complaint")))
    values = clean_values(current_workflow(), complaint, {"assignee": assignee},
                          requires=(), accepts=("assignee",))
    complaint.assignee = values.get("assignee")
    data = serialise(values) or {"assignee": None}
    event = ComplaintEvent(complaint=complaint, kind="assignment", actor_id=actor.user.id,
                           actor_role=actor.role, public=False, occurred_at=utcnow(),
                           data=data, unit=complaint.unit)
    db.session.add(event)
    db.session.flush()
    audit.record(db.session, "complaint.assigned", actor=actor.label,
                 complaint=complaint.tracking_code, payload={"event_id": event.id, **data})
    return event
