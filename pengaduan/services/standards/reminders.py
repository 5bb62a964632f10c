"""Telling the keepers of a service standard, once, that its yearly review has fallen due:
the unit's supervisors (with none, the admins), and the admins for the kabupaten-wide
default. Run by the scheduler (jobs.standards_job); each due date is told once, whichever
worker runs it, because the standard's row is claimed with a conditional UPDATE."""
from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select, update

from ...extensions import db
from ...models import Role, ServiceStandard, User
from ..complaints.notifications import notify, staff_by_unit
from ..oversight.supervision import today
from . import review_due_on


def _admins() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role == Role.ADMIN)
                                   .order_by(User.id)))


def _keepers(standard: ServiceStandard) -> list:
    if standard.unit_id is not None:
        supervisors = [m for m in staff_by_unit([standard.unit_id]).get(standard.unit_id, [])
                       if m.role == Role.SUPERVISOR]
        if supervisors:
            return supervisors
    return _admins()


def notice_due_reviews(on: date | None = None) -> int:
    """Tell the keepers of each standard whose review fell due (and was not told yet); returns
    how many standards were told about."""
    on = on or today()
    told = 0
    for standard in db.session.scalars(select(ServiceStandard).where(ServiceStandard.reviewed_on.is_not(None))):
        due = review_due_on(standard.reviewed_on)
        if due > on or standard.review_noticed_for == due:
            continue
        claimed = db.session.execute(
            update(ServiceStandard).where(ServiceStandard.id == standard.id,
                                          or_(ServiceStandard.review_noticed_for.is_(None),
                                              ServiceStandard.review_noticed_for != due))
            .values(review_noticed_for=due).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            continue
        unit = standard.unit
        notify(_keepers(standard), "standard_review", None,
               {"unit": unit.code if unit else None, "due": due.isoformat()})
        told += 1
    return told
