"""The complaint service standard and maklumat: for staff, every unit's standard (its own or
the kabupaten-wide default), making and changing one, its A4 poster with a QR code to the
complaint form; for everyone, the published standard of each unit (/standar-pelayanan)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import ConcurrentChange, Forbidden, InvalidFields
from ..models import PUBLISHED_COMPONENTS, STANDARD_COMPONENTS, Unit
from ..policy import Actor, can_edit_standard, can_read_standards, keeps_standards
from ..services import standards
from ..services.standards.poster import poster_html
from ..services.oversight.reports import PdfUnavailable, write_pdf
from ..services.oversight.supervision import today
from ..services.oversight.timeliness import units_in_view
from ..unit_of_work import rerender
from .downloads import attachment_header

bp = Blueprint("standards", __name__, url_prefix="/staff/standards")
public_bp = Blueprint("service_standard", __name__, url_prefix="/standar-pelayanan")
DEFAULT = "default"  # the scope of the kabupaten-wide default in the staff addresses


@bp.app_context_processor
def _helpers():
    return {"standard_components": STANDARD_COMPONENTS, "published_components": PUBLISHED_COMPONENTS,
            "standard_reviews": _reviews_to_remind, "service_standard_for": standards.standard_for}


def actor() -> Actor:
    return Actor.staff(current_user)


def _reviews_to_remind() -> list[standards.Row]:
    """The standards the signed-in keeper should review soon (the home page's reminder)."""
    if not current_user.is_authenticated or not keeps_standards(actor()):
        return []
    return standards.reviews_to_remind(actor(), units_in_view(current_user))


@bp.before_request
@login_required
def _signed_in_staff():
    if not can_read_standards(actor()):
        abort(403)


def _unit_of(scope: str) -> Unit | None:
    """The unit a staff address names (None: the default); 404 for a unit out of view."""
    if scope == DEFAULT:
        return None
    unit = Unit.by_code(scope)
    if unit is None or unit.id not in {u.id for u in units_in_view(current_user)}:
        abort(404)
    return unit


def _scope(unit: Unit | None) -> str:
    return unit.code if unit is not None else DEFAULT


@bp.get("")
def index():
    """Every unit in view: the standard that applies (own or default), published, reviewed."""
    me = actor()
    units = units_in_view(current_user)
    rows = standards.rows_for(units)
    return render_template("standards/index.html", rows=rows, today=today(),
                           reminders=[r for r in rows if r.own and r.review.needs_attention
                                      and can_edit_standard(me, r.unit)],
                           editable={r.unit.id if r.unit else None for r in rows if can_edit_standard(me, r.unit)})


def _page(unit: Unit | None, errors=None, typed=None, status=200):
    standard = standards.own_standard(unit) if unit is not None else standards.default_standard()
    applied = standard or (standards.default_standard() if unit is not None else None)
    return render_template(
        "standards/standard.html", unit=unit, scope=_scope(unit), standard=standard, applied=applied,
        review=standards.review_of(applied) if applied else None, errors=errors or {}, typed=typed,
        can_edit=can_edit_standard(actor(), unit), today=today(),
        public_link=url_for("service_standard.unit", unit_code=unit.code) if unit else
        url_for("service_standard.index")), status


@bp.route("/<scope>", methods=["GET", "POST"])
def standard(scope: str):
    """One unit's standard (or the default): read it, and its keepers change it."""
    unit = _unit_of(scope)
    if request.method == "GET":
        return _page(unit)
    own = standards.own_standard(unit) if unit is not None else standards.default_standard()
    if own is None:
        abort(404)
    raw = request.form.to_dict()
    try:
        changed = standards.update_standard(actor(), own, raw)
    except InvalidFields as exc:
        rerender(_page, unit, exc.errors, raw, exc.status)
    except ConcurrentChange as exc:
        rerender(_page, unit, {"version": exc.message}, raw, 409)
    except Forbidden:
        abort(403)
    flash(_("Service standard saved.") if changed else _("Nothing changed."), "success" if changed else "info")
    return redirect(url_for("standards.standard", scope=_scope(unit)))


@bp.post("/<scope>/create")
def create(scope: str):
    """Make the unit's own standard from the default (or the default from the system's draft)."""
    unit = _unit_of(scope)
    try:
        standards.create_standard(actor(), unit)
    except Forbidden:
        abort(403)
    except ConcurrentChange:
        flash(_("This unit has its own service standard already."), "info")
        return redirect(url_for("standards.standard", scope=_scope(unit)))
    flash(_("Service standard made: check each component, then publish it."), "success")
    return redirect(url_for("standards.standard", scope=_scope(unit)))


@bp.get("/<scope>/poster.pdf")
def poster(scope: str):
    """The A4 poster: the maklumat, the six published components, a QR code to the form. It
    is posted for the public, so it prints the published standard; before any is published,
    the draft (to proofread)."""
    unit = _unit_of(scope)
    standard = standards.published_standard_for(unit) or standards.standard_for(unit)
    if standard is None:
        abort(404)
    try:
        pdf = write_pdf(poster_html(unit, standard))
    except PdfUnavailable:
        current_app.logger.exception("service standard poster: WeasyPrint or Pango is missing")
        abort(503)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": attachment_header(f"standar-pelayanan-{_scope(unit)}.pdf")})


@public_bp.get("", endpoint="index")
def public_index():
    """The published standards: the default's text and each unit that publishes one."""
    default = standards.default_standard()
    return render_template("standards/public_index.html", units=standards.published_units(),
                           default=default if default is not None and default.published else None)


@public_bp.get("/<unit_code>", endpoint="unit")
def public_unit(unit_code: str):
    """A unit's published standard and maklumat (its own, or the default it follows)."""
    found = Unit.by_code(unit_code)
    if found is None or not found.active:
        abort(404)
    standard = standards.published_standard_for(found)
    return render_template("standards/public.html", unit=found, standard=standard,
                           form_link=url_for("citizen.new_complaint", unit=found.code))
