"""The Survei Kepuasan Masyarakat (PermenPANRB 14/2017, domain.md section 9): a unit's survey
periods, the questionnaires answered in them, and the public figures the worker prepares.

A questionnaire stores the nine elements under their stable codes (columns u1..u9, 1 to 4, or
empty when the respondent skipped it) and a profile without identity: nothing here names or
traces a respondent.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import JSONType, UTCDateTime, utcnow
from .unit import Unit
from .user import User

ELEMENTS = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")
PROFILE_FIELDS = ("sex", "age_band", "education", "occupation")
RESPONSE_CHANNELS = ("web", "paper")


class SurveyPeriod(db.Model):
    """One unit's SKM for a quarter, semester or year (`label`: 2026-Q3, 2026-S1, 2026), with
    the services it surveys, the number of service users (for the sample target), and the
    questionnaire's wording as it stood when the period opened."""

    __tablename__ = "survey_periods"
    __table_args__ = (UniqueConstraint("unit_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    label: Mapped[str] = mapped_column(String(7))
    starts_on: Mapped[date] = mapped_column(Date, index=True)
    ends_on: Mapped[date] = mapped_column(Date)
    service_types: Mapped[list] = mapped_column(JSONType, default=list)
    population: Mapped[int | None] = mapped_column(Integer)
    questionnaire: Mapped[dict] = mapped_column(JSONType)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # no more answers

    unit: Mapped[Unit] = relationship()
    opened_by: Mapped[User | None] = relationship()


class SurveyResponse(db.Model):
    """One answered questionnaire: u1..u9 (1-4, None when skipped), the profile, the
    suggestion; `entered_by` is the officer who typed a paper one in."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        # The IKM sums a period's answers per service type from the index alone.
        Index("ix_survey_responses_period_service", "period_id", "service_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("survey_periods.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8), default="web")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    service_type: Mapped[str | None] = mapped_column(String(200))
    sex: Mapped[str | None] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(16))
    education: Mapped[str | None] = mapped_column(String(32))
    occupation: Mapped[str | None] = mapped_column(String(32))
    u1: Mapped[int | None] = mapped_column(SmallInteger)
    u2: Mapped[int | None] = mapped_column(SmallInteger)
    u3: Mapped[int | None] = mapped_column(SmallInteger)
    u4: Mapped[int | None] = mapped_column(SmallInteger)
    u5: Mapped[int | None] = mapped_column(SmallInteger)
    u6: Mapped[int | None] = mapped_column(SmallInteger)
    u7: Mapped[int | None] = mapped_column(SmallInteger)
    u8: Mapped[int | None] = mapped_column(SmallInteger)
    u9: Mapped[int | None] = mapped_column(SmallInteger)
    suggestion: Mapped[str | None] = mapped_column(Text)

    period: Mapped[SurveyPeriod] = relationship()
    entered_by: Mapped[User | None] = relationship()

    def score(self, element: str) -> int | None:
        return getattr(self, element.lower())


class PublicStatistics(db.Model):
    """The figures of `/statistik` for one period and scope (`all`, or a unit's id), computed
    by the worker so the public page reads one row; `computed_at` is shown as "as of"."""

    __tablename__ = "public_statistics"
    __table_args__ = (UniqueConstraint("period", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    scope: Mapped[str] = mapped_column(String(16))
    figures: Mapped[dict] = mapped_column(JSONType)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
