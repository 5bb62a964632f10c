"""Limits on guessing a complaint's PIN, shared by every route that checks one (the tracking
form, the API's complaint and transitions): ten failures per tracking code and hour in all,
from whatever addresses they come. Only failures count, so a complainant who knows her PIN
is never slowed down by her own visits."""
from __future__ import annotations

from flask import g, request

from ..extensions import limiter
from ..services.tracking import normalise_code

PIN_GUESSES_PER_CODE = "10 per hour"
PIN_FAILURES_PER_ADDRESS = "10 per minute;100 per day"


def _code() -> str:
    code = (request.view_args or {}).get("code") or request.form.get("code") or ""
    return "tracking-pin:" + normalise_code(code)


def checking_pin() -> None:
    """Called by a view just before it compares a PIN: only such a request can be a failure
    (an expired form or a staff token is never a guess)."""
    g.pin_checked = True


def _pin_failed(response) -> bool:
    """A 'no complaint with this code and PIN' answer to a request whose PIN was compared."""
    return response.status_code == 404 and g.get("pin_checked", False)


def _staff_call() -> bool:
    """A request with a bearer token is staff's (or refused, 401): it never checks a PIN, so
    a code whose PIN is being guessed stays open to its officers' integrations."""
    return "Authorization" in request.headers


def pin_guesses(methods: list[str] | None = None):
    """The per-code budget; `methods` limits it to the requests that check a PIN."""
    return limiter.shared_limit(PIN_GUESSES_PER_CODE, scope="tracking-pin", key_func=_code,
                                deduct_when=_pin_failed, exempt_when=_staff_call, methods=methods)


def pin_failures_per_address(methods: list[str] | None = None):
    """Failed PINs from one address, whatever the codes: one client sweeping many codes."""
    return limiter.shared_limit(PIN_FAILURES_PER_ADDRESS, scope="tracking-pin-address",
                                deduct_when=_pin_failed, exempt_when=_staff_call, methods=methods)
