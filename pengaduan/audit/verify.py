"""Verify the audit chain event by event, and against its signed checkpoints."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditCheckpoint, AuditEvent
from .chain import GENESIS, chain_hash, iso_utc
from .checkpoints import verify_checkpoint


@dataclass
class Problem:
    seq: int
    kind: str  # altered, missing, inserted, truncated, checkpoint
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class VerifyResult:
    count: int
    head: str
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _columns_match(row, body: dict) -> bool:
    return (
        body.get("seq") == row.seq
        and body.get("actor") == row.actor
        and body.get("action") == row.action
        and body.get("complaint") == row.complaint_code
        and body.get("occurred_at") == iso_utc(row.occurred_at)
    )


def verify_chain(session: Session, public_key_hex: str, batch: int = 10_000) -> VerifyResult:
    """Walk the whole chain in seq order; stop at the first problem."""
    checkpoints = {}
    for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)):
        if cp.public_key != public_key_hex or not verify_checkpoint(cp, public_key_hex):
            return VerifyResult(0, GENESIS, Problem(cp.seq, "checkpoint",
                                "checkpoint signature is not valid for this deployment's key"))
        checkpoints.setdefault(cp.seq, []).append(cp.hash)

    columns = (AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor, AuditEvent.action,
               AuditEvent.complaint_code, AuditEvent.body, AuditEvent.prev_hash, AuditEvent.hash)
    expected, prev = 1, GENESIS
    while True:
        rows = session.execute(
            select(*columns).where(AuditEvent.seq >= expected).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected:
                return VerifyResult(expected - 1, prev, Problem(
                    expected, "missing",
                    f"event {expected} is missing (the chain jumps to {row.seq}): deleted"))
            if chain_hash(row.prev_hash, row.body) != row.hash:
                return VerifyResult(expected - 1, prev, Problem(
                    row.seq, "altered", "the stored hash does not match the event's content"))
            if row.prev_hash != prev:
                return VerifyResult(expected - 1, prev, Problem(
                    row.seq, "inserted",
                    f"the event does not follow event {row.seq - 1}: inserted or reordered"))
            try:
                body = json.loads(row.body)
            except ValueError:
                body = {}
            if not _columns_match(row, body):
                return VerifyResult(expected - 1, prev, Problem(
                    row.seq, "altered", "the indexed columns differ from the hashed content"))
            for signed in checkpoints.get(row.seq, ()):
                if signed != row.hash:
                    return VerifyResult(expected - 1, prev, Problem(
                        row.seq, "altered", "the event differs from the signed checkpoint"))
            prev = row.hash
            expected += 1
    count = expected - 1
    beyond = [seq for seq in checkpoints if seq > count]
    if beyond:
        return VerifyResult(count, prev, Problem(
            count + 1, "truncated",
            f"a signed checkpoint covers event {max(beyond)} but the chain ends at {count}: "
            "the newest events were removed"))
    return VerifyResult(count, prev)
