"""Who may see and do what with a complaint."""
from __future__ import annotations

from ..models import Complaint, ComplaintEvent, Role, User
from .actor import Actor, handles_cases, reads_cases


def is_member(user: User | None, complaint: Complaint) -> bool:
    return user is not None and complaint.unit_id in user.unit_ids


def oversees(user: User | None, complaint: Complaint) -> bool:
    """A supervisor of the complaint's unit or of a unit above it."""
    return user is not None and user.role == Role.SUPERVISOR and complaint.unit_id in user.overseen_unit_ids


def can_view(actor: Actor, complaint: Complaint) -> bool:
    """See the complaint at all (staff view for staff, public view for its citizen)."""
    if actor.role == Role.SYSTEM:
        return True
    if actor.role == Role.CITIZEN:
        return actor.complaint_id == complaint.id
    if handles_cases(actor.role):
        # Supervisors of a unit above read (and supervise) what escalates to them.
        return is_member(actor.user, complaint) or oversees(actor.user, complaint)
    return actor.role == Role.AUDITOR  # read-only across units; admins manage, not handle


def can_fire(actor: Actor, complaint: Complaint, transition) -> bool:
    """Fire a workflow transition on this complaint."""
    if actor.role not in transition.roles:
        return False
    if handles_cases(actor.role):
        return is_member(actor.user, complaint)
    if actor.role == Role.CITIZEN:
        return actor.complaint_id == complaint.id
    return actor.role == Role.SYSTEM


def can_browse_queue(actor: Actor) -> bool:
    """Officers and supervisors work the queues of their units; auditors browse every
    unit's complaints read-only."""
    return reads_cases(actor.role)


def reads_as_complainant(actor: Actor) -> bool:
    """A complainant (by code and PIN, or filing through a channel) reads the public view of a
    complaint, as on the tracking page; staff and the system read the file."""
    return actor.role == Role.CITIZEN


def acts_as_complainant(actor: Actor, complaint: Complaint) -> bool:
    """Only the complainant herself (code and PIN) rates the service or replaces her PIN."""
    return reads_as_complainant(actor) and can_view(actor, complaint)


def can_add_note(actor: Actor, complaint: Complaint) -> bool:
    return handles_cases(actor.role) and is_member(actor.user, complaint)


def can_post_message(actor: Actor, complaint: Complaint) -> bool:
    """Write in the conversation with the complainant: the complainant herself (code and PIN),
    and the officers and supervisors of the complaint's unit, who may handle it."""
    return acts_as_complainant(actor, complaint) or (
        handles_cases(actor.role) and is_member(actor.user, complaint))


def can_record_lapor_posting(actor: Actor, complaint: Complaint) -> bool:
    """Confirm that an answer was posted to SP4N-LAPOR! too: the officers and supervisors of
    the complaint's unit, who answer it, and an adapter posting by itself (the system)."""
    return actor.role == Role.SYSTEM or (handles_cases(actor.role) and is_member(actor.user, complaint))


def can_assign_in_bulk(actor: Actor) -> bool:
    """Officers and supervisors assign several complaints of the queue at once (each one
    still checked with can_add_note, as a single assignment is)."""
    return handles_cases(actor.role)


def assigns_in_units(actor: Actor) -> list[int]:
    """The units whose complaints the actor may assign: the units they work in."""
    return sorted(actor.user.unit_ids) if handles_cases(actor.role) and actor.user else []


def can_export_queue(actor: Actor) -> bool:
    """Whoever browses the queue downloads the view as CSV (it holds no identity); the
    export is audited."""
    return can_browse_queue(actor)


def can_see_identity(actor: Actor, complaint: Complaint) -> bool:
    """A public complaint's identity is visible to its unit's staff; an anonymous or
    confidential one is masked for everybody and only shown by an audited reveal."""
    return (handles_cases(actor.role) and is_member(actor.user, complaint)
            and complaint.privacy == "public")


def can_supervise(actor: Actor, complaint: Complaint) -> bool:
    """Acknowledge escalations and give instructions: supervisors of the unit or above."""
    return actor.role == Role.SUPERVISOR and oversees(actor.user, complaint)


def can_reveal_identity(actor: Actor, complaint: Complaint) -> bool:
    """Supervisors of the unit may reveal a masked identity, giving a reason (audited)."""
    return actor.role == Role.SUPERVISOR and is_member(actor.user, complaint)


def is_addressed_to(user: User | None, complaint: Complaint, instruction: ComplaintEvent) -> bool:
    """An instruction is for the officer it names, or, naming nobody, for the officers of
    the complaint's unit."""
    if user is None:
        return False
    named = instruction.data.get("to_user")
    if named is not None:
        return named == user.id
    return user.role == Role.OFFICER and is_member(user, complaint)


def can_mark_instruction_done(actor: Actor, complaint: Complaint, instruction: ComplaintEvent) -> bool:
    """The person an instruction is for, any officer or supervisor of the unit, the
    supervisor who gave it and the supervisors above may say it has been carried out."""
    if not handles_cases(actor.role) or actor.user is None:
        return False
    return (is_addressed_to(actor.user, complaint, instruction) or is_member(actor.user, complaint)
            or instruction.actor_id == actor.user.id or can_supervise(actor, complaint))
