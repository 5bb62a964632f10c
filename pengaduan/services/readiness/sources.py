"""The evidence sources a rule file may name. Each reads, in one query for every unit
asked about (never one per unit), what the system holds on the day of the assessment, and
answers a Finding per unit id. Parameters and their defaults are declared with the source
(registry.Param); the README lists them.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...i18n import lazy_ngettext as _n
from ...models import (DOCUMENT_KINDS, Compensation, StandingDocument, SupervisionAction, SupervisionRecord, SurveyPeriod,
                       SurveyResponse)
from ...models import supervision as supervision_models
from ...models.ombudsman import OmbudsmanProduct
from ...models.ombudsman import product_units as ombudsman_product_units
from ...models.supervision import supervision_units
from .. import ombudsman, standards
from ..administration.office import current_office
from ..evaluation.report import recurring_groups
from ..surveys import periods
from ..transparency.accessibility import STATEMENT_DATE
from .registry import Finding, Param, counted, source

CHANNELS = ("phone", "whatsapp", "email", "address", "lapor_url")
CHANNEL_NAMES = {"phone": _l("phone"), "whatsapp": "WhatsApp", "email": _l("email"),
                 "address": _l("counter address"), "lapor_url": "SP4N-LAPOR!"}


class Context:
    """One assessment run: the day it is made for and what several sources share."""

    def __init__(self, on: date):
        self.on = on
        self._documents: dict[int, list[StandingDocument]] | None = None

    def documents(self, unit_ids: list[int]) -> dict[int, list[StandingDocument]]:
        """Every standing document of the units, newest validity first: one query, shared by
        every item that asks for a kind of document."""
        if self._documents is None:
            self._documents = {}
            for d in db.session.scalars(select(StandingDocument).where(StandingDocument.unit_id.in_(unit_ids))
                                        .order_by(StandingDocument.valid_from.desc(), StandingDocument.id.desc())):
                self._documents.setdefault(d.unit_id, []).append(d)
        return self._documents


def supervision_kinds() -> tuple[str, ...]:
    return tuple(supervision_models.SUPERVISION_KINDS)


def months_before(on: date, months: int) -> list[tuple[int, int]]:
    """The `months` whole calendar months before the month of `on`, oldest first."""
    year, month = on.year, on.month
    result = []
    for _ in range(months):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        result.append((year, month))
    return result[::-1]


def quarter_before(on: date, quarters_back: int) -> periods.Period:
    """The quarter `quarters_back` quarters before the one of `on` (0: that quarter)."""
    quarter = periods.containing(on, "quarter")
    for _ in range(quarters_back):
        quarter = periods.containing(quarter.start - timedelta(days=1), "quarter")
    return quarter


@source("standing_document",
        kind=Param("name", required=True, choices=lambda: DOCUMENT_KINDS,
                   help="the kind of standing document"),
        expiring_days=Param("int", default=30,
                            help="amber when the document in force ends within this many days"))
def standing_document(ctx: Context, units, params) -> dict:
    """A standing document of the kind in force on the day: green; in force but ending within
    `expiring_days`, or only one out of date (expired or not yet valid): amber; none: red."""
    kind, documents = params["kind"], ctx.documents([u.id for u in units])
    found = {}
    for unit in units:
        mine = [d for d in documents.get(unit.id, []) if d.kind == kind]
        valid = [d for d in mine if d.valid_from <= ctx.on and (d.valid_until is None or d.valid_until >= ctx.on)]
        link = ("supervision.documents", {"unit": unit.code})
        newest = max((d.valid_from for d in mine), default=None)
        if valid:
            lasting = max(valid, key=lambda d: d.valid_until or date.max)
            ending = lasting.valid_until
            soon = ending is not None and ending < ctx.on + timedelta(days=params["expiring_days"])
            detail = (_l("%(title)s, valid until %(day)s", title=lasting.title, day=ending.isoformat()) if ending
                      else _l("%(title)s, no end date", title=lasting.title))
            found[unit.id] = Finding("amber" if soon else "green", len(valid), newest, detail, link, link)
        elif mine:
            found[unit.id] = Finding("amber", 0, newest, _l("%(title)s is not in force on %(day)s",
                                                             title=mine[0].title, day=ctx.on.isoformat()), link, link)
        else:
            found[unit.id] = Finding("red", 0, None, _l("none uploaded"), link, link)
    return found


@source("office_channels",
        channels=Param("names", default=("phone", "whatsapp", "email", "address"), choices=CHANNELS,
                       help="the office's contacts that count as complaint channels"),
        green=Param("int", default=None, help="channels needed for green (default: all listed)"),
        amber=Param("int", default=1, help="channels needed for amber"))
def office_channels(ctx: Context, units, params) -> dict:
    """The complaint channels configured in the office's identity (shown on every public page
    and receipt), counted among `channels`: the same for every unit."""
    office = current_office()
    have = [name for name in params["channels"] if getattr(office, name, None)]
    green = len(params["channels"]) if params["green"] is None else params["green"]
    status = counted(len(have), green, params["amber"])
    missing = [name for name in params["channels"] if name not in have]

    def names(codes):
        return ", ".join(str(CHANNEL_NAMES[code]) for code in codes) or "-"

    detail = (_l("configured: %(have)s; not configured: %(missing)s", have=names(have), missing=names(missing))
              if missing else _l("configured: %(have)s", have=names(have)))
    return {unit.id: Finding(status, len(have), None, detail, ("public.home", {}), ("admin.office", {}))
            for unit in units}


@source("supervision_monthly",
        months=Param("int", default=3, least=1, help="whole calendar months before the day's month"),
        kinds=Param("names", default=None, choices=supervision_kinds,
                    help="supervision kinds that count (default: every kind)"),
        green=Param("int", default=None, help="months with a record needed for green (default: every month)"),
        amber=Param("int", default=1, help="months with a record needed for amber"))
def supervision_monthly(ctx: Context, units, params) -> dict:
    """Supervision records covering the unit in each of the last `months` whole months: the
    number of months with at least one is compared with `green` and `amber`."""
    months = months_before(ctx.on, params["months"])
    start = date(*months[0], 1)
    end = date(ctx.on.year, ctx.on.month, 1) - timedelta(days=1)
    query = (select(supervision_units.c.unit_id, SupervisionRecord.held_on)
             .join(SupervisionRecord, SupervisionRecord.id == supervision_units.c.record_id)
             .where(supervision_units.c.unit_id.in_([u.id for u in units]),
                    SupervisionRecord.held_on >= start, SupervisionRecord.held_on <= end)
             .distinct())
    if params["kinds"]:
        query = query.where(SupervisionRecord.kind.in_(params["kinds"]))
    days: dict[int, list[date]] = {}
    for unit_id, held_on in db.session.execute(query):
        days.setdefault(unit_id, []).append(held_on)
    green = len(months) if params["green"] is None else params["green"]
    found = {}
    for unit in units:
        mine = days.get(unit.id, [])
        covered = {(d.year, d.month) for d in mine}
        status = counted(len(covered), green, params["amber"])
        detail = _l("%(covered)d of %(months)d months with a record (%(start)s to %(end)s)",
                    covered=len(covered), months=len(months), start=start.isoformat(), end=end.isoformat())
        link = ("supervision.index", {"unit": unit.code, "from": start.isoformat(), "to": end.isoformat()})
        found[unit.id] = Finding(status, len(mine), max(mine, default=None), detail, link,
                                 ("supervision.new", {"unit": unit.code}))
    return found


@source("survey_quarter",
        quarters_back=Param("int", default=1, help="0: the day's quarter, 1: the quarter before, ..."),
        min_respondents=Param("int", default=1, least=1,
                              help="questionnaires needed for green (fewer, but a survey: amber)"))
def survey_quarter(ctx: Context, units, params) -> dict:
    """An SKM survey period of the unit overlapping the quarter, with at least
    `min_respondents` questionnaires: green; a survey with fewer: amber; none: red."""
    quarter = quarter_before(ctx.on, params["quarters_back"])
    overlapping = (SurveyPeriod.unit_id.in_([u.id for u in units]), SurveyPeriod.starts_on <= quarter.end,
                   SurveyPeriod.ends_on >= quarter.start)
    answered = (select(SurveyResponse.period_id, func.count().label("n"))
                .where(SurveyResponse.period_id.in_(select(SurveyPeriod.id).where(*overlapping)))
                .group_by(SurveyResponse.period_id).subquery())
    rows = db.session.execute(
        select(SurveyPeriod.unit_id, SurveyPeriod.id, SurveyPeriod.label, SurveyPeriod.ends_on,
               func.coalesce(answered.c.n, 0))
        .outerjoin(answered, answered.c.period_id == SurveyPeriod.id)
        .where(*overlapping).order_by(SurveyPeriod.starts_on))
    best: dict[int, tuple] = {}
    for unit_id, period_id, label, ends_on, n in rows:
        if unit_id not in best or n > best[unit_id][3]:
            best[unit_id] = (period_id, label, ends_on, int(n))
    found = {}
    for unit in units:
        act = ("surveys.index", {})
        if unit.id not in best:
            found[unit.id] = Finding("red", 0, None, _l("no survey period overlaps %(quarter)s",
                                                        quarter=quarter.label), act, act)
            continue
        period_id, label, ends_on, n = best[unit.id]
        status = "green" if n >= params["min_respondents"] else "amber"
        detail = _n("%(label)s: %(num)d questionnaire", "%(label)s: %(num)d questionnaires", n, label=label)
        found[unit.id] = Finding(status, n, ends_on, detail, ("survey_results.report", {"period_id": period_id}), act)
    return found


@source("evaluation_report",
        kind=Param("name", default="complaint_evaluation", help="the supervision kind of the report"),
        quarters_back=Param("int", default=1, help="the quarter it evaluates: 1, the quarter before the day's"),
        require_actions=Param("bool", default=True, help="green needs improvement actions"))
def evaluation_report(ctx: Context, units, params) -> dict:
    """The quarter's complaint evaluation report ("laporan evaluasi pengaduan"): a supervision
    record of `kind` covering the unit whose evaluation period is that quarter, held by the
    day. With improvement actions none of which is open past its due date, or filed without
    actions when no group of the report recurs: green; without actions while a group recurs, or
    with one overdue: amber; none: red."""
    quarter = quarter_before(ctx.on, params["quarters_back"])
    rows = db.session.execute(
        select(supervision_units.c.unit_id, SupervisionRecord.id, SupervisionRecord.held_on,
               func.count(SupervisionAction.id),
               func.count(SupervisionAction.id).filter(
                   SupervisionAction.status == "open", SupervisionAction.due_on < ctx.on))
        .join(SupervisionRecord, SupervisionRecord.id == supervision_units.c.record_id)
        .outerjoin(SupervisionAction, SupervisionAction.record_id == SupervisionRecord.id)
        .where(supervision_units.c.unit_id.in_([u.id for u in units]), SupervisionRecord.kind == params["kind"],
               SupervisionRecord.evaluation_period == quarter.label, SupervisionRecord.held_on <= ctx.on)
        .group_by(supervision_units.c.unit_id, SupervisionRecord.id, SupervisionRecord.held_on)
        .order_by(SupervisionRecord.held_on))
    newest: dict[int, tuple] = {}
    for unit_id, record_id, held_on, actions, overdue in rows:
        newest[unit_id] = (record_id, held_on, int(actions), int(overdue))
    found = {}
    for unit in units:
        act = ("evaluation.report", {"unit": unit.code, "period": quarter.label})
        if unit.id not in newest:
            found[unit.id] = Finding("red", 0, None, _l("no evaluation report of %(quarter)s", quarter=quarter.label),
                                     act, act)
            continue
        record_id, held_on, actions, overdue = newest[unit.id]
        if overdue:
            status = "amber"
            detail = _n("%(quarter)s: %(num)d improvement action is overdue",
                        "%(quarter)s: %(num)d improvement actions are overdue", overdue, quarter=quarter.label)
        elif not actions and params["require_actions"] and recurring_groups(unit, quarter):
            status, detail = "amber", _l("%(quarter)s: no improvement action", quarter=quarter.label)
        else:
            status = "green"
            detail = _n("%(quarter)s: %(num)d improvement action", "%(quarter)s: %(num)d improvement actions",
                        actions, quarter=quarter.label)
        found[unit.id] = Finding(status, actions, held_on, detail, act, ("supervision.record", {"record_id": record_id}))
    return found


@source("ombudsman_followup",
        report_back=Param("bool", default=True,
                          help="green needs products whose items are all done reported back to the Ombudsman"))
def ombudsman_followup(ctx: Context, units, params) -> dict:
    """The Ombudsman products concerning the unit (the Ombudsman products register), as they
    stood on the day. Red: an item of the unit open past its deadline, or a product past its
    kind's time limit (`ombudsman.report_due`) with no action recorded or (with `report_back`)
    with the unit's items all done but not reported back. Amber: such a product before its
    limit. Otherwise (no product at all included): green."""
    day_began = datetime.combine(ctx.on, time.min, tzinfo=ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"]))
    concerned = db.session.scalars(
        select(OmbudsmanProduct).options(selectinload(OmbudsmanProduct.items), selectinload(OmbudsmanProduct.units))
        .where(OmbudsmanProduct.received_on <= ctx.on, OmbudsmanProduct.id.in_(
            select(ombudsman_product_units.c.product_id)
            .where(ombudsman_product_units.c.unit_id.in_([u.id for u in units]))))).all()

    def unreported(product) -> bool:
        return product.reported_back_on is None or product.reported_back_on > ctx.on

    found = {}
    for unit in units:
        products = [p for p in concerned if unit.id in {u.id for u in p.units}]
        mine = [i for p in products for i in p.items if i.unit_id == unit.id and i.status != "dropped"]
        open_then = [i for i in mine if i.status == "open" or i.done_on is None or i.done_on > ctx.on]
        late = [i for i in open_then if i.due_at < day_began]
        unrecorded = [p for p in products if not p.items and unreported(p)]
        finished = [p for p in products if unreported(p) and params["report_back"]
                    and any(i in mine for i in p.items) and not any(i in open_then for i in p.items)]
        overdue = [p for p in unrecorded + finished if (ombudsman.report_due(p) or day_began) < day_began]
        link = ("ombudsman.index", {"unit": unit.code})
        if late:
            status = "red"
            detail = _n("%(num)d item past its deadline", "%(num)d items past their deadline", len(late))
        elif overdue:
            status = "red"
            detail = _n("%(num)d product past its time limit without actions recorded or reported back",
                        "%(num)d products past their time limit without actions recorded or reported back",
                        len(overdue))
        elif unrecorded:
            status = "amber"
            detail = _n("%(num)d product without actions recorded", "%(num)d products without actions recorded",
                        len(unrecorded))
        elif finished:
            status = "amber"
            detail = _n("%(num)d product done but not reported back", "%(num)d products done but not reported back",
                        len(finished))
        else:
            status = "green"
            detail = _l("%(products)d products, %(open)d items open, none late", products=len(products),
                        open=len(open_then))
        latest = max((i.done_on for i in mine if i.done_on and i.done_on <= ctx.on), default=None)
        found[unit.id] = Finding(status, len(mine), latest, detail, link, link)
    return found


def months_earlier(on: date, months: int) -> date:
    """The same day `months` months before `on` (the month's last day where it is shorter)."""
    year, month = divmod(on.year * 12 + on.month - 1 - months, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(on.day, last))


@source("compensation_given",
        months=Param("int", default=12, least=1, help="the months up to the day that count"),
        green=Param("int", default=1, help="compensations needed for green"),
        amber=Param("int", default=0, help="compensations needed for amber (0: never red)"))
def compensation_given(ctx: Context, units, params) -> dict:
    """Compensation the unit gave (the compensation register) in the `months` up to the day,
    counted against `green` and `amber`."""
    since = months_earlier(ctx.on, params["months"])
    given = {unit_id: (int(n), latest) for unit_id, n, latest in db.session.execute(
        select(Compensation.unit_id, func.count(), func.max(Compensation.given_on))
        .where(Compensation.unit_id.in_([u.id for u in units]), Compensation.given_on > since,
               Compensation.given_on <= ctx.on)
        .group_by(Compensation.unit_id))}
    found = {}
    for unit in units:
        n, latest = given.get(unit.id, (0, None))
        detail = _n("%(num)d compensation given since %(day)s", "%(num)d compensations given since %(day)s", n,
                    day=since.isoformat())
        found[unit.id] = Finding(counted(n, params["green"], params["amber"]), n, latest, detail,
                                 ("compensation.index", {"unit": unit.code}), ("compensation.new", {"unit": unit.code}))
    return found


@source("service_standard",
        require_maklumat=Param("bool", default=True, help="green needs the maklumat with its decree number"))
def service_standard(ctx: Context, units, params) -> dict:
    """The complaint service standard the public saw for the unit on the day (its own once
    published, else the published default: services.standards), read for every unit at once:
    reviewed within the year before the day and, with `require_maklumat`, with its maklumat
    and decree number (decreed by the day): green; published but short of one of these, or
    only a draft: amber; none: red. Only the last publication and review dates are kept, so a
    day before them reads as not published or not reviewed."""
    found = {}
    drafts = {row.unit.id: row.standard for row in standards.rows_for(units)[1:]}
    for row in standards.published_rows(units, ctx.on):
        unit, standard = row.unit, row.standard
        act = ("standards.standard", {"scope": unit.code})
        if standard is None:
            if drafts.get(unit.id) is None:
                found[unit.id] = Finding("red", 0, None, _l("no service standard"), act, act,
                                         (_l("no service standard"),))
            else:
                found[unit.id] = Finding("amber", 0, None, _l("not published"), act, act,
                                         (_l("not published"),))
            continue
        problems = []
        if row.review.status in ("never", "overdue"):
            problems.append(_l("not reviewed within the year"))
        decreed = standard.decree_number and (standard.decree_date is None or standard.decree_date <= ctx.on)
        if params["require_maklumat"] and not ((standard.maklumat or "").strip() and decreed):
            problems.append(_l("no maklumat with its decree number"))
        whose = _l("its own") if row.own else _l("the kabupaten-wide default")
        reviewed = standard.reviewed_on.isoformat() if standard.reviewed_on else "-"
        detail = _l("%(whose)s, reviewed on %(day)s", whose=whose, day=reviewed)
        link = ("service_standard.unit", {"unit_code": unit.code})
        found[unit.id] = Finding("amber" if problems else "green", 1, standard.reviewed_on, detail, link, act,
                                 tuple(problems))
    return found


@source("accessibility_statement",
        max_age_days=Param("int", default=365, least=1, help="amber when the statement is older"))
def accessibility_statement(ctx: Context, units, params) -> dict:
    """The deployment's accessibility statement (/aksesibilitas), dated: green while its date
    is within `max_age_days` of the day, amber when older; the same for every unit."""
    age = (ctx.on - STATEMENT_DATE).days
    status = "green" if age <= params["max_age_days"] else "amber"
    detail = _l("stated on %(day)s", day=STATEMENT_DATE.isoformat())
    link = ("public.accessibility", {})
    return {unit.id: Finding(status, 1, STATEMENT_DATE, detail, link, link) for unit in units}
