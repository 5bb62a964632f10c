"""Who reads the readiness for the assessment: supervisors for their units, auditors and
admins for every unit."""
from __future__ import annotations

from ..models import Role, Unit
from .actor import CROSS_UNIT, Actor


def can_read_readiness(actor: Actor) -> bool:
    """Supervisors (who answer for their units' evidence), auditors (who assess it) and
    admins (who keep the standing documents and the office's channels)."""
    return actor.role == Role.SUPERVISOR or actor.role in CROSS_UNIT


def can_read_unit_readiness(actor: Actor, unit: Unit) -> bool:
    return actor.role in CROSS_UNIT or (actor.role == Role.SUPERVISOR and unit.id in actor.user.overseen_unit_ids)
