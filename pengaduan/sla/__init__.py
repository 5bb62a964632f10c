"""Statutory time limits: the working-day calendar, due dates, the complaint clocks and
their escalation ladders (the sweep that fires what has come due is a job, jobs/sweep.py)."""
from .calendar import Overrides, WorkingCalendar, current_overrides, read_overrides_with
from .clocks import is_waiting, on_event, refresh_due_dates, restart_from
from .deadlines import compute_due, countdown, remaining, units_elapsed

__all__ = ["Overrides", "WorkingCalendar", "compute_due", "countdown", "current_overrides", "is_waiting", "on_event", "read_overrides_with",
           "refresh_due_dates", "remaining", "restart_from", "units_elapsed"]
