"""The supervisor's view: what is late in my units, and how each unit keeps its time limits."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Complaint, ComplaintClock, Escalation, Unit, User, utcnow
from ...policy import sees_all_units
from ...sla import WorkingCalendar, remaining
from ...workflow import current_workflow


@dataclass
class LateCase:
    complaint: Complaint
    days_late: int  # 0: escalated, but no deadline is past now (e.g. recomputed)
    escalations: list[Escalation] = field(default_factory=list)  # not yet acknowledged


def overdue_cases(user: User, now: datetime | None = None) -> dict[tuple[str, str], list[LateCase]]:
    """Open complaints of the user's units past a stage or resolution deadline, or with an
    escalation nobody has acknowledged, by (unit, state), most late first."""
    now = now or utcnow()
    workflow = current_workflow()
    units = user.overseen_unit_ids
    unacknowledged = (select(Escalation.complaint_id)
                      .where(Escalation.unit_id.in_(units), Escalation.acknowledged_at.is_(None),
                             Escalation.level.in_(workflow.escalation_levels)))
    complaints = db.session.scalars(
        select(Complaint).options(joinedload(Complaint.unit), joinedload(Complaint.assignee))
        .where(Complaint.unit_id.in_(units), Complaint.state.not_in(workflow.terminal_states),
               or_(Complaint.stage_due_at < now, Complaint.resolution_due_at < now,
                   Complaint.id.in_(unacknowledged)))).all()
    open_escalations: dict[int, list[Escalation]] = {}
    for escalation in db.session.scalars(
            select(Escalation).where(Escalation.complaint_id.in_([c.id for c in complaints]),
                                     Escalation.acknowledged_at.is_(None),
                                     Escalation.level.in_(workflow.escalation_levels))
            .order_by(Escalation.fired_at)):
        open_escalations.setdefault(escalation.complaint_id, []).append(escalation)
    groups: dict[tuple[str, str], list[LateCase]] = {}
    for complaint in complaints:
        cal = WorkingCalendar.for_unit(complaint.unit)
        past = [d for d in (complaint.stage_due_at, complaint.resolution_due_at) if d and d < now]
        late = remaining(min(past), cal, now)[1] if past else 0
        groups.setdefault((complaint.unit.name, complaint.state), []).append(
            LateCase(complaint, late, open_escalations.get(complaint.id, [])))
    for cases in groups.values():
        cases.sort(key=lambda case: (-case.days_late, case.complaint.tracking_code))
    return dict(sorted(groups.items()))


@dataclass
class RulePerformance:
    rule: str
    label: dict
    finished: int
    on_time: int
    overdue_now: int

    @property
    def counted(self) -> int:
        """Finished since the start, plus running late now: a case late now and not finished
        lowers the rate (reports.StagePerformance counts the same way)."""
        return self.finished + self.overdue_now

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


@dataclass
class UnitPerformance:
    unit: Unit
    received: int
    open_now: int
    rules: list[RulePerformance]


def unit_performance(user: User, since: datetime, now: datetime | None = None) -> list[UnitPerformance]:
    """Per unit: complaints received since `since`, open now, and per clock the share met on
    time among those that finished since `since`, and how many run late now."""
    now = now or utcnow()
    workflow = current_workflow()
    terminal = workflow.terminal_states
    units = db.session.scalars(select(Unit).where(Unit.id.in_(user.unit_ids)).order_by(Unit.name)).all()
    received = dict(db.session.execute(
        select(Complaint.unit_id, func.count()).where(Complaint.unit_id.in_(user.unit_ids),
                                                      Complaint.received_at >= since)
        .group_by(Complaint.unit_id)).all())
    open_now = dict(db.session.execute(
        select(Complaint.unit_id, func.count()).where(Complaint.unit_id.in_(user.unit_ids),
                                                      Complaint.state.not_in(terminal))
        .group_by(Complaint.unit_id)).all())
    finished = ComplaintClock.stopped_at.is_not(None) & (ComplaintClock.stopped_at >= since)
    stats = db.session.execute(
        select(Complaint.unit_id, ComplaintClock.rule,
               func.sum(case((finished, 1), else_=0)),
               func.sum(case((finished & (ComplaintClock.stopped_at <= ComplaintClock.due_at), 1), else_=0)),
               func.sum(case((ComplaintClock.stopped_at.is_(None) & ComplaintClock.paused_at.is_(None)
                              & (ComplaintClock.due_at < now), 1), else_=0)))
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(Complaint.unit_id.in_(user.unit_ids))
        .group_by(Complaint.unit_id, ComplaintClock.rule)).all()
    by_unit: dict[int, dict[str, tuple]] = {}
    for unit_id, rule, done, on_time, late in stats:
        by_unit.setdefault(unit_id, {})[rule] = (int(done or 0), int(on_time or 0), int(late or 0))
    result = []
    for unit in units:
        rules = [RulePerformance(name, rule.label, *by_unit.get(unit.id, {}).get(name, (0, 0, 0)))
                 for name, rule in workflow.staff_clocks.items()]
        result.append(UnitPerformance(unit, received.get(unit.id, 0), open_now.get(unit.id, 0), rules))
    return result


def units_in_view(user: User) -> list[Unit]:
    """The units whose records, reports and documents this user may look at, by name."""
    query = select(Unit).order_by(Unit.name)
    if not sees_all_units(user):
        query = query.where(Unit.id.in_(user.overseen_unit_ids))
    return db.session.scalars(query).all()


def default_period_start(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=30)
