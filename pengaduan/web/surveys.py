"""The SKM for staff: a unit's survey periods, opening and closing them, the counter's QR
poster, and typing in the paper questionnaires."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..errors import InvalidFields
from ..i18n import select_locale
from ..models import ELEMENTS, PROFILE_FIELDS, SurveyPeriod
from ..policy import Actor, can_enter_questionnaires, can_open_survey, can_read_survey_results
from ..services.complaints.receipts import tracking_qr
from ..services.inputs import local_today
from ..services.surveys import answers, opening, periods
from ..services.surveys.questionnaire import in_language
from ..http.links import external_url
from ..http.uow import rerender
from .auth import may
from .survey import kiosk_token

bp = Blueprint("surveys", __name__, url_prefix="/staff/surveys")

def actor() -> Actor:
    return Actor.staff(current_user)


@bp.before_request
@login_required
def _staff_who_run_surveys():
    if not may("use_surveys"):
        abort(403)


def public_link(survey: SurveyPeriod) -> str:
    """The period's questionnaire's address (the site's own, never the request's)."""
    return external_url("survey.questionnaire", unit_code=survey.unit.code, period=survey.label)


def poster_link(survey: SurveyPeriod) -> str:
    """The unit's stable survey address, as the counter's poster prints it: it leads to the
    period open at the time, so the poster outlives the quarter it was printed in."""
    return external_url("survey.current", unit_code=survey.unit.code)


def kiosk_link(survey: SurveyPeriod) -> str:
    """The period's questionnaire for the office's counter tablet: one visitor after another."""
    return external_url("survey.questionnaire", unit_code=survey.unit.code, period=survey.label,
                        kiosk=kiosk_token(survey))


def _index(errors=None, typed=None, status=200):
    me = actor()
    surveys = opening.periods_for(me)
    counts = opening.respondents([s.id for s in surveys])
    today = local_today(None)
    units = opening.units_to_open(me)
    typed = typed or {"period": periods.containing(today, "quarter").label}
    return render_template(
        "surveys/index.html", surveys=surveys, today=today,
        progress={s.id: opening.progress(s, counts[s.id]) for s in surveys},
        status={s.id: opening.status(s, local_today(s.unit)) for s in surveys},
        units=units, choices=periods.recent(today), errors=errors or {}, typed=typed), status


@bp.get("")
def index():
    """The periods of my units, newest first, with their progress; the form to open one."""
    return _index()


@bp.post("/open", endpoint="open")
def open_period():
    """Open a unit's survey for a period."""
    raw = request.form.to_dict()
    unit = next((u for u in opening.units_to_open(actor()) if u.code == raw.get("unit")), None)
    try:
        survey = opening.open_period(actor(), unit, raw.get("period", ""), raw.get("service_types", ""),
                                     raw.get("population"))
    except InvalidFields as exc:
        rerender(_index, errors=exc.errors, typed=raw, status=exc.status)
    flash(_("The survey of %(unit)s for %(period)s is open.", unit=survey.unit.name, period=survey.label),
          "success")
    return redirect(url_for("surveys.period", period_id=survey.id))


def _period(survey: SurveyPeriod, errors=None, typed=None, status=200):
    me = actor()
    today = local_today(survey.unit)
    report = (url_for("survey_results.report", period_id=survey.id)
              if can_read_survey_results(me, survey.unit) else None)
    kiosk = (kiosk_link(survey) if can_open_survey(me, survey.unit) or can_enter_questionnaires(me, survey.unit)
             else None)
    return render_template(
        "surveys/period.html", survey=survey, progress=opening.progress(survey),
        state=opening.status(survey, today), link=public_link(survey), report=report, kiosk=kiosk,
        paper=opening.paper_count(survey),
        working=opening.sample_working(survey.population) if survey.population else None, can_change=can_open_survey(me, survey.unit),
        can_enter=can_enter_questionnaires(me, survey.unit) and _takes_paper(survey),
        errors=errors or {},
        typed=typed or {"service_types": "\n".join(survey.service_types or []),
                        "population": survey.population or ""}), status


@bp.get("/<int:period_id>")
def period(period_id: int):
    """One period: progress toward the sample, the public link and poster, paper entry."""
    return _period(opening.period_for(actor(), period_id))


@bp.post("/<int:period_id>/edit")
def edit(period_id: int):
    """Change the services and population, or close or reopen the period to answers."""
    survey = opening.period_for(actor(), period_id)
    raw = request.form.to_dict()
    action = raw.get("action", "save")
    if action == "close":
        opening.close_period(actor(), survey)
        flash(_("The survey is closed: the questionnaire takes no more answers."), "success")
    elif action == "reopen":
        opening.reopen_period(actor(), survey)
        flash(_("The survey is open to answers again."), "success")
    else:
        try:
            opening.update_period(actor(), survey, raw.get("service_types", ""), raw.get("population"))
        except InvalidFields as exc:
            rerender(_period, survey, errors=exc.errors, typed=raw, status=exc.status)
        flash(_("Survey changed."), "success")
    return redirect(url_for("surveys.period", period_id=survey.id))


@bp.get("/<int:period_id>/poster")
def poster(period_id: int):
    """An A4 poster for the counter: a QR code to the questionnaire and its address."""
    survey = opening.period_for(actor(), period_id)
    link = poster_link(survey)
    title = _("Survey questionnaire of %(unit)s", unit=survey.unit.name)
    return render_template("surveys/poster.html", survey=survey, link=link,
                           short=link.split("://", 1)[-1], qr=tracking_qr(link, title))


def _takes_paper(survey: SurveyPeriod) -> bool:
    return opening.takes_paper(survey, local_today(survey.unit))


def _paper(survey: SurveyPeriod, errors=None, typed=None, status=200):
    return render_template(
        "surveys/paper.html", survey=survey, errors=errors or {}, typed=typed or {},
        texts=in_language(survey.questionnaire, select_locale()), elements=ELEMENTS,
        profile_fields=PROFILE_FIELDS, paper=opening.paper_count(survey),
        progress=opening.progress(survey)), status


@bp.route("/<int:period_id>/paper", methods=["GET", "POST"])
def paper(period_id: int):
    """Type in one paper questionnaire; after saving, an empty form for the next."""
    survey = opening.period_for(actor(), period_id)
    if not can_enter_questionnaires(actor(), survey.unit):
        abort(403)
    if not _takes_paper(survey):
        flash(_("This survey takes no questionnaires now: it is closed or has not begun."), "notice")
        return redirect(url_for("surveys.period", period_id=survey.id))
    if request.method == "GET":
        return _paper(survey)
    raw = request.form.to_dict()
    try:
        answers.record(survey, answers.check(survey, raw), channel="paper", entered_by=current_user._get_current_object())
    except InvalidFields as exc:
        rerender(_paper, survey, errors=exc.errors, typed=raw, status=exc.status)
    flash(_("Questionnaire saved: %(n)d paper questionnaires so far. The form is empty for the next one.",
            n=opening.paper_count(survey)), "success")
    return redirect(url_for("surveys.paper", period_id=survey.id))
