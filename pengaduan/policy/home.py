"""What each staff member's home page (`/staff`) shows: the officer's own work, the
supervisor's late cases and escalations, figures for those who read reports across units, the
setup for administrators."""
from __future__ import annotations

from ..models import STAFF_ROLES, Role
from .actor import Actor
from .oversight import can_read_reports


def has_home(actor: Actor) -> bool:
    """Every staff account has a home page; citizens and the system have none."""
    return actor.role in STAFF_ROLES


def sees_own_work(actor: Actor) -> bool:
    """Officers see what is due for them, new complaints, replies and instructions."""
    return actor.role == Role.OFFICER


def watches_units(actor: Actor) -> bool:
    """Supervisors see their units' late cases and the escalations waiting for them."""
    return actor.role == Role.SUPERVISOR


def sees_unit_figures(actor: Actor) -> bool:
    """Supervisors (their units) and auditors (every unit) see the figures and charts: the
    same people who read the periodic report, except officers, whose home is their work.
    Administrators manage accounts and settings and do not read reports, so they see none."""
    return can_read_reports(actor) and actor.role != Role.OFFICER


def sees_setup_status(actor: Actor) -> bool:
    """Administrators see how far the setup is: units, accounts, categories, calendar."""
    return actor.role == Role.ADMIN
