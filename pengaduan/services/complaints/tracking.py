"""Tracking codes and PINs: how a citizen without an account finds their complaint again.

A PIN is 10 characters of the code's alphabet (50 random bits), shown as two groups of five.
That space alone keeps guessing hopeless at any rate the server can answer, so a stranger's
wrong guesses never need to lock a code, and its owner is never kept out by them. Receipts
issued before carry a 6-digit PIN (20 bits): those still open their complaint, and only
guesses shaped like one are held to a tight budget per code (http/throttle.py)."""
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
PIN_LENGTH = 10  # 50 random bits, shown as XXXXX-XXXXX
LEGACY_PIN_LENGTH = 6  # receipts issued before: six digits


def new_tracking_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def _canonical(text: str) -> str:
    """Letters and digits only, upper case, with the look-alikes read as the digits they mimic."""
    raw = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
    return raw.translate(str.maketrans("OIL", "011"))


def normalise_code(code: str) -> str:
    """Accept what people type: lower case, spaces, missing dash, O for 0, I/L for 1."""
    raw = _canonical(code)
    return f"{raw[:4]}-{raw[4:]}" if len(raw) == CODE_LENGTH else raw


def new_pin() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(PIN_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_pin(pin: str) -> str:
    """The PIN as it is hashed: grouping, case and look-alikes do not matter."""
    return _canonical(pin or "")


def is_legacy_pin(pin: str) -> bool:
    """Whether a typed PIN has the shape of an old 6-digit one (only those can match one)."""
    raw = normalise_pin(pin)
    return len(raw) == LEGACY_PIN_LENGTH and raw.isdigit()


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
    return f"hmac-sha256${salt}${_pin_digest(salt, normalise_pin(pin))}"


def check_pin(stored: str, pin: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    return scheme == "hmac-sha256" and hmac.compare_digest(digest, _pin_digest(salt, normalise_pin(pin)))


def pin_fingerprint(pin_hash: str) -> str:
    """A short digest of a stored PIN hash: changes whenever the PIN does and says nothing
    about it (the hash is keyed and salted). What a reset link and a browser that opened the
    complaint hold, so that a new PIN ends both."""
    return hashlib.sha256(f"pengaduan.pin:{pin_hash}".encode()).hexdigest()[:16]
