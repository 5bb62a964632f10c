"""What supervisors and auditors see of the answers owed to SP4N-LAPOR!: the complaints whose
answers wait to be posted there (the overdue review), and the LAPOR! figures of a period (the
periodic report, its CSV and PDF, and the evidence pack's summary and `lapor.csv`).

What an answer is, and whether it was posted, is lapor.py's (`answer_postings`); this module
only counts. It lives beside lapor.py rather than in oversight/ because complaints/ already
imports oversight/ (a package may not import its importer).

The figures of a period (local days, as in reports.py) count flows and what is left at its
end, so that a period's report reads the same whenever it is made:
- received: complaints from LAPOR! received in the period (a duplicate counts with its
  original), and, when the workflow has a clock of its own for LAPOR! complaints, how many
  of them met it, missed it, or had not yet stopped it at the end of the period (or now);
- answers: public answers given in the period; posted: answers posted to LAPOR! in the period
  (whenever given), with the delay from the answer to its posting (median and longest);
- unposted at the end: answers given by then and not posted by then, on how many complaints,
  and since when the oldest waited. For a period ending today these are the complaints the
  supervisor's review lists.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, union_all

from ...extensions import db
from ...models import Complaint, ComplaintClock, ComplaintEvent, LaporPosting, Unit, utcnow
from ...sla import WorkingCalendar
from ...workflow import Workflow, current_workflow
from ..oversight.reports import Report, Scope, bounds
from ..oversight.reports import _unit_filter as _scoped  # one unit, several or all
from .intake import LAPOR
from .lapor import answer_postings, posted_answers

# The review lists at most this many waiting complaints (the oldest first) and counts the rest.
REVIEW_LIMIT = 200


def lapor_rule(workflow: Workflow | None = None):
    """The workflow's clock that runs on complaints from LAPOR! alone (LAPOR!'s own follow-up
    limit), or None when the workflow has none: the first staff clock limited to the
    sp4n_lapor channel."""
    workflow = workflow or current_workflow()
    for rule in workflow.staff_clocks.values():
        if rule.channels == (LAPOR,):
            return rule
    return None


# The supervisor's review -----------------------------------------------------------------

@dataclass
class WaitingComplaint:
    """A complaint from LAPOR! with answers not yet posted there, and how long they wait."""

    complaint: Complaint
    since: datetime  # when its oldest unposted answer was given
    answers: int  # its answers not yet posted
    working_days: int  # working days of its unit's calendar since then (the day itself is day 0)


@dataclass
class UnitWaiting:
    unit: Unit
    cases: list[WaitingComplaint]


@dataclass
class LaporWaiting:
    units: list[UnitWaiting] = field(default_factory=list)
    total: int = 0  # complaints waiting (the list stops at REVIEW_LIMIT)

    @property
    def shown(self) -> int:
        return sum(len(group.cases) for group in self.units)


def waiting_for_lapor(unit_ids, now: datetime | None = None, limit: int = REVIEW_LIMIT) -> LaporWaiting:
    """The units' complaints from LAPOR! whose answers wait to be posted there, the oldest
    wait first, grouped by unit (by name); read off `lapor_unposted_since`."""
    now = now or utcnow()
    unit_ids = list(unit_ids)
    waiting = and_(Complaint.unit_id.in_(unit_ids), Complaint.lapor_unposted_since.is_not(None))
    total = db.session.scalar(select(func.count()).select_from(Complaint).where(waiting)) or 0
    if not total:
        return LaporWaiting()
    complaints = db.session.scalars(
        select(Complaint).where(waiting)
        .order_by(Complaint.lapor_unposted_since, Complaint.id).limit(limit)).all()
    counts = _unposted_counts([c.id for c in complaints])
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({c.unit_id for c in complaints})))}
    groups: dict[int, UnitWaiting] = {}
    for complaint in complaints:
        groups.setdefault(complaint.unit_id, UnitWaiting(units[complaint.unit_id], [])).cases.append(
            WaitingComplaint(complaint, complaint.lapor_unposted_since, counts.get(complaint.id, 0), 0))
    for group in groups.values():
        cal = WorkingCalendar.for_unit(group.unit)
        waited = working_days_since([case.since for case in group.cases], now, cal)
        for case in group.cases:
            case.working_days = waited[case.since.astimezone(cal.tz).date()]
    return LaporWaiting(sorted(groups.values(), key=lambda g: (g.unit.name, g.unit.id)), total)


def working_days_since(starts: list[datetime], now: datetime, cal: WorkingCalendar) -> dict[date, int]:
    """For the local day of each start, the working days after it up to today (as
    sla.units_elapsed counts them), in one walk over the calendar from the earliest day
    rather than one per start: a complaint may have waited for months."""
    days = sorted({start.astimezone(cal.tz).date() for start in starts})
    today = now.astimezone(cal.tz).date()
    counted, found, day = 0, {}, days[0] if days else today
    pending = iter(days)
    wanted = next(pending, None)
    while wanted is not None:
        while day < wanted:
            day += timedelta(days=1)
            counted += cal.day_off(day) is None
        found[wanted] = counted
        wanted = next(pending, None)
    while day < today:
        day += timedelta(days=1)
        counted += cal.day_off(day) is None
    return {d: max(0, counted - at) for d, at in found.items()}


def _unposted_counts(complaint_ids: list[int]) -> dict[int, int]:
    """Per complaint, its answers not yet posted to LAPOR!."""
    if not complaint_ids:
        return {}
    answers = answer_postings().where(ComplaintEvent.complaint_id.in_(complaint_ids),
                                      LaporPosting.id.is_(None)).subquery()
    return dict(db.session.execute(select(answers.c.complaint_id, func.count())
                                   .group_by(answers.c.complaint_id)).all())


# The period's figures ----------------------------------------------------------------------

@dataclass
class LaporFigures:
    """The LAPOR! figures of a period (see the module's docstring); delays in hours."""

    moment: datetime  # "at the end": the period's end, or now for a period not over yet
    received: int = 0
    rule_label: dict | None = None  # LAPOR!'s own follow-up clock, when the workflow has one
    rule_amount: int | None = None
    rule_unit: str | None = None
    met: int = 0  # of those received: stopped by the end, in time
    missed: int = 0  # stopped by the end, late
    running: int = 0  # not stopped by the end
    answers: int = 0
    posted: int = 0
    delays: list[float] = field(default_factory=list, repr=False)  # hours, of the answers posted
    unposted: int = 0
    unposted_complaints: int = 0
    oldest_unposted: datetime | None = None

    @property
    def median_hours(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    @property
    def longest_hours(self) -> float | None:
        return max(self.delays) if self.delays else None

    @property
    def oldest_days(self) -> int | None:
        """Calendar days the oldest unposted answer had waited at the end."""
        return (self.moment - self.oldest_unposted).days if self.oldest_unposted else None

    def csv_rows(self):
        """The figures as (section, key, value) rows of the report's CSV."""
        def hours(value):
            return "" if value is None else f"{value:.2f}"

        yield ("lapor", "received", self.received)
        if self.rule_label is not None:
            yield ("lapor", "follow_up_met", self.met)
            yield ("lapor", "follow_up_missed", self.missed)
            yield ("lapor", "follow_up_running_at_end", self.running)
        yield ("lapor", "answers", self.answers)
        yield ("lapor", "posted", self.posted)
        yield ("lapor", "posting_delay_median_hours", hours(self.median_hours))
        yield ("lapor", "posting_delay_longest_hours", hours(self.longest_hours))
        yield ("lapor", "unposted_at_end", self.unposted)
        yield ("lapor", "complaints_unposted_at_end", self.unposted_complaints)
        yield ("lapor", "oldest_unposted_since", self.oldest_unposted.isoformat() if self.oldest_unposted else "")


def _hours(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 3600)


def _reachable(since: datetime, until: datetime, scope: Scope, condition) -> tuple:
    """The `answer_postings` rows meeting `condition(answered_at, posted_at)`, a condition
    true only of answers given before `until` and, if posted, posted from `since` on: read as
    two selects that indexes answer (the postings from `since` on, from their own table; the
    answers of the complaints that had one waiting before `until`) rather than as a scan of
    every timeline."""
    return (_scoped(posted_answers().where(LaporPosting.posted_at >= since,
                                           condition(LaporPosting.answered_at, LaporPosting.posted_at)), scope),
            _scoped(answer_postings().where(LaporPosting.id.is_(None), Complaint.lapor_unposted_since < until,
                                            condition(ComplaintEvent.occurred_at, None)), scope))


def unposted_at(moment: datetime, scope: Scope = None):
    """Rows of `answer_postings` for the answers given before `moment` and not posted by
    then: those still unposted (found through the complaints' waiting mark, so only the few
    complaints waiting are read) and those posted since (from the postings alone)."""
    still = _scoped(answer_postings().where(ComplaintEvent.occurred_at < moment, LaporPosting.id.is_(None),
                                            Complaint.lapor_unposted_since < moment), scope)
    later = _scoped(posted_answers().where(LaporPosting.posted_at >= moment, LaporPosting.answered_at < moment),
                    scope)
    return [*db.session.execute(still), *db.session.execute(later)]


def lapor_figures(start: date, end: date, scope: Scope = None, now: datetime | None = None,
                  workflow: Workflow | None = None) -> LaporFigures:
    """The LAPOR! figures of the period for one unit, several or all (None)."""
    workflow = workflow or current_workflow()
    since, until = bounds(start, end)
    figures = LaporFigures(moment=min(until, now or utcnow()))
    moment = figures.moment
    received = _scoped(select(func.count()).select_from(Complaint).where(
        Complaint.lapor_id.is_not(None), Complaint.duplicate_of_id.is_(None),
        Complaint.received_at >= since, Complaint.received_at < until), scope)
    figures.received = db.session.scalar(received) or 0
    rule = lapor_rule(workflow)
    if rule is not None:
        figures.rule_label, figures.rule_amount, figures.rule_unit = rule.label, rule.amount, rule.unit
        stopped = and_(ComplaintClock.stopped_at.is_not(None), ComplaintClock.stopped_at < moment)
        in_time = or_(ComplaintClock.due_at.is_(None), ComplaintClock.stopped_at <= ComplaintClock.due_at)
        for met, n in db.session.execute(_scoped(
                select(and_(stopped, in_time).label("met"), func.count()).select_from(Complaint)
                .join(ComplaintClock, and_(ComplaintClock.complaint_id == Complaint.id,
                                           ComplaintClock.rule == rule.name))
                .where(Complaint.lapor_id.is_not(None), Complaint.duplicate_of_id.is_(None),
                       Complaint.received_at >= since, Complaint.received_at < until, stopped)
                .group_by("met"), scope)):
            if met:
                figures.met += n
            else:
                figures.missed += n
        figures.running = figures.received - figures.met - figures.missed
    # From the postings' own table (for every unit, from its index alone): those of the
    # period, with their delay; the answers of the period already posted (counted); then the
    # answers of the period not posted.
    def postings(*columns):
        query = select(*columns).select_from(LaporPosting)
        if scope is not None:
            query = _scoped(query.join(Complaint, LaporPosting.complaint_id == Complaint.id), scope)
        return query.where(LaporPosting.posted_at >= since)

    figures.delays = [_hours(answered_at, posted_at) for answered_at, posted_at in db.session.execute(
        postings(LaporPosting.answered_at, LaporPosting.posted_at).where(LaporPosting.posted_at < until))]
    figures.answers = db.session.scalar(postings(func.count()).where(
        LaporPosting.answered_at >= since, LaporPosting.answered_at < until)) or 0
    waiting = _reachable(since, until, scope, lambda answered, _: and_(answered >= since, answered < until))[1]
    figures.answers += db.session.scalar(select(func.count()).select_from(waiting.subquery())) or 0
    figures.posted = len(figures.delays)
    waiting = unposted_at(moment, scope)
    figures.unposted = len(waiting)
    figures.unposted_complaints = len({row.complaint_id for row in waiting})
    figures.oldest_unposted = min((row.answered_at for row in waiting), default=None)
    return figures


def with_lapor(report: Report) -> Report:
    """The report with its LAPOR! figures (`report.lapor`), for the same period, units and end."""
    scope = report.unit if report.unit is not None else report.units
    report.lapor = lapor_figures(report.start, report.end, scope, now=report.moment)
    return report


# The evidence pack ------------------------------------------------------------------------

PACK_COLUMNS = ["tracking_code", "lapor_id", "unit", "answer", "answered_at", "posted_at", "recorded_at",
                "delay_hours", "posted_in_period", "unposted_at_end"]


def pack_rows(start: date, end: date, scope: Scope = None, now: datetime | None = None):
    """Per answer the period's figures count (given in the period, posted in it, or waiting
    at its end), in the order given: (code, LAPOR! ID, unit id, trigger or "message", given,
    posted or None, recorded or None, delay in hours or None, posted in the period, waiting
    at the end)."""
    since, until = bounds(start, end)
    moment = min(until, now or utcnow())

    def counted(answered, posted):
        given = and_(answered >= since, answered < until)
        if posted is None:  # not posted: given in the period, or by its end (still waiting then)
            return or_(given, answered < moment)
        return or_(given, and_(posted >= since, posted < until), and_(answered < moment, posted >= moment))

    given, waiting = _reachable(since, until, scope, counted)
    parts = [given.join(ComplaintEvent, ComplaintEvent.id == LaporPosting.event_id), waiting]
    parts = [part.add_columns(Complaint.tracking_code, Complaint.lapor_id, ComplaintEvent.kind, ComplaintEvent.trigger)
             for part in parts]
    every = union_all(*parts).subquery()
    rows = select(every).order_by(every.c.answered_at, every.c.event_id)
    for row in db.session.execute(rows.execution_options(yield_per=1000)):
        posted = row.posted_at
        yield (row.tracking_code, row.lapor_id, row.unit_id,
               "message" if row.kind == ComplaintEvent.MESSAGE else row.trigger,
               row.answered_at, posted, row.recorded_at,
               None if posted is None else _hours(row.answered_at, posted),
               posted is not None and since <= posted < until,
               row.answered_at < moment and (posted is None or posted >= moment))
