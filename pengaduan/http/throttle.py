"""Limits on guessing a complaint's PIN, shared by every route that checks one (the tracking
form, the API's complaint and its transitions). Only failures count, so a complainant who
knows her PIN is never slowed down by her own visits.

- Failed PINs per address, whatever the codes: 10 a minute, 100 a day. This bounds what one
  source can try; a 10-character PIN (50 bits) is out of reach at any such rate.
- Failed 6-digit PINs per tracking code, from all addresses together: 10 a day. Only receipts
  issued before the longer PINs carry one, and only a guess of that shape can match one, so
  this budget never stands between the owner of a new PIN and her complaint.

The README's security notes give the numbers behind both."""
from __future__ import annotations

from typing import Callable

from flask import g, request

from ..extensions import limiter
from ..services.complaints.tracking import is_legacy_pin, normalise_code

PIN_FAILURES_PER_ADDRESS = "10 per minute;100 per day"
LEGACY_PIN_FAILURES_PER_CODE = "10 per day"


def _code() -> str:
    code = (request.view_args or {}).get("code") or request.form.get("code") or ""
    return "tracking-pin:" + normalise_code(code)


def pin_in_form() -> str:
    """The PIN the tracking form's view compares."""
    return request.form.get("pin") or ""


def pin_in_header() -> str:
    """The PIN the API's views compare."""
    return request.headers.get("X-Tracking-Pin") or ""


def checking_pin() -> None:
    """Called by a view just before it compares a PIN: only such a request can be a failure
    (an expired form or a staff token is never a guess)."""
    g.pin_checked = True


def _pin_failed(response) -> bool:
    """A 'no complaint with this code and PIN' answer to a request whose PIN was compared."""
    return response.status_code == 404 and g.get("pin_checked", False)


def pin_guesses(compared: Callable[[], str], methods: list[str] | None = None,
                exempt_when: Callable[[], bool] | None = None):
    """The per-code budget for 6-digit guesses. `compared` reads the very PIN the view will
    compare (whatever else the request carries), `methods` limits the budget to the requests
    that check a PIN, `exempt_when` names callers that never check one (authenticated staff)."""
    def exempt() -> bool:
        return not is_legacy_pin(compared()) or bool(exempt_when and exempt_when())

    return limiter.shared_limit(LEGACY_PIN_FAILURES_PER_CODE, scope="tracking-pin", key_func=_code,
                                deduct_when=_pin_failed, exempt_when=exempt, methods=methods)


def pin_failures_per_address(methods: list[str] | None = None,
                             exempt_when: Callable[[], bool] | None = None):
    """Failed PINs from one address, whatever the codes: one client sweeping many codes."""
    return limiter.shared_limit(PIN_FAILURES_PER_ADDRESS, scope="tracking-pin-address",
                                deduct_when=_pin_failed, exempt_when=exempt_when, methods=methods)
