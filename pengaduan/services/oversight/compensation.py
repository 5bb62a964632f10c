"""The register of compensation given (kompensasi pelayanan): recording one, on a complaint
or on its own, with its evidence files; the register of a unit and period; the figures the
periodic report and the evidence pack count (how many, by kind, the total value)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import label
from ...i18n import lazy_gettext as _l
from ...models import COMPENSATION_KINDS, Compensation, CompensationFile, Complaint, Unit
from ...policy import Actor, can_record_compensation, can_see_identity, can_view
from ...workflow.fields import digest
from ..attachments import StoredFile, attachment_digests, named_as_type
from ..inputs import day, text
from .supervision import today

LIMITS = {"description": 2000, "approved_by": 200}
MAX_VALUE = 10**13  # ten trillion rupiah: more is a typing error
# How people write rupiah: "50000", "50.000", "Rp 50.000", "Rp50.000,-".
RUPIAH = re.compile(r"^(?:rp\.?)?\s*(\d{1,3}(?:\.\d{3})+|\d+)(?:,-|,00)?$", re.IGNORECASE)


def kind_label(kind: str) -> str:
    """A kind of compensation in the reader's language (its code if unknown)."""
    return label(COMPENSATION_KINDS[kind]) if kind in COMPENSATION_KINDS else kind


def rupiah(value, errors: dict) -> int | None:
    """A whole rupiah amount as typed, None if empty."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        amount = value
    else:
        found = RUPIAH.match(str(value).strip())
        if not found:
            errors["value"] = _l("must be a whole amount in rupiah, such as 50000 or 50.000")
            return None
        amount = int(found.group(1).replace(".", ""))
    if not 0 < amount < MAX_VALUE:
        errors["value"] = _l("must be more than 0 rupiah")
        return None
    return amount


def _complaint(raw: dict, actor: Actor, errors: dict) -> Complaint | None:
    """The complaint the compensation was given on, if named: one the actor may see (any
    other is as unknown as a code that names nothing)."""
    code = (raw.get("complaint") or "").strip().upper()
    if not code:
        return None
    complaint = Complaint.by_code(code)
    if complaint is None or not can_view(actor, complaint):
        errors["complaint"] = _l("must be the tracking code of a complaint of your unit")
        return None
    return complaint


def record_compensation(actor: Actor, raw: dict, stored: list[StoredFile] = ()) -> Compensation:
    """Record a compensation a unit gave; flushes, audited. `raw`: unit (code; a complaint's
    own unit when a complaint is named and no unit), complaint (tracking code, optional),
    kind, given_on, value (rupiah) and/or description, approved_by."""
    errors: dict = {}
    complaint = _complaint(raw, actor, errors)
    code = (raw.get("unit") or "").strip() or (complaint.unit.code if complaint else "")
    unit = Unit.by_code(code) if code else None
    if unit is None or not unit.active:
        unit = None
        errors["unit"] = _l("is required") if not code else _l("unknown or inactive unit")
    elif not can_record_compensation(actor, unit):
        raise Forbidden(str(_l("you may not record compensation for this unit")))
    if complaint is not None and unit is not None and complaint.unit_id != unit.id:
        errors["complaint"] = _l("is a complaint of another unit")
    kind = raw.get("kind")
    if kind not in COMPENSATION_KINDS:
        errors["kind"] = _l("choose one of the options")
    given_on = day(raw.get("given_on"), "given_on", errors, required=True, latest=today())
    value = rupiah(raw.get("value"), errors)
    description = text(raw, "description", errors, LIMITS)
    if value is None and description is None and "value" not in errors:
        errors["description"] = _l("give the value in rupiah or describe what was given")
    approved_by = text(raw, "approved_by", errors, LIMITS, required=True)
    if errors:
        raise InvalidFields(errors)
    compensation = Compensation(
        unit=unit, complaint=complaint, kind=kind, given_on=given_on, value=value,
        description=description, approved_by=approved_by, recorded_by_id=actor.user.id,
        files=[CompensationFile(filename=f.filename, stored_name=f.stored_name, content_type=f.content_type,
                                size=f.size, sha256=f.sha256, uploaded_by_id=actor.user.id) for f in stored])
    db.session.add(compensation)
    db.session.flush()
    audit.record(db.session, "compensation.recorded", actor=actor.label, unit=unit,
                 complaint=complaint.tracking_code if complaint else None, payload={
                     "id": compensation.id, "unit": unit.code, "kind": kind,
                     "given_on": given_on.isoformat(), "value": value,
                     "description": digest(description), "approved_by": digest(approved_by),
                     **attachment_digests(list(stored))})
    return compensation


def register(unit_ids, start: date, end: date) -> list[Compensation]:
    """The compensation the units gave from `start` to `end` (inclusive), newest first."""
    return list(db.session.scalars(
        select(Compensation).options(selectinload(Compensation.files), selectinload(Compensation.unit),
                                     selectinload(Compensation.complaint))
        .where(Compensation.unit_id.in_(list(unit_ids)), Compensation.given_on >= start,
               Compensation.given_on <= end)
        .order_by(Compensation.given_on.desc(), Compensation.id.desc())))


def of_complaint(complaint: Complaint) -> list[Compensation]:
    return list(db.session.scalars(select(Compensation).where(Compensation.complaint_id == complaint.id)
                                   .order_by(Compensation.given_on, Compensation.id)))


def recipient(compensation: Compensation, actor: Actor) -> str | None:
    """The complainant's name where this reader may see it (a public complaint of her unit);
    None otherwise: a confidential or anonymous complainant is never named in the register."""
    complaint = compensation.complaint
    if complaint is None or not can_see_identity(actor, complaint):
        return None
    return complaint.complainant_name


@dataclass
class Summary:
    """What the periodic report counts: how many, by kind, and the total value in rupiah."""

    count: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    total_value: int = 0
    on_complaints: int = 0
    with_evidence: int = 0


def summary(unit_ids, start: date, end: date) -> Summary:
    """The compensation of the units in the period, counted (three small grouped queries)."""
    scope = (Compensation.unit_id.in_(list(unit_ids)), Compensation.given_on >= start,
             Compensation.given_on <= end)
    result = Summary()
    for kind, count, value, linked in db.session.execute(
            select(Compensation.kind, func.count(), func.coalesce(func.sum(Compensation.value), 0),
                   func.count(Compensation.complaint_id)).where(*scope).group_by(Compensation.kind)):
        result.by_kind[kind] = count
        result.count += count
        result.total_value += int(value)
        result.on_complaints += linked
    result.by_kind = {kind: result.by_kind[kind] for kind in COMPENSATION_KINDS if kind in result.by_kind} | {
        kind: n for kind, n in result.by_kind.items() if kind not in COMPENSATION_KINDS}
    result.with_evidence = db.session.scalar(
        select(func.count(func.distinct(CompensationFile.compensation_id)))
        .join(Compensation, Compensation.id == CompensationFile.compensation_id).where(*scope)) or 0
    return result


def file_name(item: CompensationFile, actor: Actor) -> str:
    """An evidence file's name as this reader sees it: as uploaded, unless it is the evidence
    of a complaint whose complainant the reader may not see (a receipt named after her)."""
    complaint = item.compensation.complaint
    if complaint is None or can_see_identity(actor, complaint):
        return item.filename
    return named_as_type(f"kompensasi-{item.id}", item.content_type)
