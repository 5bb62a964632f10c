"""An officer's work at a glance (the home page): what is late, due today and in the next
working days, new complaints not yet verified, and what complainants sent since the officer
last acted.

"Mine" is what is assigned to the officer plus what nobody in their units has taken yet.
Days are the unit's local days and working days (its calendar): "today" ends at the end of
the local day, "this week" runs to the end of the fourth working day after today. Every count is one
aggregate query per unit read off the queue index (unit, state, deadline); replies come off
the timeline index by unit, role and time, so the page costs the same at a thousand
complaints or a million.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Complaint, ComplaintEvent, Role, Unit, User, utcnow
from ...sla import WorkingCalendar, remaining
from ...sla.deadlines import END_OF_DAY
from ...workflow import current_workflow
from .conversation import MESSAGE

WEEK_WORKING_DAYS = 5  # today and the four working days after it
REPLY_DAYS = 30  # replies older than this are history, not news
LIST_LIMIT = 8  # items a section lists; its count says how many there are
# A complainant's steps (information, dispute, ...), ratings and messages.
REPLY_KINDS = ("transition", "rating", MESSAGE)


@dataclass
class WorkItem:
    complaint: Complaint
    due: tuple[str, int] | None = None  # ("left", working days) or ("late", days), see sla.remaining
    today: bool = False  # due before the end of the unit's local day
    event: ComplaintEvent | None = None  # the complainant's step, for replies


@dataclass
class Section:
    count: int = 0
    items: list[WorkItem] = field(default_factory=list)


@dataclass
class Worklist:
    late: Section
    today: Section  # due from now to the end of today
    week: Section  # due after today, within the working week
    new: Section  # not yet verified
    replies: Section
    unit_ids: list[int]

    @property
    def upcoming(self) -> list[WorkItem]:
        """Due today, then later this week, nearest first (at most LIST_LIMIT)."""
        return (self.today.items + self.week.items)[:LIST_LIMIT]


def _end_of(day, cal: WorkingCalendar) -> datetime:
    """The end of a local day, as deadlines end (sla.deadlines)."""
    return datetime.combine(day, END_OF_DAY, tzinfo=cal.tz).astimezone(timezone.utc)


def day_bounds(unit: Unit, now: datetime) -> tuple[datetime, datetime]:
    """(end of today, end of the working week) in UTC for the unit's calendar: the week is
    today and the next WEEK_WORKING_DAYS - 1 working days (today counts even if it is a day
    off, since what is due today is due today)."""
    cal = WorkingCalendar.for_unit(unit)
    today = now.astimezone(cal.tz).date()
    day, counted = today, 1
    while counted < WEEK_WORKING_DAYS:
        day += timedelta(days=1)
        if cal.day_off(day) is None:
            counted += 1
    return _end_of(today, cal), _end_of(day, cal)


def _mine(user: User):
    """Assigned to me, or to nobody yet."""
    return or_(Complaint.assignee_id == user.id, Complaint.assignee_id.is_(None))


def _open_states() -> list[str]:
    workflow = current_workflow()
    return [name for name in workflow.states if name not in workflow.terminal_states]


def worklist(user: User, now: datetime | None = None) -> Worklist:
    """The officer's home: counts and the first items of each section, over their units."""
    now = now or utcnow()
    units = db.session.scalars(select(Unit).where(Unit.id.in_(user.unit_ids)).order_by(Unit.id)).all()
    states = _open_states()
    late, today, week = Section(), Section(), Section()
    ranked: dict[str, list[tuple]] = {"late": [], "today": [], "week": []}
    for unit in units:
        end_today, end_week = day_bounds(unit, now)
        cal = WorkingCalendar.for_unit(unit)
        base = (Complaint.unit_id == unit.id, Complaint.state.in_(states),
                Complaint.stage_due_at.is_not(None), Complaint.stage_due_at <= end_week, _mine(user))
        counts = db.session.execute(select(
            func.sum(case((Complaint.stage_due_at < now, 1), else_=0)),
            func.sum(case((and_(Complaint.stage_due_at >= now, Complaint.stage_due_at <= end_today), 1),
                          else_=0)),
            func.sum(case((Complaint.stage_due_at > end_today, 1), else_=0)),
        ).where(*base)).one()
        late.count += int(counts[0] or 0)
        today.count += int(counts[1] or 0)
        week.count += int(counts[2] or 0)
        # The unit is in the session already: reading complaint.unit costs no query.
        for window in (Complaint.stage_due_at < now, Complaint.stage_due_at >= now):
            for complaint in db.session.scalars(select(Complaint).where(*base, window)
                                                .order_by(Complaint.stage_due_at, Complaint.id).limit(LIST_LIMIT)):
                name = ("late" if complaint.stage_due_at < now
                        else "today" if complaint.stage_due_at <= end_today else "week")
                ranked[name].append((complaint.stage_due_at, complaint.id, WorkItem(
                    complaint, remaining(complaint.stage_due_at, cal, now), name == "today")))
    for name, section in (("late", late), ("today", today), ("week", week)):
        section.items = [item for *_, item in sorted(ranked[name], key=lambda row: row[:2])][:LIST_LIMIT]
    return Worklist(late, today, week, _new(user, now), _replies(user, now),
                    [unit.id for unit in units])


def _new(user: User, now: datetime) -> Section:
    """Complaints waiting for verification (the workflow's first state), nearest deadline first."""
    where = (Complaint.unit_id.in_(user.unit_ids), Complaint.state == current_workflow().initial,
             _mine(user))
    count = db.session.scalar(select(func.count()).select_from(Complaint).where(*where))
    complaints = db.session.scalars(
        select(Complaint).where(*where)
        .order_by(Complaint.stage_due_at.is_(None), Complaint.stage_due_at, Complaint.id)
        .limit(LIST_LIMIT)).all()
    items = []
    for complaint in complaints:
        due = (remaining(complaint.stage_due_at, WorkingCalendar.for_unit(complaint.unit), now)
               if complaint.stage_due_at else None)
        items.append(WorkItem(complaint, due))
    return Section(count, items)


def _replies(user: User, now: datetime) -> Section:
    """What complainants sent (information asked for, a dispute, an acceptance, a rating,
    a withdrawal, a message) on my complaints in the last REPLY_DAYS days, after my own last step on
    that complaint; newest first.

    Three index reads, each bounded by the units' recent activity rather than their history:
    the complainants' steps off the timeline index (unit, role, kind, time); which of those
    complaints are mine, by primary key; my own latest step on each, by complaint. (A single
    join lets PostgreSQL's planner, which cannot know that an officer's assignments all lie
    in their unit, hash every complaint ever assigned to the officer.)"""
    unit_ids = list(user.unit_ids)
    steps = db.session.execute(
        select(ComplaintEvent.id, ComplaintEvent.complaint_id, ComplaintEvent.occurred_at)
        .where(ComplaintEvent.unit_id.in_(unit_ids), ComplaintEvent.actor_role == Role.CITIZEN,
               ComplaintEvent.kind.in_(REPLY_KINDS),
               ComplaintEvent.occurred_at >= now - timedelta(days=REPLY_DAYS))).all()
    if not steps:
        return Section()
    mine = set(db.session.scalars(select(Complaint.id).where(
        Complaint.id.in_({step.complaint_id for step in steps}), Complaint.unit_id.in_(unit_ids), _mine(user))))
    if not mine:
        return Section()
    acted = dict(db.session.execute(
        select(ComplaintEvent.complaint_id, func.max(ComplaintEvent.id))
        .where(ComplaintEvent.complaint_id.in_(mine), ComplaintEvent.actor_id == user.id)
        .group_by(ComplaintEvent.complaint_id)).all())
    new = sorted((step for step in steps if step.complaint_id in mine and step.id > acted.get(step.complaint_id, 0)),
                 key=lambda step: (step.occurred_at, step.id), reverse=True)
    shown = [step.id for step in new[:LIST_LIMIT]]
    events = {event.id: event for event in db.session.scalars(
        select(ComplaintEvent).options(joinedload(ComplaintEvent.complaint)).where(ComplaintEvent.id.in_(shown)))}
    return Section(len(new), [WorkItem(events[i].complaint, event=events[i]) for i in shown])
