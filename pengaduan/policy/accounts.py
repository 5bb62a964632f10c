"""Who may administer accounts, units, categories, templates and the calendar."""
from __future__ import annotations

from ..models import Role
from .actor import Actor


def can_administer(actor: Actor) -> bool:
    return actor.role == Role.ADMIN
