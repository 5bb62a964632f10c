"""The escalation of late items of the register of Ombudsman products, run by the SLA sweep
(inside its lock): each rung of the workflow file's `ombudsman_products.escalation` ladder
fires at most once per item, claimed with an INSERT ... ON CONFLICT DO NOTHING against the
unique (item, level) of `ombudsman_escalations`, so that even a second worker that got past
the lock fires nothing twice. A rung that fires notifies the people it names (inside the app)
and is an audit event."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..models import OmbudsmanEscalation, OmbudsmanItem, Role, utcnow
from ..policy import Actor
from ..services.complaints.notifications import notify, staff_by_unit
from ..sla.calendar import WorkingCalendar
from ..sla.ladder import step_time
from ..workflow import current_workflow

KIND = "ombudsman_escalation"


def _claim(row: dict) -> int | None:
    """Insert the escalation row unless it is there; its id if this call inserted it."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = OmbudsmanEscalation.__table__
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing().returning(table.c.id)
    return db.session.execute(statement).scalar()


def _people(item: OmbudsmanItem, targets, staff) -> list:
    chosen: dict[int, object] = {}
    own = staff.get(item.unit_id, [])
    for target in targets:
        if target == "unit_officers":
            people = [m for m in own if m.role == Role.OFFICER]
        elif target == "unit_supervisors":
            people = [m for m in own if m.role == Role.SUPERVISOR]
        else:  # next_level_supervisors: at the top, the unit's own supervisors are the last level
            parent = item.unit.parent_id
            people = [m for m in (staff.get(parent, []) if parent else own) if m.role == Role.SUPERVISOR]
        for person in people:
            chosen.setdefault(person.id, person)
    return list(chosen.values())


def due_levels(item: OmbudsmanItem, levels, cal: WorkingCalendar, now: datetime) -> list:
    """The rungs that have come due by `now`; a rung before the deadline is skipped once the
    deadline itself has passed (as for complaint clocks)."""
    due = [step for step in levels if step_time(item.due_at, step.offset, cal) <= now]
    if due and step_time(item.due_at, 0, cal) <= now:
        due = [step for step in due if step.offset >= 0]
    return due


def escalate(now: datetime | None = None) -> Counter:
    """Fire the rungs of the open items that have come due; the caller commits."""
    counts: Counter = Counter()
    rules = current_workflow().ombudsman_products
    if rules is None:
        return counts
    now = now or utcnow()
    levels = rules.levels
    last = levels[-1].level
    spent = select(OmbudsmanEscalation.item_id).where(OmbudsmanEscalation.level == last)
    earliest = min(step.offset for step in levels)
    items = db.session.scalars(
        select(OmbudsmanItem).options(joinedload(OmbudsmanItem.unit), joinedload(OmbudsmanItem.product))
        .where(OmbudsmanItem.status == "open", OmbudsmanItem.id.not_in(spent))
        .order_by(OmbudsmanItem.due_at, OmbudsmanItem.id)).all()
    fired = {(item_id, level) for item_id, level in db.session.execute(
        select(OmbudsmanEscalation.item_id, OmbudsmanEscalation.level)
        .where(OmbudsmanEscalation.item_id.in_([i.id for i in items])))}
    calendars: dict[int, WorkingCalendar] = {}
    planned = []
    for item in items:
        cal = calendars.setdefault(item.unit_id, WorkingCalendar.for_unit(item.unit))
        if earliest < 0 and step_time(item.due_at, earliest, cal) > now:
            continue
        planned += [(item, step) for step in due_levels(item, levels, cal, now) if (item.id, step.level) not in fired]
    if not planned:
        return counts
    staff = staff_by_unit({i.unit_id for i, _ in planned} | {i.unit.parent_id for i, _ in planned if i.unit.parent_id})
    for item, step in planned:
        escalation_id = _claim({"item_id": item.id, "unit_id": item.unit_id, "level": step.level,
                                "due_at": item.due_at, "fired_at": now})
        if escalation_id is None:
            counts["ombudsman_already_fired"] += 1
            continue
        people = _people(item, step.notify, staff)
        data = {"product": item.product_id, "item": item.id, "level": step.level, "unit": item.unit.code,
                "due_at": item.due_at.isoformat(), "escalation_id": escalation_id}
        notify(people, KIND, None, data, at=now)
        audit.record(db.session, "ombudsman.escalated", actor=Actor.system().label, unit=item.unit,
                     payload={**data, "notified": [p.id for p in people]})
        counts[f"ombudsman_{step.level}"] += 1
    return counts
