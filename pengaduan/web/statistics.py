"""The public figures (/statistik): complaints received and how they were handled, for a
period and a unit or every unit, as a page, as CSV and with the CSV's data dictionary. No
account needed. The figures come from the worker's snapshot (services.transparency); a period
without one yet is computed now and kept."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, render_template, request

from .. import spreadsheet
from ..database import read_apart
from ..models import Unit, utcnow
from ..services.surveys.periods import Period, parse
from ..services.transparency import figures, publishing, snapshots
from .downloads import attachment_header

bp = Blueprint("statistics", __name__)


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        self.status, self.reason = status, reason


def _choice() -> tuple[Period, Unit | None, list[Period]]:
    """The period and unit asked for (default: the last whole quarter, every unit)."""
    today = snapshots.local_today()
    offered = figures.offered(today)
    text = request.args.get("period") or figures.default(today).label
    try:
        period = parse(text)
    except ValueError:
        raise _Refused(400, "period") from None
    if period.label not in {p.label for p in offered}:
        raise _Refused(404, "period_not_offered")
    code = (request.args.get("unit") or "").strip()
    unit = Unit.by_code(code) if code else None
    if code and (unit is None or not unit.active):
        raise _Refused(404, "unit")
    return period, unit, offered


def _published(period: Period, unit: Unit | None) -> publishing.Published:
    row = snapshots.find(period, unit)
    if row is not None:
        return publishing.publish(row.figures, row.computed_at)
    at = utcnow()  # none yet (the worker has not run): computed now, kept for the next visitor
    with read_apart():
        raw = figures.compute(period, unit)
    snapshots.store(period, unit, raw, at)
    return publishing.publish(raw, at)


@bp.errorhandler(_Refused)
def _refused(refused: _Refused):
    return render_template("statistics/refused.html", reason=refused.reason,
                           asked=request.args.get("period") or "",
                           default=figures.default(snapshots.local_today())), refused.status


@bp.get("/statistik")
def page():
    """The figures of the period and unit chosen, with their charts and tables."""
    period, unit, offered = _choice()
    return render_template("statistics/page.html", stats=_published(period, unit), period=period, unit=unit,
                           offered=offered, units=figures.units_listed())


@bp.get("/statistik.csv")
def csv_file():
    """The same figures as rows (period, unit, measure, dimension, value)."""
    period, unit, _ = _choice()
    buffer = io.StringIO()
    writer = spreadsheet.Writer(buffer)
    for row in publishing.csv_rows(_published(period, unit)):
        writer.writerow(row)
    name = f"statistik-{period.label}-{unit.code if unit else 'semua'}-lihat-kamus-data.csv"
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": attachment_header(name), "Link": '</statistik/kamus-data>; rel="describedby"'})


@bp.get("/statistik/kamus-data")
def dictionary():
    """What every column and measure of the CSV means."""
    return render_template("statistics/dictionary.html", columns=publishing.COLUMNS, measures=publishing.MEASURES,
                           small=publishing.SMALL, ranked_from=publishing.RANKED_FROM)
