"""Who records findings on closed complaints and who reads and acts on the quarterly complaint
evaluation report (laporan evaluasi pengaduan)."""
from __future__ import annotations

from ..models import Complaint, Role, Unit
from .actor import CROSS_UNIT, Actor, handles_cases
from .complaints import is_member, oversees


def can_record_finding(actor: Actor, complaint: Complaint) -> bool:
    """The officers and supervisors of the complaint's unit (and supervisors above it) record or
    correct the finding on a closed complaint."""
    return handles_cases(actor.role) and (is_member(actor.user, complaint) or oversees(actor.user, complaint))


def can_read_evaluation(actor: Actor, unit: Unit | None = None) -> bool:
    """Supervisors (their units), auditors and admins (any unit) read the report (of `unit`, or
    of some unit when None); officers do not: it weighs the unit's work."""
    if actor.role in CROSS_UNIT:
        return True
    if actor.role != Role.SUPERVISOR:
        return False
    return unit is None or unit.id in actor.user.overseen_unit_ids


def can_act_on_evaluation(actor: Actor, unit: Unit) -> bool:
    """Supervisors of the unit turn the report's groups into improvement actions and close them."""
    return actor.role == Role.SUPERVISOR and unit.id in actor.user.overseen_unit_ids


def sees_complaint_content(actor: Actor, complaint: Complaint) -> bool:
    """Whether a report row may quote a complaint's root cause and title: never a confidential
    complaint's, except to staff of its own unit."""
    return complaint.privacy != "confidential" or (handles_cases(actor.role) and is_member(actor.user, complaint))
