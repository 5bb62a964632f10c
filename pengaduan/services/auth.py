"""Staff sign-in: password check, lockout after repeated failures, password change."""
from __future__ import annotations

from datetime import datetime, timedelta

from .. import audit
from ..errors import DomainError, InvalidFields
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import User, utcnow
from ..models.user import _hasher
from .accounts import MIN_PASSWORD

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
# Verified against when the email is unknown, so both mistakes cost the same time.
_DUMMY_HASH = _hasher.hash("pengaduan-dummy-password")


class LoginFailed(DomainError):
    code, status = "login_failed", 401


def authenticate(email: str, password: str, at: datetime | None = None) -> User:
    """The active user with this email and password; LoginFailed says nothing more."""
    at = at or utcnow()
    user = User.by_email(email or "")
    if user is None or not user.active:
        _hasher_check(_DUMMY_HASH, password)
        raise LoginFailed(str(_l("Wrong email or password.")))
    if user.locked_until is not None and user.locked_until > at:
        raise LoginFailed(str(_l("Too many failed attempts: this account is locked for a while. "
                                 "Try again later or ask an administrator.")))
    if not user.check_password(password or ""):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until, user.failed_logins = at + LOCKOUT, 0
            audit.record(db.session, "user.locked", actor="system",
                         payload={"email": user.email, "until": user.locked_until.isoformat()})
        raise LoginFailed(str(_l("Wrong email or password.")))
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, at
    return user


def _hasher_check(stored: str, password: str) -> None:
    try:
        _hasher.verify(stored, password or "")
    except Exception:  # noqa: BLE001 - any mismatch is the expected outcome here
        pass


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    errors = {}
    if not user.check_password(current or ""):
        errors["current"] = _l("is not your current password")
    if len(new or "") < MIN_PASSWORD:
        errors["new"] = _l("must be at least %(n)d characters", n=MIN_PASSWORD)
    elif new != confirm:
        errors["confirm"] = _l("does not match the new password")
    if errors:
        raise InvalidFields(errors)
    user.set_password(new)
    user.end_sessions()
    audit.record(db.session, "user.password_changed", actor=f"user:{user.id}:{user.email}",
                 payload={"email": user.email})
