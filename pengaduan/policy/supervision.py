"""Who may read and keep internal supervision records and each unit's standing documents."""
from __future__ import annotations

from ..models import Role, SupervisionRecord, Unit
from .actor import Actor, handles_cases, reads_cases


def can_read_supervision(actor: Actor) -> bool:
    """Officers, supervisors and auditors open the supervision pages."""
    return reads_cases(actor.role)


def can_record_supervision(actor: Actor) -> bool:
    return actor.role == Role.SUPERVISOR


def sees_every_record(actor: Actor) -> bool:
    """Auditors read the records of every unit; the others those covering their units."""
    return actor.role == Role.AUDITOR


def can_view_record(actor: Actor, record: SupervisionRecord) -> bool:
    """Auditors see every record; a unit's staff see the records that cover their unit."""
    if sees_every_record(actor):
        return True
    if handles_cases(actor.role):
        return bool({u.id for u in record.units} & actor.user.overseen_unit_ids)
    return False


def can_edit_record(actor: Actor, record: SupervisionRecord) -> bool:
    """The supervisor who led it while still over one of its units, or a supervisor over
    every unit it covers."""
    if actor.role != Role.SUPERVISOR:
        return False
    units, mine = {u.id for u in record.units}, actor.user.overseen_unit_ids
    return (record.supervisor_id == actor.user.id and bool(units & mine)) or units <= mine


def keeps_every_unit_documents(actor: Actor) -> bool:
    """Admins keep the standing documents of every unit, but do not read supervision records."""
    return actor.role == Role.ADMIN


def can_upload_document(actor: Actor, unit: Unit) -> bool:
    return keeps_every_unit_documents(actor) or (
        actor.role == Role.SUPERVISOR and unit.id in actor.user.overseen_unit_ids)


def can_view_documents(actor: Actor, unit: Unit) -> bool:
    return actor.role in (Role.AUDITOR, Role.ADMIN) or (
        handles_cases(actor.role) and unit.id in actor.user.overseen_unit_ids)
