"""Running a unit's SKM: opening a survey period with the services it surveys and the number
of service users, changing them, closing it to answers (and reopening it), its progress toward
the Krejcie-Morgan sample, and which period of a unit takes answers on a given day.

Every change is an audit event in the same transaction; nothing here commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from ... import audit
from ...errors import Forbidden, InvalidFields, NotFound
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Role, SurveyPeriod, SurveyResponse, Unit, utcnow
from ...policy import (CROSS_UNIT, Actor, can_enter_questionnaires, can_open_survey,
                       can_read_survey_results)
from ..inputs import local_today
from . import periods, questionnaire

SERVICE_LIMIT = 200  # characters of one service type (the column's width)
SERVICES_MAX = 30
POPULATION_MAX = 10_000_000
# Periods are dated in the unit's local days; a unit east of the deployment may be a day ahead.
_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class Progress:
    """Questionnaires received against the sample target (None without a population)."""
    respondents: int
    target: int | None

    @property
    def percent(self) -> int | None:
        """How far toward the target, 0 to 100 (capped), or None without a target."""
        if not self.target:
            return None
        return min(100, self.respondents * 100 // self.target)

    @property
    def reached(self) -> bool:
        return self.target is not None and self.respondents >= self.target


def service_list(value) -> list[str]:
    """Service types from a list or from text with one per line: stripped, without empty
    lines or repeats, in the order given."""
    lines = value.splitlines() if isinstance(value, str) else list(value or [])
    result: list[str] = []
    for line in lines:
        line = str(line).strip()
        if line and line not in result:
            result.append(line)
    return result


def _services(value, errors: dict) -> list[str]:
    services = service_list(value)
    if any(len(s) > SERVICE_LIMIT for s in services):
        errors["service_types"] = _l("each service at most %(n)d characters", n=SERVICE_LIMIT)
    elif len(services) > SERVICES_MAX:
        errors["service_types"] = _l("at most %(n)d services", n=SERVICES_MAX)
    return services


def _population(value, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip().replace(".", "").replace(",", "").replace(" ", ""))
    except ValueError:
        errors["population"] = _l("must be a whole number")
        return None
    if not 1 <= number <= POPULATION_MAX:
        errors["population"] = _l("must be between 1 and %(n)s", n=f"{POPULATION_MAX:,}")
        return None
    return number


def _may_open(actor: Actor, unit: Unit) -> bool:
    # A command run by an operator (the demo, `skm import`) acts for the deployment.
    return actor.role == Role.SYSTEM or can_open_survey(actor, unit)


def _payload(period: SurveyPeriod, **extra) -> dict:
    return {"unit": period.unit.code, "label": period.label,
            "period": {"from": period.starts_on.isoformat(), "to": period.ends_on.isoformat()},
            "service_types": list(period.service_types or []), "population": period.population, **extra}


def overlapping(unit: Unit, period: periods.Period) -> SurveyPeriod | None:
    """A survey period of `unit` sharing a day with `period` (the earliest), if any: a unit's
    periods never overlap, so that a year's figures count each questionnaire once."""
    return db.session.scalars(select(SurveyPeriod).where(
        SurveyPeriod.unit_id == unit.id, SurveyPeriod.starts_on <= period.end,
        SurveyPeriod.ends_on >= period.start).order_by(SurveyPeriod.starts_on, SurveyPeriod.id).limit(1)).first()


def takes_paper(survey: SurveyPeriod, today: date) -> bool:
    """Whether paper questionnaires may be entered on `today` (the unit's local day), typed in
    one by one or imported: once the period has begun, until it is closed (a form collected in
    its last days may be typed in after it ends)."""
    return survey.closed_at is None and survey.starts_on <= today


def open_period(actor: Actor, unit: Unit, label: str, service_types=(), population=None,
                for_paper: bool = False) -> SurveyPeriod:
    """Open the SKM of `unit` for the period written `label` (2026, 2026-S1, 2026-Q3), with
    the questionnaire's wording as it stands now; flushes only. InvalidFields for a bad label,
    a period already opened or overlapping another of the unit's, bad services or population,
    and (`for_paper`: opened to import paper questionnaires) a period not begun yet where the
    unit is; Forbidden for who may not."""
    if unit is None:
        raise InvalidFields({"unit": _l("choose a unit")})
    if not _may_open(actor, unit):
        raise Forbidden(str(_l("only administrators and the unit's supervisors open surveys")))
    errors: dict = {}
    try:
        period = periods.parse(label)
    except ValueError:
        errors["period"] = _l("must be a year, semester or quarter (2026, 2026-S1, 2026-Q3)")
        period = None
    services = _services(service_types, errors)
    people = _population(population, errors)
    if period is not None and find(unit, period.label) is not None:
        errors["period"] = _l("this unit's survey for %(period)s is already open", period=period.label)
    elif period is not None and (other := overlapping(unit, period)) is not None:
        errors["period"] = _l("overlaps this unit's survey for %(other)s (%(start)s to %(end)s): a unit's "
                              "survey periods may not overlap", other=other.label,
                              start=other.starts_on.isoformat(), end=other.ends_on.isoformat())
    elif period is not None and for_paper and period.start > local_today(unit):
        errors["period"] = _l("%(period)s has not begun: paper questionnaires are entered once it has",
                              period=period.label)
    if errors:
        raise InvalidFields(errors)
    survey = SurveyPeriod(unit=unit, unit_id=unit.id, label=period.label, starts_on=period.start,
                          ends_on=period.end, service_types=services, population=people,
                          questionnaire=questionnaire.load(), opened_by=actor.user, opened_at=utcnow())
    db.session.add(survey)
    db.session.flush()
    audit.record(db.session, "survey.opened", actor=actor.label, unit=unit, payload=_payload(survey))
    return survey


def update_period(actor: Actor, survey: SurveyPeriod, service_types=None, population=None) -> SurveyPeriod:
    """Change the services surveyed and the population of a period; the audit event keeps
    both before and after. Answers already given keep the service they named."""
    if not _may_open(actor, survey.unit):
        raise Forbidden(str(_l("only administrators and the unit's supervisors change surveys")))
    errors: dict = {}
    services = _services(service_types, errors)
    people = _population(population, errors)
    if errors:
        raise InvalidFields(errors)
    before = {"service_types": list(survey.service_types or []), "population": survey.population}
    survey.service_types = services
    survey.population = people
    db.session.flush()
    audit.record(db.session, "survey.updated", actor=actor.label, unit=survey.unit,
                 payload=_payload(survey, before=before))
    return survey


def close_period(actor: Actor, survey: SurveyPeriod) -> SurveyPeriod:
    """Stop taking answers (the public page says the survey is closed)."""
    if not _may_open(actor, survey.unit):
        raise Forbidden(str(_l("only administrators and the unit's supervisors close surveys")))
    if survey.closed_at is None:
        survey.closed_at = utcnow()
        db.session.flush()
        audit.record(db.session, "survey.closed", actor=actor.label, unit=survey.unit, payload=_payload(survey))
    return survey


def reopen_period(actor: Actor, survey: SurveyPeriod) -> SurveyPeriod:
    """Take answers again (within the period's own dates)."""
    if not _may_open(actor, survey.unit):
        raise Forbidden(str(_l("only administrators and the unit's supervisors reopen surveys")))
    if survey.closed_at is not None:
        survey.closed_at = None
        db.session.flush()
        audit.record(db.session, "survey.reopened", actor=actor.label, unit=survey.unit, payload=_payload(survey))
    return survey


def find(unit: Unit, label: str) -> SurveyPeriod | None:
    """The survey period of `unit` written `label`, if opened."""
    try:
        label = periods.parse(label).label
    except ValueError:
        return None
    return db.session.scalar(select(SurveyPeriod).where(SurveyPeriod.unit_id == unit.id,
                                                        SurveyPeriod.label == label))


def accepts_answers(survey: SurveyPeriod, day: date) -> bool:
    """Whether the period takes answers on `day` (not closed, the day within it)."""
    return survey.closed_at is None and survey.starts_on <= day <= survey.ends_on


def status(survey: SurveyPeriod, day: date) -> str:
    """`open`, `closed`, `upcoming` (not started on `day`) or `ended` (past its last day)."""
    if survey.closed_at is not None:
        return "closed"
    if day < survey.starts_on:
        return "upcoming"
    if day > survey.ends_on:
        return "ended"
    return "open"


def open_for(unit: Unit, day: date | None = None) -> SurveyPeriod | None:
    """The period of `unit` taking answers on `day` (default: today where the unit is): the
    shortest when several do (a quarter before its semester and year)."""
    day = day or local_today(unit)
    candidates = db.session.scalars(select(SurveyPeriod).where(
        SurveyPeriod.unit_id == unit.id, SurveyPeriod.closed_at.is_(None),
        SurveyPeriod.starts_on <= day, SurveyPeriod.ends_on >= day)).all()
    return min(candidates, key=lambda s: (s.ends_on - s.starts_on, s.id), default=None)


def open_now(day: date | None = None) -> list[SurveyPeriod]:
    """Every active unit's period taking answers today where it is (one per unit, the shortest), by
    unit name; `day` fixes the date for every unit instead."""
    fixed, day = day, day or local_today(None)
    rows = db.session.scalars(select(SurveyPeriod).join(Unit, Unit.id == SurveyPeriod.unit_id).where(
        Unit.active.is_(True), SurveyPeriod.closed_at.is_(None), SurveyPeriod.starts_on <= day + _SLACK,
        SurveyPeriod.ends_on >= day - _SLACK).order_by(Unit.name, SurveyPeriod.id)).all()
    chosen: dict[int, SurveyPeriod] = {}
    for survey in rows:
        if not accepts_answers(survey, fixed or local_today(survey.unit)):
            continue
        best = chosen.get(survey.unit_id)
        if best is None or survey.ends_on - survey.starts_on < best.ends_on - best.starts_on:
            chosen[survey.unit_id] = survey
    return sorted(chosen.values(), key=lambda s: s.unit.name)


def respondents(survey_ids) -> dict[int, int]:
    """How many questionnaires each period has, by period id (one query)."""
    ids = list(survey_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(SurveyResponse.period_id, func.count())
                              .where(SurveyResponse.period_id.in_(ids))
                              .group_by(SurveyResponse.period_id)).all()
    counts = dict.fromkeys(ids, 0)
    counts.update({period_id: count for period_id, count in rows})
    return counts


def progress(survey: SurveyPeriod, count: int | None = None) -> Progress:
    """Questionnaires received toward the Krejcie-Morgan target of the period's population."""
    if count is None:
        count = respondents([survey.id])[survey.id]
    target = periods.sample_target(survey.population) if survey.population else None
    return Progress(count, target)


def sample_working(population: int) -> dict:
    """The Krejcie-Morgan computation of the target for `population`, step by step for the
    page that explains it: numerator, denominator, their quotient, the target (rounded up)."""
    chi, share, margin = periods.CHI_SQUARE, periods.P * (1 - periods.P), periods.D
    numerator = chi * population * share
    denominator = margin * margin * (population - 1) + chi * share
    return {"population": population, "numerator": float(numerator), "denominator": float(denominator),
            "quotient": float(numerator / denominator), "target": periods.sample_target(population)}


def paper_count(survey: SurveyPeriod) -> int:
    """How many paper questionnaires have been typed in for the period."""
    return db.session.scalar(select(func.count()).select_from(SurveyResponse).where(
        SurveyResponse.period_id == survey.id, SurveyResponse.channel == "paper")) or 0


def _may_see(actor: Actor, unit: Unit) -> bool:
    return (can_open_survey(actor, unit) or can_enter_questionnaires(actor, unit)
            or can_read_survey_results(actor, unit))


def units_for(actor: Actor) -> list[Unit]:
    """The active units whose surveys the actor runs, types in or reads, by name."""
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return [u for u in units if u.active and _may_see(actor, u)]


def units_to_open(actor: Actor) -> list[Unit]:
    """The units where the actor may open a survey period."""
    return [u for u in units_for(actor) if can_open_survey(actor, u)]


def periods_for(actor: Actor) -> list[SurveyPeriod]:
    """The survey periods of the actor's units, newest first."""
    query = select(SurveyPeriod).join(Unit, Unit.id == SurveyPeriod.unit_id)
    if actor.role not in CROSS_UNIT:
        ids = [u.id for u in units_for(actor)]
        query = query.where(SurveyPeriod.unit_id.in_(ids))
    return list(db.session.scalars(query.order_by(SurveyPeriod.starts_on.desc(), SurveyPeriod.ends_on,
                                                  Unit.name)).all())


def period_for(actor: Actor, period_id: int) -> SurveyPeriod:
    """The survey period if the actor covers its unit; NotFound otherwise (never says which)."""
    survey = db.session.get(SurveyPeriod, period_id)
    if survey is None or not _may_see(actor, survey.unit):
        raise NotFound(str(_l("no such survey period")))
    return survey


def public_period(unit_code: str, label: str) -> SurveyPeriod:
    """The survey period a public link names; NotFound for an unknown unit or period."""
    unit = Unit.by_code(unit_code or "")
    survey = find(unit, label) if unit is not None else None
    if survey is None:
        raise NotFound(str(_l("no such survey")))
    return survey



def public_unit(unit_code: str) -> Unit:
    """The active unit a public survey address names; NotFound otherwise."""
    unit = Unit.by_code(unit_code or "")
    if unit is None or not unit.active:
        raise NotFound(str(_l("no such survey")))
    return unit
