"""Mail read from the office's mailbox: one row per message handled, written in the same
transaction as what the message became (integrations/mailbox.py, services/complaints/mail_intake.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class InboundMail(db.Model):
    """A handled message, known by `digest`: SHA-256 of its Message-ID, or of its header block
    when it has none. Nothing else of the mail is kept here (no address, no subject).

    outcome: filed (a new complaint), message (added to a complaint), refused (a reply told
    the sender why), ignored (auto-replies, bounces, loops, spam: nothing sent), failed (reading or registering it
    raised: `attempts` counts the runs that tried; at mailbox.MAX_ATTEMPTS it is given up,
    marked handled or moved to the quarantine folder). `kind` says which
    rule applied (e.g. attachment, closed, auto_reply)."""

    __tablename__ = "inbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
