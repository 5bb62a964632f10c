"""Email: queued in the outbox inside the unit of work, delivered only after it commits.

A rolled-back change therefore never notifies anyone, and a failed delivery is retried
by the scheduler instead of failing the request.
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from .extensions import db
from .models import OutboxMessage, utcnow

log = logging.getLogger(__name__)
QUEUED_KEY = "pengaduan.mail.queued"
MAX_ATTEMPTS = 5


def queue(recipient: str, subject: str, template: str, locale: str | None = None, **context) -> OutboxMessage:
    """Render `emails/<template>.txt` and `.html` and put the message in the outbox."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
        subject = str(subject)
    message = OutboxMessage(recipient=recipient, subject=subject, body_text=text, body_html=html)
    db.session.add(message)
    db.session.info.setdefault(QUEUED_KEY, []).append(message)
    return message


def deliver_queued() -> None:
    """Send what this session queued; call right after its commit."""
    messages = db.session.info.pop(QUEUED_KEY, [])
    if messages:
        deliver([m.id for m in messages])


def deliver(ids: list[int] | None = None) -> int:
    """Try to send pending (or failed) messages; returns how many were sent."""
    query = select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "failed")),
                                        OutboxMessage.attempts < MAX_ATTEMPTS)
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(ids))
    sent = 0
    for message in db.session.scalars(query.limit(100)):
        sent += _send(message)
    db.session.commit()
    return sent


def _send(message: OutboxMessage) -> int:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        # Kept in the outbox for an administrator; the body may hold a PIN, so it is not logged.
        message.status = "held"
        log.info("mail to %s held in the outbox (no MAIL_SERVER): %s", message.recipient, message.subject)
        return 0
    email = EmailMessage()
    email["From"] = config["MAIL_DEFAULT_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    message.attempts += 1
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            if config["MAIL_PORT"] == 587:
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        message.status, message.last_error = "failed", str(exc)[:1000]
        log.warning("mail to %s failed: %s", message.recipient, exc)
        return 0
    message.status, message.sent_at = "sent", utcnow()
    return 1
