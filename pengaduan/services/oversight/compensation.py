"""The register of compensation given (kompensasi pelayanan): recording one, on a complaint
or on its own, with its evidence files, and correcting it (adding evidence later); the register of a unit and period; the figures the
periodic report and the evidence pack count (how many, by kind, the total value)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ... import audit
from ...errors import ConcurrentChange, Forbidden, InvalidFields
from ...extensions import db
from ...i18n import label
from ...i18n import lazy_gettext as _l
from ...models import COMPENSATION_KINDS, Compensation, CompensationFile, Complaint, Unit, utcnow
from ...policy import Actor, can_correct_compensation, can_record_compensation, can_see_identity, can_view
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
    values = _fields(raw, errors)
    compensation = Compensation(unit=unit, complaint=complaint, recorded_by_id=actor.user.id,
                                files=_files(stored, actor), **values)
    db.session.add(compensation)
    db.session.flush()
    audit.record(db.session, "compensation.recorded", actor=actor.label, unit=unit,
                 complaint=complaint.tracking_code if complaint else None, payload={
                     "id": compensation.id, "unit": unit.code, **_for_audit(values),
                     **attachment_digests(list(stored))})
    return compensation


def _fields(raw: dict, errors: dict) -> dict:
    """The record's own fields from the form (kind, given_on, value, description,
    approved_by); raises InvalidFields with these and the errors found before."""
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
    return {"kind": kind, "given_on": given_on, "value": value, "description": description,
            "approved_by": approved_by}


def _files(stored: list[StoredFile], actor: Actor) -> list[CompensationFile]:
    return [CompensationFile(filename=f.filename, stored_name=f.stored_name, content_type=f.content_type,
                             size=f.size, sha256=f.sha256, uploaded_by_id=actor.user.id) for f in stored]


def _for_audit(values: dict) -> dict:
    """The fields as the audit log keeps them: free text only as its digest."""
    return {name: digest(value) if name in LIMITS else
            value.isoformat() if isinstance(value, date) else value for name, value in values.items()}


def correct_compensation(actor: Actor, compensation: Compensation, raw: dict,
                         stored: list[StoredFile] = ()) -> list[str]:
    """Correct a record's fields and add evidence files; flushes, audited with what changed
    (each changed field before and after, free text as digests). `raw["version"]` is the
    version the form was drawn from: another save since is a ConcurrentChange. Returns the
    changed names ("files" when files were added); nothing changed, nothing is written."""
    if not can_correct_compensation(actor, compensation):
        raise Forbidden(str(_l("you may not correct this compensation")))
    if str(raw.get("version") or "").strip() != str(compensation.version):
        raise ConcurrentChange(str(_l("someone else saved this compensation in the meantime: reload the page")))
    values = _fields(raw, {})
    changed = [name for name, value in values.items() if getattr(compensation, name) != value]
    if not changed and not stored:
        return []
    before = _for_audit({name: getattr(compensation, name) for name in changed})
    for name in changed:
        setattr(compensation, name, values[name])
    compensation.files.extend(_files(stored, actor))
    compensation.version += 1
    compensation.updated_at = utcnow()
    db.session.flush()
    after = _for_audit({name: values[name] for name in changed})
    audit.record(db.session, "compensation.corrected", actor=actor.label, unit=compensation.unit,
                 complaint=compensation.complaint.tracking_code if compensation.complaint else None,
                 payload={"id": compensation.id, "version": compensation.version,
                          "changed": {name: {"from": before[name], "to": after[name]} for name in changed},
                          **attachment_digests(list(stored))})
    return changed + (["files"] if stored else [])


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


def description(compensation: Compensation, actor: Actor) -> str | None:
    """What was given, as this reader may read it: withheld (None) on a complaint whose
    complainant the reader may not see, since the words often name her ("returned to Bu Siti");
    the evidence pack keeps only its digest for the same reason."""
    complaint = compensation.complaint
    if complaint is None or can_see_identity(actor, complaint):
        return compensation.description
    return None


def file_name(item: CompensationFile, actor: Actor) -> str:
    """An evidence file's name as this reader sees it: as uploaded, unless it is the evidence
    of a complaint whose complainant the reader may not see (a receipt named after her)."""
    complaint = item.compensation.complaint
    if complaint is None or can_see_identity(actor, complaint):
        return item.filename
    return named_as_type(f"kompensasi-{item.id}", item.content_type)
