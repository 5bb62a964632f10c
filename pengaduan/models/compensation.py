"""Compensation given for a service that fell short (kompensasi pelayanan), on a complaint or
on its own: what kind, when, its value in rupiah or what was given, the official who approved
it, and the files that prove it (receipt, letter, photo)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import FileColumns, UTCDateTime, utcnow
from .complaint import Complaint
from .unit import Unit
from .user import User

# The kinds of compensation and their labels: data, so a kind is added here with its words.
COMPENSATION_KINDS: dict[str, dict[str, str]] = {
    "refund": {"id": "Pengembalian biaya", "en": "Refund of fees"},
    "money": {"id": "Ganti rugi berupa uang", "en": "Monetary compensation"},
    "service_redone": {"id": "Layanan ulang tanpa biaya", "en": "Service redone free of charge"},
    "priority_service": {"id": "Layanan prioritas atau percepatan", "en": "Priority or expedited service"},
    "goods": {"id": "Barang atau fasilitas pengganti", "en": "Replacement goods or facilities"},
    "apology": {"id": "Permintaan maaf tertulis", "en": "Written apology"},
    "other": {"id": "Lainnya", "en": "Other"},
}


class Compensation(db.Model):
    """One compensation given by a unit, on a complaint (complaint_id) or on its own."""

    __tablename__ = "compensations"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    given_on: Mapped[date] = mapped_column(Date, index=True)
    value: Mapped[int | None] = mapped_column(BigInteger)  # whole rupiah
    description: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(200))  # the official's name and position
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last correction
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # counts the saves

    unit: Mapped[Unit] = relationship()
    complaint: Mapped[Complaint | None] = relationship()
    recorded_by: Mapped[User] = relationship()
    files: Mapped[list[CompensationFile]] = relationship(
        back_populates="compensation", cascade="all, delete-orphan", order_by="CompensationFile.id")


class CompensationFile(FileColumns, db.Model):
    """Evidence that the compensation was given: a receipt, a letter, a photo."""

    __tablename__ = "compensation_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    compensation_id: Mapped[int] = mapped_column(
        ForeignKey("compensations.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    compensation: Mapped[Compensation] = relationship(back_populates="files")
