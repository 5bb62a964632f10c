"""The append-only audit chain and its signed checkpoints."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class AuditEvent(db.Model):
    """`body` is the canonical JSON that was hashed; the other columns index it."""

    __tablename__ = "audit_events"
    # The log viewer's filters, each read newest first by seq (keyset pagination).
    __table_args__ = (
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_actor_seq", "actor", "seq"),
        Index("ix_audit_events_complaint_code_seq", "complaint_code", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    complaint_code: Mapped[str | None] = mapped_column(String(16))
    # The codes of the units the event belongs to, space-separated; NULL for events of the
    # whole deployment. One-unit evidence packs show only their units' events in full.
    units: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # Unique: two writers can never both extend the same head (no fork).
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(db.Model):
    """An Ed25519 signature over the chain head at `seq`.

    Checkpoints form a chain of their own: each signs its `counter` (1, 2, 3, ...) and the
    hash of the previous checkpoint, so removing any but the newest breaks the chain; one is
    signed on a fixed interval even when nothing happened, so removing the newest leaves a
    stale head. Rows from before the chain existed have no counter (legacy) and are checked
    one by one."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (
        Index("ix_audit_checkpoints_counter", "counter", unique=True),
        Index("ix_audit_checkpoints_prev_checkpoint_hash", "prev_checkpoint_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    counter: Mapped[int | None] = mapped_column(Integer)
    prev_checkpoint_hash: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer, index=True)
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    public_key: Mapped[str] = mapped_column(String(64))  # raw key, hex
    signature: Mapped[str] = mapped_column(String(128))  # hex
