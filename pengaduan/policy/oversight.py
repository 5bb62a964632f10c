"""Who may look across units: reports, evidence packs, the overdue review, the audit log."""
from __future__ import annotations

from ..models import Role, User
from .actor import CROSS_UNIT, Actor, reads_cases


def sees_all_units(user: User) -> bool:
    """Auditors (Inspektorat, Ombudsman) look across units, and admins manage them all;
    officers and supervisors look at their own (and, supervisors, the units below)."""
    return user.role in CROSS_UNIT


def can_read_reports(actor: Actor) -> bool:
    """Officers, supervisors and auditors read the periodic report of the units they see."""
    return reads_cases(actor.role)


def can_export_evidence(actor: Actor) -> bool:
    """Supervisors (their units) and auditors (any unit) download signed evidence packs."""
    return actor.role in (Role.SUPERVISOR, Role.AUDITOR)


def can_review_overdue(actor: Actor) -> bool:
    """The overdue review (late cases, each unit's time-limit record) is a supervisor's."""
    return actor.role == Role.SUPERVISOR


def can_read_audit_log(actor: Actor) -> bool:
    """Auditors (whose work it is) and admins (who answer for the deployment) read the whole
    audit log and verify the chain; officers and supervisors do not: it spans every unit and
    every account."""
    return actor.role in CROSS_UNIT


def audit_log_shows_case_text(actor: Actor, privacy: str | None) -> bool:
    """Whether the log may quote what staff wrote on a case's internal timeline (a reveal's
    reason): to auditors, as their evidence pack does, except for a confidential case, whose
    text the pack too keeps only as a digest; never to admins, who do not read cases."""
    return actor.role == Role.AUDITOR and privacy != "confidential"
