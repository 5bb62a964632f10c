"""The public SKM questionnaire: no account, nothing that names or traces the respondent.

One answer per device and period is asked for, best effort: after answering, the browser
keeps a signed cookie listing the periods it answered (no identifier of its own), and a
second answer from it is thanked and not stored. Rate limits bound what one address sends.

The office's own counter tablet opens the questionnaire with a kiosk token (signed by the
server over the period's id only): it takes one visitor after another, so the device cookie
is neither checked nor set, the thanks page leads back to an empty form, and the address limit
is that of a busy counter.
"""
from __future__ import annotations

from flask import (Blueprint, current_app, g, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from itsdangerous import BadData, BadSignature, URLSafeSerializer

from ..errors import InvalidFields, NotFound
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
KIOSK_SALT = "skm-kiosk"
PUBLIC_LIMITS = "10 per minute;60 per hour"
KIOSK_LIMITS = "60 per minute;600 per hour"  # one counter tablet, visitor after visitor
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


def kiosk_token(survey: SurveyPeriod) -> str:
    """The counter tablet's token for this period: signed over the period's id, nothing else."""
    return URLSafeSerializer(current_app.secret_key, salt=KIOSK_SALT).dumps(survey.id)


def _kiosk_period_id() -> int | None:
    """The period the request's kiosk token was signed for (none, bad or tampered: None)."""
    try:
        value = URLSafeSerializer(current_app.secret_key, salt=KIOSK_SALT).loads(request.args.get("kiosk", ""))
    except BadData:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _kiosk_for(survey: SurveyPeriod) -> str | None:
    """The request's kiosk token if it was signed for this very period; another's counts for nothing."""
    return request.args.get("kiosk") if _kiosk_period_id() == survey.id else None


def _limits() -> str:
    """A counter tablet's posts get a busy counter's limit; everyone else the public one. The
    period is looked up only when a well-signed token comes (then once per request)."""
    wanted = _kiosk_period_id()
    if wanted is None:
        return PUBLIC_LIMITS
    if "kiosk_period" not in g:
        args = request.view_args or {}
        try:
            g.kiosk_period = opening.public_period(args.get("unit_code", ""), args.get("period", "")).id
        except NotFound:
            g.kiosk_period = None
    return KIOSK_LIMITS if g.kiosk_period == wanted else PUBLIC_LIMITS


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
                           kiosk=_kiosk_for(survey),
                           typed=typed or {}, texts=in_language(survey.questionnaire, select_locale())), status


def _unavailable(survey: SurveyPeriod, state: str, status: int):
    current = opening.open_for(survey.unit)
    return render_template("survey/unavailable.html", survey=survey, state=state, current=current), status


@bp.route("/<unit_code>/<period>", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so that an expired one keeps what was typed
@limiter.limit(_limits, methods=["POST"])
def questionnaire(unit_code: str, period: str):
    """The questionnaire of a unit's survey period, on one screen; 404 for an unknown one."""
    survey = opening.public_period(unit_code, period)
    kiosk = _kiosk_for(survey)
    if survey.unit.code != unit_code or survey.label != period:
        return redirect(url_for("survey.questionnaire", unit_code=survey.unit.code, period=survey.label,
                                kiosk=kiosk))
    state = opening.status(survey, local_today(survey.unit))
    if state != "open":
        return _unavailable(survey, state, 200 if request.method == "GET" else 409)
    if kiosk is None and survey.id in answered_here():
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
    thanks_page = redirect(url_for("survey.thanks", unit_code=survey.unit.code, period=survey.label,
                                   kiosk=kiosk))
    return thanks_page if kiosk else _remember_answer(thanks_page, survey)


@bp.get("/<unit_code>/<period>/thanks")
def thanks(unit_code: str, period: str):
    """Thanks for answering; on the counter tablet, the way back to an empty form."""
    survey = opening.public_period(unit_code, period)
    kiosk = _kiosk_for(survey)
    again = (url_for("survey.questionnaire", unit_code=survey.unit.code, period=survey.label, kiosk=kiosk)
             if kiosk else None)
    return render_template("survey/thanks.html", survey=survey, statistics=url_for("statistics.page"),
                           again=again)
