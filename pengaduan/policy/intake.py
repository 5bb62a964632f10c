"""Who types in complaints that arrived at the counter, by phone, by letter or from
SP4N-LAPOR!, and for which units."""
from __future__ import annotations

from ..models import Unit
from .actor import Actor, handles_cases


def can_enter_complaints(actor: Actor) -> bool:
    """Officers and supervisors record the complaints their units receive; auditors read and
    administrators manage, neither files."""
    return handles_cases(actor.role) and actor.user is not None


def can_enter_for(actor: Actor, unit: Unit | None) -> bool:
    """A complaint is entered for one of the units the staff member belongs to."""
    return can_enter_complaints(actor) and unit is not None and unit.id in actor.user.unit_ids
