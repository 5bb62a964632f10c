"""The public SKM questionnaire: no account, nothing that names or traces the respondent.

One answer per device and period is asked for, best effort: after answering, the browser
keeps a signed cookie listing the periods it answered (no identifier of its own), and a
second answer from it is thanked and not stored. Rate limits bound what one address sends.
"""
from __future__ import annotations

from flask import (Blueprint, current_app, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from ..errors import InvalidFields
from ..extensions import csrf, limiter
from ..i18n import lazy_gettext as _l
from ..i18n import select_locale
from ..models import SurveyPeriod
from ..services.inputs import local_today
from ..services.surveys import answers, opening
from ..services.surveys.questionnaire import in_language
from ..http.uow import rerender
from .forms import Form

bp = Blueprint("survey", __name__, url_prefix="/skm")

ANSWERED_COOKIE = "skm_answered"  # the survey periods this browser answered, signed
ANSWERED_SALT = "skm-answered"
ANSWERED_KEEP = 24  # the most recent periods remembered
ANSWERED_SECONDS = 400 * 24 * 3600  # past the longest period (a year)
EXPIRED = _l("The form expired. Please check your answers and send them again.")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt=ANSWERED_SALT)


def answered_here() -> list[int]:
    """The survey periods this browser has answered (an unsigned or tampered cookie: none)."""
    try:
        value = _serializer().loads(request.cookies.get(ANSWERED_COOKIE, ""))
    except BadSignature:
        return []
    return [i for i in value if isinstance(i, int)] if isinstance(value, list) else []


def _remember_answer(response, survey: SurveyPeriod):
    ids = [i for i in answered_here() if i != survey.id][-(ANSWERED_KEEP - 1):] + [survey.id]
    response.set_cookie(ANSWERED_COOKIE, _serializer().dumps(ids), max_age=ANSWERED_SECONDS,
                        httponly=True, samesite="Lax", path=url_for("survey.index"),
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


@bp.get("")
def index():
    """The units whose survey takes answers today."""
    return render_template("survey/index.html", surveys=opening.open_now())


@bp.get("/<unit_code>")
def current(unit_code: str):
    """A unit's stable survey address (the counter's poster): to the period taking answers now,
    or a page saying none does; 404 for an unknown unit."""
    unit = opening.public_unit(unit_code)
    survey = opening.open_for(unit)
    if survey is not None:
        return redirect(url_for("survey.questionnaire", unit_code=unit.code, period=survey.label))
    return render_template("survey/none_open.html", unit=unit)


def _questionnaire(survey: SurveyPeriod, form, errors=None, typed=None, status=200):
    return render_template("survey/questionnaire.html", survey=survey, form=form, errors=errors or {},
                           typed=typed or {}, texts=in_language(survey.questionnaire, select_locale())), status


def _unavailable(survey: SurveyPeriod, state: str, status: int):
    current = opening.open_for(survey.unit)
    return render_template("survey/unavailable.html", survey=survey, state=state, current=current), status


@bp.route("/<unit_code>/<period>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so that an expired one keeps what was typed
@limiter.limit("10 per minute;60 per hour", methods=["POST"])
def questionnaire(unit_code: str, period: str):
    """The questionnaire of a unit's survey period, on one screen; 404 for an unknown one."""
    survey = opening.public_period(unit_code, period)
    if survey.unit.code != unit_code or survey.label != period:
        return redirect(url_for("survey.questionnaire", unit_code=survey.unit.code, period=survey.label))
    state = opening.status(survey, local_today(survey.unit))
    if state != "open":
        return _unavailable(survey, state, 200 if request.method == "GET" else 409)
    if survey.id in answered_here():
        return render_template("survey/already.html", survey=survey)
    form = Form()
    if request.method == "GET":
        return _questionnaire(survey, form)
    raw = request.form.to_dict()
    raw.pop("csrf_token", None)
    if not form.validate():  # only the CSRF token has validators
        return _questionnaire(survey, form, errors={"csrf_token": EXPIRED}, typed=raw, status=422)
    try:
        answers.record(survey, answers.check(survey, raw), channel="web")
    except InvalidFields as exc:
        rerender(_questionnaire, survey, form, errors=exc.errors, typed=raw, status=exc.status)
    return _remember_answer(redirect(url_for("survey.thanks", unit_code=survey.unit.code,
                                             period=survey.label)), survey)


@bp.get("/<unit_code>/<period>/thanks")
def thanks(unit_code: str, period: str):
    """Thanks for answering."""
    survey = opening.public_period(unit_code, period)
    return render_template("survey/thanks.html", survey=survey, statistics=url_for("statistics.page"))
