"""The public figures (/statistik): complaints received and how they were handled, for a
period and a unit or every unit, as a page, as CSV and with the CSV's data dictionary. No
account needed. The figures come from the worker's snapshot (services.transparency); a period
without one yet is computed now and kept."""
from __future__ import annotations

import io
import threading
from collections import OrderedDict

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from markupsafe import Markup

from .. import spreadsheet
from ..database import read_apart
from ..models import Unit, utcnow
from ..services.administration.office import current_office
from ..services.surveys.periods import Period, parse
from ..services.transparency import figures, publishing, snapshots
from .downloads import attachment_header

bp = Blueprint("statistics", __name__)

# The page's content as rendered for a snapshot, a language, the office's name and the units
# listed (the key says all it depends on; a refreshed snapshot has a new computed_at): drawing
# two dozen charts and tables costs more than reading the snapshot. Bounded, per process.
RENDERED_KEPT = 128
_rendered: OrderedDict[tuple, str] = OrderedDict()
_rendered_lock = threading.Lock()


def _content(key: tuple, render) -> Markup:
    with _rendered_lock:
        html = _rendered.get(key)
        if html is not None:
            _rendered.move_to_end(key)
            return Markup(html)
    html = render()
    with _rendered_lock:
        _rendered[key] = html
        while len(_rendered) > RENDERED_KEPT:
            _rendered.popitem(last=False)
    return Markup(html)


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
    if code and unit is None:  # an inactive unit too: the page of every unit links its figures
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
    stats, units = _published(period, unit), figures.units_listed()
    if unit is not None and unit not in units:  # inactive: in the list while its page is shown
        units = sorted([*units, unit], key=lambda u: u.name)
    key = (period.label, unit.id if unit else None, stats.computed_at, str(get_locale()), current_office().name,
           tuple((u.id, u.code, u.name) for u in units))
    content = _content(key, lambda: render_template("statistics/_content.html", stats=stats, period=period,
                                                    unit=unit, offered=offered, units=units))
    return render_template("statistics/page.html", content=content, period=period)


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
