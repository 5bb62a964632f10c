"""The working-day calendar: weekends per unit, national holidays and cuti bersama from the
`holidays` package, and the deployment's own overrides. Pure arithmetic: the overrides are
passed in, read from the database by the services (services/calendar.py), never here."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

PACKAGE_VERSION = f"holidays-{holidays.__version__}"
CUTI_BERSAMA = "cuti bersama"


@lru_cache(maxsize=64)
def national(year: int) -> tuple[dict, dict]:
    """(public holidays, cuti bersama) of one year, from the SKB-based package lists. Dates
    after the latest decree carry "(estimated)" in their names."""
    public = dict(holidays.Indonesia(years=year, categories=("public",)))
    joint = dict(holidays.Indonesia(years=year, categories=("government",)))
    return public, joint


@dataclass(frozen=True)
class Override:
    kind: str
    off: bool
    reason: str


@dataclass(frozen=True, eq=False)
class Overrides:
    """The override table as one snapshot: its revision and the overridden days."""

    revision: int = 0
    days: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    @property
    def version(self) -> str:
        return f"{PACKAGE_VERSION}+r{self.revision}"


NO_OVERRIDES = Overrides()


_overrides_source: Callable[[], Overrides] | None = None


def read_overrides_with(source: Callable[[], Overrides]) -> None:
    """Say where the deployment's overrides come from (the app does at start-up)."""
    global _overrides_source
    _overrides_source = source


def current_overrides() -> Overrides:
    """The deployment's overrides, from the source the app configured."""
    if _overrides_source is None:
        raise RuntimeError("no source of calendar overrides: call read_overrides_with first")
    return _overrides_source()


@dataclass(frozen=True)
class WorkingCalendar:
    """A unit's calendar: its working week, whether cuti bersama stop the clock, its timezone,
    and the deployment's overrides."""

    working_days: str = "12345"
    cuti_bersama_off: bool = True
    timezone: str = "Asia/Jakarta"
    overrides: Overrides = NO_OVERRIDES

    @classmethod
    def for_unit(cls, unit, overrides: Overrides | None = None) -> WorkingCalendar:
        return cls(unit.working_days, unit.cuti_bersama_off, unit.timezone,
                   overrides or current_overrides())

    @classmethod
    def default(cls, timezone: str, overrides: Overrides | None = None) -> WorkingCalendar:
        return cls(timezone=timezone, overrides=overrides or current_overrides())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def version(self) -> str:
        return self.overrides.version

    def day_off(self, day: date) -> str | None:
        """Why a day is not a working day, or None if it is one."""
        override = self.overrides.days.get(day)
        if override is not None:
            if not override.off:
                return None
            if override.kind != "cuti_bersama" or self.cuti_bersama_off:
                return f"{override.reason} ({override.kind.replace('_', ' ')}, override)"
        public, joint = national(day.year)
        if day in public:
            return public[day]
        if self.cuti_bersama_off and day in joint:
            return f"{joint[day]} ({CUTI_BERSAMA})"
        if str(day.isoweekday()) not in self.working_days:
            return "weekend"
        return None
