"""How late a complaint is, clock by clock, in words that name the clock and the delay
("Verification late by 3 working days"), and the supervisor's overdue review built on them.

One `ClockLateness` per clock that is past its deadline or has a rung of its escalation
ladder nobody has acknowledged: the highest such rung, the delay counted in the clock's own
unit (working days, calendar days, hours) on the unit's calendar, up to now, or up to the
moment the clock stopped or paused.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...i18n import label
from ...models import Complaint, ComplaintClock, Escalation, Unit, utcnow
from ...policy import Actor, can_supervise
from ...sla import WorkingCalendar, remaining, units_elapsed
from ...workflow import current_workflow
from ...workflow.labels import delay_words


@dataclass
class ClockLateness:
    """Where one clock of a complaint stands against its deadline, with its open rungs."""

    rule: str
    clock_label: dict
    unit: str  # working_days, calendar_days or hours
    due_at: datetime
    status: str  # left, late, done_late, done (stopped in time), earlier (a previous round)
    amount: int  # units left or late
    level: str | None = None  # the highest rung fired on this clock, if any
    level_label: dict | None = None
    rung_offset: int = 0  # working days from the deadline at which that rung fires
    open_escalations: list[Escalation] = field(default_factory=list)  # not acknowledged

    @property
    def late(self) -> bool:
        return self.status in ("late", "done_late", "earlier")

    @property
    def text(self) -> str:
        """The label in the reader's language: the clock and the delay, once."""
        clock = label(self.clock_label)
        if self.status == "earlier":
            return gettext("%(clock)s was late in an earlier round", clock=clock)
        if self.status == "done":
            return gettext("%(clock)s done on time", clock=clock)
        if self.status == "left" and self.amount == 0:
            return gettext("%(clock)s due today", clock=clock)
        if self.status == "late" and self.amount == 0:
            return gettext("%(clock)s past its deadline", clock=clock)
        return delay_words(self.status, self.unit, self.amount, clock)

    @property
    def rung_text(self) -> str | None:
        """The rung's own label when it says more than the delay does (a rung some days past
        the deadline, such as "seriously overdue", which reached the level above)."""
        return label(self.level_label) if self.level_label and self.rung_offset > 0 else None


def _amount(unit: str, start: datetime, end: datetime, cal: WorkingCalendar) -> int:
    """Whole units from `start` to `end` as the clock counts them (days after the start day)."""
    if unit == "hours":
        return int((end - start).total_seconds() // 3600)
    if unit == "working_days":
        return units_elapsed(start, end, unit, cal)
    return max(0, (end.astimezone(cal.tz).date() - start.astimezone(cal.tz).date()).days)


def _standing(clock: ComplaintClock, unit: str, due_at: datetime, cal: WorkingCalendar,
              now: datetime) -> tuple[str, int]:
    at = clock.stopped_at or clock.paused_at or now
    if due_at >= at:
        if clock.stopped_at is not None:
            return "done", 0
        if unit == "working_days":
            return "left", remaining(due_at, cal, at)[1]
        return "left", _amount(unit, at, due_at, cal)
    return ("done_late" if clock.stopped_at is not None else "late"), _amount(unit, due_at, at, cal)


def clock_standing(clock: ComplaintClock, unit: str, cal: WorkingCalendar,
                   now: datetime) -> tuple[str, int]:
    """A running clock against its deadline in its own unit: ("left", n) or ("late", n)."""
    return _standing(clock, unit, clock.due_at, cal, now)


def lateness(complaints, now: datetime | None = None, include_acknowledged: bool = False
             ) -> dict[int, list[ClockLateness]]:
    """For each complaint (by id), its clocks that are past their deadline or carry a rung
    nobody has acknowledged (any fired rung with `include_acknowledged`), most late first."""
    now = now or utcnow()
    workflow = current_workflow()
    by_id = {c.id: c for c in complaints}
    if not by_id:
        return {}
    staff_levels = workflow.escalation_levels
    query = select(Escalation).where(Escalation.complaint_id.in_(by_id), Escalation.level.in_(staff_levels))
    if not include_acknowledged:
        query = query.where(Escalation.acknowledged_at.is_(None))
    rungs: dict[int, list[Escalation]] = {}
    for escalation in db.session.scalars(query.order_by(Escalation.id)):
        rungs.setdefault(escalation.clock_id, []).append(escalation)
    clocks = db.session.scalars(select(ComplaintClock).where(
        ComplaintClock.complaint_id.in_(by_id),
        ComplaintClock.rule.in_(list(workflow.staff_clocks)))).all()
    calendars: dict[int, WorkingCalendar] = {}
    result: dict[int, list[ClockLateness]] = {}
    for clock in clocks:
        rule = workflow.staff_clocks[clock.rule]
        fired = rungs.get(clock.id, [])
        past_due = clock.due_at is not None and clock.running and clock.due_at < now
        if not fired and not past_due:
            continue
        complaint = by_id[clock.complaint_id]
        cal = calendars.get(complaint.unit_id)
        if cal is None:
            cal = calendars[complaint.unit_id] = WorkingCalendar.for_unit(complaint.unit)
        offsets = {step.level: step.offset for step in rule.steps}
        top = max(fired, key=lambda e: (e.cycle, offsets.get(e.level, 0)), default=None)
        if top is not None and top.cycle < clock.cycle and not past_due:
            status, amount, due_at = "earlier", 0, top.due_at
        else:
            due_at = clock.due_at or top.due_at
            status, amount = _standing(clock, rule.unit, due_at, cal, now)
        step = next((s for s in rule.steps if top is not None and s.level == top.level), None)
        result.setdefault(complaint.id, []).append(ClockLateness(
            clock.rule, rule.label, rule.unit, due_at, status, amount,
            level=top.level if top else None, level_label=step.label if step else None,
            rung_offset=step.offset if step else 0,
            open_escalations=[e for e in fired if e.acknowledged_at is None]))
    for items in result.values():
        items.sort(key=lambda item: (not item.late, item.due_at, item.rule))
    return result


@dataclass
class LateComplaint:
    """One row of the overdue review: a complaint and its clocks, summarised once."""

    complaint: Complaint
    clocks: list[ClockLateness]
    may_supervise: bool  # acknowledge its escalations, give instructions

    @property
    def open_escalations(self) -> list[Escalation]:
        return [e for c in self.clocks for e in c.open_escalations]

    @property
    def rung_text(self) -> str | None:
        """The highest rung past a deadline that fired on any of its clocks ("seriously
        overdue"), named once for the complaint."""
        beyond = [c for c in self.clocks if c.rung_text]
        top = max(beyond, key=lambda c: c.rung_offset, default=None)
        return top.rung_text if top else None

    @property
    def oldest_deadline(self) -> datetime:
        """The deadline that passed longest ago (or, with none past, the nearest)."""
        late = [c.due_at for c in self.clocks if c.late]
        return min(late) if late else min(c.due_at for c in self.clocks)


@dataclass
class UnitReview:
    unit: Unit
    cases: list[LateComplaint]


def overdue_review(actor: Actor, now: datetime | None = None) -> list[UnitReview]:
    """Open complaints of the units the user oversees that are past a deadline or carry an
    escalation nobody has acknowledged, one row each, grouped by unit (by name), the longest
    overdue first."""
    now = now or utcnow()
    workflow = current_workflow()
    units = actor.user.overseen_unit_ids
    unacknowledged = (select(Escalation.complaint_id)
                      .where(Escalation.unit_id.in_(units), Escalation.acknowledged_at.is_(None),
                             Escalation.level.in_(workflow.escalation_levels)))
    complaints = db.session.scalars(
        select(Complaint).options(joinedload(Complaint.unit), joinedload(Complaint.assignee))
        .where(Complaint.unit_id.in_(units), Complaint.state.not_in(workflow.terminal_states),
               or_(Complaint.stage_due_at < now, Complaint.resolution_due_at < now,
                   Complaint.id.in_(unacknowledged)))).all()
    clocks = lateness(complaints, now)
    groups: dict[int, UnitReview] = {}
    for complaint in complaints:
        if not clocks.get(complaint.id):
            continue
        groups.setdefault(complaint.unit_id, UnitReview(complaint.unit, [])).cases.append(
            LateComplaint(complaint, clocks[complaint.id], can_supervise(actor, complaint)))
    for group in groups.values():
        group.cases.sort(key=lambda case: (case.oldest_deadline, case.complaint.tracking_code))
    return sorted(groups.values(), key=lambda group: (group.unit.name, group.unit.id))
