"""The supervisor's view: what is late in my units, and how each unit keeps its time limits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Complaint, ComplaintClock, Unit, User, utcnow
from ..sla import WorkingCalendar, remaining
from ..workflow import current_workflow


@dataclass
class LateCase:
    complaint: Complaint
    days_late: int


def overdue_cases(user: User, now: datetime | None = None) -> dict[tuple[str, str], list[LateCase]]:
    """Open complaints past their stage deadline in the user's units, by (unit, state),
    most late first."""
    now = now or utcnow()
    complaints = db.session.scalars(
        select(Complaint).options(joinedload(Complaint.unit), joinedload(Complaint.assignee))
        .where(Complaint.unit_id.in_(user.unit_ids), Complaint.stage_due_at < now)
        .order_by(Complaint.stage_due_at)).all()
    groups: dict[tuple[str, str], list[LateCase]] = {}
    for complaint in complaints:
        late = remaining(complaint.stage_due_at, WorkingCalendar.for_unit(complaint.unit), now)[1]
        groups.setdefault((complaint.unit.name, complaint.state), []).append(LateCase(complaint, late))
    return dict(sorted(groups.items()))


@dataclass
class RulePerformance:
    rule: str
    label: dict
    finished: int
    on_time: int
    overdue_now: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.finished if self.finished else None


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
    terminal = [name for name, state in workflow.states.items() if state.terminal]
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
                 for name, rule in workflow.sla.items() if rule.track != "complainant"]
        result.append(UnitPerformance(unit, received.get(unit.id, 0), open_now.get(unit.id, 0), rules))
    return result


def default_period_start(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=30)
