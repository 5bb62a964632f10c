"""What a survey's questionnaires add up to: the IKM of a unit (or several) for a period,
summed in the database from the index of survey_responses."""
from __future__ import annotations

from sqlalchemy import func, select

from ...extensions import db
from ...models import ELEMENTS, SurveyPeriod, SurveyResponse
from .ikm import Ikm, from_totals
from .periods import Period


def _columns():
    scores = [getattr(SurveyResponse, code.lower()) for code in ELEMENTS]
    return [func.count()] + [func.sum(c) for c in scores] + [func.count(c) for c in scores]


def _ikm(row) -> Ikm:
    n = len(ELEMENTS)
    return from_totals(row[0] or 0, dict(zip(ELEMENTS, row[1:1 + n])), dict(zip(ELEMENTS, row[1 + n:])))


def tally(unit_ids: list[int] | None, period: Period, service_type: str | None = None) -> Ikm:
    """The IKM of the questionnaires of every survey period of the units (None: every unit)
    that lies within `period` (a year's figures take its quarters' and semesters' answers)."""
    query = (select(*_columns()).join(SurveyPeriod, SurveyPeriod.id == SurveyResponse.period_id)
             .where(SurveyPeriod.starts_on >= period.start, SurveyPeriod.ends_on <= period.end))
    if unit_ids is not None:
        query = query.where(SurveyPeriod.unit_id.in_(unit_ids))
    if service_type is not None:
        query = query.where(SurveyResponse.service_type == service_type)
    return _ikm(db.session.execute(query).one())


def tally_by_unit(period: Period) -> dict[int, Ikm]:
    """The IKM of each unit with questionnaires within `period`, by unit id."""
    query = (select(SurveyPeriod.unit_id, *_columns())
             .join(SurveyPeriod, SurveyPeriod.id == SurveyResponse.period_id)
             .where(SurveyPeriod.starts_on >= period.start, SurveyPeriod.ends_on <= period.end)
             .group_by(SurveyPeriod.unit_id))
    return {row[0]: _ikm(row[1:]) for row in db.session.execute(query).all()}


def tally_period(survey: SurveyPeriod) -> dict[str | None, Ikm]:
    """One survey period's IKM: overall (key None) and per service type surveyed."""
    rows = db.session.execute(select(SurveyResponse.service_type, *_columns())
                              .where(SurveyResponse.period_id == survey.id)
                              .group_by(SurveyResponse.service_type)).all()
    result = {row[0]: _ikm(row[1:]) for row in rows}
    # The whole period is the sum of its groups (one scan instead of two).
    overall = [sum(row[i] or 0 for row in rows) for i in range(1, 2 + 2 * len(ELEMENTS))]
    return {None: _ikm(overall), **{k: v for k, v in result.items() if k is not None}}
