"""The results of a survey period (SKM): the IKM report as a page, CSV and PDF to sign, and
the improvement actions that follow up its low elements."""
from __future__ import annotations

import io

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import spreadsheet
from ..database import read_only
from ..errors import Forbidden, InvalidFields
from ..extensions import db
from ..http.uow import rerender
from ..models import ACTION_STATUSES, ELEMENTS, SupervisionAction, SurveyPeriod
from ..policy import Actor, can_follow_up_survey, can_read_survey_results
from ..services.inputs import local_today
from ..services.oversight.reports import PdfUnavailable, write_pdf
from ..services.surveys import follow_up
from ..services.surveys.periods import sample_target
from ..services.surveys.report import csv_rows, grade_table, skm_report, truncated
from .downloads import attachment_header

bp = Blueprint("survey_results", __name__, url_prefix="/staff/surveys")


def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _signed_in():
    return None


def _survey_or_404(period_id: int) -> SurveyPeriod:
    """The period, if this user may read its results; 404 otherwise (as if it did not exist)."""
    survey = db.session.get(SurveyPeriod, period_id)
    if survey is None or not can_read_survey_results(actor(), survey.unit):
        abort(404)
    return survey


def _lang() -> str:
    return str(get_locale() or "id")


def _page(survey, errors=None, typed=None, status=200):
    """The report page; `errors` and `typed` of a refused form (keys prefixed `new-` for the
    new action, `action-<id>-` for an action's update)."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    result = skm_report(survey, _lang(), page)
    chosen = request.args.get("element", "")
    # The form offers the lowest element no action follows up yet (or the lowest).
    lowest = sorted((row.code for row in result.overall.lowest),
                    key=lambda code: bool(result.follow_up.by_element(code)))
    return render_template(
        "survey_results/page.html", report=result, errors=errors or {}, typed=typed or {},
        can_follow_up=can_follow_up_survey(actor(), survey.unit), statuses=ACTION_STATUSES,
        elements=ELEMENTS, element=chosen if chosen in ELEMENTS else (lowest[0] if lowest else ""),
        grades=grade_table(), truncated=truncated,
        target=sample_target(survey.population) if survey.population else None), status


@bp.get("/<int:period_id>/results")
def report(period_id):
    """The IKM report of a period; `format=csv` the figures as data, `format=pdf` to sign."""
    fmt = request.args.get("format") or "html"
    if fmt not in ("html", "csv", "pdf"):
        abort(404)
    survey = _survey_or_404(period_id)
    if fmt == "pdf":
        return _pdf(survey)
    if fmt == "csv":
        with read_only():
            result = skm_report(survey, _lang(), per_page=None)
        buffer = io.StringIO()
        writer = spreadsheet.Writer(buffer)
        for row in csv_rows(result):
            writer.writerow(row)
        return Response(buffer.getvalue(), mimetype="text/csv", headers={
            "Content-Disposition": attachment_header(f"skm-{survey.unit.code}-{survey.label}.csv")})
    return _page(survey)


@bp.get("/<int:period_id>/results.pdf")
def report_pdf(period_id):
    """The IKM report as an A4 PDF with the office's name and a signature block."""
    return _pdf(_survey_or_404(period_id))


def _pdf(survey: SurveyPeriod) -> Response:
    """The report as a PDF to sign (`results.pdf`, and `results?format=pdf`)."""
    with read_only():
        result = skm_report(survey, _lang(), per_page=100)
        html = render_template("survey_results/document.html", report=result, grades=grade_table(),
                               truncated=truncated, preparer=current_user, on_day=local_today(survey.unit))
    try:
        pdf = write_pdf(html)
    except PdfUnavailable:
        current_app.logger.exception("SKM report PDF: WeasyPrint or Pango is missing")
        abort(503)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": attachment_header(f"skm-{survey.unit.code}-{survey.label}.pdf")})


def _change(survey, change, typed: dict, prefix: str, anchor: str):
    """Run one change of the follow-up; a refusal shows the page again with what was typed."""
    try:
        change()
    except InvalidFields as exc:
        rerender(_page, survey, {f"{prefix}{k}": v for k, v in exc.errors.items()},
                 {f"{prefix}{k}": v for k, v in typed.items()}, 422)
    except Forbidden:
        abort(403)
    return redirect(url_for("survey_results.report", period_id=survey.id, _anchor=anchor))


@bp.post("/<int:period_id>/results/actions")
def add_action(period_id):
    survey = _survey_or_404(period_id)
    if not can_follow_up_survey(actor(), survey.unit):
        abort(403)
    typed = {k: request.form.get(k, "") for k in ("element", "description", "owner", "due_on")}

    def change():
        follow_up.add_action(survey, actor(), typed)
        flash(_("Improvement action added."), "success")

    return _change(survey, change, typed, "new-", "follow-up")


@bp.post("/<int:period_id>/results/actions/<int:action_id>")
def update_action(period_id, action_id):
    survey = _survey_or_404(period_id)
    if not can_follow_up_survey(actor(), survey.unit):
        abort(403)
    action = db.session.get(SupervisionAction, action_id)
    if action is None or action.record.survey_period_id != survey.id:
        abort(404)
    typed = {k: request.form.get(k, "") for k in ("status", "completed_on", "evidence")}

    def change():
        follow_up.update_action(survey, action, actor(), typed)
        flash(_("Improvement action updated."), "success")

    return _change(survey, change, typed, f"action-{action.id}-", f"action-{action.id}")
