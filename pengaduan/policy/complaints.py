"""Who may see and do what with a complaint."""
from __future__ import annotations

from ..models import Complaint, User
from .actor import STAFF_WITH_UNITS, Actor


def is_member(user: User | None, complaint: Complaint) -> bool:
    return user is not None and complaint.unit_id in user.unit_ids


def oversees(user: User | None, complaint: Complaint) -> bool:
    """A supervisor of the complaint's unit or of a unit above it."""
    return user is not None and user.role == "supervisor" and complaint.unit_id in user.overseen_unit_ids


def can_view(actor: Actor, complaint: Complaint) -> bool:
    """See the complaint at all (staff view for staff, public view for its citizen)."""
    if actor.role == "system":
        return True
    if actor.role == "citizen":
        return actor.complaint_id == complaint.id
    if actor.role in STAFF_WITH_UNITS:
        # Supervisors of a unit above read (and supervise) what escalates to them.
        return is_member(actor.user, complaint) or oversees(actor.user, complaint)
    return actor.role == "auditor"  # read-only across units; admins manage, not handle


def can_fire(actor: Actor, complaint: Complaint, transition) -> bool:
    """Fire a workflow transition on this complaint."""
    if actor.role not in transition.roles:
        return False
    if actor.role in STAFF_WITH_UNITS:
        return is_member(actor.user, complaint)
    if actor.role == "citizen":
        return actor.complaint_id == complaint.id
    return actor.role == "system"


def can_browse_queue(actor: Actor) -> bool:
    """Officers and supervisors work the queues of their units; auditors browse every
    unit's complaints read-only."""
    return actor.role in STAFF_WITH_UNITS or actor.role == "auditor"


def can_add_note(actor: Actor, complaint: Complaint) -> bool:
    return actor.role in STAFF_WITH_UNITS and is_member(actor.user, complaint)


def can_see_identity(actor: Actor, complaint: Complaint) -> bool:
    """A public complaint's identity is visible to its unit's staff; an anonymous or
    confidential one is masked for everybody and only shown by an audited reveal."""
    return (actor.role in STAFF_WITH_UNITS and is_member(actor.user, complaint)
            and complaint.privacy == "public")


def can_supervise(actor: Actor, complaint: Complaint) -> bool:
    """Acknowledge escalations and give instructions: supervisors of the unit or above."""
    return actor.role == "supervisor" and oversees(actor.user, complaint)


def can_reveal_identity(actor: Actor, complaint: Complaint) -> bool:
    """Supervisors of the unit may reveal a masked identity, giving a reason (audited)."""
    return actor.role == "supervisor" and is_member(actor.user, complaint)
