"""The register of Ombudsman products (produk Ombudsman RI): a corrective action in an LAHP,
a saran perbaikan or saran penyempurnaan, a rekomendasi, an assessment result. Each product
concerns units and perhaps complaints and carries the items the units must carry out, each
with its owner, deadline and evidence, and the date the follow-up was reported back to the
Ombudsman (UU 37/2008 Pasal 38)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import FileColumns, UTCDateTime, utcnow
from .complaint import Complaint
from .unit import Unit
from .user import User

# The kinds of product; their words and time limits live in the workflow file
# (ombudsman_products.kinds), which may only name these.
PRODUCT_KINDS = ("tindakan_korektif", "saran_perbaikan", "saran_penyempurnaan", "rekomendasi", "hasil_penilaian")
ITEM_STATUSES = ("open", "done", "dropped")

product_units = Table(
    "ombudsman_product_units", db.Model.metadata,
    Column("product_id", ForeignKey("ombudsman_products.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True, index=True),
)
product_complaints = Table(
    "ombudsman_product_complaints", db.Model.metadata,
    Column("product_id", ForeignKey("ombudsman_products.id", ondelete="CASCADE"), primary_key=True),
    Column("complaint_id", ForeignKey("complaints.id"), primary_key=True, index=True),
)


class OmbudsmanProduct(db.Model):
    """One product received from the Ombudsman."""

    __tablename__ = "ombudsman_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    number: Mapped[str] = mapped_column(String(100))  # the letter's or the LAHP's number
    issued_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    reported_back_on: Mapped[date | None] = mapped_column(Date)  # follow-up reported to the Ombudsman
    reported_back_ref: Mapped[str | None] = mapped_column(String(200))  # the report letter's number
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    units: Mapped[list[Unit]] = relationship(secondary=product_units, order_by="Unit.code")
    complaints: Mapped[list[Complaint]] = relationship(secondary=product_complaints, order_by="Complaint.id")
    recorded_by: Mapped[User] = relationship()
    items: Mapped[list[OmbudsmanItem]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="OmbudsmanItem.id")
    files: Mapped[list[OmbudsmanProductFile]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="OmbudsmanProductFile.id")


class OmbudsmanItem(db.Model):
    """One action a product requires of a unit, to be done by its deadline with evidence."""

    __tablename__ = "ombudsman_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("ombudsman_products.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    action: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))  # the official who answers for it
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # end of the deadline day
    due_explanation: Mapped[str | None] = mapped_column(String(200))  # how the deadline was set
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)
    done_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[str | None] = mapped_column(Text)  # what was done, or why it was dropped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[OmbudsmanProduct] = relationship(back_populates="items")
    unit: Mapped[Unit] = relationship()
    files: Mapped[list[OmbudsmanItemFile]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="OmbudsmanItemFile.id")

    def is_late(self, now: datetime) -> bool:
        """Open past its deadline, or done after it."""
        if self.status == "open":
            return self.due_at < now
        return self.status == "done" and self.done_on is not None and self.done_on > self.due_at.date()


class OmbudsmanProductFile(FileColumns, db.Model):
    """A file of the product itself: the LAHP or the letter, scanned."""

    __tablename__ = "ombudsman_product_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("ombudsman_products.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    product: Mapped[OmbudsmanProduct] = relationship(back_populates="files")


class OmbudsmanItemFile(FileColumns, db.Model):
    """Evidence that an item was carried out: a decree, minutes, photos, the report letter."""

    __tablename__ = "ombudsman_item_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ombudsman_items.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    item: Mapped[OmbudsmanItem] = relationship(back_populates="files")


class OmbudsmanEscalation(db.Model):
    """A rung of an item's escalation ladder that fired: unique per item and level, so two
    sweeps never fire the same one twice."""

    __tablename__ = "ombudsman_escalations"
    __table_args__ = (UniqueConstraint("item_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("ombudsman_items.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    level: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
