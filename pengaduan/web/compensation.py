"""The register of compensation given: the list per unit and period, recording one (from the
register or from a complaint's page), one record with its evidence files."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..database import reads_first
from ..extensions import db
from ..http.params import query_day
from ..http.uow import with_uploads
from ..models import COMPENSATION_KINDS, Compensation, CompensationFile, Unit
from ..errors import ConcurrentChange
from ..http.uow import rerender
from ..policy import (Actor, can_correct_compensation, can_read_compensation, can_record_compensation,
                      can_view_compensation)
from ..services.oversight import compensation as register
from ..services.oversight.supervision import today
from ..services.oversight.timeliness import units_in_view
from .downloads import send_stored

bp = Blueprint("compensation", __name__, url_prefix="/staff/compensation")


@bp.app_context_processor
def _kinds():
    return {"compensation_kinds": lambda: COMPENSATION_KINDS}


def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _signed_in_staff():
    if not can_read_compensation(actor()):
        abort(403)


@bp.get("")
def index():
    """The compensation the units in view gave in a period (this year by default)."""
    units = units_in_view(current_user)
    end = query_day("to", today())
    start = query_day("from", date(end.year, 1, 1))
    unit = next((u for u in units if u.code == request.args.get("unit")), None)
    chosen = [unit.id] if unit else [u.id for u in units]
    me = actor()
    rows = register.register(chosen, start, end)
    return render_template(
        "compensation/index.html", units=units, unit=unit, start=start, end=end, rows=rows,
        summary=register.summary(chosen, start, end), kinds=COMPENSATION_KINDS,
        recipients={c.id: register.recipient(c, me) for c in rows},
        can_record=any(can_record_compensation(me, u) for u in units))


def _recordable_units() -> list[Unit]:
    return [u for u in units_in_view(current_user) if u.active and can_record_compensation(actor(), u)]


def _form(errors=None, typed=None, status=200):
    return render_template("compensation/form.html", errors=errors or {}, typed=typed or {},
                           kinds=COMPENSATION_KINDS, units=_recordable_units()), status


@bp.route("/new", methods=["GET", "POST"])
@reads_first  # the files are decoded before the write transaction begins
def new():
    """Record a compensation; `?complaint=<code>` names the complaint it was given on."""
    if not _recordable_units():
        abort(403)
    if request.method == "GET":
        return _form(typed={"given_on": today().isoformat(), "complaint": request.args.get("complaint", "")[:20],
                            "unit": request.args.get("unit", "")[:32]})
    raw = request.form.to_dict()
    compensation = with_uploads(lambda stored: register.record_compensation(actor(), raw, stored), _form, raw)
    flash(_("Compensation recorded."), "success")
    return redirect(url_for("compensation.detail", compensation_id=compensation.id))


def _compensation_or_404(compensation_id: int) -> Compensation:
    compensation = db.session.get(Compensation, compensation_id)
    if compensation is None or not can_view_compensation(actor(), compensation):
        abort(404)
    return compensation


@bp.get("/<int:compensation_id>")
def detail(compensation_id):
    compensation = _compensation_or_404(compensation_id)
    return render_template("compensation/detail.html", compensation=compensation,
                           recipient=register.recipient(compensation, actor()),
                           description=register.description(compensation, actor()),
                           can_correct=can_correct_compensation(actor(), compensation),
                           file_names={f.id: register.file_name(f, actor()) for f in compensation.files})


@bp.route("/<int:compensation_id>/edit", methods=["GET", "POST"])
@reads_first  # the files are decoded before the write transaction begins
def correct(compensation_id):
    """Correct a record's fields and add its evidence files (who recorded it, the unit's
    supervisors); the form carries the version it was drawn from."""
    compensation = _compensation_or_404(compensation_id)
    if not can_correct_compensation(actor(), compensation):
        abort(403)

    def page(errors=None, typed=None, status=200):
        return render_template("compensation/form.html", errors=errors or {}, typed=typed or {},
                               kinds=COMPENSATION_KINDS, compensation=compensation), status

    if request.method == "GET":
        return page(typed={"kind": compensation.kind, "given_on": compensation.given_on.isoformat(),
                           "value": "" if compensation.value is None else str(compensation.value),
                           "description": compensation.description or "",
                           "approved_by": compensation.approved_by, "version": compensation.version})
    raw = request.form.to_dict()
    try:
        changed = with_uploads(lambda stored: register.correct_compensation(actor(), compensation, raw, stored),
                               page, raw)
    except ConcurrentChange as exc:
        rerender(page, {"version": exc.message}, raw, 409)
    flash(_("Compensation corrected.") if changed else _("Nothing changed."), "success" if changed else "info")
    return redirect(url_for("compensation.detail", compensation_id=compensation.id))


@bp.get("/files/<int:file_id>")
def evidence_file(file_id):
    item = db.session.get(CompensationFile, file_id)
    if item is None:
        abort(404)
    _compensation_or_404(item.compensation_id)
    return send_stored(item, download_name=register.file_name(item, actor()))
