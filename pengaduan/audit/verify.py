"""Verify the audit chain event by event, against its chain of signed checkpoints, and
against heads saved earlier (a published head, an evidence pack)."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from itertools import pairwise
from datetime import datetime, timedelta
from hashlib import sha256
from json.encoder import encode_basestring  # what canonical() uses for strings

from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

from ..models import AuditCheckpoint, AuditEvent, utcnow
from .chain import GENESIS, canonical, chain_hash, iso_utc
from .checkpoints import (checkpoint_hash, checkpoint_message, message_of, signature_valid,
                          verify_checkpoint)


@dataclass
class Problem:
    seq: int
    kind: str  # altered, missing, inserted, truncated, checkpoint, stale, forked
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class VerifyResult:
    count: int
    head: str
    problem: Problem | None = None
    # Stretches longer than twice the interval between two consecutive checkpoints: the
    # service was down then, or checkpoints (and the events they signed) were removed and the
    # worker signed again. Only a saved head (--expect-head, --pack) tells which.
    gaps: list[str] = field(default_factory=list)

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
        # Events from before bodies named their units keep only the column (not hashed).
        and ("units" not in body or body["units"] == (row.units.split() if row.units else None))
    )


def _units_json(units: str | None, cache: dict) -> str:
    """The units column as the canonical body writes it (cached: few distinct values)."""
    found = cache.get(units)
    if found is None:
        found = cache[units] = canonical(units.split()) if units else "null"
    return found


def _canonical_head(action: str, actor: str, complaint: str | None, occurred_at: str) -> str:
    """How a canonical body (sorted keys) with these columns begins."""
    code = "null" if complaint is None else encode_basestring(complaint)
    return (f'{{"action":{encode_basestring(action)},"actor":{encode_basestring(actor)},'
            f'"complaint":{code},"occurred_at":"{occurred_at}","payload":')


def _agrees(row) -> bool:
    """Do the indexed columns say what the hashed body says? Text first (no JSON parsed for a
    canonical body); anything else is parsed and compared field by field."""
    if (row.body.startswith(_canonical_head(row.action, row.actor, row.complaint_code, row.occurred_at))
            and row.body.endswith(f',"seq":{row.seq},"units":{_units_json(row.units, {})}}}')):
        return True
    try:
        return _columns_match(row, json.loads(row.body))
    except ValueError:
        return False


def _problem(row, expected: int, prev: str, checkpoints: dict, row_at) -> Problem | None:
    """What is wrong with this event, if anything, checked in the order that names it best.
    `row_at(seq)` reads another event, to tell which side of a broken link was changed."""
    if row.seq != expected:
        return Problem(expected, "missing",
                       f"event {expected} is missing (the chain jumps to {row.seq}): deleted")
    if chain_hash(row.prev_hash, row.body) != row.hash:
        return Problem(row.seq, "altered", "the stored hash does not match the event's content")
    if row.prev_hash != prev:
        following = row_at(row.seq + 1)
        if (row.seq > 1 and (following is None or following.prev_hash != prev) and _agrees(row)
                and prev not in checkpoints.get(row.seq - 1, ())):
            # This event is sound, the chain does not go on from the previous one without it,
            # and no checkpoint vouches for the previous one: that one's content was changed
            # and its hash recomputed.
            return Problem(row.seq - 1, "altered",
                           f"its hash is not the one event {row.seq} was chained to: its content "
                           "was changed and its hash recomputed")
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


@dataclass
class _Checkpoints:
    by_seq: dict          # seq: [signed hashes]
    newest: object | None  # the newest checkpoint row (chained if any, else legacy)
    problem: Problem | None = None
    chained: list = field(default_factory=list)  # the chained checkpoint rows, in order


def _checkpoints(session: Session, public_key_hex: str) -> _Checkpoints:
    """Check every checkpoint's signature, and the chained ones as a chain: counters 1, 2, 3...
    without a gap, each naming the previous one's hash, heads never going back."""
    by_seq: dict = {}
    chained: list = []
    newest = previous = None
    rows = session.execute(select(
        AuditCheckpoint.counter, AuditCheckpoint.prev_checkpoint_hash, AuditCheckpoint.seq,
        AuditCheckpoint.hash, AuditCheckpoint.signed_at, AuditCheckpoint.public_key,
        AuditCheckpoint.signature).order_by(AuditCheckpoint.counter.nulls_first(), AuditCheckpoint.id))
    for cp in rows:
        name = "legacy checkpoint" if cp.counter is None else f"checkpoint {cp.counter}"
        if cp.public_key != public_key_hex or not verify_checkpoint(cp, public_key_hex):
            return _Checkpoints(by_seq, newest, Problem(
                cp.seq, "checkpoint", f"{name}: signature is not valid for this deployment's key"))
        by_seq.setdefault(cp.seq, []).append(cp.hash)
        if cp.counter is None:
            if newest is None or cp.signed_at > newest.signed_at:
                newest = cp
            continue
        expected = previous.counter + 1 if previous else 1
        if cp.counter != expected:
            return _Checkpoints(by_seq, newest, Problem(
                cp.seq, "checkpoint", f"checkpoint {expected} is missing (the checkpoints jump from "
                f"{expected - 1} to {cp.counter}): removed"))
        prev = checkpoint_hash(message_of(previous)) if previous else GENESIS
        if cp.prev_checkpoint_hash != prev:
            return _Checkpoints(by_seq, newest, Problem(
                cp.seq, "checkpoint", f"checkpoint {cp.counter} does not follow checkpoint "
                f"{cp.counter - 1}: the chain of checkpoints was changed"))
        if previous is not None and cp.seq < previous.seq:
            return _Checkpoints(by_seq, newest, Problem(
                cp.seq, "checkpoint", f"checkpoint {cp.counter} signs seq {cp.seq}, before "
                f"checkpoint {previous.counter}'s seq {previous.seq}"))
        newest = previous = cp
        chained.append(cp)
    return _Checkpoints(by_seq, newest, chained=chained)


def verify_chain(session: Session, public_key_hex: str, batch: int = 10_000, *,
                 max_age: timedelta | None = None, now: datetime | None = None) -> VerifyResult:
    """Walk the whole chain in seq order; stop at the first problem. With `max_age` (twice
    the checkpoint interval), a newest checkpoint older than that is a problem too: the
    newest checkpoints, and the events they signed, may have been removed."""
    signed = _checkpoints(session, public_key_hex)
    if signed.problem is not None:
        return VerifyResult(0, GENESIS, signed.problem)
    checkpoints = signed.by_seq

    columns = (AuditEvent.seq, _iso_utc_column(session).label("occurred_at"), AuditEvent.actor,
               AuditEvent.action, AuditEvent.complaint_code, AuditEvent.units, AuditEvent.body,
               AuditEvent.prev_hash, AuditEvent.hash)
    connection = session.connection()  # plain rows: no ORM work per event

    def row_at(seq: int):
        return connection.execute(select(*columns).where(AuditEvent.seq == seq)).first()

    units_json: dict = {}
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
            seq, occurred_at, actor, action, complaint, units, body, prev_hash, digest = row
            if not (seq == expected and prev_hash == prev and seq not in checkpoints
                    and sha256((prev_hash + body).encode()).hexdigest() == digest
                    and body.startswith(_canonical_head(action, actor, complaint, occurred_at))
                    and (body.endswith(f',"seq":{seq},"units":{_units_json(units, units_json)}}}')
                         or body.endswith(f',"seq":{seq}}}'))):  # from before bodies named units
                problem = _problem(row, expected, prev, checkpoints, row_at)
                if problem is not None:
                    if problem.seq == expected:
                        return VerifyResult(expected - 1, prev, problem)
                    before = row_at(problem.seq - 1)
                    return VerifyResult(problem.seq - 1, before.hash if before else GENESIS, problem)
            prev = digest
            expected += 1
    count = expected - 1
    beyond = [seq for seq in checkpoints if seq > count]
    if beyond:
        return VerifyResult(count, prev, Problem(
            count + 1, "truncated",
            f"a signed checkpoint covers event {max(beyond)} but the chain ends at {count}: "
            "the newest events were removed"))
    if max_age is None:
        return VerifyResult(count, prev)
    gaps = [f"no checkpoint between checkpoint {a.counter} ({iso_utc(a.signed_at)}) and "
            f"checkpoint {b.counter} ({iso_utc(b.signed_at)})"
            for a, b in pairwise(signed.chained) if b.signed_at - a.signed_at > max_age]
    return VerifyResult(count, prev, _stale(session, signed.newest, count, max_age, now or utcnow()),
                        gaps=gaps)


def _stale(session: Session, newest, count: int, max_age: timedelta, now: datetime) -> Problem | None:
    """The worker signs the head on a fixed interval: a newest checkpoint older than
    `max_age` means the newer ones were removed (with the events they signed), or that no
    worker runs. Without any checkpoint, the first event's time counts."""
    minutes = int(max_age.total_seconds() // 60)
    if newest is not None:
        if now - newest.signed_at <= max_age:
            return None
        name = "legacy checkpoint" if newest.counter is None else f"checkpoint {newest.counter}"
        return Problem(newest.seq, "stale", (
            f"the newest signed checkpoint ({name}, seq {newest.seq}) was signed at "
            f"{iso_utc(newest.signed_at)}, more than {minutes} minutes ago (twice the checkpoint "
            "interval): newer checkpoints and the events they signed were removed, or the worker "
            "is not running"))
    first = session.scalar(select(AuditEvent.occurred_at).order_by(AuditEvent.seq).limit(1))
    if first is None or now - first <= max_age:
        return None
    return Problem(count, "stale", (
        f"no signed checkpoint, although events go back to {iso_utc(first)}, more than {minutes} "
        "minutes ago: the checkpoints were removed, or the worker is not running"))


def parse_head(text: str) -> tuple[int, str]:
    """A saved head written SEQ:HASH (as GET /audit/head.json gives seq and hash)."""
    seq, _, digest = text.strip().partition(":")
    digest = digest.lower()
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{text!r} is not SEQ:HASH (a sequence number and a 64-digit hex hash)")
    return int(seq), digest


def check_heads(session: Session, heads) -> Problem | None:
    """Does the live chain still hold each head saved earlier ((seq, hash) pairs)? The first
    that it does not: a truncation (the chain ends before it) or a fork (another event at
    its seq: the history was rewritten)."""
    last = session.scalar(select(func.max(AuditEvent.seq))) or 0
    for seq, digest in sorted(set(heads)):
        found = GENESIS if seq == 0 else session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
        if found is None and seq > last:
            return Problem(seq, "truncated", f"the saved head at seq {seq} ({digest}) is beyond the "
                           f"end of the chain at seq {last}: the newest events were removed")
        if found is None:
            return Problem(seq, "missing", f"the saved head at seq {seq} ({digest}) is not in the "
                           "chain: the event was deleted")
        if found != digest:
            return Problem(seq, "forked", f"event {seq} has hash {found}, the saved head says "
                           f"{digest}: the chain was rewritten since the head was saved")
    return None


# Where an evidence pack keeps its signed checkpoints (evidence/verify_pack.py names the same
# file: it is self-contained on purpose, so it keeps its own copy).
CHECKPOINTS = "audit/checkpoints.jsonl"


def heads_in_pack(path: str, public_key_hex: str) -> list[tuple[int, str]]:
    """The heads an evidence pack carries (its signed checkpoints), each checked against this
    deployment's key; ValueError names the first that is not the deployment's."""
    heads = []
    try:
        with zipfile.ZipFile(path) as pack, pack.open(CHECKPOINTS) as fh:
            lines = fh.read().decode("utf-8").splitlines()
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: no readable {CHECKPOINTS} ({exc})") from None
    for number, raw in enumerate(lines, start=1):
        where = f"{path}: {CHECKPOINTS} line {number}"
        try:
            line = json.loads(raw)
            message = checkpoint_message(line["seq"], line["hash"], line["signed_at"],
                                         line.get("counter"), line.get("prev_checkpoint_hash"))
            if not (isinstance(line["seq"], int) and isinstance(line["hash"], str)
                    and signature_valid(public_key_hex, line["signature"], message)):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError(f"{where}: not a checkpoint signed with this deployment's key") from None
        heads.append((line["seq"], line["hash"]))
    if not heads:
        raise ValueError(f"{path}: {CHECKPOINTS} holds no signed head")
    return heads
