"""Tracking codes and PINs: how a citizen without an account finds their complaint again."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

# Crockford's base32 without look-alikes (no I, L, O, U): easy to read out over the phone.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 40 random bits, shown as XXXX-XXXX


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    """Accept what people type: lower case, spaces, missing dash, O for 0, I/L for 1."""
    raw = "".join(ch for ch in code.upper() if ch.isalnum())
    raw = raw.translate(str.maketrans("OIL", "011"))
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == CODE_LENGTH else raw


def new_pin() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _receipt_key() -> Fernet:
    digest = hashlib.sha256(b"pengaduan receipt:" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_pin(pin: str) -> str:
    """Encrypt a PIN for the browser's session cookie (which is signed, not encrypted)."""
    return _receipt_key().encrypt(pin.encode()).decode()


def unseal_pin(token: str, max_age: int) -> str | None:
    """The PIN sealed at most `max_age` seconds ago, or None."""
    try:
        return _receipt_key().decrypt(token.encode(), ttl=max_age).decode()
    except (InvalidToken, ValueError):
        return None


def _pin_digest(salt: str, pin: str) -> str:
    # Keyed with the deployment secret: a leaked table alone does not give the PINs away,
    # and filing stays fast (a slow password hash would cost every filing ~50 ms).
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{salt}:{pin}".encode(), hashlib.sha256).hexdigest()


def hash_pin(pin: str) -> str:
    salt = secrets.token_hex(8)
    return f"hmac-sha256${salt}${_pin_digest(salt, pin)}"


def check_pin(stored: str, pin: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    return scheme == "hmac-sha256" and hmac.compare_digest(digest, _pin_digest(salt, pin.strip()))
