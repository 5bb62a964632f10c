"""The request's unit of work: one commit; the email it queued goes out after the response."""
from __future__ import annotations

from flask import Flask, g

from .. import mail
from ..extensions import db


def commit() -> None:
    """Commit everything the services did in this request; queued email is sent later."""
    db.session.commit()
    g.setdefault("outgoing_mail", []).extend(mail.take_queued())


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _send_mail(exc):
        ids = g.pop("outgoing_mail", None)
        if ids and exc is None:
            mail.deliver(ids)
