"""Staff sign-in: password check, lockout per account and address, password change (the
second step, a code, is two_factor.py).

Every try is a row of `sign_in_attempts`, keyed by a keyed digest of the typed email and the
address it came from, so that an email that names no account is counted exactly like a real
one. Three rules hold a try back (README, "Staff sign-in"):

- five failures for one email from one address in any 15 minutes hold that pair: a stranger
  guessing from her own address does not lock the owner out at another one;
- thirty failures from one address in an hour, whatever the emails, hold that address
  (spraying one password over many accounts);
- fifty failures for one email in 24 hours, from any number of addresses, hold every address
  that failed for it and never signed in to it, while an address with no failure (or one the
  owner signed in from before) may still try.

A held try, an unknown email and a wrong password all run one Argon2 verification, so the
answers take the same time; a held try and an unknown email answer the same words.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, select

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import SignInAttempt, User, utcnow
from ...models import user as user_model
from ...policy import Actor

MIN_PASSWORD = 10
PAIR_FAILURES, PAIR_WINDOW = 5, timedelta(minutes=15)
ADDRESS_FAILURES, ADDRESS_WINDOW = 30, timedelta(hours=1)
ACCOUNT_FAILURES, ACCOUNT_WINDOW = 50, timedelta(hours=24)
RETENTION = timedelta(days=30)
ADDRESS_LENGTH = 45

WRONG = _l("Wrong email or password.")
HELD = _l("Too many failed attempts: this account is locked for a while. "
          "Try again later or ask an administrator.")

_dummy: dict[int, str] = {}


@dataclass(frozen=True)
class SignIn:
    """The outcome of one sign-in try, which is recorded either way: the user, or the refusal
    shown to the person (it says nothing more)."""

    user: User | None
    refusal: str | None = None
    recovered: bool = False  # the second step took a recovery code

    @property
    def needs_code(self) -> bool:
        """The password was right, and the account asks for a code next: not signed in yet."""
        return self.user is not None and self.user.two_factor_enabled and self.refusal is None


def email_digest(email: str | None) -> str:
    """The typed email as the attempts table keys it: normalised like User.by_email, keyed
    with SECRET_KEY so the table does not list which addresses were tried."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, (email or "").strip().lower().encode(), hashlib.sha256).hexdigest()


def _verify(stored: str | None, password: str | None) -> bool:
    """One Argon2 verification, against a hash of a random secret when there is no stored
    hash to check, so every answer costs the same."""
    hasher = user_model._hasher
    if stored is None:
        stored = _dummy.get(id(hasher))
        if stored is None:
            stored = _dummy[id(hasher)] = hasher.hash(secrets.token_urlsafe(32))
    try:
        return hasher.verify(stored, password or "")
    except Exception:  # noqa: BLE001 - a mismatch or a malformed hash is a refusal
        return False


def _count(*conditions) -> tuple[int, datetime | None]:
    return tuple(db.session.execute(
        select(func.count(), func.min(SignInAttempt.attempted_at)).where(*conditions)).one())


def _latest(*conditions) -> datetime | None:
    return db.session.scalar(select(func.max(SignInAttempt.attempted_at)).where(*conditions))


def _hold(digest: str, address: str | None, at: datetime) -> tuple[str, datetime] | None:
    """Which rule holds this try back, and until when; None when it may go ahead."""
    by_email = SignInAttempt.email_digest == digest
    from_here = (SignInAttempt.address.is_(None) if address is None
                 else SignInAttempt.address == address)
    pair = and_(by_email, from_here)
    failed = SignInAttempt.outcome == "failure"
    reset = _latest(by_email, SignInAttempt.outcome == "reset")
    # A right password counts as the owner's, also when the code is still awaited.
    signed_in = _latest(pair, SignInAttempt.outcome.in_(("success", "password_ok")))
    after = [moment for moment in (reset, signed_in) if moment is not None]

    n, oldest = _count(pair, failed, SignInAttempt.attempted_at > max([at - PAIR_WINDOW, *after]))
    if n >= PAIR_FAILURES:
        return "pair", oldest + PAIR_WINDOW
    n, oldest = _count(from_here, failed,
                       SignInAttempt.attempted_at > at - ADDRESS_WINDOW)
    if n >= ADDRESS_FAILURES:
        return "address", oldest + ADDRESS_WINDOW
    since = max([at - ACCOUNT_WINDOW] + ([reset] if reset else []))
    n, oldest = _count(by_email, failed, SignInAttempt.attempted_at > since)
    if n >= ACCOUNT_FAILURES and signed_in is None and _count(
            pair, failed, SignInAttempt.attempted_at > since)[0]:
        return "account", oldest + ACCOUNT_WINDOW
    return None


def authenticate(email: str, password: str, address: str | None = None,
                 at: datetime | None = None) -> SignIn:
    """The active user with this email and password, or the refusal: a result, not an
    exception, because the try itself is a change to keep whatever the outcome.

    Records the try (never the password); flushes, never commits.
    """
    at = at or utcnow()
    address = (address or "")[:ADDRESS_LENGTH] or None
    digest = email_digest(email)
    db.session.execute(delete(SignInAttempt).where(SignInAttempt.attempted_at < at - RETENTION))
    user = User.by_email(email or "")
    held = _hold(digest, address, at)
    usable = user is not None and user.active and held is None
    ok = _verify(user.password_hash if usable else None, password) and usable
    outcome = ("refused" if held else "failure" if not ok
               else "password_ok" if user.two_factor_enabled else "success")
    db.session.add(SignInAttempt(attempted_at=at, email_digest=digest, address=address,
                                 outcome=outcome, user_id=user.id if user else None))
    if held:
        return SignIn(None, str(HELD))
    if not ok:
        db.session.flush()
        now_held = _hold(digest, address, at)
        if now_held and now_held[0] != "address" and user is not None:  # this failure locked it
            audit.record(db.session, "user.locked", actor=Actor.system().label, unit=user.units, payload={
                "email": user.email, "scope": now_held[0], "until": now_held[1].isoformat()})
        return SignIn(None, str(WRONG))
    if not user.two_factor_enabled:  # else signed in only once the code is right
        user.last_login_at = at
    return SignIn(user)


def record_reset(user: User, at: datetime | None = None) -> None:
    """An admin's reset of the password or of the two-step verification: failures (of
    passwords and of codes) before it no longer hold the account anywhere."""
    db.session.add(SignInAttempt(attempted_at=at or utcnow(), email_digest=email_digest(user.email),
                                 user_id=user.id, address=None, outcome="reset"))


def recent_attempts(user: User, limit: int = 50) -> list[SignInAttempt]:
    """The account's latest tries, newest first, for its page in the administration."""
    return db.session.scalars(select(SignInAttempt).where(SignInAttempt.user_id == user.id)
                              .order_by(SignInAttempt.attempted_at.desc(), SignInAttempt.id.desc())
                              .limit(limit)).all()


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    errors = {}
    if not user.check_password(current or ""):
        errors["current"] = _l("is not your current password")
    if len(new or "") < MIN_PASSWORD:
        errors["new"] = _l("must be at least %(n)d characters", n=MIN_PASSWORD)
    elif new == current:
        errors["new"] = _l("must differ from the current password")
    elif new != confirm:
        errors["confirm"] = _l("does not match the new password")
    if errors:
        raise InvalidFields(errors)
    user.set_password(new)
    user.password_change_required = False
    user.end_sessions()
    audit.record(db.session, "user.password_changed", actor=Actor.staff(user).label,
                 unit=user.units,
                 payload={"email": user.email})
