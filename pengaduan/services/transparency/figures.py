"""The raw figures of a period and scope (every unit, or one), read from the staff periodic
report (services.oversight.reports.periodic_report) so the public page and the report agree,
with the IKM of the SKM per unit. Raw: nothing is suppressed here (publishing.py does it on
the way out), and everything is plain JSON so a snapshot row can keep it.

Confidential complaints: the totals are the report's, over every complaint, confidential ones
included (received, finished, the time limits, closed and the days to close, the ratings, each
unit's received, closed and time limits); the breakdowns by channel, type, category and state
leave them out (`_without`), and so do the most frequent categories drawn from them."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from ...extensions import db
from ...models import Unit
from ...workflow import current_workflow
from ..oversight.reports import periodic_report
from ..surveys.periods import Period, containing, recent
from ..surveys.results import tally_by_unit

VERSION = 2  # of the figures' shape: a snapshot of another version is computed again


def _ikm(ikm) -> dict | None:
    if ikm is None or not ikm.respondents or ikm.converted is None:
        return None
    return {"respondents": ikm.respondents, "converted": str(ikm.converted), "mutu": ikm.mutu}


def _without(counts: dict, confidential: dict) -> dict:
    """A breakdown without its confidential complaints (they count in the totals only)."""
    result = {key: n - confidential.get(key, 0) for key, n in counts.items()}
    return {key: n for key, n in result.items() if n > 0}


def compute(period: Period, unit: Unit | None) -> dict:
    """The figures of `period` for `unit` (None: every unit), as plain JSON."""
    report = periodic_report(period.start, period.end, unit, overdue_limit=0)
    terminal = set(current_workflow().terminal_states)
    secret = report.confidential_by
    ikm = tally_by_unit(period)
    units = [] if unit is not None else sorted(
        ({"id": u.unit.id, "code": u.unit.code, "name": u.unit.name, "received": u.received,
          "closed": u.closed, "on_time": u.on_time, "counted": u.counted, "ikm": _ikm(ikm.get(u.unit.id))}
         for u in report.per_unit if u.unit.active or u.received),
        key=lambda line: line["name"].casefold())
    close = report.close_days
    return {
        "version": VERSION,
        "period": period.label, "start": period.start.isoformat(), "end": period.end.isoformat(),
        "unit": None if unit is None else {"id": unit.id, "code": unit.code, "name": unit.name},
        "received": report.received,
        "confidential": report.confidential,
        "duplicates": report.duplicates,
        # Received in the period and finished (a terminal state) by the time of the figures.
        "finished": sum(n for state, n in report.by_state.items() if state in terminal),
        "by_channel": _without(report.by_channel, secret.get("channel", {})),
        "by_classification": _without(report.by_classification, secret.get("classification", {})),
        "by_category": _without(report.by_category, secret.get("category", {})),
        "by_state": _without(report.by_state, secret.get("state", {})),
        # The states counted as finished: their cells add up to `finished` (less the
        # confidential ones), a second known total for publishing.py.
        "terminal": sorted(terminal),
        "stages": [{"rule": s.rule, "label": s.label, "on_time": s.on_time, "counted": s.counted}
                   for s in report.stages],
        "closed": report.closed,
        "close_days": {"closed": close.closed, "median": close.median, "p90": close.p90},
        "ratings": {str(k): v for k, v in sorted(report.ratings.items())},
        "ikm": _ikm(ikm.get(unit.id)) if unit is not None else None,
        "units": units,
    }


def units_listed() -> list[Unit]:
    """The units a visitor may choose: the active ones, by name."""
    return db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()


YEARS_OFFERED = 3


def offered(today: date) -> list[Period]:
    """The periods a visitor may choose: every quarter, semester and year of the last three
    years that has begun, newest first."""
    return recent(today, YEARS_OFFERED)


def default(today: date) -> Period:
    """The year so far; in its first quarter, when the year holds little yet, the last year."""
    year = containing(today, "year")
    return year if today.month > 3 else containing(year.start - timedelta(days=1), "year")
