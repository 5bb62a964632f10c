"""Internal supervision and coaching (pengawasan internal, pembinaan) and the standing
compliance documents that assessors ask for (domain.md section 7)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import FileColumns, UTCDateTime, utcnow
from .complaint import Complaint
from .survey import SurveyPeriod
from .unit import Unit
from .user import User

SUPERVISION_KINDS = ("monitoring_evaluation", "case_review", "coaching", "coordination_meeting",
                     "spot_check", "instruction", "skm_follow_up", "complaint_evaluation")
ACTION_STATUSES = ("open", "done", "dropped")
# The standing documents of a unit's complaint management, as the assessment lists them.
DOCUMENT_KINDS = ("handler_decree", "complaint_sop", "channel_photos", "compensation_policy",
                  "ombudsman_followup")

supervision_units = Table(
    "supervision_units",
    db.metadata,
    Column("record_id", ForeignKey("supervision_records.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True, index=True),
)

supervision_complaints = Table(
    "supervision_complaints",
    db.metadata,
    Column("record_id", ForeignKey("supervision_records.id", ondelete="CASCADE"), primary_key=True),
    Column("complaint_id", ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class SupervisionRecord(db.Model):
    """One supervision or coaching activity: when, what kind, who led it and who took part,
    which units it covered, what was found, and what must follow."""

    __tablename__ = "supervision_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    held_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(200))
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    participants: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    # The SKM period whose results this record follows up (kind skm_follow_up), if any.
    survey_period_id: Mapped[int | None] = mapped_column(ForeignKey("survey_periods.id"), index=True)
    # The quarter (2026-Q3) whose complaint evaluation this record follows up (kind complaint_evaluation).
    evaluation_period: Mapped[str | None] = mapped_column(String(7), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    __mapper_args__ = {"version_id_col": version}

    supervisor: Mapped[User] = relationship()
    survey_period: Mapped[SurveyPeriod | None] = relationship()
    units: Mapped[list[Unit]] = relationship(secondary=supervision_units, order_by="Unit.name")
    complaints: Mapped[list[Complaint]] = relationship(secondary=supervision_complaints,
                                                       order_by="Complaint.tracking_code")
    actions: Mapped[list[SupervisionAction]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="SupervisionAction.id")
    files: Mapped[list[SupervisionFile]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="SupervisionFile.id")


class SupervisionAction(db.Model):
    """A follow-up agreed in a supervision activity: what, who, by when, and how it ended."""

    __tablename__ = "supervision_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("supervision_records.id", ondelete="CASCADE"),
                                           index=True)
    description: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    completed_on: Mapped[date | None] = mapped_column(Date)
    # An SKM improvement action names the element (U1..U9) it improves and what proves it done.
    element: Mapped[str | None] = mapped_column(String(2))
    evidence: Mapped[str | None] = mapped_column(Text)
    # A complaint evaluation action names the group it answers (cause:<words>, form:<code>,
    # category:<code>, unit:<code>).
    evaluation_group: Mapped[str | None] = mapped_column(String(240))
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    record: Mapped[SupervisionRecord] = relationship(back_populates="actions")


class SupervisionFile(FileColumns, db.Model):
    """Minutes, attendance lists, photos of a supervision activity."""

    __tablename__ = "supervision_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("supervision_records.id", ondelete="CASCADE"),
                                           index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    record: Mapped[SupervisionRecord] = relationship(back_populates="files")


class StandingDocument(FileColumns, db.Model):
    """A unit's standing compliance document (decree, SOP, ...) with its validity."""

    __tablename__ = "standing_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    unit: Mapped[Unit] = relationship()
    uploaded_by: Mapped[User] = relationship()
