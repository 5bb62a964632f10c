"""Readiness for the assessment: every unit against the items the assessors ask about
(/staff/readiness), one unit item by item with the evidence found and what is missing, and
the same as readiness.csv. Supervisors see their units, auditors and admins every unit."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from .. import spreadsheet
from ..models import Unit
from ..policy import Actor, can_read_readiness, can_read_unit_readiness
from ..services.oversight.supervision import today
from ..services.oversight.timeliness import units_in_view
from ..services.readiness import CSV_COLUMNS, STATUSES, assess, csv_rows
from .downloads import attachment_header

bp = Blueprint("readiness", __name__, url_prefix="/staff/readiness")


def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _readers():
    if not can_read_readiness(actor()):
        abort(403)


def link(target: tuple[str, dict] | None) -> str | None:
    """The address of an evidence source's page, or None when this deployment has no such page."""
    if target is None:
        return None
    try:
        return url_for(target[0], **target[1])
    except BuildError:
        return None


def _units() -> list[Unit]:
    return [u for u in units_in_view(current_user) if u.active]


def _unit_or_404(unit_code: str) -> Unit:
    unit = Unit.by_code(unit_code)
    if unit is None or not unit.active or not can_read_unit_readiness(actor(), unit):
        abort(404)
    return unit


@bp.get("")
def index():
    """Every unit in view against every item: a matrix, with counts per item and unit."""
    assessment = assess(_units(), today())
    return render_template("readiness/index.html", assessment=assessment, statuses=STATUSES,
                           counts=assessment.item_counts(), totals=assessment.totals())


@bp.get("/<unit_code>")
def unit(unit_code: str):
    """One unit item by item: status, evidence found, what is missing and the next step."""
    assessment = assess([_unit_or_404(unit_code)], today())
    return render_template("readiness/unit.html", assessment=assessment, result=assessment.units[0],
                           statuses=STATUSES, link=link)


@bp.get("/<unit_code>/readiness.csv")
def unit_csv(unit_code: str):
    unit = _unit_or_404(unit_code)
    assessment = assess([unit], today())
    buffer = io.StringIO()
    writer = spreadsheet.Writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(assessment):
        writer.writerow(row)
    name = f"kesiapan-{unit.code}-{assessment.on.isoformat()}.csv"
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": attachment_header(name)})

