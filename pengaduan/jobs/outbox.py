"""Email delivery: the outbox sent after the unit of work that queued it committed (right
after the response, or by the worker's retries).

Delivery claims each message with a conditional UPDATE before sending, so the web process and
the worker never send one twice, and talks to the SMTP server outside any database
transaction: like every job it owns its transactions, one per claim and one per outcome.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update

from ..database import read_only
from ..extensions import db
from ..mail import loop_id
from ..models import OutboxMessage, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
STALE_SENDING = timedelta(minutes=10)  # a claim older than this died with its process
HELD_BODY_DAYS = 7  # bodies may hold a PIN: held messages keep them this long at most


def deliver(ids: list[int] | None = None) -> int:
    """Send pending messages (or those named); returns how many were sent. Never raises."""
    try:
        return _deliver(ids)
    except Exception:
        db.session.rollback()
        log.exception("delivering the outbox failed; the worker will retry")
        return 0


def _deliver(ids):
    now = utcnow()
    due = or_(OutboxMessage.status.in_(("pending", "failed")),
              (OutboxMessage.status == "sending") & (OutboxMessage.claimed_at < now - STALE_SENDING))
    query = select(OutboxMessage.id).where(due, OutboxMessage.attempts < MAX_ATTEMPTS)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    with read_only():
        candidates = db.session.scalars(query.order_by(OutboxMessage.id).limit(100)).all()
        db.session.commit()
    sent = 0
    for message_id in candidates:
        if not _claim(message_id, due):
            continue
        message = db.session.get(OutboxMessage, message_id)
        db.session.commit()  # end the read: SMTP must not run inside a transaction
        status, error = _send(message)
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
            status=status, last_error=error, sent_at=utcnow() if status == "sent" else None,
            # a sent message no longer needs its body, which may hold a PIN
            **({"body_text": "", "body_html": None} if status == "sent" else {})))
        db.session.commit()
        sent += status == "sent"
    _forget_old_held_bodies(now)
    return sent


def _claim(message_id: int, due) -> bool:
    result = db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, due)
                                .values(status="sending", claimed_at=utcnow(),
                                        attempts=OutboxMessage.attempts + 1))
    db.session.commit()
    return result.rowcount == 1


def _send(message: OutboxMessage) -> tuple[str, str | None]:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info("mail %s held in the outbox (no MAIL_SERVER configured)", message.id)
        return "held", None
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    # Every message is automatic: out-of-office replies must not answer it (RFC 3834), and
    # the mailbox the worker reads knows it as its own (services.complaints.mail_intake).
    email["Auto-Submitted"] = "auto-generated"
    email["X-Loop"] = loop_id()
    if message.message_id:  # a reply names it to be added to its complaint (MailReference)
        email["Message-ID"] = message.message_id
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config["MAIL_PORT"] == 587:
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail %s failed: %s", message.id, failure_reason(exc))
        return "failed", str(exc)[:1000]
    return "sent", None


def failure_reason(exc: Exception) -> str:
    """What the log says of a failed send: the kind of failure and the server's code, never
    its text, which names the recipient's address (the row's last_error keeps it)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"recipient refused (SMTP {', '.join(map(str, codes))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    return type(exc).__name__


def _forget_old_held_bodies(now) -> None:
    db.session.execute(update(OutboxMessage).where(
        OutboxMessage.status == "held", OutboxMessage.body_text != "",
        OutboxMessage.created_at < now - timedelta(days=HELD_BODY_DAYS),
    ).values(body_text="", body_html=None))
    db.session.commit()
