"""Email: queued in the outbox on the unit of work, delivered only after it commits
(pengaduan.jobs.outbox), so a rolled-back change never notifies anyone."""
from __future__ import annotations

from contextlib import nullcontext

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale

from .extensions import db
from .models import OutboxMessage
from .unit_of_work import UnitOfWork


def queue(recipient: str, subject, template: str, locale: str | None = None, **context) -> OutboxMessage:
    """Render `emails/<template>.txt` and `.html` and put the message in the outbox."""
    # Outside a request (the worker) templates render in one made up for the configured site;
    # their links come from http.links.external_url, never from a request's Host header.
    site = nullcontext() if has_request_context() else \
        current_app.test_request_context(base_url=current_app.config["PENGADUAN_BASE_URL"])
    with site, force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(f"emails/{template}.html", **context)
        subject = str(subject)
    message = OutboxMessage(recipient=recipient, subject=subject, body_text=text, body_html=html)
    db.session.add(message)
    UnitOfWork.of(db.session).queue_mail(message)
    return message
