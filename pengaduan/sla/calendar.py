"""The working-day calendar: weekends per unit, national holidays and cuti bersama from the
`holidays` package, and the deployment's own overrides. Pure arithmetic: the overrides are
passed in, read from the database by the services (services/calendar.py), never here."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

PACKAGE_VERSION = f"holidays-{holidays.__version__}"
CUTI_BERSAMA = "cuti bersama"
# The package's language for each language of the app. Names are asked for by language, never
# left to the package, which would otherwise follow the server's LANG.
HOLIDAY_LANGUAGES = {"en": "en_US", "id": "id"}
STORED_LANGUAGE = "en"  # explanations keep English names (as day_off writes them)


@lru_cache(maxsize=64)
def national(year: int, language: str = STORED_LANGUAGE) -> tuple[dict, dict]:
    """(public holidays, cuti bersama) of one year, from the SKB-based package lists, named in
    `language` (en or id). Dates after the latest decree carry "(estimated)" ("(perkiraan)")
    in their names."""
    package_language = HOLIDAY_LANGUAGES[language]
    public = dict(holidays.Indonesia(years=year, categories=("public",), language=package_language))
    joint = dict(holidays.Indonesia(years=year, categories=("government",), language=package_language))
    return public, joint


@dataclass(frozen=True)
class DayOff:
    """Why a day was off, read back from the text `WorkingCalendar.day_off` wrote: its kind
    (weekend, holiday, cuti_bersama), its name in each language (a package holiday's own
    names; an override's reason as entered, in every language) and whether it was an override."""

    kind: str
    names: dict = field(default_factory=dict)
    override: bool = False


_OVERRIDE = re.compile(r"^(?P<reason>.*) \((?P<kind>holiday|cuti bersama|working day), override\)$", re.S)


def read_day_off(day: date | str, reason: str) -> DayOff:
    """The structure behind a day-off text kept in an explanation, so that a page can show it
    in the reader's language. A name the package no longer gives for that day is kept as written."""
    day = day if isinstance(day, date) else date.fromisoformat(day)
    if reason == "weekend":
        return DayOff("weekend")
    if match := _OVERRIDE.match(reason):
        text = match["reason"]
        return DayOff(match["kind"].replace(" ", "_"), dict.fromkeys(HOLIDAY_LANGUAGES, text), True)
    kind, name, which = "holiday", reason, 0
    suffix = f" ({CUTI_BERSAMA})"
    if reason.endswith(suffix):
        kind, name, which = "cuti_bersama", reason[: -len(suffix)], 1
    names = {language: national(day.year, language)[which].get(day) for language in HOLIDAY_LANGUAGES}
    if name not in names.values():
        return DayOff(kind, dict.fromkeys(HOLIDAY_LANGUAGES, name))
    return DayOff(kind, names)


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
