"""Due dates that explain themselves (domain.md section 4, counting rules)."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from .calendar import WorkingCalendar

END_OF_DAY = time(23, 59, 59)


def _end_of(day, cal: WorkingCalendar) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=cal.tz).astimezone(timezone.utc)


def compute_due(start: datetime, amount: int, unit: str, cal: WorkingCalendar,
                consumed: int = 0) -> tuple[datetime, dict]:
    """Deadline of a clock started at `start` with `consumed` units already counted.

    The start day is day 0; counting starts the next day; the deadline is the end of the
    last counted day in the unit's timezone. Calendar-day deadlines that fall on a day off
    roll forward to the next working day.
    """
    remaining = amount - consumed
    local_start = start.astimezone(cal.tz)
    explanation = {
        "start": local_start.isoformat(), "timezone": cal.timezone, "amount": amount,
        "unit": unit, "consumed_before": consumed, "calendar_version": cal.version,
        "counted": [], "skipped": [], "rolled_forward": [],
    }
    if unit == "hours":
        due = (start + timedelta(hours=remaining)).astimezone(timezone.utc)
        explanation["due"] = due.astimezone(cal.tz).isoformat()
        return due, explanation
    day = local_start.date()
    if unit == "working_days":
        counted = 0
        while counted < remaining:
            day += timedelta(days=1)
            reason = cal.day_off(day)
            if reason:
                explanation["skipped"].append([day.isoformat(), reason])
            else:
                counted += 1
                explanation["counted"].append(day.isoformat())
    elif unit == "calendar_days":
        day += timedelta(days=remaining)
        while (reason := cal.day_off(day)) is not None:
            explanation["rolled_forward"].append([day.isoformat(), reason])
            day += timedelta(days=1)
    else:
        raise ValueError(f"unknown SLA unit {unit!r}")
    due = _end_of(day, cal)
    explanation["due"] = due.astimezone(cal.tz).isoformat()
    return due, explanation


def units_elapsed(start: datetime, until: datetime, unit: str, cal: WorkingCalendar) -> int:
    """Units counted from the day after the start up to and including the day of `until`.

    Used when a clock pauses (policy): the day of the pause counts, the days spent waiting
    for the complainant do not, and the day the clock resumes is day 0 again, so a pause
    that starts and ends on the same day leaves the deadline where it was.
    """
    if unit == "hours":
        return int((until - start).total_seconds() // 3600)
    first = start.astimezone(cal.tz).date() + timedelta(days=1)
    last = until.astimezone(cal.tz).date()
    if unit == "calendar_days":
        return max(0, (last - first).days + 1)
    count, day = 0, first
    while day <= last:
        if cal.day_off(day) is None:
            count += 1
        day += timedelta(days=1)
    return count


def remaining(due: datetime, cal: WorkingCalendar, now: datetime) -> tuple[str, int]:
    """("left", working days still to come) or ("late", calendar days past the deadline)."""
    today = now.astimezone(cal.tz).date()
    due_day = due.astimezone(cal.tz).date()
    if due < now:
        return "late", max(1, (today - due_day).days)
    count, day = 0, today
    while day < due_day:
        day += timedelta(days=1)
        if cal.day_off(day) is None:
            count += 1
    return "left", count


def countdown(due: datetime, cal: WorkingCalendar, now: datetime) -> tuple[str, int]:
    """("left", working days still to come) or ("late", working days past the deadline day,
    at least 1): both counted on the unit's calendar, as officers count their time limits."""
    kind, left = remaining(due, cal, now)
    if kind == "left":
        return kind, left
    today, day, late = now.astimezone(cal.tz).date(), due.astimezone(cal.tz).date(), 0
    while day < today:
        day += timedelta(days=1)
        if cal.day_off(day) is None:
            late += 1
    return "late", max(1, late)
