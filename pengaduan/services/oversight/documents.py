"""A unit's standing compliance documents (the decree appointing complaint handlers, the
SOP, photos of the published channels, the compensation policy, the follow-up of Ombudsman
findings) and the checklist that shows which are present, missing or out of date."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import DOCUMENT_KINDS, StandingDocument, Unit
from ...policy import Actor, can_upload_document
from ..attachments import StoredFile
from ..inputs import day, text
from .supervision import LIMITS, today


def upload_document(actor: Actor, unit: Unit, raw: dict, stored: list[StoredFile]) -> StandingDocument:
    """Keep one standing document of a unit with its validity; flushes only."""
    if not can_upload_document(actor, unit):
        raise Forbidden(str(_l("you may not add documents for this unit")))
    errors: dict = {}
    kind = raw.get("kind")
    if kind not in DOCUMENT_KINDS:
        errors["kind"] = _l("choose one of the options")
    title = text(raw, "title", errors, LIMITS, required=True)
    valid_from = day(raw.get("valid_from"), "valid_from", errors, required=True)
    valid_until = day(raw.get("valid_until"), "valid_until", errors)
    if valid_from and valid_until and valid_until < valid_from:
        errors["valid_until"] = _l("must not be before the start of validity")
    if len(stored) != 1:
        errors["file"] = _l("choose one file")
    if errors:
        raise InvalidFields(errors)
    f = stored[0]
    document = StandingDocument(
        unit=unit, kind=kind, title=title, valid_from=valid_from, valid_until=valid_until,
        filename=f.filename, stored_name=f.stored_name, content_type=f.content_type,
        size=f.size, sha256=f.sha256, uploaded_by_id=actor.user.id)
    db.session.add(document)
    db.session.flush()
    audit.record(db.session, "document.uploaded", actor=actor.label, unit=unit, payload={
        "id": document.id, "unit": unit.code, "kind": kind,
        "valid_from": valid_from.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else None,
        "sha256": f.sha256, "size": f.size, "type": f.content_type})
    return document


@dataclass
class ChecklistItem:
    kind: str
    status: str                 # present, out_of_date, missing
    document: StandingDocument | None


def checklist(unit: Unit, on: date | None = None) -> list[ChecklistItem]:
    """For each kind of standing document: the one in force on the day, or the newest
    one out of date (expired or not yet valid), or nothing."""
    on = on or today()
    documents = db.session.scalars(select(StandingDocument).where(
        StandingDocument.unit_id == unit.id).order_by(StandingDocument.valid_from.desc(),
                                                      StandingDocument.id.desc())).all()
    items = []
    for kind in DOCUMENT_KINDS:
        mine = [d for d in documents if d.kind == kind]
        valid = next((d for d in mine if d.valid_from <= on and (d.valid_until is None or d.valid_until >= on)), None)
        if valid is not None:
            items.append(ChecklistItem(kind, "present", valid))
        elif mine:
            items.append(ChecklistItem(kind, "out_of_date", mine[0]))
        else:
            items.append(ChecklistItem(kind, "missing", None))
    return items


def documents_of(unit: Unit) -> list[StandingDocument]:
    return db.session.scalars(select(StandingDocument).where(StandingDocument.unit_id == unit.id)
                              .order_by(StandingDocument.kind, StandingDocument.valid_from.desc())).all()
