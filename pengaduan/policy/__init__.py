"""Who may see and do what: the one place permission decisions are made.

actor.py says who acts (the `Actor` every service is given); complaints.py decides what an
actor may see and do with a complaint; oversight.py who looks across units. Policy reads
models only: it never imports services or web.
"""
from ..models import Role
from .actor import CASE_READERS, CROSS_UNIT, STAFF_WITH_UNITS, Actor, handles_cases, reads_cases
from .complaints import (can_add_note, can_browse_queue, can_fire, can_reveal_identity,
                         can_see_identity, can_supervise, can_view, is_member, oversees)
from .oversight import sees_all_units

__all__ = [
    "CASE_READERS", "CROSS_UNIT", "STAFF_WITH_UNITS", "Actor", "Role", "handles_cases",
    "reads_cases", "can_add_note", "can_browse_queue", "can_fire", "can_reveal_identity", "can_see_identity", "can_supervise", "can_view", "is_member",
    "oversees", "sees_all_units",
]
