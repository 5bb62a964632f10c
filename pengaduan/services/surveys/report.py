"""The IKM report of one survey period (PermenPANRB 14/2017): for the period overall and for
each service it surveys, the respondents, the NRR of every element, the IKM as an interval and
converted value with its grade, the three lowest elements; the respondents' profile, their
suggestions, and how far the improvement actions have gone. Staff only: nothing here is
suppressed (the public page has its own rules).

Every figure is summed in the database (a period of 100,000 questionnaires costs a handful of
grouped scans); the IKM itself is exact (see ikm.py) and only the displayed values are rounded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import func, select

from ...extensions import db
from ...models import ELEMENTS, PROFILE_FIELDS, RESPONSE_CHANNELS, SurveyPeriod, SurveyResponse, utcnow
from ..inputs import local_today
from .follow_up import FollowUp, follow_up_of
from .ikm import GRADES, Ikm, from_totals, grade
from .questionnaire import in_language
from .results import tally_period

SUGGESTIONS_PER_PAGE = 50


@dataclass
class ElementRow:
    code: str
    name: str
    total: int
    answered: int
    nrr: Fraction | None  # exact; None when nobody answered the element
    nrr_rounded: Decimal | None  # for display only


@dataclass
class Section:
    """The IKM of the whole period (`service_type` None) or of one service it surveys."""
    service_type: str | None
    ikm: Ikm
    rows: list[ElementRow]

    # The figures are read many times by the page's template: each is computed once (cached).

    @property
    def respondents(self) -> int:
        return self.ikm.respondents

    @cached_property
    def converted(self) -> Decimal | None:
        return self.ikm.converted

    @cached_property
    def mutu(self) -> str | None:
        return None if self.converted is None else grade(self.converted)[0]

    def kinerja(self, lang: str) -> str | None:
        """The grade's word (Sangat baik, Baik, ...) in `lang`."""
        if self.converted is None:
            return None
        _mutu, kinerja_id, kinerja_en = grade(self.converted)
        return kinerja_en if lang == "en" else kinerja_id

    @cached_property
    def complete(self) -> bool:
        return self.ikm.complete

    @property
    def missing(self) -> list[str]:
        """The elements nobody answered (left out of the IKM)."""
        return [code for code in ELEMENTS if code not in self.ikm.elements]

    @cached_property
    def lowest(self) -> list[ElementRow]:
        by_code = {row.code: row for row in self.rows}
        return [by_code[code] for code in self.ikm.lowest(3)]

    @cached_property
    def lowest_codes(self) -> list[str]:
        return [row.code for row in self.lowest]

    @property
    def nrr_sum(self) -> Fraction | None:
        """The exact sum of the NRR of the elements answered."""
        codes = self.ikm.elements
        return sum((self.ikm.nrr(code) for code in codes), Fraction(0)) if codes else None

    @property
    def converted_exact(self) -> Fraction | None:
        """The converted IKM before its one rounding."""
        interval = self.ikm.interval
        return None if interval is None else interval * 25


@dataclass
class Suggestion:
    text: str
    submitted_on: date  # the unit's local day only: the minute could name a respondent at the counter
    service_type: str | None
    channel: str


@dataclass
class SkmReport:
    survey: SurveyPeriod
    lang: str
    wording: dict  # the period's questionnaire in `lang` (questionnaire.in_language)
    overall: Section
    services: list[Section]
    by_channel: dict[str, int]
    profile: dict[str, list[tuple[str | None, str, int]]]  # field -> (code, label, count)
    suggestions: list[Suggestion]
    suggestions_total: int
    page: int
    follow_up: FollowUp
    generated_at: datetime = field(default_factory=utcnow)

    @property
    def unit(self):
        return self.survey.unit

    @property
    def respondents(self) -> int:
        return self.overall.respondents

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.suggestions_total / SUGGESTIONS_PER_PAGE))

    def element_name(self, code: str) -> str:
        return self.wording["elements"].get(code, {}).get("name", code)


def grade_table() -> list[tuple[Decimal, Decimal, Decimal, Decimal, str, str, str]]:
    """The grades as the regulation prints them, best first: (lowest and highest converted
    value, lowest and highest interval value, mutu, kinerja in Indonesian, in English). Each
    upper bound is the next grade's lowest value less 0.01; the interval value is the converted
    value / 25."""
    rows, upper = [], Decimal("100.00")
    for lowest, mutu, kinerja_id, kinerja_en in GRADES:
        rows.append((lowest, upper, lowest / 25, upper / 25, mutu, kinerja_id, kinerja_en))
        upper = lowest - Decimal("0.01")
    return rows


def truncated(value: Fraction | None, places: int = 6) -> tuple[Decimal | None, bool]:
    """`value` cut (not rounded) to `places` decimals for showing a step of the computation,
    and whether that is all of it."""
    if value is None:
        return None, True
    scale = 10 ** places
    cut = math.floor(value * scale) if value >= 0 else math.ceil(value * scale)
    return Decimal(cut).scaleb(-places), Fraction(cut, scale) == value


def _section(service_type: str | None, ikm: Ikm, wording: dict) -> Section:
    rows = [ElementRow(code, wording["elements"].get(code, {}).get("name", code), ikm.totals[code],
                       ikm.answered[code], ikm.nrr(code), ikm.nrr_rounded(code)) for code in ELEMENTS]
    return Section(service_type, ikm, rows)


def _by_channel(survey: SurveyPeriod) -> dict[str, int]:
    rows = db.session.execute(select(SurveyResponse.channel, func.count())
                              .where(SurveyResponse.period_id == survey.id)
                              .group_by(SurveyResponse.channel)).all()
    counts = {channel: 0 for channel in RESPONSE_CHANNELS}
    counts.update({channel: n for channel, n in rows})
    return counts


def _profile(survey: SurveyPeriod, wording: dict) -> dict[str, list[tuple[str | None, str, int]]]:
    """Per profile question, every option with how many chose it (zeros too), then the
    answers of options no longer offered, then those who did not say (code None)."""
    result = {}
    for name in PROFILE_FIELDS:
        column = getattr(SurveyResponse, name)
        counts = dict(db.session.execute(select(column, func.count())
                                         .where(SurveyResponse.period_id == survey.id)
                                         .group_by(column)).all())
        options = wording["profile"].get(name, {}).get("options", {})
        rows = [(code, label, counts.pop(code, 0)) for code, label in options.items()]
        not_said = counts.pop(None, 0)
        rows += [(code, code, n) for code, n in sorted(counts.items())]
        rows.append((None, "", not_said))
        result[name] = rows
    return result


def suggestions(survey: SurveyPeriod, page: int = 1,
                per_page: int = SUGGESTIONS_PER_PAGE) -> tuple[list[Suggestion], int]:
    """A page of the period's suggestions, newest first, and how many there are."""
    has_text = (SurveyResponse.period_id == survey.id, SurveyResponse.suggestion.is_not(None))
    total = db.session.scalar(select(func.count()).where(*has_text)) or 0
    rows = db.session.execute(
        select(SurveyResponse.suggestion, SurveyResponse.submitted_at, SurveyResponse.service_type,
               SurveyResponse.channel).where(*has_text)
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
        .offset((max(page, 1) - 1) * per_page).limit(per_page)).all()
    return [Suggestion(text, local_today(survey.unit, moment), service, channel)
            for text, moment, service, channel in rows], total


def skm_report(survey: SurveyPeriod, lang: str = "id", page: int = 1,
               per_page: int = SUGGESTIONS_PER_PAGE) -> SkmReport:
    """The report of `survey` in `lang`, with page `page` of its suggestions (`per_page`
    None: all of them, for the CSV)."""
    wording = in_language(survey.questionnaire, lang)
    tallies = tally_period(survey)
    overall = _section(None, tallies[None], wording)
    # Every service the period surveys has its section, even one nobody has answered yet;
    # a service answered but since taken off the list keeps its figures.
    named = list(survey.service_types or []) + sorted(k for k in tallies if k and k not in (survey.service_types or []))
    services = [_section(name, tallies.get(name) or from_totals(0, {}, {}), wording) for name in named]
    if per_page is None:
        listed, total = suggestions(survey, 1, 10 ** 9)
    else:
        listed, total = suggestions(survey, page, per_page)
    return SkmReport(survey=survey, lang=lang, wording=wording, overall=overall, services=services,
                     by_channel=_by_channel(survey), profile=_profile(survey, wording),
                     suggestions=listed, suggestions_total=total, page=max(page, 1),
                     follow_up=follow_up_of(survey))


def _number(value) -> str:
    return "" if value is None else str(value)


def csv_rows(report: SkmReport):
    """The report as rows of (section, key, value) for a CSV file (codes, not words, in keys;
    the same in every language), like the periodic report's CSV."""
    survey = report.survey
    yield ("section", "key", "value")
    yield ("period", "unit", survey.unit.code)
    yield ("period", "period", survey.label)
    yield ("period", "from", survey.starts_on.isoformat())
    yield ("period", "to", survey.ends_on.isoformat())
    yield ("respondents", "total", report.respondents)
    for channel, n in report.by_channel.items():
        yield ("respondents", channel, n)
    for section in [report.overall, *report.services]:
        name = "ikm" if section.service_type is None else f"ikm.service.{section.service_type}"
        yield (name, "respondents", section.respondents)
        for row in section.rows:
            yield (name, f"{row.code}.total", row.total)
            yield (name, f"{row.code}.answered", row.answered)
            yield (name, f"{row.code}.nrr", _number(row.nrr_rounded))
        interval, _exact = truncated(section.ikm.interval, 4)
        yield (name, "interval_value", _number(interval))
        yield (name, "ikm", _number(section.converted))
        yield (name, "mutu", section.mutu or "")
        yield (name, "kinerja", section.kinerja("id") or "")
        yield (name, "all_elements_answered", "yes" if section.complete else "no")
        yield (name, "lowest", " ".join(row.code for row in section.lowest))
    for name, rows in report.profile.items():
        for code, _label, n in rows:
            yield (f"profile.{name}", code or "not_stated", n)
    follow = report.follow_up
    yield ("follow_up", "actions", follow.total)
    for status in ("open", "done", "dropped"):
        yield ("follow_up", status, follow.counts.get(status, 0))
    yield ("follow_up", "share_done", "" if follow.share_done is None else f"{follow.share_done:.4f}")
    yield ("follow_up", "median_days", "" if follow.median_days is None else f"{follow.median_days:g}")
    yield ("follow_up", "max_days", _number(follow.max_days))
    for action in follow.actions:
        yield ("follow_up.action", f"{action.element or ''}#{action.id}",
               f"{action.status};{action.due_on or ''};{action.completed_on or ''};{action.description}")
    for s in report.suggestions:
        yield ("suggestion", s.submitted_on.isoformat(), f"{s.service_type or ''};{s.text}")
