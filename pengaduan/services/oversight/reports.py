"""The periodic complaint-management report (Perpres 76/2013: units report to their
superiors) and the SLA figures the evidence pack carries.

Periods are whole local days of the deployment's timezone; counts are set-based queries,
durations are read in a stream, so a year of a large unit costs little memory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Category, Complaint, ComplaintClock, Escalation, Unit, utcnow
from ...sla import WorkingCalendar, remaining
from ...workflow import current_workflow

STREAM = 2000


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants of the start of `start` and the end of `end` (local days)."""
    tz = ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"])
    return (datetime.combine(start, time(0), tzinfo=tz),
            datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz))


@dataclass
class StagePerformance:
    rule: str
    label: dict
    finished: int = 0
    on_time: int = 0
    total_days: float = 0.0
    longest_days: float = 0.0
    overdue_open: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.finished if self.finished else None

    @property
    def average_days(self) -> float | None:
        return self.total_days / self.finished if self.finished else None


@dataclass
class OverdueCase:
    code: str
    unit: str
    state: str
    days_late: int
    assignee: str | None
    late_limits: list[dict] = field(default_factory=list)  # labels of the clocks past due
    escalations_open: int = 0  # escalations nobody has acknowledged yet


@dataclass
class Report:
    start: date
    end: date
    unit: Unit | None
    received: int = 0
    by_channel: dict = field(default_factory=dict)
    by_classification: dict = field(default_factory=dict)
    by_category: dict = field(default_factory=dict)
    by_state: dict = field(default_factory=dict)
    by_closure: dict = field(default_factory=dict)
    stages: list[StagePerformance] = field(default_factory=list)
    overdue: list[OverdueCase] = field(default_factory=list)
    ratings: dict = field(default_factory=dict)
    late_filings: int = 0

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def average_rating(self) -> float | None:
        return sum(k * v for k, v in self.ratings.items()) / self.rated if self.rated else None


def _unit_filter(query, unit: Unit | None):
    return query.where(Complaint.unit_id == unit.id) if unit is not None else query


def _counts(column, since, until, unit) -> dict:
    query = select(column, func.count()).where(Complaint.received_at >= since,
                                               Complaint.received_at < until).group_by(column)
    return {key if key is not None else "": n for key, n in db.session.execute(_unit_filter(query, unit))}


def stage_performance(start: date, end: date, unit: Unit | None = None,
                      now: datetime | None = None) -> list[StagePerformance]:
    """Per staff clock: those that finished in the period, how many on time, average and
    longest duration in days; and how many run late at the end of the period (or now, for
    a period still running)."""
    workflow = current_workflow()
    since, until = bounds(start, end)
    moment = min(until, now or utcnow())
    rules = {name: StagePerformance(name, rule.label) for name, rule in workflow.staff_clocks.items()}
    query = _unit_filter(
        select(ComplaintClock.rule, ComplaintClock.due_at, ComplaintClock.stopped_at,
               ComplaintClock.explanation, Complaint.received_at)
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(ComplaintClock.stopped_at >= since, ComplaintClock.stopped_at < until,
               ComplaintClock.rule.in_(list(rules))), unit)
    for rule, due_at, stopped_at, explanation, received_at in \
            db.session.execute(query.execution_options(yield_per=STREAM)):
        perf = rules[rule]
        started = (explanation or {}).get("clock_started")
        began = datetime.fromisoformat(started) if started else received_at
        days = max(0.0, (stopped_at - began).total_seconds() / 86400)
        perf.finished += 1
        perf.on_time += due_at is None or stopped_at <= due_at
        perf.total_days += days
        perf.longest_days = max(perf.longest_days, days)
    late = _unit_filter(
        select(ComplaintClock.rule, func.count()).join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(ComplaintClock.rule.in_(list(rules)), _late_at(moment))
        .group_by(ComplaintClock.rule), unit)
    for rule, n in db.session.execute(late):
        rules[rule].overdue_open = n
    return list(rules.values())


def periodic_report(start: date, end: date, unit: Unit | None = None, now: datetime | None = None,
                    overdue_limit: int = 500) -> Report:
    since, until = bounds(start, end)
    report = Report(start, end, unit)
    report.by_channel = _counts(Complaint.channel, since, until, unit)
    report.by_classification = _counts(Complaint.classification, since, until, unit)
    report.by_state = _counts(Complaint.state, since, until, unit)
    report.by_closure = {k: v for k, v in _counts(Complaint.closure_reason, since, until, unit).items() if k}
    report.received = sum(report.by_channel.values())
    categories = _counts(Complaint.category_id, since, until, unit)
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    report.by_category = {names.get(k, "—") if k else "—": v for k, v in categories.items()}
    report.late_filings = db.session.scalar(_unit_filter(select(func.count()).select_from(Complaint).where(
        Complaint.received_at >= since, Complaint.received_at < until, Complaint.late_filing.is_(True)), unit))
    report.ratings = dict(db.session.execute(_unit_filter(
        select(Complaint.rating, func.count()).where(Complaint.closed_at >= since, Complaint.closed_at < until,
                                                     Complaint.rating.is_not(None))
        .group_by(Complaint.rating), unit)).all())
    report.stages = stage_performance(start, end, unit, now)
    report.overdue = overdue_at(min(until, now or utcnow()), unit, overdue_limit)
    return report


def _late_at(moment: datetime):
    """A clock that was running and past its deadline at `moment` (it may have stopped since)."""
    return and_(ComplaintClock.due_at < moment,
                or_(ComplaintClock.stopped_at.is_(None), ComplaintClock.stopped_at > moment),
                ComplaintClock.paused_at.is_(None))


def overdue_at(moment: datetime, unit: Unit | None, limit: int) -> list[OverdueCase]:
    """Complaints with a stage or resolution clock running late at `moment`, most late first."""
    workflow = current_workflow()
    staff_rules = list(workflow.staff_clocks)
    rows = db.session.execute(_unit_filter(
        select(ComplaintClock.complaint_id, ComplaintClock.rule, ComplaintClock.due_at)
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(ComplaintClock.rule.in_(staff_rules), _late_at(moment))
        .order_by(ComplaintClock.due_at), unit)).all()
    late: dict[int, list[dict]] = {}
    earliest: dict[int, datetime] = {}
    for complaint_id, rule, due_at in rows:
        late.setdefault(complaint_id, []).append(workflow.sla[rule].label)
        earliest.setdefault(complaint_id, due_at)
    ids = list(earliest)[:limit]
    complaints = db.session.scalars(select(Complaint).options(
        joinedload(Complaint.unit), joinedload(Complaint.assignee)).where(Complaint.id.in_(ids))).all()
    unacknowledged = dict(db.session.execute(
        select(Escalation.complaint_id, func.count()).where(
            Escalation.complaint_id.in_(ids), Escalation.acknowledged_at.is_(None),
            Escalation.level.in_(workflow.escalation_levels))
        .group_by(Escalation.complaint_id)).all())
    cases = []
    for complaint in complaints:
        days = remaining(earliest[complaint.id], WorkingCalendar.for_unit(complaint.unit), moment)[1]
        cases.append(OverdueCase(complaint.tracking_code, complaint.unit.code, complaint.state, days,
                                 complaint.assignee.name if complaint.assignee else None,
                                 late.get(complaint.id, []), unacknowledged.get(complaint.id, 0)))
    cases.sort(key=lambda case: -case.days_late)
    return cases


def csv_rows(report: Report):
    """The report as rows of (section, key, value) for a CSV file."""
    yield ("section", "key", "value")
    yield ("period", "from", report.start.isoformat())
    yield ("period", "to", report.end.isoformat())
    yield ("period", "unit", report.unit.code if report.unit else "all")
    yield ("received", "total", report.received)
    yield ("received", "late_filings", report.late_filings)
    for section, counts in (("channel", report.by_channel), ("classification", report.by_classification),
                            ("category", report.by_category), ("state", report.by_state),
                            ("closure_reason", report.by_closure)):
        for key, n in sorted(counts.items()):
            yield (section, key, n)
    for s in report.stages:
        yield (f"sla.{s.rule}", "finished", s.finished)
        yield (f"sla.{s.rule}", "on_time", s.on_time)
        yield (f"sla.{s.rule}", "on_time_rate", "" if s.on_time_rate is None else f"{s.on_time_rate:.4f}")
        yield (f"sla.{s.rule}", "average_days", "" if s.average_days is None else f"{s.average_days:.2f}")
        yield (f"sla.{s.rule}", "longest_days", f"{s.longest_days:.2f}")
        yield (f"sla.{s.rule}", "overdue_open_at_end", s.overdue_open)
    for rating, n in sorted(report.ratings.items()):
        yield ("satisfaction", f"rating_{rating}", n)
    yield ("satisfaction", "average", "" if report.average_rating is None else f"{report.average_rating:.2f}")
    for case in report.overdue:
        limits = ",".join(label["en"] for label in case.late_limits)
        yield ("overdue", case.code, f"{case.unit};{case.state};{case.days_late};{limits};"
                                     f"{case.assignee or ''};{case.escalations_open}")
