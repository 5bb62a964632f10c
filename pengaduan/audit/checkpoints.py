"""Signed checkpoints of the chain head, chained to each other: removing events, or the
checkpoints that signed them, becomes detectable."""
from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditCheckpoint, utcnow
from .chain import GENESIS, canonical, head, iso_utc, lock_chain


def _load_or_create(setting: str) -> Ed25519PrivateKey:
    if setting.lstrip().startswith("-----BEGIN"):
        pem = setting.encode()
    else:
        path = Path(setting)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
        pem = path.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("PENGADUAN_SIGNING_KEY must be an Ed25519 private key")
    return key


def signing_key() -> Ed25519PrivateKey:
    """The deployment's Ed25519 key (PENGADUAN_SIGNING_KEY), loaded once per app."""
    cache = current_app.extensions.setdefault("pengaduan.signing_key", {})
    if "key" not in cache:
        cache["key"] = _load_or_create(current_app.config["PENGADUAN_SIGNING_KEY"])
    return cache["key"]


def public_key_hex(key: Ed25519PrivateKey | None = None) -> str:
    key = key or signing_key()
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw).hex()


def checkpoint_message(seq: int, digest: str, signed_at: str, counter: int | None = None,
                       prev_checkpoint_hash: str | None = None) -> bytes:
    """The bytes a checkpoint signs: its counter, the head (seq and hash), the time and the
    previous checkpoint's hash. Legacy checkpoints (no counter, from before the checkpoints
    were chained) signed only the head and the time."""
    if counter is None:
        return canonical({"seq": seq, "hash": digest, "signed_at": signed_at}).encode()
    return canonical({"counter": counter, "seq": seq, "hash": digest, "signed_at": signed_at,
                      "prev_checkpoint_hash": prev_checkpoint_hash}).encode()


def message_of(cp) -> bytes:
    return checkpoint_message(cp.seq, cp.hash, iso_utc(cp.signed_at), cp.counter, cp.prev_checkpoint_hash)


def checkpoint_hash(message: bytes) -> str:
    """A checkpoint's own hash, which the next checkpoint signs: SHA-256 of its message."""
    return hashlib.sha256(message).hexdigest()


def signature_valid(public_hex: str, signature_hex: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(signature_hex), message)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def verify_checkpoint(cp, public_hex: str) -> bool:
    return signature_valid(public_hex, cp.signature, message_of(cp))


def latest(session: Session) -> AuditCheckpoint | None:
    """The newest chained checkpoint (the published head), or None before the first."""
    return session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.counter.is_not(None))
                          .order_by(AuditCheckpoint.counter.desc()).limit(1))


def sign_head(session: Session, seq: int, digest: str) -> AuditCheckpoint:
    """Sign (seq, digest) as the next checkpoint of the chain. The chain lock keeps two
    signers from taking the same counter (the unique counter and previous hash would refuse
    the second anyway)."""
    lock_chain(session)
    previous = latest(session)
    counter = previous.counter + 1 if previous else 1
    prev = checkpoint_hash(message_of(previous)) if previous else GENESIS
    key = signing_key()
    now = utcnow()
    signature = key.sign(checkpoint_message(seq, digest, iso_utc(now), counter, prev))
    cp = AuditCheckpoint(counter=counter, prev_checkpoint_hash=prev, seq=seq, hash=digest,
                         signed_at=now, public_key=public_key_hex(key), signature=signature.hex())
    session.add(cp)
    session.flush()
    return cp


def checkpoint(session: Session, *, heartbeat: bool = False) -> AuditCheckpoint | None:
    """Sign the current head unless the newest checkpoint already signs it. With `heartbeat`
    (the worker, on its fixed interval) sign it anyway, even an empty chain's: a newest
    checkpoint older than two intervals then means checkpoints were removed (or no worker runs)."""
    lock_chain(session)
    seq, digest = head(session)
    if not heartbeat:
        newest = latest(session)
        if seq == 0 or (newest is not None and newest.seq == seq):
            return None
    return sign_head(session, seq, digest)


def checkpoint_if_due(session: Session, first: int, last: int, digest: str) -> None:
    """Sign the head when an append crosses a multiple of PENGADUAN_CHECKPOINT_EVERY."""
    if not has_app_context():
        return
    every = current_app.config.get("PENGADUAN_CHECKPOINT_EVERY") or 0
    if every > 0 and (first - 1) // every != last // every:
        sign_head(session, last, digest)


def interval() -> timedelta:
    """How often the worker signs the head (PENGADUAN_CHECKPOINT_MINUTES)."""
    return timedelta(minutes=current_app.config.get("PENGADUAN_CHECKPOINT_MINUTES") or 15)


def published_head(session: Session) -> dict | None:
    """The newest signed head as anyone may save it (GET /audit/head.json): `message` is the
    exact text signed, so a third party checks `signature` with `public_key` and reads seq
    and hash from it."""
    cp = latest(session)
    if cp is None:
        return None
    message = message_of(cp)
    return {"seq": cp.seq, "hash": cp.hash, "time": iso_utc(cp.signed_at), "counter": cp.counter,
            "prev_checkpoint_hash": cp.prev_checkpoint_hash, "checkpoint_hash": checkpoint_hash(message),
            "message": message.decode(), "algorithm": "Ed25519", "signature": cp.signature,
            "public_key": public_key_hex()}
