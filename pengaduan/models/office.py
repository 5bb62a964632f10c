"""The office profile: who runs this deployment, as citizens see it (one row)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

OFFICE_ROW_ID = 1  # the table holds this row or none (none: the configured name alone)


class OfficeProfile(db.Model):
    """The deployment's name, logo and contacts, shown in the public header and footer, on
    receipts, in every email and on reports. Phone numbers are stored in E.164 (+62...)."""

    __tablename__ = "office_profile"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False,
                                    default=OFFICE_ROW_ID)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(400))
    phone: Mapped[str | None] = mapped_column(String(20))
    whatsapp: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    hours: Mapped[str | None] = mapped_column(String(200))
    lapor_url: Mapped[str | None] = mapped_column(String(300))
    # The logo as re-encoded (no metadata), in the database: one small file, backed up with
    # the rest and never orphaned. Deferred: pages read the profile, only /office/logo the bytes.
    logo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    logo_type: Mapped[str | None] = mapped_column(String(20))
    # Bumped on each new logo: its URL carries it, so caches may keep a logo for good.
    logo_version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
