"""Who calls the API: a staff member with a bearer token, a complainant with the tracking
code and the `X-Tracking-Pin` header, or nobody."""
from __future__ import annotations

from datetime import timedelta

from flask import g, request
from sqlalchemy import select, update

from ..database import writing
from ..errors import Unauthorized
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import ApiToken, Complaint, User, hash_token, utcnow
from ..policy import Actor
from ..services.complaints.citizen import find_for_citizen
from ..http.throttle import checking_pin

TOUCH_EVERY = timedelta(minutes=5)  # last use is recorded, not on every single request


def bearer_user() -> User | None:
    """The staff user of a valid bearer token, None without an Authorization header; an empty,
    malformed, unknown, revoked or deactivated token is refused (401)."""
    if "api_user" in g:
        return g.api_user
    header = request.headers.get("Authorization")
    if header is None:
        g.api_user = None
        return None
    # A header that is there but empty or malformed is a failed sign-in, never "anonymous":
    # it must not open the complainant's way in, nor escape the limits on guessing PINs.
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_l("Use 'Authorization: Bearer <token>'."))
    # Looked up, and marked as used, on connections of their own before the request's unit of
    # work begins: a read-only request must not turn into a writer (on SQLite a read that
    # later writes fails if another request committed in between), and the mark is a short
    # write transaction of its own, taken as one from its start.
    now = utcnow()
    with db.engine.connect() as conn:
        row = conn.execute(select(ApiToken.id, ApiToken.user_id, ApiToken.revoked_at,
                                  ApiToken.last_used_at)
                           .where(ApiToken.token_hash == hash_token(token.strip()))).first()
    if row is not None and row.revoked_at is None and (
            row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY):
        with writing(), db.engine.begin() as conn:
            conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    user = db.session.get(User, row.user_id) if row is not None and row.revoked_at is None else None
    if user is None or not user.active:
        raise Unauthorized(_l("The token is not valid."))
    g.api_user = user
    return user


def authenticated_staff() -> bool:
    """Whether the caller proved to be staff: only such a caller is spared the PIN limits
    (it never checks a PIN); a refused token is not, and is answered 401 by the view."""
    try:
        return bearer_user() is not None
    except Unauthorized:
        return False


def staff_actor() -> Actor:
    """The calling staff member (401 without a token)."""
    user = bearer_user()
    if user is None:
        raise Unauthorized(_l("A bearer token is required."))
    return Actor.staff(user)


def caller_for(code: str) -> tuple[Complaint | None, Actor | None]:
    """The complaint and who asks about it: staff by token, or the complainant by PIN.
    Unknown code and wrong PIN look the same (None, None)."""
    user = bearer_user()
    if user is not None:
        return Complaint.by_code(code), Actor.staff(user)
    pin = request.headers.get("X-Tracking-Pin")
    if pin is None:
        raise Unauthorized(_l("Send a bearer token, or the complaint's PIN in X-Tracking-Pin."))
    checking_pin()
    complaint = find_for_citizen(code, pin)
    return (complaint, Actor.citizen(complaint)) if complaint else (None, None)
