"""Messages to staff inside the app (the bell in the header), optionally also by email."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import JSONType, UTCDateTime, utcnow
from .complaint import Complaint

NOTIFICATION_KINDS = ("new_complaint", "assigned", "citizen_replied", "escalation", "instruction",
                      "instruction_done", "step", "standard_review", "ombudsman_escalation")


class Notification(db.Model):
    """One message for one staff member about one complaint. It names the complaint by its
    code and never carries the complainant's identity."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_inbox", "user_id", "read_at", "id"),
        # Email digests read only the messages waiting for one.
        Index("ix_notifications_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: in the app only; "pending": waits for the recipient's next email digest; "sent".
    email: Mapped[str | None] = mapped_column(String(8))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict] = mapped_column(JSONType, default=dict)

    complaint: Mapped[Complaint | None] = relationship()
