"""Who reads and keeps the register of compensation given."""
from __future__ import annotations

from ..models import Compensation, Role, Unit
from .actor import Actor, handles_cases, reads_cases


def can_read_compensation(actor: Actor) -> bool:
    """Officers, supervisors and auditors open the register (each sees the units in view)."""
    return reads_cases(actor.role)


def can_record_compensation(actor: Actor, unit: Unit) -> bool:
    """The officers and supervisors of a unit record what it gave."""
    return handles_cases(actor.role) and unit.id in actor.user.unit_ids


def can_correct_compensation(actor: Actor, compensation: Compensation) -> bool:
    """Who recorded it, while still in the unit, and the unit's supervisors correct a record
    and add its evidence."""
    if not handles_cases(actor.role) or compensation.unit_id not in actor.user.unit_ids:
        return False
    return actor.role == Role.SUPERVISOR or compensation.recorded_by_id == actor.user.id


def can_view_compensation(actor: Actor, compensation: Compensation) -> bool:
    """Auditors read every unit's; a unit's staff and the supervisors above it read its own."""
    if actor.role == Role.AUDITOR:
        return True
    return handles_cases(actor.role) and compensation.unit_id in actor.user.overseen_unit_ids
