"""Append-only, hash-chained audit log (design.md section 6).

Services call `record(...)` inside their unit of work. The events are appended when that
session commits (the hook is in commit.py), in the same transaction as the change they
describe, under a lock taken last (PostgreSQL advisory lock; SQLite's single writer), so
concurrent writers queue up and the chain never forks. A unique `prev_hash` makes a fork
impossible even if the lock failed.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, scoped_session

from ..models import AuditEvent, utcnow
from ..unit_of_work import UnitOfWork

GENESIS = "0" * 64
# Arbitrary constant naming the one advisory lock that serialises appends on PostgreSQL.
ADVISORY_LOCK_KEY = 0x70656E67


def canonical(obj) -> str:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 kept as is."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unit_codes(unit) -> list[str] | None:
    """The units an event belongs to, as sorted codes: from a Unit, a code, or several of
    either; None (or none at all) for an event of the whole deployment."""
    if unit is None:
        return None
    items = [unit] if isinstance(unit, str) or hasattr(unit, "code") else list(unit)
    codes = sorted({getattr(item, "code", item) for item in items if item is not None})
    return codes or None


def record(session: Session, action: str, *, actor: str, unit, complaint: str | None = None,
           payload: dict | None = None) -> None:
    """Queue an audit event; it joins the chain when this session's transaction commits.

    `unit` is required and says whose event it is (a Unit, a code, several, or None for the
    whole deployment): a one-unit evidence pack shows only its unit's events in full."""
    real = session() if isinstance(session, scoped_session) else session
    if not real.in_transaction():
        real.begin()  # tie the event to a transaction, so that a rollback discards it
    UnitOfWork.of(real).audit_events.append(
        (actor, action, complaint, unit_codes(unit), payload or {}))


def head(session: Session) -> tuple[int, str]:
    """(seq, hash) of the newest event, or (0, GENESIS) for an empty chain."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


def lock_chain(session: Session) -> None:
    """Serialise appends: released when the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def append_pending(session: Session) -> None:
    """Write the queued events to the chain (runs just before the session commits)."""
    unit = UnitOfWork.of(session)
    pending, unit.audit_events = unit.audit_events, []
    if not pending:
        return
    session.flush()  # take row locks of the change first; the chain lock comes last
    lock_chain(session)
    seq, prev = head(session)
    rows = []
    for actor, action, complaint, units, payload in pending:
        seq += 1
        now = utcnow()
        body = canonical({
            "seq": seq, "occurred_at": iso_utc(now), "actor": actor, "action": action,
            "complaint": complaint, "units": units, "payload": payload,
        })
        digest = chain_hash(prev, body)
        rows.append({
            "seq": seq, "occurred_at": now, "actor": actor, "action": action,
            "complaint_code": complaint, "units": " ".join(units) if units else None,
            "body": body, "prev_hash": prev, "hash": digest,
        })
        prev = digest
    session.execute(insert(AuditEvent), rows)
    unit.audit_appended = (rows[0]["seq"], seq, prev)

