"""Two-step verification for staff: a time-based code (TOTP, RFC 6238) from an authenticator
app after the password, ten single-use recovery codes for a lost phone, and the limits on
guessing a code.

- The secret is stored encrypted (Fernet, with a key derived from SECRET_KEY by HKDF): a copy
  of the database alone (a backup, a replica) then does not give the second factor. Changing
  SECRET_KEY makes the stored secrets unreadable; every user must then enrol again, after an
  admin's reset (the README says to keep the key stable anyway: it also keys PIN hashes).
- A code is accepted for the current 30-second step and one step either side (a phone clock a
  little off); the step of the last accepted code is stored, so a code, once used, is refused
  for the rest of its window, even by a second request racing the first.
- Recovery codes are random (50 bits), shown once and stored as Argon2 hashes; each works once.
- At the second step, five wrong codes for one account within 15 minutes, or twenty within 24
  hours, hold the account's second step back (from any address: whoever types here already
  knows the password). At six digits and three accepted steps that is at most about 0.006 % a
  day of guessing a code; an admin's reset clears the count.
"""
from __future__ import annotations

import base64
import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import RecoveryCode, SignInAttempt, User, utcnow
from ...models import user as user_model
from ...policy import Actor
from .auth import ADDRESS_LENGTH, SignIn, email_digest, record_reset

STEP_SECONDS = 30
DRIFT_STEPS = 1  # accept the step before and after the current one
ISSUER = "Pengaduan"
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
RECOVERY_LENGTH = 10
CODE_FAILURES, CODE_WINDOW = 5, timedelta(minutes=15)
DAILY_CODE_FAILURES, DAY = 20, timedelta(hours=24)

WRONG_CODE = _l("The code is not right, or it was already used. Type the current code from the "
                "authenticator app, or one of your recovery codes.")
HELD_CODE = _l("Too many wrong codes: signing in to this account is held back for a while. "
               "Try again later or ask an administrator.")
UNREADABLE = _l("The two-step verification of this account cannot be read (the server's key "
                "changed). Ask an administrator to reset it.")


def _fernet() -> Fernet:
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=b"pengaduan two-step verification secret").derive(key)
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret: str) -> str:
    """The secret as it is stored (and kept in the session while enrolling)."""
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str | None) -> str | None:
    """The secret, or None when it cannot be read (another SECRET_KEY sealed it)."""
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def new_secret() -> str:
    """A fresh secret (160 bits, base32, as authenticator apps expect)."""
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, title: str) -> str:
    """The enrolment QR code as an SVG element to put into the page (no image request, no
    script, nothing from another site)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                 title=title)


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _digits(typed: str | None) -> str:
    return "".join(ch for ch in (typed or "") if not ch.isspace() and ch != "-")


def _step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def _matching_step(secret: str, typed: str, at: datetime) -> int | None:
    """The time step, within the allowed drift, whose code is `typed`."""
    if len(typed) != 6 or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now = _step(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            found = step  # no early exit: the same work whichever step matches
    return found


def _spend_step(user: User, step: int) -> bool:
    """Mark the step used, unless this or a later one was used already: a conditional UPDATE,
    so two requests carrying the same code cannot both succeed."""
    result = db.session.execute(
        update(User).where(User.id == user.id,
                           or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(user, ["totp_last_step"])
    return True


def check_code(user: User, typed: str, at: datetime | None = None) -> bool:
    """Whether `typed` is a current code of the user's app never accepted before; spends it."""
    secret = unseal(user.totp_secret) if user.two_factor_enabled else None
    step = _matching_step(secret, _digits(typed), at or utcnow()) if secret else None
    return step is not None and _spend_step(user, step)


def _normalise_recovery(typed: str | None) -> str:
    text = _digits(typed).upper().translate(str.maketrans("OIL", "011"))
    return text if len(text) == RECOVERY_LENGTH and all(c in RECOVERY_ALPHABET for c in text) else ""


def _new_recovery_codes(user: User, at: datetime) -> list[str]:
    """Replace the user's recovery codes with ten new ones; returns them, formatted, once."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODES)]
    hasher = user_model._hasher
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hasher.hash(code), created_at=at))
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def _use_recovery_code(user: User, typed: str, at: datetime) -> bool:
    """Spend one unused recovery code equal to `typed` (a conditional UPDATE, so it is
    spent once even when two requests carry it)."""
    code = _normalise_recovery(typed)
    if not code:
        return False
    hasher = user_model._hasher
    for row in db.session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all():
        try:
            matches = hasher.verify(row.code_hash, code)
        except Exception:  # noqa: BLE001 - a mismatch or a malformed hash is not this code
            matches = False
        if matches:
            spent = db.session.execute(
                update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=at).execution_options(synchronize_session=False))
            db.session.expire(row)
            return spent.rowcount == 1
    return False


def enable(user: User, sealed: str | None, typed: str, password: str, *, actor: Actor,
           at: datetime | None = None) -> list[str]:
    """Switch two-step verification on once the user typed a current code of the secret being
    enrolled (`sealed`, as kept in the session) and the account's password (a browser left
    signed in must not let someone else bind the account to their phone); returns the
    recovery codes, to show once."""
    at = at or utcnow()
    secret = unseal(sealed)
    if user.two_factor_enabled:
        raise InvalidFields({"code": _l("two-step verification is already on")})
    if not user.check_password(password or ""):
        raise InvalidFields({"password": _l("is not your password")})
    step = _matching_step(secret, _digits(typed), at) if secret else None
    if step is None:
        raise InvalidFields({"code": _l("is not the code the app shows now; check the app "
                                        "and the time on the phone, then type the new code")})
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = sealed, at, step
    codes = _new_recovery_codes(user, at)
    audit.record(db.session, "user.two_factor_enabled", actor=actor.label, unit=user.units,
                 payload={"email": user.email})
    return codes


def _clear(user: User) -> None:
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def disable(user: User, proof: str, *, actor: Actor) -> None:
    """Switch it off; `proof` is a current code or the account's password (so that a browser
    left signed in is not enough)."""
    if not user.two_factor_enabled:
        return
    if not (check_code(user, proof) or user.check_password(proof or "")):
        raise InvalidFields({"proof": _l("is neither a current code from the app nor your password")})
    _clear(user)
    audit.record(db.session, "user.two_factor_disabled", actor=actor.label, unit=user.units,
                 payload={"email": user.email})


def regenerate_recovery_codes(user: User, typed: str, *, actor: Actor) -> list[str]:
    """Ten new recovery codes for a current code of the app; the old ones stop working."""
    if not user.two_factor_enabled or not check_code(user, typed):
        raise InvalidFields({"code": _l("is not a current code from the app")})
    codes = _new_recovery_codes(user, utcnow())
    audit.record(db.session, "user.recovery_codes_renewed", actor=actor.label, unit=user.units,
                 payload={"email": user.email})
    return codes


def reset(user: User, *, actor: Actor) -> None:
    """An admin's reset (a lost phone): two-step verification is off, the recovery codes are
    gone, every session of the account ends and failed attempts no longer hold it back."""
    _clear(user)
    user.end_sessions()
    record_reset(user)
    audit.record(db.session, "user.two_factor_reset", actor=actor.label, unit=user.units,
                 payload={"email": user.email})


def _code_hold(user: User, at: datetime) -> datetime | None:
    """Until when the account's second step is held back, or None."""
    mine = SignInAttempt.user_id == user.id
    reset_at = db.session.scalar(select(func.max(SignInAttempt.attempted_at)).where(
        mine, SignInAttempt.outcome == "reset"))
    for limit, window in ((CODE_FAILURES, CODE_WINDOW), (DAILY_CODE_FAILURES, DAY)):
        since = max([at - window] + ([reset_at] if reset_at else []))
        n, oldest = db.session.execute(
            select(func.count(), func.min(SignInAttempt.attempted_at)).where(
                mine, SignInAttempt.outcome == "code_failure",
                SignInAttempt.attempted_at > since)).one()
        if n >= limit:
            return oldest + window
    return None


def second_step(user: User, typed: str, address: str | None = None,
                at: datetime | None = None) -> SignIn:
    """The second step of signing in: a current code, or a recovery code. Records the try
    either way (never what was typed); the result says whether a recovery code was spent."""
    at = at or utcnow()
    address = (address or "")[:ADDRESS_LENGTH] or None

    def attempt(outcome: str) -> None:
        db.session.add(SignInAttempt(attempted_at=at, email_digest=email_digest(user.email),
                                     address=address, outcome=outcome, user_id=user.id))

    if _code_hold(user, at) is not None:
        attempt("code_refused")
        return SignIn(None, str(HELD_CODE))
    if user.two_factor_enabled and unseal(user.totp_secret) is None:
        attempt("code_failure")
        return SignIn(None, str(UNREADABLE))
    recovered = False
    ok = check_code(user, typed, at)
    if not ok and not _digits(typed).isdigit():
        ok = recovered = _use_recovery_code(user, typed, at)
    if not ok:
        attempt("code_failure")
        db.session.flush()
        until = _code_hold(user, at)
        if until is not None:
            audit.record(db.session, "user.locked", actor=Actor.system().label, unit=user.units,
                         payload={"email": user.email, "scope": "code", "until": until.isoformat()})
        return SignIn(None, str(WRONG_CODE))
    attempt("success")
    user.last_login_at = at
    if recovered:
        audit.record(db.session, "user.recovery_code_used", actor=Actor.staff(user).label,
                     unit=user.units, payload={"email": user.email, "left": recovery_codes_left(user)})
    return SignIn(user, recovered=recovered)
