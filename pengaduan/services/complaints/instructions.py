"""Supervisors' instructions as work: whom each is addressed to, whether it is done, and the
instructions still open for a person (the ones addressed to them, the ones they gave).

An instruction is an internal timeline event (kind `instruction`) naming its addressee in its
data: `to_user`, the assignee when it was given, or none, and then the officers of the unit
(`to_unit`). Marking it done adds a second event (kind `instruction_done`) whose data names the
instruction's event id; the first such event is the one that counts.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Complaint, ComplaintEvent, Unit, User
from ...policy import Actor, can_mark_instruction_done, is_addressed_to
from ...workflow import current_workflow

INSTRUCTION, DONE = "instruction", "instruction_done"


@dataclass
class Instruction:
    """One instruction as pages show it."""

    event: ComplaintEvent
    to_user: User | None  # None: the officers of the unit
    to_unit: Unit | None
    done: ComplaintEvent | None
    may_mark_done: bool

    @property
    def complaint(self) -> Complaint:
        return self.event.complaint

    @property
    def text(self) -> str:
        return self.event.data.get("note") or ""


def addressee(complaint: Complaint) -> dict:
    """Whom an instruction given now is for: the active assignee, else the unit's officers."""
    assignee = complaint.assignee
    return {"to_user": assignee.id if assignee is not None and assignee.active else None,
            "to_unit": complaint.unit_id}


def done_event_for(complaint: Complaint, instruction_id: int) -> ComplaintEvent | None:
    return next(iter(_done_events([complaint.id]).get(instruction_id, [])), None)


def _done_events(complaint_ids) -> dict[int, list[ComplaintEvent]]:
    """The `instruction_done` events of the complaints, by the instruction they close."""
    done: dict[int, list[ComplaintEvent]] = {}
    if not complaint_ids:
        return done
    for event in db.session.scalars(
            select(ComplaintEvent).options(joinedload(ComplaintEvent.actor))
            .where(ComplaintEvent.complaint_id.in_(set(complaint_ids)), ComplaintEvent.kind == DONE)
            .order_by(ComplaintEvent.id)):
        done.setdefault(event.data.get("instruction"), []).append(event)
    return done


def _views(events, actor: Actor) -> list[Instruction]:
    """Instruction views of instruction events (their addressees loaded in one query)."""
    events = [e for e in events if e.kind == INSTRUCTION]
    done = _done_events({e.complaint_id for e in events})
    user_ids = {e.data.get("to_user") for e in events} - {None}
    unit_ids = {e.data.get("to_unit") for e in events} - {None}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} \
        if user_ids else {}
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} \
        if unit_ids else {}
    views = []
    for event in events:
        closed = next(iter(done.get(event.id, [])), None)
        views.append(Instruction(
            event, users.get(event.data.get("to_user")), units.get(event.data.get("to_unit")),
            closed, closed is None and can_mark_instruction_done(actor, event.complaint, event)))
    return views


def instructions_of(complaint: Complaint, actor: Actor, events=None) -> dict[int, Instruction]:
    """The complaint's instructions by event id (from `events` when the caller has them)."""
    if events is None:
        events = db.session.scalars(select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == INSTRUCTION)).all()
    return {view.event.id: view for view in _views(events, actor)}


def _open_on_open_complaints(*conditions) -> list[ComplaintEvent]:
    workflow = current_workflow()
    return db.session.scalars(
        select(ComplaintEvent)
        .options(joinedload(ComplaintEvent.actor),
                 joinedload(ComplaintEvent.complaint).joinedload(Complaint.unit))
        .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
        .where(ComplaintEvent.kind == INSTRUCTION, Complaint.state.not_in(workflow.terminal_states),
               *conditions)
        .order_by(ComplaintEvent.occurred_at, ComplaintEvent.id)).all()


def open_instructions_for(actor: Actor) -> list[Instruction]:
    """Instructions not yet done on open complaints that are this person's to carry out
    (addressed to them, or to the officers of their unit), oldest first."""
    me = actor.user
    if me is None or not me.unit_ids:
        return []
    events = _open_on_open_complaints(Complaint.unit_id.in_(me.unit_ids))
    mine = [e for e in events if e.actor_id != me.id and is_addressed_to(me, e.complaint, e)]
    return [view for view in _views(mine, actor) if view.done is None]


def open_instructions_given_by(actor: Actor) -> list[Instruction]:
    """Instructions this person gave on open complaints that nobody has marked done yet."""
    me = actor.user
    if me is None:
        return []
    events = _open_on_open_complaints(ComplaintEvent.actor_id == me.id)
    return [view for view in _views(events, actor) if view.done is None]


def open_instructions_on(complaints, actor: Actor) -> dict[int, list[Instruction]]:
    """The instructions not yet done on these complaints, by complaint id, oldest first."""
    ids = [c.id for c in complaints]
    if not ids:
        return {}
    events = db.session.scalars(
        select(ComplaintEvent).options(joinedload(ComplaintEvent.actor))
        .where(ComplaintEvent.complaint_id.in_(ids), ComplaintEvent.kind == INSTRUCTION)
        .order_by(ComplaintEvent.occurred_at, ComplaintEvent.id)).all()
    result: dict[int, list[Instruction]] = {}
    for view in _views(events, actor):
        if view.done is None:
            result.setdefault(view.event.complaint_id, []).append(view)
    return result
