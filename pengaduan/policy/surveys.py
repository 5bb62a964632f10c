"""Who runs the Survei Kepuasan Masyarakat and reads its results."""
from __future__ import annotations

from ..models import Role, Unit
from .actor import CROSS_UNIT, Actor, handles_cases, reads_cases


def _covers(actor: Actor, unit: Unit) -> bool:
    return actor.role in CROSS_UNIT or unit.id in actor.user.overseen_unit_ids


def can_use_surveys(actor: Actor) -> bool:
    """Whoever opens, types in or reads the survey of some unit: the staff menu's SKM pages."""
    return actor.role in CROSS_UNIT or (handles_cases(actor.role) and bool(actor.user.unit_ids))


def can_open_survey(actor: Actor, unit: Unit) -> bool:
    """Admins (any unit) and supervisors (their units) open, change and close survey periods."""
    return actor.role == Role.ADMIN or (actor.role == Role.SUPERVISOR and _covers(actor, unit))


def can_enter_questionnaires(actor: Actor, unit: Unit) -> bool:
    """Officers and supervisors type in the paper questionnaires of their units."""
    return handles_cases(actor.role) and _covers(actor, unit)


def can_read_survey_results(actor: Actor, unit: Unit) -> bool:
    """The IKM report and the suggestions: officers and supervisors of the unit, auditors of
    any unit, admins who run the surveys."""
    return actor.role == Role.ADMIN or (reads_cases(actor.role) and _covers(actor, unit))


def can_follow_up_survey(actor: Actor, unit: Unit) -> bool:
    """Supervisors turn a period's low elements into improvement actions and close them."""
    return actor.role == Role.SUPERVISOR and _covers(actor, unit)
