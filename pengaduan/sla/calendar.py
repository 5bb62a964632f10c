"""The working-day calendar: weekends per unit, national holidays and cuti bersama."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

CALENDAR_VERSION = f"holidays-{holidays.__version__}"


@lru_cache(maxsize=64)
def _national(year: int) -> tuple[dict, dict]:
    """(public holidays, cuti bersama) of one year, from the SKB-based package lists."""
    public = dict(holidays.Indonesia(years=year, categories=("public",)))
    joint = dict(holidays.Indonesia(years=year, categories=("government",)))
    return public, joint


@dataclass(frozen=True)
class WorkingCalendar:
    """A unit's calendar: its working week, whether cuti bersama stop the clock, its timezone."""

    working_days: str = "12345"
    cuti_bersama_off: bool = True
    timezone: str = "Asia/Jakarta"

    @classmethod
    def for_unit(cls, unit) -> WorkingCalendar:
        return cls(unit.working_days, unit.cuti_bersama_off, unit.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def version(self) -> str:
        return CALENDAR_VERSION

    def day_off(self, day: date) -> str | None:
        """Why a day is not a working day, or None if it is one."""
        public, joint = _national(day.year)
        if day in public:
            return public[day]
        if self.cuti_bersama_off and day in joint:
            return f"{joint[day]} (cuti bersama)"
        if str(day.isoweekday()) not in self.working_days:
            return "weekend"
        return None
