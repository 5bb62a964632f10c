"""Moving a complaint through its workflow: the single `advance` service."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ... import audit, sla
from ...errors import ConcurrentChange, Forbidden, InvalidFields, TriggerNotAllowed
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Complaint, ComplaintEvent, utcnow
from ...policy import Actor, can_fire, can_view
from ...workflow import Workflow, current_workflow
from ...workflow.fields import FIELDS, clean_fields, for_audit, serialise
from ...workflow.findings import FINDING_FIELDS
from ...workflow.guards import GUARDS
from . import complainant_mail, conversation, lapor, notifications
from ..attachments import StoredFile, attach, attachment_digests


def allowed_triggers(complaint: Complaint, actor: Actor, workflow: Workflow | None = None) -> list[str]:
    """The triggers this actor may fire on this complaint now (for buttons and 409 answers)."""
    workflow = workflow or current_workflow()
    return [t.trigger for t in workflow.offered(complaint) if may_take(actor, complaint, t)]


def may_take(actor: Actor, complaint: Complaint, transition) -> bool:
    """The actor's role and unit allow the step, and its `not_by` does not refuse him: he did
    not take the latest of those steps since the complaint entered its current state."""
    if not can_fire(actor, complaint, transition):
        return False
    if not transition.not_by or actor.user is None:
        return True
    event = _latest_transition(complaint, transition.not_by)
    if event is None or event.actor_id != actor.user.id:
        return True
    entered = db.session.scalar(  # the step that brought the complaint where it is
        select(ComplaintEvent.id).where(ComplaintEvent.complaint_id == complaint.id,
                                        ComplaintEvent.kind == "transition",
                                        ComplaintEvent.from_state != ComplaintEvent.to_state)
        .order_by(ComplaintEvent.id.desc()).limit(1))
    return entered is not None and event.id < entered


def _offered(complaint: Complaint, transition) -> bool:
    """The step leaves the complaint's state and is offered for its category."""
    return (transition is not None and complaint.state in transition.sources
            and transition.offered_for(complaint.category.code if complaint.category else None))


def _drop_assignee_outside_unit(complaint: Complaint, values: dict) -> None:
    """A complaint disposed to another unit leaves its old assignee behind."""
    unit = values.get("unit")
    assignee = complaint.assignee
    if unit is not None and "assignee" not in values and assignee is not None \
            and unit.id not in assignee.unit_ids:
        complaint.assignee = None


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None  # a mangled version is simply not the current one


def advance(complaint: Complaint, trigger: str, actor: Actor, *,
            expected_version: int | None = None, at: datetime | None = None,
            attachments: list[StoredFile] = (), **fields) -> ComplaintEvent:
    """Fire `trigger` on the complaint for `actor`; flushes, never commits.

    Checks, in order: the actor may see the complaint (else Forbidden, revealing nothing),
    the trigger exists in the current state (TriggerNotAllowed with the allowed triggers),
    the actor's role and unit (Forbidden), the version the caller saw (ConcurrentChange),
    required fields and guards (InvalidFields). Then changes the state, applies the field
    values, updates the SLA clocks, and records the timeline and audit events.
    """
    workflow = current_workflow()
    at = at or utcnow()
    if not can_view(actor, complaint):
        raise Forbidden(str(_l("you may not act on this complaint")))
    transition = workflow.transition(trigger)
    if not _offered(complaint, transition):
        raise TriggerNotAllowed(trigger, complaint.state, allowed_triggers(complaint, actor, workflow))
    if not may_take(actor, complaint, transition):
        raise Forbidden(str(_l("your role may not take this step on this complaint")))
    if expected_version is not None and _as_int(expected_version) != complaint.version:
        raise ConcurrentChange()

    values = clean_fields(workflow, transition, complaint, fields, actor)
    if attachments and not transition.attachments:
        raise InvalidFields({"attachments": _l("files cannot be sent with this step")})
    for guard in transition.guards:
        GUARDS[guard](complaint, values, actor)

    # One flush, below: loading the timeline or clocks must not flush the change early.
    with db.session.no_autoflush:
        from_state, from_unit = complaint.state, complaint.unit
        if not workflow.machine.events[trigger].trigger(complaint):
            raise TriggerNotAllowed(trigger, from_state, allowed_triggers(complaint, actor, workflow))

        for name, value in values.items():
            FIELDS[name].apply(complaint, value, values)  # each field spec says what it sets
        _drop_assignee_outside_unit(complaint, values)
        if workflow.is_terminal(transition.dest):
            # A chosen reason was set with the fields; a step may fix its own instead.
            complaint.closure_reason = transition.closure_reason or complaint.closure_reason
            complaint.closed_at = at
        elif transition.reopen:
            complaint.closure_reason = complaint.closed_at = None
            complaint.duplicate_of = None  # reopened, it is a case of its own again
            for name in FINDING_FIELDS:  # the finding is of the closure now undone (kept in the timeline)
                setattr(complaint, name, None)
        if transition.dest != from_state:
            complaint.state_changed_at = at
        complaint.updated_at = at
        conversation.answered_by_step(complaint, actor, transition, values, from_unit)

        data = serialise(values)
        event = ComplaintEvent(
            complaint=complaint, kind="transition", unit=from_unit, trigger=trigger, from_state=from_state, to_state=transition.dest,
            actor_id=actor.user.id if actor.user else None, actor_role=actor.role,
            public=transition.public, occurred_at=at, data=data,
        )
        db.session.add(event)
        attach(complaint, list(attachments), event=event, public=transition.public)
        sla.on_event(complaint, workflow, trigger, from_state, transition.dest, at)
    db.session.flush()  # another version in the database: ConcurrentChange (the session's rule)

    audit.record(db.session, f"complaint.{trigger}", actor=actor.label,
                 unit=[from_unit, complaint.unit],  # both, when the step hands it on
                 complaint=complaint.tracking_code, payload={
                     "from": from_state, "to": transition.dest, "version": complaint.version,
                     "event_id": event.id, "fields": for_audit(data),
                     **attachment_digests(attachments),
                     "closure_reason": complaint.closure_reason if transition.dest != from_state
                     and workflow.is_terminal(transition.dest) else None,
                 })
    notifications.after_transition(complaint, trigger, actor, values, from_unit, at, transition.notify)
    complainant_mail.after_transition(complaint, transition, event, actor)
    lapor.after_answer(complaint, event)  # an answer to post to SP4N-LAPOR! too
    if workflow.is_terminal(transition.dest) and transition.dest != from_state:
        complainant_mail.tell_duplicates(complaint)  # their complainants follow this one
    return event


def _latest_transition(complaint: Complaint, triggers) -> ComplaintEvent | None:
    return db.session.scalar(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id,
                                     ComplaintEvent.kind == "transition",
                                     ComplaintEvent.trigger.in_(list(triggers)))
        .order_by(ComplaintEvent.id.desc()).limit(1))


def prefilled(complaint: Complaint, transition) -> dict:
    """What a step's form starts with (its `prefill`): each field as the named earlier step
    last carried it (the supervisor approves the follow-up the officer proposed, say)."""
    values = {}
    for name, source in transition.prefill:
        event = _latest_transition(complaint, [source])
        if event is not None and (event.data or {}).get(name):
            values[name] = event.data[name]
    return values


def standing_notice(complaint: Complaint, workflow: Workflow | None = None):
    """The step whose `notice` the case page shows now: the complaint's latest step, when it
    has one and the complaint is still where it put it. (transition, event) or None."""
    workflow = workflow or current_workflow()
    noticed = [t.trigger for t in workflow.transitions if t.notice]
    if not noticed:
        return None
    event = db.session.scalar(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id,
                                     ComplaintEvent.kind == "transition")
        .order_by(ComplaintEvent.id.desc()).limit(1))
    if event is None or event.trigger not in noticed or event.to_state != complaint.state:
        return None
    return workflow.transition(event.trigger), event
