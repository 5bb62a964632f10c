"""The complaint service standard and maklumat of each unit, and the kabupaten-wide default a
unit without its own follows: which one applies (`standard_for`, for staff: a draft too;
`published_standard_for`, for the public and the assessment: the unit's own once published,
else the published default), making one (a unit's own
starts as a copy of the default; the default as the system's draft, prefill.py), changing
it (audited, naming the components that changed), its yearly review and the reminder."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ... import audit
from ...errors import ConcurrentChange, Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import STANDARD_COMPONENTS, ServiceStandard, Unit, utcnow
from ...policy import Actor, can_edit_standard
from ...workflow.fields import digest
from ..inputs import day, local_today, text
from ..oversight.supervision import today
from . import prefill

REVIEW_EVERY_DAYS = 365  # PermenPANRB 15/2014: the standard is evaluated at least yearly
REVIEW_WARNING_DAYS = 30  # the reminder shows this long before the review falls due
LIMITS = {**{f"component_{code}": 4000 for code in STANDARD_COMPONENTS}, "maklumat": 4000,
          "decree_number": 120}
FIELDS = ("maklumat", "decree_number", "decree_date", "reviewed_on", "published")


def default_standard() -> ServiceStandard | None:
    """The kabupaten-wide default, if it was made."""
    return db.session.scalar(select(ServiceStandard).where(ServiceStandard.unit_id.is_(None)))


def own_standard(unit: Unit) -> ServiceStandard | None:
    return db.session.scalar(select(ServiceStandard).where(ServiceStandard.unit_id == unit.id))


def standard_for(unit: Unit | None) -> ServiceStandard | None:
    """The standard that applies to `unit`: its own, else the kabupaten-wide default, else None."""
    own = own_standard(unit) if unit is not None else None
    return own if own is not None else default_standard()


def _published_on(standard: ServiceStandard | None, on: date | None) -> bool:
    """Whether `standard` was published on the day `on` (None: now). Only the last publication
    is kept (`published_at`): a standard withdrawn and published again counts from the later."""
    if standard is None or standard.published_at is None:
        return False
    return on is None or local_today(None, standard.published_at) <= on


def published_standard_for(unit: Unit | None, on: date | None = None) -> ServiceStandard | None:
    """The standard the public sees for `unit` (None: the default) on the day `on` (None:
    now): its own if published, else the published default, else None. A unit's unpublished
    draft never hides the default it follows until the draft is published."""
    own = own_standard(unit) if unit is not None else None
    if _published_on(own, on):
        return own
    default = default_standard()
    return default if _published_on(default, on) else None


def published_units(on: date | None = None) -> list[tuple[Unit, ServiceStandard]]:
    """Active units and the published standard that applies to each (without one: left out),
    read for every unit at once (the public list of standards)."""
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.name)).all()
    return [(row.unit, row.standard) for row in published_rows(units, on) if row.standard is not None]


def _scope(unit: Unit | None) -> str | None:
    """How the audit chain and the evidence pack name a standard's scope: a unit code, or None."""
    return unit.code if unit is not None else None


def create_standard(actor: Actor, unit: Unit | None) -> ServiceStandard:
    """Make `unit`'s own standard (None: the default); flushes, audited. A unit's starts as a
    copy of the default (unpublished, not yet reviewed), or the system's draft when there is
    no default; the default starts as the draft."""
    if not can_edit_standard(actor, unit):
        raise Forbidden(str(_l("you may not keep the service standard of this unit")))
    if (own_standard(unit) if unit is not None else default_standard()) is not None:
        raise ConcurrentChange(str(_l("this unit has its own service standard already")))
    base = default_standard() if unit is not None else None
    drafted = prefill.drafted(unit)
    standard = ServiceStandard(
        unit=unit, version=1, updated_at=utcnow(), updated_by_id=actor.user.id if actor.user else None,
        components={code: (base.text_of(code) if base else "") or drafted[code] for code in STANDARD_COMPONENTS},
        maklumat=(base.maklumat if base else None) or prefill.drafted_maklumat(),
        decree_number=base.decree_number if base else None, decree_date=base.decree_date if base else None)
    try:
        with db.session.begin_nested():
            db.session.add(standard)
            db.session.flush()
    except IntegrityError as exc:  # made at the same moment by someone else
        raise ConcurrentChange(str(_l("this unit has its own service standard already"))) from exc
    audit.record(db.session, "standard.created", actor=actor.label, unit=unit, payload={
        "id": standard.id, "unit": _scope(unit), "from_default": base is not None, "version": 1})
    return standard


def _checked(raw: dict, errors: dict) -> dict:
    """The form's values: each component's text, the maklumat, its decree, the review date."""
    values = {"components": {}}
    for code in STANDARD_COMPONENTS:
        values["components"][code] = text(raw, f"component_{code}", errors, LIMITS) or ""
    for code in ("legal_basis", "requirements", "procedure", "time_limit", "cost", "product",
                 "complaint_handling"):
        if not values["components"][code] and raw.get("published"):
            errors[f"component_{code}"] = _l("is required to publish the standard")
    values["maklumat"] = text(raw, "maklumat", errors, LIMITS)
    values["decree_number"] = text(raw, "decree_number", errors, LIMITS)
    values["decree_date"] = day(raw.get("decree_date"), "decree_date", errors, latest=today())
    values["reviewed_on"] = day(raw.get("reviewed_on"), "reviewed_on", errors, latest=today())
    values["published"] = bool(raw.get("published"))
    if values["published"] and not values["maklumat"]:
        errors["maklumat"] = _l("is required to publish the standard")
    return values


def update_standard(actor: Actor, standard: ServiceStandard, raw: dict) -> list[str]:
    """Save the form on `standard`; flushes, audited with what changed. Returns the changed
    names (component codes and fields); nothing changed, nothing is written."""
    if not can_edit_standard(actor, standard.unit):
        raise Forbidden(str(_l("you may not keep the service standard of this unit")))
    if str(raw.get("version") or "").strip() != str(standard.version):
        raise ConcurrentChange(str(_l("someone else saved this standard in the meantime: reload the page")))
    errors: dict = {}
    values = _checked(raw, errors)
    if errors:
        raise InvalidFields(errors)
    old = standard.components or {}
    changed = [code for code in STANDARD_COMPONENTS if (old.get(code) or "") != values["components"][code]]
    changed += [name for name in FIELDS if name != "published" and getattr(standard, name) != values[name]]
    if values["published"] != standard.published:
        changed.append("published")
    if not changed:
        return []
    standard.components = values["components"]
    for name in ("maklumat", "decree_number", "decree_date", "reviewed_on"):
        setattr(standard, name, values[name])
    if "published" in changed:
        standard.published_at = utcnow() if values["published"] else None
    standard.version += 1
    standard.updated_at = utcnow()
    standard.updated_by_id = actor.user.id if actor.user else None
    db.session.flush()
    audit.record(db.session, "standard.updated", actor=actor.label, unit=standard.unit, payload={
        "id": standard.id, "unit": _scope(standard.unit), "version": standard.version, "changed": changed,
        "texts": {code: digest(values["components"][code] or None) for code in changed if code in STANDARD_COMPONENTS}
        | ({"maklumat": digest(values["maklumat"])} if "maklumat" in changed else {}),
        "decree_date": values["decree_date"].isoformat() if values["decree_date"] else None,
        "reviewed_on": values["reviewed_on"].isoformat() if values["reviewed_on"] else None,
        "published": values["published"]})
    return changed


@dataclass(frozen=True)
class Review:
    """Where a standard stands with its yearly review on a day."""

    due_on: date | None  # None: never reviewed
    status: str  # "ok", "due_soon" (within the warning days), "overdue", "never"

    @property
    def needs_attention(self) -> bool:
        return self.status != "ok"


def review_of(standard: ServiceStandard, on: date | None = None) -> Review:
    """The review as it stood on the day `on` (None: today). Only the last review date is
    kept: one after `on` tells nothing of the reviews before it, so the day counts as never."""
    on = on or today()
    if standard.reviewed_on is None or standard.reviewed_on > on:
        return Review(None, "never")
    due = review_due_on(standard.reviewed_on)
    if due <= on:
        return Review(due, "overdue")
    if due <= on + timedelta(days=REVIEW_WARNING_DAYS):
        return Review(due, "due_soon")
    return Review(due, "ok")


def review_due_on(reviewed_on: date) -> date:
    """A year after the last review (29 February reviewed: due on 28 February)."""
    try:
        return reviewed_on.replace(year=reviewed_on.year + 1)
    except ValueError:
        return reviewed_on + timedelta(days=REVIEW_EVERY_DAYS)


@dataclass(frozen=True)
class Row:
    """One unit on the register's page: the standard that applies and whether it is its own."""

    unit: Unit | None  # None: the kabupaten-wide default
    standard: ServiceStandard | None
    own: bool
    review: Review | None


def rows_for(units: list[Unit], on: date | None = None) -> list[Row]:
    """The staff register's rows: the default first, then each unit with the standard that
    applies to it (its own, a draft too, else the default)."""
    on = on or today()
    standards = {s.unit_id: s for s in db.session.scalars(select(ServiceStandard))}
    default = standards.get(None)
    rows = [Row(None, default, default is not None, review_of(default, on) if default else None)]
    for unit in units:
        own = standards.get(unit.id)
        applied = own or default
        rows.append(Row(unit, applied, own is not None, review_of(applied, on) if applied else None))
    return rows


def published_rows(units: list[Unit], on: date | None = None) -> list[Row]:
    """Each unit with the standard the public saw on the day `on` (None: now): its own if
    published by then, else the published default, else None (the assessment's reading)."""
    by_unit = {s.unit_id: s for s in db.session.scalars(select(ServiceStandard))}
    default = by_unit.get(None)
    rows = []
    for unit in units:
        own = by_unit.get(unit.id)
        applied = own if _published_on(own, on) else default if _published_on(default, on) else None
        rows.append(Row(unit, applied, applied is not None and applied is own,
                        review_of(applied, on) if applied else None))
    return rows


def reviews_to_remind(actor: Actor, units: list[Unit], on: date | None = None) -> list[Row]:
    """The standards this actor keeps whose review falls due within the warning days, is
    overdue or never happened (the home page's and the register's reminder)."""
    return [row for row in rows_for(units, on) if row.standard is not None and row.own
            and row.review.needs_attention and can_edit_standard(actor, row.unit)]
