"""The quarterly complaint evaluation report (laporan evaluasi pengaduan) as a page, CSV and PDF,
the improvement actions a supervisor sets from its groups, and recording the finding on a closed
complaint from its case page."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import spreadsheet
from ..database import read_only
from ..errors import Forbidden, InvalidFields
from ..extensions import db
from ..http.uow import rerender
from ..models import ACTION_STATUSES, SupervisionAction, Unit
from ..policy import Actor, can_act_on_evaluation, can_read_evaluation, sees_all_units
from ..services.evaluation import actions as evaluation_actions
from ..services.evaluation import findings
from ..services.evaluation.report import SECTION_TITLES, SECTIONS, csv_rows, evaluation, previous_quarter, quarter
from ..services.oversight.reports import PdfUnavailable, write_pdf
from ..services.oversight.supervision import today
from ..services.oversight.timeliness import units_in_view
from ..services.surveys.periods import containing
from ..workflow import current_workflow
from ..workflow.findings import FINDING_FIELDS
from .downloads import attachment_header

bp = Blueprint("evaluation", __name__, url_prefix="/staff")


def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _signed_in():
    return None


def _readable_units() -> list[Unit]:
    return [u for u in units_in_view(current_user) if can_read_evaluation(actor(), u)]


def _choice():
    """The unit (None: all the units this reader may see) and the quarter asked for; the quarter
    before today's by default. A unit the reader may not see does not exist."""
    if not can_read_evaluation(actor()):
        abort(403)
    units = _readable_units()
    code = (request.values.get("unit") or "").strip().upper()
    unit = next((u for u in units if u.code == code), None)
    if code and unit is None:
        abort(404)
    if unit is None and not sees_all_units(current_user) and len(units) == 1:
        unit = units[0]
    text = (request.values.get("period") or "").strip()
    errors = {}
    try:
        period = quarter(text) if text else previous_quarter(containing(today(), "quarter"))
    except ValueError:
        period, errors["period"] = previous_quarter(containing(today(), "quarter")), _("must be a quarter, such as 2026-Q3")
    return units, unit, period, errors


def _report(units, unit, period):
    return evaluation(actor(), [unit] if unit else units, period, unit)


def _page(errors=None, typed=None, status=200):
    units, unit, period, choice_errors = _choice()
    errors = {**choice_errors, **(errors or {})}
    with read_only():
        result = _report(units, unit, period)
    return render_template(
        "evaluation/report.html", report=result, units=units, unit=unit, period=period,
        errors=errors, typed=typed or {}, sections=SECTIONS, section_titles=SECTION_TITLES,
        workflow=current_workflow(), statuses=ACTION_STATUSES,
        can_act=unit is not None and can_act_on_evaluation(actor(), unit),
        quarters=_quarters()), status if not choice_errors else 422


def _quarters() -> list[str]:
    """The quarters the picker offers: this one and the seven before, newest first."""
    period, out = containing(today(), "quarter"), []
    for _i in range(8):
        out.append(period.label)
        period = previous_quarter(period)
    return out


@bp.get("/evaluation")
def report():
    """The report of a quarter for one unit or all the units this reader may see; `format=csv`
    its figures as data, `format=pdf` a document to sign."""
    fmt = request.args.get("format") or "html"
    if fmt not in ("html", "csv", "pdf"):
        abort(404)
    if fmt == "html":
        return _page()
    units, unit, period, errors = _choice()
    if errors:
        abort(404)
    with read_only():
        result = _report(units, unit, period)
        name = f"evaluasi-{unit.code if unit else 'semua'}-{period.label}"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = spreadsheet.Writer(buffer)
            for row in csv_rows(result):
                writer.writerow(row)
            return Response(buffer.getvalue(), mimetype="text/csv",
                            headers={"Content-Disposition": attachment_header(f"{name}.csv")})
        html = render_template("evaluation/document.html", report=result, sections=SECTIONS,
                               section_titles=SECTION_TITLES, preparer=current_user, on_day=today())
    try:
        pdf = write_pdf(html)
    except PdfUnavailable:
        current_app.logger.exception("evaluation PDF: WeasyPrint or Pango is missing")
        abort(503)
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": attachment_header(f"{name}.pdf")})


def _acting():
    units, unit, period, errors = _choice()
    if unit is None or errors:
        abort(404)
    if not can_act_on_evaluation(actor(), unit):
        abort(403)
    return unit, period


def _change(change, typed: dict, prefix: str, anchor: str, unit, period):
    try:
        change()
    except InvalidFields as exc:
        rerender(_page, {f"{prefix}{k}": v for k, v in exc.errors.items()},
                 {f"{prefix}{k}": v for k, v in typed.items()}, 422)
    except Forbidden:
        abort(403)
    return redirect(url_for("evaluation.report", unit=unit.code, period=period.label, _anchor=anchor))


@bp.post("/evaluation/actions")
def add_action():
    """An improvement action answering one group of the unit's report."""
    unit, period = _acting()
    typed = {k: request.form.get(k, "") for k in ("group", "description", "owner", "due_on")}

    def change():
        evaluation_actions.add_action(unit, period, actor(), typed)
        flash(_("Improvement action added."), "success")

    prefix = f"new-{typed['group']}-"
    return _change(change, typed, prefix, "actions", unit, period)


@bp.post("/evaluation/file")
def file_report():
    """Adopt the unit's report of the quarter (tetapkan laporan evaluasi), signed by this
    supervisor, with or without improvement actions."""
    unit, period = _acting()

    def change():
        evaluation_actions.file_report(unit, period, actor())
        flash(_("Evaluation report filed."), "success")

    return _change(change, {}, "", "filed", unit, period)


@bp.post("/evaluation/actions/<int:action_id>")
def update_action(action_id):
    """Mark an action done with its evidence, drop it, or reopen it."""
    unit, period = _acting()
    action = db.session.get(SupervisionAction, action_id)
    if action is None or action.record.evaluation_period != period.label or unit not in action.record.units:
        abort(404)
    typed = {k: request.form.get(k, "") for k in ("status", "completed_on", "evidence")}

    def change():
        evaluation_actions.update_action(unit, period, action, actor(), typed)
        flash(_("Improvement action updated."), "success")

    return _change(change, typed, f"action-{action.id}-", f"action-{action.id}", unit, period)


@bp.post("/complaints/<code>/finding")
def record_finding(code):
    """Record or correct the finding on a closed complaint (internal, audited)."""
    from .staff import _render, complaint_or_404
    complaint = complaint_or_404(code)
    typed = {name: request.form.get(name, "") for name in FINDING_FIELDS}
    try:
        findings.record_finding(complaint, actor(), typed)
    except InvalidFields as exc:
        rerender(_render, complaint, {f"finding-{k}": v for k, v in exc.errors.items()},
                 {f"finding-{k}": v for k, v in typed.items()}, "finding", 422)
    except Forbidden:
        abort(403)
    flash(_("Finding recorded."), "success")
    return redirect(url_for("staff.complaint", code=complaint.tracking_code, _anchor="finding"))
