"""Who may see and do what: the one place permission decisions are made.

actor.py says who acts (the `Actor` every service is given); complaints.py decides what an
actor may see and do with a complaint; oversight.py who looks across units. Policy reads
models only: it never imports services or web.
"""
from .actor import STAFF_WITH_UNITS, Actor
from .complaints import (can_add_note, can_browse_queue, can_fire, can_reveal_identity,
                         can_see_identity, can_supervise, can_view, is_member, oversees)
from .oversight import sees_all_units

__all__ = [
    "STAFF_WITH_UNITS", "Actor", "can_add_note", "can_browse_queue", "can_fire",
    "can_reveal_identity", "can_see_identity", "can_supervise", "can_view", "is_member",
    "oversees", "sees_all_units",
]
