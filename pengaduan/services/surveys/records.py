"""The SKM as files, row by row: the IKM results of a period (overall and per service), its
questionnaires without identity, and its improvement actions. The evidence pack writes all
three (skm/), `skm report --format csv` the first.

The results carry each element's total and count of answers as well as its rounded NRR, so
that an auditor recomputes the IKM exactly instead of from rounded values. Questionnaires are
read as plain rows in chunks (a period may have a hundred thousand), dated by the local day
only, never by the time.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ...extensions import db
from ...models import (ELEMENTS, PROFILE_FIELDS, SupervisionAction, SupervisionRecord, SurveyPeriod, SurveyResponse,
                       Unit, User)
from .follow_up import KIND as FOLLOW_UP, created_on
from .ikm import Ikm, from_totals, grade
from .periods import Period
from .questionnaire import in_language
from .results import tally_period

CHUNK = 1000

RESULT_COLUMNS = (["unit", "period", "from", "to", "service_type", "respondents", "ikm", "mutu",
                   "all_elements_answered", "lowest"]
                  + [f"{code}_nrr" for code in ELEMENTS] + [f"{code}_total" for code in ELEMENTS]
                  + [f"{code}_answered" for code in ELEMENTS])
QUESTIONNAIRE_COLUMNS = (["unit", "period", "id", "channel", "submitted_on", "service_type", *PROFILE_FIELDS]
                         + list(ELEMENTS) + ["suggestion", "entered_by"])
ACTION_COLUMNS = ["unit", "period", "record_id", "action_id", "element", "description", "owner", "due_on",
                  "status", "set_on", "completed_on", "days_taken", "evidence"]


def _text(value) -> str:
    return "" if value is None else str(value)


def sections(survey: SurveyPeriod, service_type: str | None = None) -> list[tuple[str | None, Ikm]]:
    """(service type, IKM) of the period: overall first (None), then each service it surveys
    (one nobody answered too, and one answered but since taken off its list); or only
    `service_type`'s."""
    tallies = tally_period(survey)
    listed = list(survey.service_types or [])
    named = listed + sorted(k for k in tallies if k is not None and k not in listed)
    empty = from_totals(0, {}, {})
    if service_type is not None:
        return [(service_type, tallies.get(service_type) or empty)]
    return [(None, tallies[None])] + [(name, tallies.get(name) or empty) for name in named]


def result_row(survey: SurveyPeriod, service_type: str | None, ikm: Ikm) -> list:
    return _result_row(survey.unit.code, survey.label, survey.starts_on, survey.ends_on, service_type, ikm)


def _result_row(unit_code: str, label: str, start: date, end: date, service_type: str | None, ikm: Ikm) -> list:
    return ([unit_code, label, start.isoformat(), end.isoformat(), service_type or "", ikm.respondents, _text(ikm.converted), ikm.mutu or "",
             "yes" if ikm.complete else "no", " ".join(ikm.lowest(3))]
            + [_text(ikm.nrr_rounded(code)) for code in ELEMENTS]
            + [ikm.totals.get(code, 0) for code in ELEMENTS] + [ikm.answered.get(code, 0) for code in ELEMENTS])


def result_rows(survey: SurveyPeriod, service_type: str | None = None):
    """The period's IKM results, a row per section (RESULT_COLUMNS)."""
    for name, ikm in sections(survey, service_type):
        yield result_row(survey, name, ikm)


def questionnaire_rows(survey: SurveyPeriod):
    """The period's questionnaires (QUESTIONNAIRE_COLUMNS), oldest first: no identity (there is
    none to give), the day in the unit's timezone, the account of the officer who typed a
    paper one in."""
    zone = ZoneInfo(survey.unit.timezone)
    scores = [getattr(SurveyResponse, code.lower()) for code in ELEMENTS]
    profile = [getattr(SurveyResponse, name) for name in PROFILE_FIELDS]
    query = (select(SurveyResponse.id, SurveyResponse.channel, SurveyResponse.submitted_at,
                    SurveyResponse.service_type, *profile, *scores, SurveyResponse.suggestion, User.email)
             .outerjoin(User, User.id == SurveyResponse.entered_by_id)
             .where(SurveyResponse.period_id == survey.id).order_by(SurveyResponse.id)
             .execution_options(yield_per=CHUNK))
    for row in db.session.execute(query):
        response_id, channel, submitted_at, service = row[:4]
        yield ([survey.unit.code, survey.label, response_id, channel, submitted_at.astimezone(zone).date().isoformat(),
                service or ""] + [_text(value) for value in row[4:-1]] + [row[-1] or ""])


def action_rows(survey: SurveyPeriod):
    """The period's improvement actions (ACTION_COLUMNS), by element; `days_taken` from the day
    an action was set to the day it was done, as the follow-up figures count it."""
    actions = db.session.scalars(
        select(SupervisionAction).join(SupervisionRecord, SupervisionRecord.id == SupervisionAction.record_id)
        .where(SupervisionRecord.survey_period_id == survey.id, SupervisionRecord.kind == FOLLOW_UP)
        .order_by(SupervisionAction.id)).all()
    for action in sorted(actions, key=lambda a: (ELEMENTS.index(a.element) if a.element in ELEMENTS
                                                 else len(ELEMENTS), a.id)):
        set_on: date | None = created_on(action, survey)
        taken = (action.completed_on - set_on).days if action.status == "done" and action.completed_on and set_on \
            else None
        yield [survey.unit.code, survey.label, action.record_id, action.id, action.element or "", action.description,
               action.owner, _text(action.due_on), action.status, _text(set_on), _text(action.completed_on),
               _text(taken), action.evidence or ""]


def overlapping(start: date, end: date, unit_id: int | None = None) -> list[SurveyPeriod]:
    """The survey periods overlapping the days from `start` to `end` (of one unit, or all), by
    unit code then start."""
    query = (select(SurveyPeriod).join(Unit, Unit.id == SurveyPeriod.unit_id)
             .where(SurveyPeriod.starts_on <= end, SurveyPeriod.ends_on >= start))
    if unit_id is not None:
        query = query.where(SurveyPeriod.unit_id == unit_id)
    return list(db.session.scalars(query.order_by(Unit.code, SurveyPeriod.starts_on, SurveyPeriod.ends_on)).all())


def inside(unit: Unit, period: Period) -> list[SurveyPeriod]:
    """The unit's survey periods lying within `period` (a year's quarters), oldest first: what
    a report of a period the unit has no survey of its own for adds up."""
    return list(db.session.scalars(select(SurveyPeriod).where(
        SurveyPeriod.unit_id == unit.id, SurveyPeriod.starts_on >= period.start,
        SurveyPeriod.ends_on <= period.end).order_by(SurveyPeriod.starts_on, SurveyPeriod.id)).all())


def combined_row(unit: Unit, period: Period, service_type: str | None, ikm: Ikm) -> list:
    """The IKM of the unit's periods within `period` as one row (RESULT_COLUMNS)."""
    return _result_row(unit.code, period.label, period.start, period.end, service_type, ikm)


def combined_lines(unit: Unit, period: Period, members: list[SurveyPeriod], ikm: Ikm,
                   service_type: str | None = None, lang: str = "en") -> list[str]:
    """As text_lines, for the IKM of the unit's periods within `period` (`members`)."""
    wording = members[-1].questionnaire if members else None
    head = (f"SKM {unit.code} ({unit.name}) {period.label}: {period.start} to {period.end}, from its periods "
            f"{', '.join(m.label for m in members)}, " + (f"service {service_type}" if service_type else "all services"))
    return _lines(head, wording, ikm, lang)


def text_lines(survey: SurveyPeriod, service_type: str | None = None, lang: str = "en") -> list[str]:
    """The period's IKM as a readable table (what `skm report` prints by default): per
    element its name, answers and NRR; the IKM, the grade, the three lowest elements; the
    method."""
    [(_name, ikm)] = sections(survey, service_type) if service_type else sections(survey)[:1]
    head = (f"SKM {survey.unit.code} ({survey.unit.name}) {survey.label}: {survey.starts_on} to {survey.ends_on}, "
            + (f"service {service_type}" if service_type else "all services"))
    return _lines(head, survey.questionnaire, ikm, lang)


def _lines(head: str, wording: dict | None, ikm: Ikm, lang: str) -> list[str]:
    names = {code: e["name"] for code, e in in_language(wording, lang)["elements"].items()} if wording else {}
    width = max([len(name) for name in names.values()] + [4])
    lines = [head, f"respondents {ikm.respondents}", "",
             f"{'element':<8}{'name':<{width + 2}}{'answered':>9}{'total':>8}{'NRR':>7}"]
    for code in ELEMENTS:
        nrr = ikm.nrr_rounded(code)
        lines.append(f"{code:<8}{names.get(code, code):<{width + 2}}{ikm.answered[code]:>9}{ikm.totals[code]:>8}"
                     f"{'-' if nrr is None else str(nrr):>7}")
    lines.append("")
    if ikm.converted is None:
        lines.append("IKM -: no questionnaire answered")
        return lines
    _mutu, kinerja_id, kinerja_en = grade(ikm.converted)
    lines.append(f"IKM {ikm.converted}, mutu {ikm.mutu} ({kinerja_en if lang == 'en' else kinerja_id})")
    lines.append("lowest: " + ", ".join(f"{code} {names.get(code, code)} {ikm.nrr_rounded(code)}"
                                        for code in ikm.lowest(3)))
    if not ikm.complete:
        lines.append("left out (nobody answered them): " + ", ".join(c for c in ELEMENTS if c not in ikm.elements))
    lines.append("method: IKM = sum of the NRR x 1/%d x 25 with exact fractions, rounded once, half up, "
                 "to two decimals (PermenPANRB 14/2017)" % len(ikm.elements))
    return lines
