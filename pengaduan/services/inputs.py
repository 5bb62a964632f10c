"""Typed input checked the same way by every service: text within its length, dates as
YYYY-MM-DD, email addresses; and today's date where a unit is. Problems are added to `errors`
under the field's name, so a form can name each."""
from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from ..i18n import lazy_gettext as _l
from ..models import Unit, utcnow

# The dates anyone may name. Python's calendar ends at years 1 and 9999, so a day later or
# another timezone would fall off it; no complaint, report or record is dated that far off.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def in_calendar(value: date) -> bool:
    return EARLIEST <= value <= LATEST


def out_of_calendar():
    """The message for a date outside EARLIEST..LATEST."""
    return _l("must be a date between %(first)s and %(last)s", first=EARLIEST.isoformat(),
              last=LATEST.isoformat())


def text(raw: dict, name: str, errors: dict, limits: dict[str, int], required: bool = False) -> str | None:
    """The stripped text of `raw[name]`, None if empty; at most `limits[name]` characters."""
    value = raw.get(name)
    value = value.strip() if isinstance(value, str) else value
    if value in (None, ""):
        if required:
            errors[name] = _l("is required")
        return None
    if not isinstance(value, str):
        errors[name] = _l("must be text")
        return None
    if len(value) > limits[name]:
        errors[name] = _l("must be at most %(n)d characters", n=limits[name])
    return value


def column_length(column) -> int:
    """The length of a model's String column (the limit the database enforces)."""
    return column.property.columns[0].type.length


def name(value, field: str, errors: dict, column) -> str:
    """A required one-line text (a name, a title), stripped, within its model column's length."""
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if not isinstance(value, str):
        errors[field] = _l("must be text")
        return ""
    limit = column_length(column)
    if not value:
        errors[field] = _l("is required")
    elif len(value) > limit:
        errors[field] = _l("must be at most %(n)d characters", n=limit)
    return value


def day(value, name: str, errors: dict, required: bool = False, latest: date | None = None) -> date | None:
    """A date given as a date or YYYY-MM-DD, None if empty; not after `latest` if given."""
    if value in (None, ""):
        if required:
            errors[name] = _l("is required")
        return None
    if isinstance(value, date):
        parsed = value
    else:
        try:
            parsed = date.fromisoformat(str(value).strip())
        except ValueError:
            errors[name] = _l("must be a date (YYYY-MM-DD)")
            return None
    if not in_calendar(parsed):
        errors[name] = out_of_calendar()
        return None
    if latest is not None and parsed > latest:
        errors[name] = _l("cannot be in the future")
    return parsed


def done_day(value, name: str, errors: dict, *, today: date, started: date | None,
             required: bool = False) -> date | None:
    """The day something was done: a date not after `today` nor before `started` (the day it
    was set)."""
    parsed = day(value, name, errors, required=required, latest=today)
    if parsed is not None and started is not None and parsed < started and name not in errors:
        errors[name] = _l("cannot be before the action was set (%(day)s)", day=started.isoformat())
    return parsed


def local_today(unit: Unit | None, at: datetime | None = None) -> date:
    """The date now (or at `at`) where the unit is, or in the deployment's timezone."""
    zone = unit.timezone if unit is not None else current_app.config["PENGADUAN_TIMEZONE"]
    return (at or utcnow()).astimezone(ZoneInfo(zone)).date()
