"""The figures on a supervisor's or auditor's home page: late cases and escalations waiting
for acknowledgement, and for the last twelve months complaints per month, by category and
channel, and how often the stage deadlines were met (per month, stage and unit).

Everything is an aggregate query over indexes scoped to the units the person may see:
complaints by (unit, received), open complaints by the queue index (unit, state, deadline),
escalations by (unit, acknowledged), clocks by complaint. Months are whole local months of the
deployment's timezone.

On time, per month of receipt: of the staff clocks (workflow `staff_clocks`) of the complaints
received that month, those that finished by their deadline, out of those that finished or are
past their deadline now. A clock still running before its deadline, or paused waiting for
the complainant, is not counted yet, so a recent month's figure can still change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from time import monotonic
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Category, Complaint, ComplaintClock, ComplaintEvent, Escalation, Unit, User, utcnow
from ...sla import WorkingCalendar, remaining
from ...workflow import current_workflow
from .. import ombudsman

MONTHS = 12
WORST = 5  # late cases and escalations listed; the counts say how many there are
CACHE_SECONDS = 600
FRESH_SECONDS = 60
CACHE_SIZE = 512  # sets of units whose figures are kept (all are dropped when full)
_kept: dict[tuple, tuple[float, int | None, Figures]] = {}  # key -> (computed at, newest event, figures)


@dataclass
class LateCase:
    complaint: Complaint
    days_late: int


@dataclass
class Watch:
    """What waits for a supervisor in their units."""

    late_count: int
    worst: list[LateCase]
    escalations_count: int  # complaints with an escalation nobody has acknowledged
    escalations: list[tuple[Complaint, list[Escalation]]]
    # The register of Ombudsman products: actions open in the units, and those past their deadline.
    ombudsman_open: int = 0
    ombudsman_late: list = field(default_factory=list)


@dataclass
class Share:
    label: object  # a month (date), a rule's labels ({id, en}) or a unit's name
    on_time: int = 0
    counted: int = 0

    @property
    def rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


@dataclass
class Figures:
    months: list[date]  # the first day of each month, oldest first
    received: list[int]  # complaints received per month
    by_category: list[tuple[str, int]]  # over the twelve months, most first
    by_channel: list[tuple[str, int]]
    on_time_months: list[Share]
    on_time_stages: list[Share]
    on_time_units: list[Share]
    units: list[str] = field(default_factory=list)  # the units' names

    @property
    def total(self) -> int:
        return sum(self.received)


def _open_states() -> list[str]:
    workflow = current_workflow()
    return [name for name in workflow.states if name not in workflow.terminal_states]


def watch(user: User, now: datetime | None = None) -> Watch:
    """Late cases (an open complaint past a stage or resolution deadline) of the units the
    supervisor oversees, the most late first, and the escalations nobody acknowledged yet
    (the overdue review lists them all)."""
    now = now or utcnow()
    workflow = current_workflow()
    units = list(user.overseen_unit_ids)
    late = and_(Complaint.unit_id.in_(units), Complaint.state.in_(_open_states()),
                or_(Complaint.stage_due_at < now, Complaint.resolution_due_at < now))
    late_count = db.session.scalar(select(func.count()).select_from(Complaint).where(late))
    stage_first = or_(Complaint.resolution_due_at.is_(None), Complaint.stage_due_at < Complaint.resolution_due_at)
    earliest = case((and_(Complaint.stage_due_at.is_not(None), stage_first), Complaint.stage_due_at),
                    else_=Complaint.resolution_due_at)
    worst = []
    for complaint in db.session.scalars(
            select(Complaint).options(joinedload(Complaint.unit), joinedload(Complaint.assignee))
            .where(late).order_by(earliest, Complaint.id).limit(WORST)).unique():
        past = [d for d in (complaint.stage_due_at, complaint.resolution_due_at) if d and d < now]
        worst.append(LateCase(complaint, remaining(min(past), WorkingCalendar.for_unit(complaint.unit), now)[1]))
    # A rung is waiting while its complaint is open and in a unit the supervisor oversees now
    # (the escalation keeps the unit it fired in; the complaint may have moved since), as the
    # overdue review, where it is acknowledged, lists it.
    waiting = and_(Escalation.acknowledged_at.is_(None),
                   Escalation.level.in_(workflow.escalation_levels),
                   select(Complaint.id).where(
                       Complaint.id == Escalation.complaint_id, Complaint.unit_id.in_(units),
                       Complaint.state.in_(_open_states())).exists())
    escalations_count = db.session.scalar(select(func.count(func.distinct(Escalation.complaint_id))).where(waiting))
    first = db.session.execute(
        select(Escalation.complaint_id, func.min(Escalation.fired_at).label("since")).where(waiting)
        .group_by(Escalation.complaint_id).order_by(func.min(Escalation.fired_at), Escalation.complaint_id)
        .limit(WORST)).all()
    ids = [row.complaint_id for row in first]
    complaints = {c.id: c for c in db.session.scalars(
        select(Complaint).options(joinedload(Complaint.unit)).where(Complaint.id.in_(ids))).unique()}
    by_complaint: dict[int, list[Escalation]] = {}
    for escalation in db.session.scalars(select(Escalation).where(waiting, Escalation.complaint_id.in_(ids))
                                         .order_by(Escalation.fired_at, Escalation.id)):
        by_complaint.setdefault(escalation.complaint_id, []).append(escalation)
    escalations = [(complaints[i], by_complaint.get(i, [])) for i in ids if i in complaints]
    return Watch(late_count, worst, escalations_count, escalations,
                 ombudsman.open_count(units), ombudsman.late_items(units, now))


def month_starts(now: datetime, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` local months, this one last."""
    today = now.astimezone(ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"])).date()
    year, month = today.year, today.month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"]))


def _month_of(column, starts: list[date]):
    """The index (0 = oldest) of the month a moment falls in, as SQL (newest month first)."""
    return case(*[(column >= _instant(start), i) for i, start in reversed(list(enumerate(starts)))], else_=-1)


def figures(units: list[Unit], now: datetime | None = None, months: int = MONTHS) -> Figures:
    """The figures of the last `months` months (this one included) for the units given.

    Twelve months of a unit's clocks are tens of thousands of rows, so the figures are kept
    for the same units, months and database: while nothing happened to any complaint (the
    newest timeline event is unchanged: every step, clock stop and recomputed deadline writes
    one) for up to CACHE_SECONDS, and however busy the office for at least FRESH_SECONDS, so
    that a busy day does not recompute them on every view. What can change with no event, a
    running deadline passing, shows within CACHE_SECONDS."""
    now = now or utcnow()
    starts = month_starts(now, months)
    key = (str(db.engine.url), tuple(sorted(unit.id for unit in units)), starts[0], months)
    newest = db.session.scalar(select(func.max(ComplaintEvent.id)))
    kept = _kept.get(key)
    if kept is not None:
        computed, event, result = kept
        age = monotonic() - computed
        if age < FRESH_SECONDS or (event == newest and age < CACHE_SECONDS):
            return result
    result = _figures(units, now, starts)
    if len(_kept) >= CACHE_SIZE:
        _kept.clear()
    _kept[key] = (monotonic(), newest, result)
    return result


def _clock_rows(base, rules: list[str], now: datetime) -> list:
    """(month, rule, unit id, on time, counted) of the staff clocks of the complaints `base` selects."""
    finished = ComplaintClock.stopped_at.is_not(None)
    counted = or_(finished, and_(ComplaintClock.paused_at.is_(None), ComplaintClock.due_at < now))
    on_time = and_(finished, or_(ComplaintClock.due_at.is_(None), ComplaintClock.stopped_at <= ComplaintClock.due_at))
    return db.session.execute(
        select(base.c.month, ComplaintClock.rule, base.c.unit_id,
               func.sum(case((on_time, 1), else_=0)), func.sum(case((counted, 1), else_=0)))
        .join(ComplaintClock, ComplaintClock.complaint_id == base.c.id)
        .where(ComplaintClock.rule.in_(rules))
        .group_by(base.c.month, ComplaintClock.rule, base.c.unit_id)).all()


def _figures(units: list[Unit], now: datetime, starts: list[date]) -> Figures:
    workflow = current_workflow()
    months = len(starts)
    since = _instant(starts[0])
    unit_ids = [unit.id for unit in units]
    scope = (Complaint.unit_id.in_(unit_ids), Complaint.received_at >= since)

    received = [0] * months
    categories: dict[int | None, int] = {}
    channels: dict[str, int] = {}
    rules = list(workflow.staff_clocks)
    rows = []
    # A duplicate counts with its original: its figures are taken away again, read through
    # the index on duplicate_of_id (a few rows), so the main pass stays on the index alone.
    for sign, where in ((1, scope), (-1, (*scope, Complaint.duplicate_of_id.is_not(None)))):
        # One pass over the index (unit, received, category, channel) for the three counts; the
        # month is computed inside a subquery so that the outer GROUP BY names a plain column
        # (PostgreSQL cannot match a CASE with bound parameters to its copy in GROUP BY).
        base = select(Complaint.id, Complaint.unit_id, Complaint.category_id, Complaint.channel,
                      _month_of(Complaint.received_at, starts).label("month")).where(*where).subquery()
        for index, category_id, channel, count in db.session.execute(
                select(base.c.month, base.c.category_id, base.c.channel, func.count())
                .group_by(base.c.month, base.c.category_id, base.c.channel)):
            if index >= 0:
                received[index] += sign * count
            categories[category_id] = categories.get(category_id, 0) + sign * count
            channels[channel or ""] = channels.get(channel or "", 0) + sign * count
        rows += [(index, rule, unit_id, sign * int(met or 0), sign * int(total or 0))
                 for index, rule, unit_id, met, total in _clock_rows(base, rules, now)]
    categories = {k: n for k, n in categories.items() if n}
    channels = {k: n for k, n in channels.items() if n}
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    by_category = sorted(((names.get(k, "—") if k else "—", n) for k, n in categories.items()),
                         key=lambda r: (-r[1], r[0]))
    by_channel = sorted(channels.items(), key=lambda r: (-r[1], r[0]))

    by_month = [Share(start) for start in starts]
    by_rule = {name: Share(workflow.sla[name].label) for name in rules}
    by_unit = {unit.id: Share(unit.name) for unit in units}
    for index, rule, unit_id, met, total in rows:
        for share in ((by_month[index] if index >= 0 else None), by_rule.get(rule), by_unit.get(unit_id)):
            if share is not None:
                share.on_time += int(met or 0)
                share.counted += int(total or 0)
    return Figures(starts, received, by_category, by_channel, by_month,
                   list(by_rule.values()), sorted(by_unit.values(), key=lambda s: s.label),
                   [unit.name for unit in units])
