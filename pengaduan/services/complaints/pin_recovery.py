"""A lost tracking PIN, set anew through a link emailed to the complainant's own address.

Whoever asks names a tracking code, and nothing else: the answer is the same whether the code
exists, has an address or got its emails for today (the view says so in one text), so the
form tells nobody which codes exist nor which complainants left an address. The link is
an itsdangerous token signed with SECRET_KEY over the complaint's id and a fingerprint of
its current PIN hash, with a time limit: setting a new PIN changes the hash, so a link works
once, and any link stops working when the PIN changes for another reason. Only the
complaint's own address ever receives one, in the language she filed in: one link while an
earlier one still works, and at most RESETS_PER_DAY a day (counted from the audit chain, which
records each request without the address). Asking more often changes nothing and gets the
same answer: codes of public complaints are published, and a stranger asking for them must
neither flood the complainant's mailbox nor use up her links.
"""
from __future__ import annotations

import hmac
from datetime import timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select

from ... import audit, mail
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import AuditEvent, Complaint, utcnow
from ...policy import Actor
from . import complainant_mail
from .citizen import set_new_pin
from .tracking import CODE_LENGTH, normalise_code, pin_fingerprint

LINK_MINUTES = 60  # how long an emailed link works
RESETS_PER_DAY = 3  # links one complaint's address gets in 24 hours
REQUESTED = "complaint.pin_reset_requested"
RESET = "complaint.pin_reset"
REPLACED = "complaint.pin_replaced"  # services.complaints.citizen.replace_pin
_SALT = "pengaduan.pin-reset"


def well_formed(code: str) -> bool:
    """Whether `code` has the shape of a tracking code (what the form may say without
    revealing anything)."""
    return len(normalise_code(code or "").replace("-", "")) == CODE_LENGTH


def request_reset(code: str) -> None:
    """Email a link that sets a new PIN to the address of the complaint with this code, when
    it has one, a mail server is configured, no earlier link still works and today's links
    are not used up. Returns nothing: the caller's answer must not depend on which held.

    The message waits in the outbox for the worker (within a minute) instead of being sent
    as this request ends, so the answer takes as long with an email as without one."""
    complaint = Complaint.by_code(normalise_code(code or ""))
    if complaint is None or not complaint.complainant_email or not current_app.config.get("MAIL_SERVER"):
        return
    if _link_still_works(complaint) or _requests_today(complaint) >= RESETS_PER_DAY:
        return
    mail.queue(complaint.complainant_email, _l("A new PIN for complaint %(code)s", code=complaint.tracking_code),
               "pin_reset", locale=complainant_mail.language(complaint), after_commit=False, complaint=complaint,
               token=link_token(complaint), minutes=LINK_MINUTES)
    audit.record(db.session, REQUESTED, actor=Actor.channel("web").label, unit=complaint.unit,
                 complaint=complaint.tracking_code)


def link_token(complaint: Complaint) -> str:
    """What the emailed link carries: the complaint's id and its PIN's fingerprint, signed
    and timed."""
    return _serializer().dumps([complaint.id, _fingerprint(complaint)])


def complaint_for(token: str) -> Complaint | None:
    """The complaint a reset link names, while the link is valid: signed by this deployment,
    younger than LINK_MINUTES, and its PIN unchanged since the link was made."""
    try:
        complaint_id, fingerprint = _serializer().loads(token, max_age=LINK_MINUTES * 60)
    except (BadData, TypeError, ValueError):
        return None
    complaint = db.session.get(Complaint, complaint_id) if isinstance(complaint_id, int) else None
    if complaint is None or not isinstance(fingerprint, str) \
            or not hmac.compare_digest(fingerprint, _fingerprint(complaint)):
        return None
    return complaint


def reset_pin(complaint: Complaint) -> str:
    """A new long PIN for the complaint of a valid link (the old PIN and the link stop
    working), returned once to be shown; only its keyed hash is kept."""
    pin = set_new_pin(complaint)
    audit.record(db.session, RESET, actor=Actor.citizen(complaint).label, unit=complaint.unit,
                 complaint=complaint.tracking_code)
    return pin


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(complaint: Complaint) -> str:
    return pin_fingerprint(complaint.pin_hash)


def _link_still_works(complaint: Complaint) -> bool:
    """Whether the last link sent is younger than LINK_MINUTES and the PIN has not changed
    since (a link sent, then used, lets the complainant ask again at once)."""
    last = db.session.scalar(select(func.max(AuditEvent.occurred_at)).where(
        AuditEvent.complaint_code == complaint.tracking_code, AuditEvent.action == REQUESTED))
    if last is None or last <= utcnow() - timedelta(minutes=LINK_MINUTES):
        return False
    changed = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.complaint_code == complaint.tracking_code, AuditEvent.occurred_at >= last,
        AuditEvent.action.in_((RESET, REPLACED))))
    return not changed


def _requests_today(complaint: Complaint) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.complaint_code == complaint.tracking_code, AuditEvent.action == REQUESTED,
        AuditEvent.occurred_at > utcnow() - timedelta(days=1)))
