"""Signed checkpoints of the chain head: removing the newest events becomes detectable."""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import AuditCheckpoint, utcnow
from .chain import canonical, head, iso_utc


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


def checkpoint_message(seq: int, digest: str, signed_at: str) -> bytes:
    return canonical({"seq": seq, "hash": digest, "signed_at": signed_at}).encode()


def verify_checkpoint(cp: AuditCheckpoint, public_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(
            bytes.fromhex(cp.signature), checkpoint_message(cp.seq, cp.hash, iso_utc(cp.signed_at))
        )
        return True
    except (InvalidSignature, ValueError):
        return False


def sign_head(session: Session, seq: int, digest: str) -> AuditCheckpoint:
    key = signing_key()
    now = utcnow()
    signature = key.sign(checkpoint_message(seq, digest, iso_utc(now)))
    cp = AuditCheckpoint(seq=seq, hash=digest, signed_at=now, public_key=public_key_hex(key),
                         signature=signature.hex())
    session.add(cp)
    return cp


def checkpoint(session: Session) -> AuditCheckpoint | None:
    """Sign the current head unless it is already signed (the worker calls this regularly)."""
    seq, digest = head(session)
    if seq == 0:
        return None
    latest = session.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1))
    if latest == seq:
        return None
    return sign_head(session, seq, digest)


def checkpoint_if_due(session: Session, first: int, last: int, digest: str) -> None:
    """Sign the head when an append crosses a multiple of PENGADUAN_CHECKPOINT_EVERY."""
    if not has_app_context():
        return
    every = current_app.config.get("PENGADUAN_CHECKPOINT_EVERY") or 0
    if every > 0 and (first - 1) // every != last // every:
        sign_head(session, last, digest)
