"""Snapshots of the public figures (one PublicStatistics row per period and scope) and what
the worker should refresh: the periods running today for every unit and each unit, a period
that ended after its snapshot was taken, an older period whose complaints (or SKM
questionnaires) changed since its snapshot, and any period a visitor may choose that has no
snapshot yet (so that no visitor waits for one); snapshots found unchanged are marked checked.

A snapshot's `computed_at` is when the data it shows was read ("as of"); a snapshot checked
unchanged gets the time of the check. Changes are found from complaints.updated_at (indexed,
migration 0030) grouped by unit and by the days they were received and closed, read from the
oldest snapshot's time on: a few rows per cycle once every snapshot has been checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Date, cast, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db
from ...models import Complaint, PublicStatistics, SurveyPeriod, SurveyResponse, Unit, utcnow
from ..oversight.reports import bounds
from ..surveys.periods import Period, around, parse
from . import figures as figures_module

# A change committed late (a long transaction stamps updated_at before its commit) is still
# seen: a snapshot counts as changed by what was stamped up to this long before it was taken.
MARGIN = timedelta(minutes=2)


def scope_of(unit: Unit | None) -> str:
    return "all" if unit is None else str(unit.id)


def find(period: Period, unit: Unit | None) -> PublicStatistics | None:
    """The stored snapshot of the period and unit, if it has the figures' current shape."""
    row = db.session.scalar(select(PublicStatistics).where(
        PublicStatistics.period == period.label, PublicStatistics.scope == scope_of(unit)))
    if row is None or (row.figures or {}).get("version") != figures_module.VERSION:
        return None
    return row


def store(period: Period, unit: Unit | None, figures: dict, computed_at: datetime) -> None:
    """Keep the figures as the snapshot of the period and unit (replacing any), as one
    statement: two processes storing the same snapshot at once do not collide."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(PublicStatistics).values(
        period=period.label, scope=scope_of(unit), figures=figures, computed_at=computed_at)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["period", "scope"],
        set_={"figures": statement.excluded.figures, "computed_at": statement.excluded.computed_at}))


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"])).date()


@dataclass(frozen=True)
class Task:
    period: Period
    unit: Unit | None
    why: str  # missing, ended, changed, current

    @property
    def key(self) -> tuple[str, str]:
        return self.period.label, scope_of(self.unit)


def _days(column):
    """The UTC day of a timestamp column, as a date (PostgreSQL) or ISO text (SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", column), Date)
    return func.date(column)


def _as_date(value) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _changes(since: datetime) -> list[tuple[int, date, date | None, datetime]]:
    """(unit id, day received, day closed, last change) of the complaints changed after
    `since`, grouped: read from the index on updated_at."""
    received, closed = _days(Complaint.received_at), _days(Complaint.closed_at)
    # Grouped by an expression of the unit, not the column: SQLite would otherwise walk the
    # unit's index in group order (the whole table, 2 s at 1M) instead of the updated_at range.
    unit = (Complaint.unit_id + 0).label("unit")
    rows = db.session.execute(
        select(unit, received, closed, func.max(Complaint.updated_at))
        .where(Complaint.updated_at > since).group_by(unit, received, closed)).all()
    return [(unit_id, _as_date(r), _as_date(c), _aware(changed)) for unit_id, r, c, changed in rows]


def _survey_changes(since: datetime) -> list[tuple[int, date, date, datetime]]:
    """(unit id, survey start, survey end, last answer) of the survey periods answered after `since`."""
    rows = db.session.execute(
        select(SurveyPeriod.unit_id, SurveyPeriod.starts_on, SurveyPeriod.ends_on, func.max(SurveyResponse.submitted_at))
        .join(SurveyPeriod, SurveyPeriod.id == SurveyResponse.period_id)
        .where(SurveyResponse.submitted_at > since)
        .group_by(SurveyPeriod.id, SurveyPeriod.unit_id, SurveyPeriod.starts_on, SurveyPeriod.ends_on)).all()
    return [(unit_id, start, end, _aware(at)) for unit_id, start, end, at in rows]


def _aware(moment):
    if isinstance(moment, str):  # SQLite's max() of a stored text
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment


def _changed(period: Period, scope: str, taken: datetime, changes, survey_changes) -> bool:
    # A UTC day may hold the first or last hours of the local days either side of it.
    first, last = period.start - timedelta(days=1), period.end + timedelta(days=1)
    limit = taken - MARGIN
    for unit_id, received, closed, at in changes:
        if at > limit and (scope == "all" or scope == str(unit_id)) and (
                first <= received <= last or (closed is not None and first <= closed <= last)):
            return True
    return any(at > limit and (scope == "all" or scope == str(unit_id)) and start >= period.start
               and end <= period.end for unit_id, start, end, at in survey_changes)


def due(now: datetime | None = None, only: Period | None = None) -> tuple[list[Task], list[int]]:
    """What to refresh, most needed first (a running period's missing snapshot, then those
    ended or changed since their snapshot, then the missing snapshots of the other periods a
    visitor may choose, then the running periods by the age of their snapshot), and the ids of
    the older snapshots found unchanged (mark_checked). `only`: that period alone, for every
    scope."""
    now = now or utcnow()
    units = figures_module.units_listed()
    by_id = {str(u.id): u for u in units}
    scopes: list[Unit | None] = [None, *units]
    running = [only] if only is not None else around(local_today(now))
    rows = db.session.execute(select(PublicStatistics.id, PublicStatistics.period, PublicStatistics.scope,
                                     PublicStatistics.computed_at)).all()
    taken = {(period, scope): (row_id, at) for row_id, period, scope, at in rows}
    tasks: list[tuple[int, datetime, Task]] = []
    for period in running:
        for unit in scopes:
            found = taken.get((period.label, scope_of(unit)))
            if found is None:
                tasks.append((0, now, Task(period, unit, "missing")))
            else:
                tasks.append((3, found[1], Task(period, unit, "current")))
    older = [(row_id, period, scope, at) for row_id, period, scope, at in rows
             if (period, scope) not in {t.key for _, _, t in tasks}
             and (scope == "all" or scope in by_id) and (only is None or period == only.label)]
    unchanged: list[int] = []
    if older:
        since = min(at for _, _, _, at in older) - MARGIN
        changes, survey_changes = _changes(since), _survey_changes(since)
        for row_id, label, scope, at in older:
            try:
                period = parse(label)
            except ValueError:
                continue
            if at < bounds(period.start, period.end)[1]:
                tasks.append((1, at, Task(period, by_id.get(scope), "ended")))
            elif _changed(period, scope, at, changes, survey_changes):
                tasks.append((1, at, Task(period, by_id.get(scope), "changed")))
            else:
                unchanged.append(row_id)
    if only is None:  # every period a visitor may choose has its snapshot before anyone asks
        known = {t.key for _, _, t in tasks} | set(taken)
        for period in figures_module.offered(local_today(now)):
            for unit in scopes:
                if (period.label, scope_of(unit)) not in known:
                    tasks.append((2, now, Task(period, unit, "missing")))
    # Missing running periods first, then what changed or ended, then what nobody computed
    # yet, and last the running periods again (they already have a snapshot, a cycle older).
    tasks.sort(key=lambda t: (t[0], t[1]))
    return [task for _, _, task in tasks], unchanged


def mark_checked(ids: list[int], at: datetime) -> None:
    """The snapshots still show the data as of `at`: nothing they count changed."""
    for start in range(0, len(ids), 500):
        db.session.execute(update(PublicStatistics).where(PublicStatistics.id.in_(ids[start:start + 500]))
                           .values(computed_at=at))
