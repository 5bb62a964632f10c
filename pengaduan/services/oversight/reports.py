"""The periodic complaint-management report (Perpres 76/2013: units report to their
superiors) and the SLA figures the evidence pack carries.

Periods are whole local days of the deployment's timezone; counts, durations and on-time
shares are set-based queries (grouped in the database), so a year of a kabupaten's complaints
costs a few scans and little memory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import DateTime, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import Category, Complaint, ComplaintClock, Escalation, Unit, utcnow
from ...sla import WorkingCalendar, remaining
from ...workflow import current_workflow
from .. import ombudsman
from . import compensation



# The overdue cases a PDF lists (the most late first): a document to sign stays a few pages,
# and WeasyPrint lays out 500 table rows in about a minute; the page and CSV list up to 500.
PDF_OVERDUE_LIMIT = 100


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
    def counted(self) -> int:
        """What the on-time rate counts: the clocks that finished in the period and those
        still running past their deadline at its end (late now, though not finished)."""
        return self.finished + self.overdue_open

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None

    @property
    def average_days(self) -> float | None:
        return self.total_days / self.finished if self.finished else None


@dataclass
class UnitFigures:
    """One unit's line of the report: received in the period, and its time limits (all
    stages together) counted as in StagePerformance."""
    unit: Unit
    received: int = 0
    closed: int = 0
    finished: int = 0
    on_time: int = 0
    overdue_open: int = 0
    overdue_cases: int = 0

    @property
    def counted(self) -> int:
        return self.finished + self.overdue_open

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


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
class CloseDays:
    """Days from receipt to closure of the complaints closed in the period: how many, and the
    median and 90th percentile by nearest rank (the smallest number of days within which at
    least half, or nine in ten, of them were closed); None when none closed."""
    closed: int = 0
    median: float | None = None
    p90: float | None = None


@dataclass
class Report:
    start: date
    end: date
    unit: Unit | None  # the one unit asked for, or None for several (see `units`)
    units: list[Unit] | None = None  # the units covered; None: every unit
    moment: datetime | None = None  # "late" means late at this instant: the period's end, or now
    generated_at: datetime | None = None
    generated_on: date | None = None  # the local day of generated_at, for the signature line
    received: int = 0
    by_month: list[tuple[date, int]] = field(default_factory=list)
    per_unit: list[UnitFigures] = field(default_factory=list)
    by_channel: dict = field(default_factory=dict)
    by_classification: dict = field(default_factory=dict)
    by_category: dict = field(default_factory=dict)
    by_state: dict = field(default_factory=dict)
    by_closure: dict = field(default_factory=dict)
    stages: list[StagePerformance] = field(default_factory=list)
    overdue: list[OverdueCase] = field(default_factory=list)
    ratings: dict = field(default_factory=dict)
    late_filings: int = 0
    # The SP4N-LAPOR! figures (services.complaints.lapor_oversight.with_lapor adds them: that
    # module reads complaints/, which imports this package), or None.
    lapor: object | None = None
    duplicates: int = 0  # received in the period, closed as duplicates: counted with their originals
    # The confidential complaints among `received` and their share of each breakdown (the
    # public figures count them in the totals only: services.transparency).
    confidential: int = 0
    confidential_by: dict = field(default_factory=dict)  # channel/classification/category/state -> counts
    closed: int = 0  # closed in the period (a duplicate with its original)
    close_days: CloseDays | None = None
    compensation: object | None = None  # compensation.Summary of what the units gave in the period
    ombudsman: object | None = None  # services.ombudsman.Summary: the register of Ombudsman products

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def average_rating(self) -> float | None:
        return sum(k * v for k, v in self.ratings.items()) / self.rated if self.rated else None

    @property
    def overdue_total(self) -> int:
        """Complaints running late at `moment` (the list `overdue` stops at its limit)."""
        return sum(u.overdue_cases for u in self.per_unit)

    @property
    def finished(self) -> int:
        return sum(s.finished for s in self.stages)

    @property
    def on_time(self) -> int:
        return sum(s.on_time for s in self.stages)

    @property
    def counted(self) -> int:
        return sum(s.counted for s in self.stages)

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.counted if self.counted else None


Scope = Unit | list[Unit] | None  # one unit, several, or every unit


def _unit_filter(query, scope: Scope):
    if scope is None:
        return query
    if isinstance(scope, Unit):
        return query.where(Complaint.unit_id == scope.id)
    return query.where(Complaint.unit_id.in_([unit.id for unit in scope]))


def months(start: date, end: date) -> list[date]:
    """The first day of every month the period touches."""
    first, result = date(start.year, start.month, 1), []
    while first <= end:
        result.append(first)
        first = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return result


def received_by_month(start: date, end: date, scope: Scope = None) -> list[tuple[date, int]]:
    """Complaints received per local calendar month of the period (its first and last months
    only from `start` and up to `end`), in one pass over the period's complaints; a duplicate
    counts with its original, not again."""
    since, until = bounds(start, end)
    firsts = months(start, end)
    edges = [bounds(max(first, start), end)[0] for first in firsts[1:]]
    bucket = case(*[(Complaint.received_at < edge, i) for i, edge in enumerate(edges)],
                  else_=len(edges)) if edges else literal(0)
    counts = dict(db.session.execute(_unit_filter(
        select(bucket, func.count()).where(Complaint.received_at >= since, Complaint.received_at < until,
                                           Complaint.duplicate_of_id.is_(None))
        .group_by(bucket), scope)).all())
    return [(first, counts.get(i, 0)) for i, first in enumerate(firsts)]


def stage_performance(start: date, end: date, unit: Scope = None,
                      now: datetime | None = None) -> list[StagePerformance]:
    """Per staff clock: those that finished in the period, how many on time, average and
    longest duration in days; and how many run late at the end of the period (or now, for
    a period still running). The on-time rate counts both: a case late now lowers it."""
    moment = min(bounds(start, end)[1], now or utcnow())
    return _performance(start, end, unit, _late_clocks(moment, unit))[0]


def _performance(start: date, end: date, scope: Scope, late: list
                 ) -> tuple[list[StagePerformance], dict[int, list[int]]]:
    """The stages of `stage_performance`, and per unit id [finished, on time, late clocks];
    `late`: the rows of `_late_clocks` at the period's end (or now)."""
    workflow = current_workflow()
    since, until = bounds(start, end)
    rules = {name: StagePerformance(name, rule.label) for name, rule in workflow.staff_clocks.items()}
    per_unit: dict[int, list[int]] = {}
    days = _days_taken()
    in_time = case((or_(ComplaintClock.due_at.is_(None), ComplaintClock.stopped_at <= ComplaintClock.due_at), 1),
                   else_=0)
    finished = _unit_filter(
        select(Complaint.unit_id, ComplaintClock.rule, func.count(), func.sum(in_time), func.sum(days), func.max(days))
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(ComplaintClock.stopped_at >= since, ComplaintClock.stopped_at < until,
               ComplaintClock.rule.in_(list(rules)), Complaint.duplicate_of_id.is_(None))
        .group_by(Complaint.unit_id, ComplaintClock.rule), scope)
    for unit_id, rule, n, on_time, total_days, longest_days in db.session.execute(finished):
        perf = rules[rule]
        perf.finished += n
        perf.on_time += int(on_time or 0)
        perf.total_days += float(total_days or 0)
        perf.longest_days = max(perf.longest_days, float(longest_days or 0))
        figures = per_unit.setdefault(unit_id, [0, 0, 0])
        figures[0] += n
        figures[1] += int(on_time or 0)
    for _, unit_id, rule, _ in late:
        rules[rule].overdue_open += 1
        per_unit.setdefault(unit_id, [0, 0, 0])[2] += 1
    return list(rules.values()), per_unit


def _late_clocks(moment: datetime, scope: Scope) -> list:
    """(complaint id, unit id, rule, deadline) of every staff clock running late at `moment`,
    earliest deadline first: read once, for the stages, the units and the list of cases."""
    return db.session.execute(_unit_filter(
        select(ComplaintClock.complaint_id, Complaint.unit_id, ComplaintClock.rule, ComplaintClock.due_at)
        .join(Complaint, Complaint.id == ComplaintClock.complaint_id)
        .where(ComplaintClock.rule.in_(list(current_workflow().staff_clocks)), _late_at(moment),
               Complaint.duplicate_of_id.is_(None))
        .order_by(ComplaintClock.due_at, ComplaintClock.id), scope)).all()


def periodic_report(start: date, end: date, unit: Unit | None = None, now: datetime | None = None,
                    overdue_limit: int = 500, units: list[Unit] | None = None) -> Report:
    """The report for one unit, or (without `unit`) for `units` with a line per unit, or for
    every unit when both are None."""
    since, until = bounds(start, end)
    scope: Scope = unit if unit is not None else units
    covered = [unit] if unit is not None else list(units) if units is not None else \
        db.session.scalars(select(Unit).order_by(Unit.name)).all()
    moment = min(until, now or utcnow())
    generated = now or utcnow()
    report = Report(start, end, unit, units=[unit] if unit is not None else units, moment=moment,
                    generated_at=generated,
                    generated_on=generated.astimezone(ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"])).date())
    # One pass over the period's complaints for every breakdown, one over those closed in it.
    by = {"channel": {}, "classification": {}, "state": {}, "closure": {}, "category": {}}
    received: dict[int, int] = {}
    secret = {"channel": {}, "classification": {}, "state": {}, "category": {}}
    for unit_id, channel, classification, state, closure, category, late_filing, n, duplicate, confidential in \
            db.session.execute(_unit_filter(
                select(Complaint.unit_id, Complaint.channel, Complaint.classification, Complaint.state,
                       Complaint.closure_reason, Complaint.category_id, Complaint.late_filing, func.count(),
                       Complaint.duplicate_of_id.is_not(None).label("duplicate"),
                       (Complaint.privacy == "confidential").label("confidential"))
                .where(Complaint.received_at >= since, Complaint.received_at < until)
                .group_by(Complaint.unit_id, Complaint.channel, Complaint.classification, Complaint.state,
                          Complaint.closure_reason, Complaint.category_id, Complaint.late_filing,
                          "duplicate", "confidential"), scope)):
        if duplicate:  # the pair counts once: with the original (see the report's notes)
            report.duplicates += n
            continue
        for name, key in (("channel", channel), ("classification", classification), ("state", state),
                          ("closure", closure), ("category", category)):
            key = key if key is not None else ""
            by[name][key] = by[name].get(key, 0) + n
            if confidential and name in secret:
                secret[name][key] = secret[name].get(key, 0) + n
        report.confidential += n if confidential else 0
        received[unit_id] = received.get(unit_id, 0) + n
        report.late_filings += n if late_filing else 0
    report.by_channel, report.by_classification, report.by_state = by["channel"], by["classification"], by["state"]
    report.by_closure = {k: v for k, v in by["closure"].items() if k}
    report.received = sum(received.values())
    names = dict(db.session.execute(select(Category.id, Category.name)).all())
    for key, n in by["category"].items():
        name = names.get(key, "—") if key else "—"
        report.by_category[name] = report.by_category.get(name, 0) + n
    report.confidential_by = {**secret, "category": {}}
    for key, n in secret["category"].items():
        name = names.get(key, "—") if key else "—"
        report.confidential_by["category"][name] = report.confidential_by["category"].get(name, 0) + n
    closed: dict[int, int] = {}
    for unit_id, rating, _all, originals in db.session.execute(_unit_filter(
            select(Complaint.unit_id, Complaint.rating, func.count(),
                   func.sum(case((Complaint.duplicate_of_id.is_(None), 1), else_=0)))
            .where(Complaint.closed_at >= since, Complaint.closed_at < until)
            .group_by(Complaint.unit_id, Complaint.rating), scope)):
        closed[unit_id] = closed.get(unit_id, 0) + int(originals or 0)  # a duplicate closes with its original
        if rating is not None and originals:  # a duplicate's rating neither: the pair is rated once
            report.ratings[rating] = report.ratings.get(rating, 0) + int(originals)
    report.closed = sum(closed.values())
    report.close_days = close_days(since, until, scope)
    report.by_month = received_by_month(start, end, scope)
    late = _late_clocks(moment, scope)
    report.stages, clocks = _performance(start, end, scope, late)
    report.overdue = overdue_at(moment, scope, overdue_limit, late)
    late_cases: dict[int, set[int]] = {}
    for complaint_id, unit_id, _, _ in late:
        late_cases.setdefault(unit_id, set()).add(complaint_id)
    report.per_unit = [UnitFigures(u, received.get(u.id, 0), closed.get(u.id, 0), *clocks.get(u.id, [0, 0, 0]),
                                   len(late_cases.get(u.id, ()))) for u in covered]
    report.compensation = compensation.summary([u.id for u in covered], start, end)
    report.ombudsman = ombudsman.summary([u.id for u in covered], start, end, now)
    return report


def close_days(since: datetime, until: datetime, scope: Scope = None) -> CloseDays:
    """CloseDays of the complaints (duplicates left out) closed in [since, until), in SQL:
    one sort of the period's closed complaints by their days, and only the two rows at the
    median's and the 90th percentile's rank read back (the same on both databases)."""
    if db.session.get_bind().dialect.name == "postgresql":
        days = func.extract("epoch", Complaint.closed_at - Complaint.received_at) / 86400.0
    else:  # SQLite: julianday reads the stored UTC text
        days = func.julianday(Complaint.closed_at) - func.julianday(Complaint.received_at)
    days = case((days < 0, 0.0), else_=days)
    ranked = _unit_filter(
        select(days.label("days"), func.row_number().over(order_by=days).label("rank"),
               func.count().over().label("n"))
        .where(Complaint.closed_at >= since, Complaint.closed_at < until, Complaint.duplicate_of_id.is_(None)),
        scope).subquery()
    # Nearest rank: ceil(p * n), in integers: (n + 1) / 2 and (9n + 9) / 10.
    half, ninety = (ranked.c.n + 1) // 2, (9 * ranked.c.n + 9) // 10
    rows = db.session.execute(select(ranked.c.n, ranked.c.rank, ranked.c.days)
                              .where(or_(ranked.c.rank == half, ranked.c.rank == ninety))).all()
    if not rows:
        return CloseDays()
    n = rows[0][0]
    at = {rank: float(value) for _, rank, value in rows}
    return CloseDays(n, at.get((n + 1) // 2), at.get((9 * n + 9) // 10))


def _days_taken():
    """Days from a clock's first start (its explanation's `clock_started`, else the complaint's
    receipt) to its stop, never below 0, as SQL: summed in the database, not row by row."""
    started = ComplaintClock.explanation["clock_started"].as_string()
    if db.session.get_bind().dialect.name == "postgresql":
        since = func.coalesce(cast(started, DateTime(timezone=True)), Complaint.received_at)
        days = func.extract("epoch", ComplaintClock.stopped_at - since) / 86400.0
    else:  # SQLite: UTC stored without an offset; julianday reads the offset of an ISO text
        days = func.julianday(ComplaintClock.stopped_at) - func.julianday(func.coalesce(started, Complaint.received_at))
    return case((days < 0, 0.0), else_=days)


def _late_at(moment: datetime):
    """A clock that was running and past its deadline at `moment` (it may have stopped since)."""
    return and_(ComplaintClock.due_at < moment,
                or_(ComplaintClock.stopped_at.is_(None), ComplaintClock.stopped_at > moment),
                ComplaintClock.paused_at.is_(None))


def overdue_at(moment: datetime, unit: Scope, limit: int, rows: list | None = None) -> list[OverdueCase]:
    """Complaints with a stage or resolution clock running late at `moment`, most late first
    (`rows`: the clocks of `_late_clocks`, when already read)."""
    workflow = current_workflow()
    rows = _late_clocks(moment, unit) if rows is None else rows
    late: dict[int, list[dict]] = {}
    earliest: dict[int, datetime] = {}
    for complaint_id, _, rule, due_at in rows:
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
    yield ("period", "unit", report.unit.code if report.unit else
           "all" if report.units is None else " ".join(u.code for u in report.units))
    yield ("received", "total", report.received)
    yield ("received", "late_filings", report.late_filings)
    yield ("received", "duplicates_counted_with_original", report.duplicates)
    for first, n in report.by_month:
        yield ("received_by_month", first.strftime("%Y-%m"), n)
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
        yield (f"sla.{s.rule}", "counted", s.counted)
    if report.unit is None:
        for u in report.per_unit:
            yield (f"unit.{u.unit.code}", "received", u.received)
            yield (f"unit.{u.unit.code}", "closed", u.closed)
            yield (f"unit.{u.unit.code}", "finished", u.finished)
            yield (f"unit.{u.unit.code}", "on_time", u.on_time)
            yield (f"unit.{u.unit.code}", "overdue_open_at_end", u.overdue_open)
            yield (f"unit.{u.unit.code}", "on_time_rate", "" if u.on_time_rate is None else f"{u.on_time_rate:.4f}")
            yield (f"unit.{u.unit.code}", "overdue_cases_at_end", u.overdue_cases)
    if report.lapor is not None:
        yield from report.lapor.csv_rows()
    yield ("closed", "total", report.closed)
    if report.close_days is not None:
        for key, value in (("median_days", report.close_days.median), ("p90_days", report.close_days.p90)):
            yield ("closed", key, "" if value is None else f"{value:.2f}")
    if report.compensation is not None:
        yield ("compensation", "count", report.compensation.count)
        yield ("compensation", "total_value_rupiah", report.compensation.total_value)
        yield ("compensation", "on_complaints", report.compensation.on_complaints)
        yield ("compensation", "with_evidence", report.compensation.with_evidence)
        for kind, n in report.compensation.by_kind.items():
            yield ("compensation.kind", kind, n)
    if report.ombudsman is not None:
        register = report.ombudsman
        for key in ("products_received", "products_reported_back", "actions_due", "actions_done_on_time",
                    "actions_done_late", "actions_open", "actions_late"):
            yield ("ombudsman", key, getattr(register, key))
    for rating, n in sorted(report.ratings.items()):
        yield ("satisfaction", f"rating_{rating}", n)
    yield ("satisfaction", "average", "" if report.average_rating is None else f"{report.average_rating:.2f}")
    for case in report.overdue:
        limits = ",".join(label["en"] for label in case.late_limits)
        yield ("overdue", case.code, f"{case.unit};{case.state};{case.days_late};{limits};"
                                     f"{case.assignee or ''};{case.escalations_open}")


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) are missing."""


def pdf_missing() -> str | None:
    """Why no PDF can be made on this machine (WeasyPrint or Pango missing), or None."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:  # OSError: Pango's libraries are not installed
        return (f"WeasyPrint cannot load ({error}); install libpango-1.0-0 libpangoft2-1.0-0")
    return None


def write_pdf(html: str) -> bytes:
    """A rendered report page as a PDF (its page size comes from the page's own @page rule).
    The page is self-contained: nothing is fetched, whatever a URL in it may say."""
    for name in ("weasyprint", "fontTools"):  # a line per layout step and font subset otherwise
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from weasyprint import HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as error:  # OSError: Pango could not be loaded
        raise PdfUnavailable(str(error)) from error
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
