"""How each unit keeps its time limits (what is late now, case by case, is lateness.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from ...extensions import db
from ...models import Complaint, ComplaintClock, Unit, User, utcnow
from ...policy import sees_all_units
from ...workflow import current_workflow


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
    # A duplicate counts with its original: taken away again, read through its own index, so
    # the count above stays on the index (unit, received) alone.
    for unit_id, n in db.session.execute(
            select(Complaint.unit_id, func.count()).where(Complaint.duplicate_of_id.is_not(None),
                                                          Complaint.unit_id.in_(user.unit_ids),
                                                          Complaint.received_at >= since)
            .group_by(Complaint.unit_id)):
        received[unit_id] -= n
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
        .where(Complaint.unit_id.in_(user.unit_ids), Complaint.duplicate_of_id.is_(None))
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
