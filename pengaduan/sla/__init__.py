"""Statutory time limits: the working-day calendar, due dates and the complaint clocks."""
from .calendar import CALENDAR_VERSION, WorkingCalendar
from .clocks import on_event, refresh_due_dates
from .deadlines import compute_due, remaining, units_elapsed

__all__ = ["CALENDAR_VERSION", "WorkingCalendar", "compute_due", "on_event",
           "refresh_due_dates", "remaining", "units_elapsed"]
