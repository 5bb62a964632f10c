"""Who reads and keeps the complaint service standard and maklumat of each unit."""
from __future__ import annotations

from ..models import Role, Unit
from .actor import Actor

READERS = (Role.OFFICER, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


def can_read_standards(actor: Actor) -> bool:
    """Every staff member reads the standards (the public reads the published ones)."""
    return actor.role in READERS


def can_edit_standard(actor: Actor, unit: Unit | None) -> bool:
    """Admins keep every standard and the kabupaten-wide default; a supervisor keeps those
    of the units under her (`unit` None: the default)."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.SUPERVISOR and unit is not None and unit.id in actor.user.overseen_unit_ids


def keeps_standards(actor: Actor) -> bool:
    """Admins and supervisors: those told when a standard they keep is due for review."""
    return actor.role in (Role.ADMIN, Role.SUPERVISOR)
