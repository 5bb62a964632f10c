"""The register of Ombudsman products: recording a product with the units and complaints it
concerns and its files, its items (the required action, the unit and official answering for
it, the deadline on the unit's working-day calendar), correcting a product, carrying an item
out with evidence, dropping or reopening it, changing its deadline (the Ombudsman extended
it), and recording that the follow-up was reported back. Every change is audited. Also what the home page, the overdue review, the periodic report and the evidence
pack read of it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import label
from ...i18n import lazy_gettext as _l
from ...models import (Complaint, OmbudsmanEscalation, OmbudsmanItem, OmbudsmanItemFile, OmbudsmanProduct, OmbudsmanProductFile,
                       Unit, utcnow)
from ...models.ombudsman import product_units
from ...policy import (Actor, can_keep_ombudsman_product, can_record_ombudsman_product, can_update_ombudsman_item,
                       can_view)
from ...sla.calendar import WorkingCalendar
from ...sla.deadlines import compute_due
from ...workflow import current_workflow
from ...workflow.fields import digest
from ..attachments import StoredFile, attachment_digests
from ..inputs import day, done_day, local_today, text

LIMITS = {"number": 100, "title": 300, "summary": 4000, "action": 2000, "owner": 200, "evidence": 4000,
          "reason": 1000, "reported_back_ref": 200}
FILTERS = ("open", "late", "done", "all")


def rules():
    """The workflow file's `ombudsman_products` section, or None when it has none."""
    return current_workflow().ombudsman_products


def kind_label(kind: str) -> str:
    found = rules().kinds.get(kind) if rules() else None
    return label(found.label) if found else kind


def level_label(level: str) -> str:
    found = next((step for step in rules().levels if step.level == level), None) if rules() else None
    return label(found.label) if found else level


def _units(raw, errors: dict) -> list[Unit]:
    codes = raw if isinstance(raw, list) else [c for c in str(raw or "").replace(",", " ").split()]
    units = []
    for code in dict.fromkeys(c.strip() for c in codes if c and c.strip()):
        unit = Unit.by_code(code)
        if unit is None or not unit.active:
            errors["units"] = _l("unknown or inactive unit")
            return []
        units.append(unit)
    if not units:
        errors["units"] = _l("choose at least one unit")
    return units


def _complaints(raw, actor: Actor, errors: dict) -> list[Complaint]:
    found = []
    for code in dict.fromkeys(str(raw or "").replace(",", " ").upper().split()):
        complaint = Complaint.by_code(code)
        if complaint is None or not can_view(actor, complaint):
            errors["complaints"] = _l("must be tracking codes of complaints you may see")
            return []
        found.append(complaint)
    return found


def _file_rows(model, stored: list[StoredFile], actor: Actor) -> list:
    return [model(filename=f.filename, stored_name=f.stored_name, content_type=f.content_type, size=f.size,
                  sha256=f.sha256, uploaded_by_id=actor.user.id) for f in stored]


def _codes(units) -> str:
    return ", ".join(u.code for u in units)


def _product_fields(actor: Actor, raw: dict) -> dict:
    """The product's fields from `raw` (kind, number, issued_on, received_on, title, summary,
    units as codes, complaints as tracking codes), checked; InvalidFields or Forbidden."""
    errors: dict = {}
    kinds = rules().kinds if rules() else {}
    fields = {"kind": raw.get("kind")}
    if fields["kind"] not in kinds:
        errors["kind"] = _l("choose one of the options")
    fields["number"] = text(raw, "number", errors, LIMITS, required=True)
    fields["title"] = text(raw, "title", errors, LIMITS, required=True)
    fields["summary"] = text(raw, "summary", errors, LIMITS)
    today = local_today(None)
    issued_on = fields["issued_on"] = day(raw.get("issued_on"), "issued_on", errors, required=True, latest=today)
    received_on = fields["received_on"] = day(raw.get("received_on"), "received_on", errors, required=True,
                                              latest=today)
    if issued_on and received_on and received_on < issued_on:
        errors["received_on"] = _l("cannot be before the date of issue")
    fields["units"] = _units(raw.get("units"), errors)
    fields["complaints"] = _complaints(raw.get("complaints"), actor, errors)
    if fields["units"] and not can_record_ombudsman_product(actor, fields["units"]):
        raise Forbidden(str(_l("you may not record a product for these units")))
    if errors:
        raise InvalidFields(errors)
    return fields


def record_product(actor: Actor, raw: dict, stored: list[StoredFile] = ()) -> OmbudsmanProduct:
    """Record a product received; flushes, audited. `raw`: see `_product_fields`."""
    fields = _product_fields(actor, raw)
    kind, number, title, units, complaints = (fields[k] for k in ("kind", "number", "title", "units", "complaints"))
    issued_on, received_on = fields["issued_on"], fields["received_on"]
    product = OmbudsmanProduct(**fields, recorded_by_id=actor.user.id,
                               files=_file_rows(OmbudsmanProductFile, list(stored), actor))
    db.session.add(product)
    db.session.flush()
    audit.record(db.session, "ombudsman.product_recorded", actor=actor.label, unit=units, payload={
        "id": product.id, "unit": _codes(units), "kind": kind, "number": number,
        "issued_on": issued_on.isoformat(), "received_on": received_on.isoformat(), "title": digest(title),
        "complaints": [c.tracking_code for c in complaints], **attachment_digests(list(stored))})
    return product


def _shown(value):
    if isinstance(value, list):
        return [getattr(v, "code", None) or v.tracking_code for v in value]
    return value.isoformat() if isinstance(value, date) else value


def edit_product(actor: Actor, product: OmbudsmanProduct, raw: dict) -> list[str]:
    """Correct a recorded product (its kind, number, dates, title, summary, units, linked
    complaints): its keepers only, and for units they may record for. A unit that has items
    stays. Flushes, audited with what changed (before and after); the names of the changed
    fields."""
    if not can_keep_ombudsman_product(actor, product):
        raise Forbidden(str(_l("you may not change this product")))
    fields = _product_fields(actor, raw)
    kept = {i.unit.code for i in product.items} - {u.code for u in fields["units"]}
    if kept:
        raise InvalidFields({"units": _l("%(units)s still have actions of this product", units=", ".join(sorted(kept)))})
    first_added = min((i.created_at for i in product.items), default=None)
    if first_added and fields["received_on"] > local_today(None, first_added):
        raise InvalidFields({"received_on": _l("cannot be after the first action was added (%(day)s)",
                                               day=local_today(None, first_added).isoformat())})
    changed = {}
    for name, value in fields.items():
        before = getattr(product, name)
        if _shown(before) != _shown(value):
            shown = (digest(before), digest(value)) if name in ("title", "summary") else (_shown(before), _shown(value))
            changed[name] = {"before": shown[0], "after": shown[1]}
            setattr(product, name, value)
    if changed:
        db.session.flush()
        audit.record(db.session, "ombudsman.product_changed", actor=actor.label, unit=list(product.units), payload={
            "id": product.id, "unit": _codes(product.units), "changed": changed})
    return list(changed)


def default_due(product: OmbudsmanProduct, unit: Unit) -> tuple[datetime, str]:
    """The kind's time limit counted from the day the product was received, on the unit's calendar."""
    kind = rules().kinds[product.kind]
    cal = WorkingCalendar.for_unit(unit)
    start = datetime.combine(product.received_on, time(12, 0), tzinfo=cal.tz).astimezone(timezone.utc)
    due, _ = compute_due(start, kind.amount, kind.unit, cal)
    return due, f"{kind.amount} {kind.unit} from {product.received_on.isoformat()}"


def _end_of_day(value: date, unit: Unit) -> datetime:
    cal = WorkingCalendar.for_unit(unit)
    return datetime.combine(value, time(23, 59, 59), tzinfo=cal.tz).astimezone(timezone.utc)


def add_item(actor: Actor, product: OmbudsmanProduct, raw: dict) -> OmbudsmanItem:
    """Add an action the product requires of a unit; without a deadline it gets the kind's
    time limit. Flushes, audited."""
    if not can_keep_ombudsman_product(actor, product):
        raise Forbidden(str(_l("you may not change this product")))
    errors: dict = {}
    action = text(raw, "action", errors, LIMITS, required=True)
    owner = text(raw, "owner", errors, LIMITS, required=True)
    code = (raw.get("unit") or "").strip()
    unit = next((u for u in product.units if u.code == code), None)
    if unit is None:
        errors["unit"] = _l("choose one of the units the product concerns")
    due_on = day(raw.get("due_on"), "due_on", errors)
    if errors:
        raise InvalidFields(errors)
    if due_on is not None:
        due_at, explanation = _end_of_day(due_on, unit), "set by hand"
    else:
        due_at, explanation = default_due(product, unit)
    item = OmbudsmanItem(product=product, unit=unit, action=action, owner=owner, due_at=due_at,
                         due_explanation=explanation, status="open")
    db.session.add(item)
    db.session.flush()
    audit.record(db.session, "ombudsman.item_added", actor=actor.label, unit=unit, payload={
        "id": item.id, "product": product.id, "unit": unit.code, "action": digest(action), "owner": digest(owner),
        "due_at": due_at.isoformat()})
    return item


def _changeable(actor: Actor, item: OmbudsmanItem) -> None:
    if not can_update_ombudsman_item(actor, item):
        raise Forbidden(str(_l("you may not change this action")))


def complete_item(actor: Actor, item: OmbudsmanItem, raw: dict, stored: list[StoredFile] = ()) -> None:
    """Mark an open item done: what was done and at least one evidence file are required."""
    _changeable(actor, item)
    errors: dict = {}
    if item.status != "open":
        errors["status"] = _l("only an open action can be marked done")
    evidence = text(raw, "evidence", errors, LIMITS, required=True)
    started = max(item.product.received_on, local_today(item.unit, item.created_at))
    done_on = done_day(raw.get("done_on"), "done_on", errors, required=True, today=local_today(item.unit),
                       started=started)
    if not stored and not item.files:
        errors["files"] = _l("attach the evidence (a decree, minutes, photos, the report letter)")
    if errors:
        raise InvalidFields(errors)
    item.status, item.done_on, item.evidence, item.updated_at = "done", done_on, evidence, utcnow()
    item.files.extend(_file_rows(OmbudsmanItemFile, list(stored), actor))
    db.session.flush()
    audit.record(db.session, "ombudsman.item_done", actor=actor.label, unit=item.unit, payload={
        "id": item.id, "product": item.product_id, "unit": item.unit.code, "done_on": done_on.isoformat(),
        "on_time": done_on <= item.due_at.date(), "evidence": digest(evidence), **attachment_digests(list(stored))})


def _kept(actor: Actor, item: OmbudsmanItem) -> None:
    if not can_keep_ombudsman_product(actor, item.product):
        raise Forbidden(str(_l("only those who keep the product may do this")))


def _restart_escalation(item: OmbudsmanItem) -> int:
    """Forget the rungs the item's escalation fired, so that it starts over; how many."""
    rows = list(db.session.scalars(select(OmbudsmanEscalation).where(OmbudsmanEscalation.item_id == item.id)))
    for row in rows:
        db.session.delete(row)
    return len(rows)


def drop_item(actor: Actor, item: OmbudsmanItem, raw: dict) -> None:
    """Drop an open item (the Ombudsman withdrew or replaced it): the product's keepers only;
    the reason is required."""
    _kept(actor, item)
    errors: dict = {}
    if item.status != "open":
        errors["status"] = _l("only an open action can be dropped")
    reason = text(raw, "reason", errors, LIMITS, required=True)
    if errors:
        raise InvalidFields(errors)
    item.status, item.evidence, item.updated_at = "dropped", reason, utcnow()
    audit.record(db.session, "ombudsman.item_dropped", actor=actor.label, unit=item.unit, payload={
        "id": item.id, "product": item.product_id, "unit": item.unit.code, "reason": digest(reason)})


def reopen_item(actor: Actor, item: OmbudsmanItem, raw: dict) -> None:
    """Reopen a done or dropped item: the product's keepers only; the reason is required. Its
    evidence files stay; its escalation starts over."""
    _kept(actor, item)
    errors: dict = {}
    if item.status == "open":
        errors["status"] = _l("the action is already open")
    reason = text(raw, "reason", errors, LIMITS, required=True)
    if errors:
        raise InvalidFields(errors)
    was = item.status
    item.status, item.done_on, item.updated_at = "open", None, utcnow()
    cleared = _restart_escalation(item)
    audit.record(db.session, "ombudsman.item_reopened", actor=actor.label, unit=item.unit, payload={
        "id": item.id, "product": item.product_id, "unit": item.unit.code, "was": was, "reason": digest(reason),
        "escalations_cleared": cleared})


def change_deadline(actor: Actor, item: OmbudsmanItem, raw: dict) -> None:
    """Change an open item's deadline (the Ombudsman extended it): the product's keepers only,
    with the reason, which becomes how the deadline was set; its escalation starts over."""
    _kept(actor, item)
    errors: dict = {}
    if item.status != "open":
        errors["status"] = _l("only an open action's deadline can be changed")
    due_on = day(raw.get("due_on"), "due_on", errors, required=True)
    reason = text(raw, "reason", errors, LIMITS, required=True)
    if due_on and due_on < item.product.received_on:
        errors["due_on"] = _l("cannot be before the product was received")
    if errors:
        raise InvalidFields(errors)
    before = item.due_at
    item.due_at, item.updated_at = _end_of_day(due_on, item.unit), utcnow()
    item.due_explanation = f"changed by hand: {reason}"[:200]
    cleared = _restart_escalation(item)
    audit.record(db.session, "ombudsman.item_deadline_changed", actor=actor.label, unit=item.unit, payload={
        "id": item.id, "product": item.product_id, "unit": item.unit.code, "before": before.isoformat(),
        "after": item.due_at.isoformat(), "reason": digest(reason), "escalations_cleared": cleared})


def record_reported_back(actor: Actor, product: OmbudsmanProduct, raw: dict) -> None:
    """Record the day the follow-up was reported back to the Ombudsman (and the letter's number)."""
    if not can_keep_ombudsman_product(actor, product):
        raise Forbidden(str(_l("you may not change this product")))
    errors: dict = {}
    on = day(raw.get("reported_back_on"), "reported_back_on", errors, required=True, latest=local_today(None))
    ref = text(raw, "reported_back_ref", errors, LIMITS)
    if on and on < product.received_on:
        errors["reported_back_on"] = _l("cannot be before the product was received")
    if errors:
        raise InvalidFields(errors)
    product.reported_back_on, product.reported_back_ref = on, ref
    audit.record(db.session, "ombudsman.reported_back", actor=actor.label, unit=list(product.units), payload={
        "id": product.id, "unit": _codes(product.units), "reported_back_on": on.isoformat(), "ref": ref})


# --- reading the register ---------------------------------------------------------------


def _in_units(query, unit_ids):
    if unit_ids is None:
        return query
    return query.where(OmbudsmanProduct.id.in_(
        select(product_units.c.product_id).where(product_units.c.unit_id.in_(list(unit_ids)))))


def report_due(product: OmbudsmanProduct) -> datetime | None:
    """When the follow-up is due back to the Ombudsman: the kind's time limit from the day the
    product was received (on the calendar of its first unit); also the limit by which a
    product's actions must have been recorded. None when the workflow file names no such kind."""
    if not (rules() and product.kind in rules().kinds and product.units):
        return None
    return default_due(product, product.units[0])[0]


def products(unit_ids, status: str = "all", now: datetime | None = None) -> list[OmbudsmanProduct]:
    """The products concerning the units (None: all), newest first, by the status of their
    items: open (an item open, or no item recorded yet), late (an item open past its deadline,
    or no item recorded past the kind's time limit), done (items recorded, none open)."""
    now = now or utcnow()
    query = _in_units(select(OmbudsmanProduct).options(
        selectinload(OmbudsmanProduct.units), selectinload(OmbudsmanProduct.items),
        selectinload(OmbudsmanProduct.files)), unit_ids)
    open_items = select(OmbudsmanItem.product_id).where(OmbudsmanItem.status == "open")
    with_items = select(OmbudsmanItem.product_id)
    if status in ("open", "late"):
        query = query.where(OmbudsmanProduct.id.in_(open_items) | OmbudsmanProduct.id.not_in(with_items))
    elif status == "done":
        query = query.where(OmbudsmanProduct.id.not_in(open_items), OmbudsmanProduct.id.in_(with_items))
    found = list(db.session.scalars(query.order_by(OmbudsmanProduct.received_on.desc(), OmbudsmanProduct.id.desc())))
    if status == "late":
        found = [p for p in found if any(i.status == "open" and i.due_at < now for i in p.items)
                 or (not p.items and (report_due(p) or now) < now)]
    return found


def late_items(unit_ids, now: datetime | None = None, limit: int | None = None) -> list[OmbudsmanItem]:
    """Open items of the units (None: all) past their deadline, the oldest deadline first."""
    now = now or utcnow()
    query = select(OmbudsmanItem).options(selectinload(OmbudsmanItem.product), selectinload(OmbudsmanItem.unit)) \
        .where(OmbudsmanItem.status == "open", OmbudsmanItem.due_at < now)
    if unit_ids is not None:
        query = query.where(OmbudsmanItem.unit_id.in_(list(unit_ids)))
    query = query.order_by(OmbudsmanItem.due_at, OmbudsmanItem.id)
    return list(db.session.scalars(query.limit(limit) if limit else query))


def open_count(unit_ids) -> int:
    query = select(func.count()).select_from(OmbudsmanItem).where(OmbudsmanItem.status == "open")
    if unit_ids is not None:
        query = query.where(OmbudsmanItem.unit_id.in_(list(unit_ids)))
    return db.session.scalar(query) or 0


@dataclass
class Summary:
    """What the periodic report counts of the register in a period."""

    products_received: int = 0  # products concerning the units received in the period
    products_reported_back: int = 0  # of those, reported back
    actions_due: int = 0  # actions whose deadline fell in the period (not dropped)
    actions_done_on_time: int = 0  # of those, done by the deadline
    actions_done_late: int = 0
    actions_open: int = 0  # actions open at the end of the period
    actions_late: int = 0  # of those, past their deadline


def summary(unit_ids, start: date, end: date, now: datetime | None = None) -> Summary:
    """The register's figures for the units in the period (items of the units; products
    concerning them)."""
    now = now or utcnow()
    result = Summary()
    received = db.session.execute(_in_units(
        select(OmbudsmanProduct.reported_back_on)
        .where(OmbudsmanProduct.received_on >= start, OmbudsmanProduct.received_on <= end), unit_ids)).all()
    result.products_received = len(received)
    result.products_reported_back = sum(1 for (on,) in received if on is not None)
    query = select(OmbudsmanItem).where(OmbudsmanItem.unit_id.in_(list(unit_ids)), OmbudsmanItem.status != "dropped")
    end_of_period = datetime.combine(end, time(23, 59, 59), tzinfo=timezone.utc)
    for item in db.session.scalars(query):
        due_day = item.due_at.date()
        if start <= due_day <= end:
            result.actions_due += 1
            if item.status == "done" and item.done_on is not None and item.done_on <= due_day:
                result.actions_done_on_time += 1
            elif item.status == "done":
                result.actions_done_late += 1
        if item.status == "open" and item.created_at <= end_of_period:
            result.actions_open += 1
            if item.due_at < min(now, end_of_period):
                result.actions_late += 1
    return result
