"""Verify the audit chain event by event, and against its signed checkpoints."""
from __future__ import annotations

import json
from dataclasses import dataclass
from hashlib import sha256
from json.encoder import encode_basestring  # what canonical() uses for strings

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from ..models import AuditCheckpoint, AuditEvent
from .chain import GENESIS, chain_hash
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
        and body.get("occurred_at") == row.occurred_at
    )


def _canonical_head(action: str, actor: str, complaint: str | None, occurred_at: str) -> str:
    """How a canonical body (sorted keys) with these columns begins."""
    code = "null" if complaint is None else encode_basestring(complaint)
    return (f'{{"action":{encode_basestring(action)},"actor":{encode_basestring(actor)},'
            f'"complaint":{code},"occurred_at":"{occurred_at}","payload":')


def _agrees(row) -> bool:
    """Do the indexed columns say what the hashed body says? Text first (no JSON parsed for a
    canonical body); anything else is parsed and compared field by field."""
    if (row.body.startswith(_canonical_head(row.action, row.actor, row.complaint_code, row.occurred_at))
            and row.body.endswith(f',"seq":{row.seq}}}')):
        return True
    try:
        return _columns_match(row, json.loads(row.body))
    except ValueError:
        return False


def _problem(row, expected: int, prev: str, checkpoints: dict) -> Problem | None:
    """What is wrong with this event, if anything, checked in the order that names it best."""
    if row.seq != expected:
        return Problem(expected, "missing",
                       f"event {expected} is missing (the chain jumps to {row.seq}): deleted")
    if chain_hash(row.prev_hash, row.body) != row.hash:
        return Problem(row.seq, "altered", "the stored hash does not match the event's content")
    if row.prev_hash != prev:
        return Problem(row.seq, "inserted",
                       f"the event does not follow event {row.seq - 1}: inserted or reordered")
    if not _agrees(row):
        return Problem(row.seq, "altered", "the indexed columns differ from the hashed content")
    if any(signed != row.hash for signed in checkpoints.get(row.seq, ())):
        return Problem(row.seq, "altered", "the event differs from the signed checkpoint")
    return None


def _iso_utc_column(session: Session):
    """occurred_at as the ISO text the body holds, computed by the database (no per-row
    datetime conversion in Python)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", AuditEvent.occurred_at),
                            'YYYY-MM-DD"T"HH24:MI:SS.US"Z"', type_=String)
    # SQLite keeps naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'
    return func.replace(AuditEvent.occurred_at, " ", "T", type_=String).concat("Z")


def verify_chain(session: Session, public_key_hex: str, batch: int = 10_000) -> VerifyResult:
    """Walk the whole chain in seq order; stop at the first problem."""
    checkpoints = {}
    for cp in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)):
        if cp.public_key != public_key_hex or not verify_checkpoint(cp, public_key_hex):
            return VerifyResult(0, GENESIS, Problem(cp.seq, "checkpoint",
                                "checkpoint signature is not valid for this deployment's key"))
        checkpoints.setdefault(cp.seq, []).append(cp.hash)

    columns = (AuditEvent.seq, _iso_utc_column(session).label("occurred_at"), AuditEvent.actor,
               AuditEvent.action, AuditEvent.complaint_code, AuditEvent.body, AuditEvent.prev_hash,
               AuditEvent.hash)
    connection = session.connection()  # plain rows: no ORM work per event
    expected, prev = 1, GENESIS
    while True:
        rows = connection.execute(
            select(*columns).where(AuditEvent.seq >= expected).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            # The common case in one expression (chain_hash inlined: this loop runs a million
            # times); any doubt goes to _problem, which says exactly what is wrong.
            seq, occurred_at, actor, action, complaint, body, prev_hash, digest = row
            if not (seq == expected and prev_hash == prev and seq not in checkpoints
                    and sha256((prev_hash + body).encode()).hexdigest() == digest
                    and body.startswith(_canonical_head(action, actor, complaint, occurred_at))
                    and body.endswith(f',"seq":{seq}}}')):
                problem = _problem(row, expected, prev, checkpoints)
                if problem is not None:
                    return VerifyResult(expected - 1, prev, problem)
            prev = digest
            expected += 1
    count = expected - 1
    beyond = [seq for seq in checkpoints if seq > count]
    if beyond:
        return VerifyResult(count, prev, Problem(
            count + 1, "truncated",
            f"a signed checkpoint covers event {max(beyond)} but the chain ends at {count}: "
            "the newest events were removed"))
    return VerifyResult(count, prev)
