"""How far the setup is, for an administrator's home page: units and whether each has
staff, accounts per role, categories, whether the calendar of this year and the next
rests on published decrees or on estimates that still need checking, and whether citizens
are told how to reach the office."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ...extensions import db
from ...models import STAFF_ROLES, Category, Unit, User
from ...models.user import user_units
from ...policy import STAFF_WITH_UNITS
from .calendar import calendar_year, default_year
from .office import current_office


@dataclass
class YearCalendar:
    year: int
    days_off: int  # holidays and cuti bersama, overrides included
    estimated: int  # days still an estimate of the package (no decree yet)
    overrides: int


@dataclass
class SetupStatus:
    units_active: int
    units_inactive: int
    units_without_staff: list[Unit]  # active units no active officer or supervisor works in
    accounts: dict[str, int]  # active accounts per role, every staff role listed
    accounts_inactive: int
    categories_active: int
    categories_inactive: int
    calendar: list[YearCalendar]
    office_reachable: bool = True  # the office identity names an address, telephone or email

    @property
    def needs_attention(self) -> bool:
        return (not self.units_active or bool(self.units_without_staff) or not self.categories_active
                or any(year.estimated for year in self.calendar) or not self.office_reachable)


def setup_status() -> SetupStatus:
    units = dict(db.session.execute(select(Unit.active, func.count()).group_by(Unit.active)).all())
    staffed = (select(user_units.c.unit_id).join(User, User.id == user_units.c.user_id)
               .where(User.active.is_(True), User.role.in_(STAFF_WITH_UNITS)))
    unstaffed = db.session.scalars(select(Unit).where(Unit.active.is_(True), Unit.id.not_in(staffed))
                                   .order_by(Unit.name)).all()
    by_role = dict(db.session.execute(select(User.role, func.count()).where(User.active.is_(True))
                                      .group_by(User.role)).all())
    inactive = db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(False)))
    categories = dict(db.session.execute(select(Category.active, func.count()).group_by(Category.active)).all())
    year = default_year()
    calendar = []
    for shown in (year, year + 1):
        days = calendar_year(shown)
        calendar.append(YearCalendar(shown, sum(d.kind != "working_day" for d in days),
                                     sum(d.estimated for d in days), sum(d.source == "override" for d in days)))
    return SetupStatus(units.get(True, 0), units.get(False, 0), list(unstaffed),
                       {str(role): by_role.get(role, 0) for role in STAFF_ROLES}, inactive or 0,
                       categories.get(True, 0), categories.get(False, 0), calendar,
                       office_reachable=current_office().has_contacts)
