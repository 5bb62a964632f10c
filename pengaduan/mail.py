"""Email: queued in the outbox on the unit of work, delivered only after it commits
(pengaduan.jobs.outbox), so a rolled-back change never notifies anyone."""
from __future__ import annotations

from email.utils import make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale

from .extensions import db
from .models import Complaint, MailReference, OutboxMessage
from .unit_of_work import UnitOfWork


def queue(recipient: str, subject, template: str, locale: str | None = None, *,
          after_commit: bool = True, **context) -> OutboxMessage:
    """Render `emails/<template>.txt` and `.html` and put the message in the outbox. It is
    sent once the unit of work commits, or with `after_commit=False` by the worker's next
    round (within a minute): the request then never waits for the mail server."""
    # Outside a request (the worker, the sweep) templates render in the application context
    # alone: their links come from http.links.external_url (the configured site), never from
    # a request's Host header. No request is made up for them: ending one would run the web's
    # unit-of-work teardown (delivering mail) in the middle of the caller's transaction.
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
        subject = str(subject)
    message = OutboxMessage(recipient=recipient, subject=subject, body_text=text, body_html=html)
    complaint = context.get("complaint")
    if isinstance(complaint, Complaint) and recipient.strip().lower() == (complaint.complainant_email or "").strip().lower():
        # To a complaint's complainant about it: a reply must name this Message-ID to be
        # added to the complaint (services.complaints.mail_intake), its From alone proves nothing.
        if complaint.id is None:
            db.session.flush()
        message.message_id = make_msgid(domain=loop_id().rpartition("@")[2] or "localhost")
        db.session.add(MailReference(message_id=message.message_id, complaint_id=complaint.id,
                                     recipient=recipient.strip().lower()))
    db.session.add(message)
    if after_commit:
        UnitOfWork.of(db.session).queue_mail(message)
    return message


def our_addresses() -> set[str]:
    """The addresses our mail comes from (lower case): the sender of every message and the
    office mailbox the worker reads. Mail from them is our own, come back."""
    config = current_app.config
    found = {parseaddr(config["MAIL_DEFAULT_SENDER"])[1], config.get("PENGADUAN_IMAP_ADDRESS") or ""}
    return {address.lower() for address in found if "@" in address}


def loop_id() -> str:
    """The X-Loop header every message we send carries: the office mailbox's address, else
    the sender's. Mail naming it in X-Loop has been through us before."""
    config = current_app.config
    return config.get("PENGADUAN_IMAP_ADDRESS") or parseaddr(config["MAIL_DEFAULT_SENDER"])[1]
