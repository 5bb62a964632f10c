"""Calendar overrides: the deployment's corrections to the national holiday list."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

# What an override says about its day.
OVERRIDE_KINDS = {
    "holiday": True,            # a holiday missing from the package (regional, new decree)
    "cuti_bersama": True,       # collective leave; the unit's cuti bersama policy applies
    "working_day": False,       # a day the package lists off that is worked after all
}


class CalendarOverride(db.Model):
    """One day whose status differs from the `holidays` package; one row per day, replaced
    (with a new revision) when the day is overridden again. The history is in the audit chain."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    off: Mapped[bool] = mapped_column(Boolean)
    # The legal reference or reason, e.g. "SKB 3 Menteri No. ... tentang cuti bersama 2027".
    reason: Mapped[str] = mapped_column(String(500))
    entered_by: Mapped[str] = mapped_column(String(300))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Calendar version counter: each change takes the next number (unique: two changes can
    # never claim the same version).
    revision: Mapped[int] = mapped_column(Integer, index=True, unique=True)
