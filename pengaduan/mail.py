"""Email: queued in the outbox on the unit of work, delivered only after it commits
(pengaduan.jobs.outbox), so a rolled-back change never notifies anyone."""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale

from .extensions import db
from .models import OutboxMessage
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
    db.session.add(message)
    if after_commit:
        UnitOfWork.of(db.session).queue_mail(message)
    return message
