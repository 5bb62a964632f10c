"""When each rung of a clock's ladder (warning, overdue, ..., reminder, expiry) comes due."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from .calendar import WorkingCalendar

ONE_SECOND = timedelta(seconds=1)


def _shift_working_days(day, count: int, cal: WorkingCalendar):
    step = 1 if count > 0 else -1
    for _ in range(abs(count)):
        day += timedelta(days=step)
        while cal.day_off(day) is not None:
            day += timedelta(days=step)
    return day


def step_time(due_at: datetime, offset: int, cal: WorkingCalendar) -> datetime:
    """Offset 0 is just after the deadline; -N the start of the N-th working day before the
    deadline day; +N just after the end of the N-th working day after it."""
    if offset == 0:
        return due_at + ONE_SECOND
    due_day = due_at.astimezone(cal.tz).date()
    day = _shift_working_days(due_day, offset, cal)
    if offset > 0:
        day += timedelta(days=1)  # the day after the N-th working day has ended
    return datetime.combine(day, time(0, 0), tzinfo=cal.tz).astimezone(timezone.utc)


def plan_next(clock, rule, cal: WorkingCalendar) -> None:
    """Point the clock at the next rung still to fire, or at nothing."""
    if clock.due_at is None or not clock.running or clock.next_step >= len(rule.steps):
        clock.next_check_at = None
        return
    clock.next_check_at = step_time(clock.due_at, rule.steps[clock.next_step].offset, cal)


def due_steps(clock, rule, cal: WorkingCalendar, now: datetime) -> list:
    """The rungs that have come due by `now`, advancing the clock past them. After a long
    downtime several may be due at once: each fires once, except that a rung meant to come
    before the deadline (a warning, a reminder) is skipped once the deadline itself has passed."""
    fired = []
    while clock.next_step < len(rule.steps):
        step = rule.steps[clock.next_step]
        if step_time(clock.due_at, step.offset, cal) > now:
            break
        fired.append(step)
        clock.next_step += 1
    if fired and step_time(clock.due_at, 0, cal) <= now:
        fired = [step for step in fired if step.offset >= 0]
    plan_next(clock, rule, cal)
    return fired
