"""Who reads and keeps the register of Ombudsman products: admins and supervisors record the
products (a supervisor for the units he oversees) and keep them (correct them, add items,
change an item's deadline, drop or reopen an item, record the report back); a unit's officers
and supervisors mark its items done with evidence; auditors read every product; the staff of
a unit read the products that concern it."""
from __future__ import annotations

from ..models import OmbudsmanItem, OmbudsmanProduct, Role, Unit
from .actor import Actor, handles_cases, reads_cases


def can_read_ombudsman(actor: Actor) -> bool:
    """Officers, supervisors, auditors and admins open the register."""
    return reads_cases(actor.role) or actor.role == Role.ADMIN


def sees_every_product(actor: Actor) -> bool:
    return actor.role in (Role.AUDITOR, Role.ADMIN)


def can_record_ombudsman_product(actor: Actor, units: list[Unit] | None = None) -> bool:
    """Admins record any product; a supervisor one whose units are all under his oversight."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.SUPERVISOR:
        return False
    return units is None or all(u.id in actor.user.overseen_unit_ids for u in units)


def can_view_ombudsman_product(actor: Actor, product: OmbudsmanProduct) -> bool:
    if sees_every_product(actor):
        return True
    if not handles_cases(actor.role):
        return False
    seen = actor.user.overseen_unit_ids
    return any(u.id in seen for u in product.units) or any(i.unit_id in seen for i in product.items)


def can_keep_ombudsman_product(actor: Actor, product: OmbudsmanProduct) -> bool:
    """Correct the product, add, drop, reopen items and change their deadlines, record the
    report back: whoever may record such a product (a supervisor over all of its units, or an
    admin). The Ombudsman's required action is not the unit's to drop."""
    return can_record_ombudsman_product(actor, list(product.units))


def can_update_ombudsman_item(actor: Actor, item: OmbudsmanItem) -> bool:
    """Mark the item done: the item's unit's officers and supervisors (and the supervisors
    above it), and admins."""
    if actor.role == Role.ADMIN:
        return True
    return handles_cases(actor.role) and item.unit_id in actor.user.overseen_unit_ids
