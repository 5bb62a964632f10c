"""The request's unit of work: one commit; the email it queued goes out after the response."""
from __future__ import annotations

from flask import Flask, abort, g

from .. import mail
from ..database import before_writing
from ..errors import Forbidden, InvalidFields
from ..extensions import db
from ..services.attachments import check_uploads


def commit() -> None:
    """Commit everything the services did in this request; queued email is sent later."""
    db.session.commit()
    g.setdefault("outgoing_mail", []).extend(mail.take_queued())


def checked_uploads(files, field: str = "attachments") -> list[tuple[str, bytes, str]]:
    """The request's uploads checked and stripped before it writes anything (its view is
    `reads_first`): decoding takes time, and a write lock held meanwhile would make every
    other write wait. Raises InvalidFields like check_uploads."""
    with before_writing():
        return check_uploads(files, field)


def attempt(change):
    """Run one change and commit it: (result, None), or (None, the InvalidFields refusing it)
    with the session rolled back so the page can be shown again; a refused permission is 403."""
    try:
        result = change()
        commit()
    except InvalidFields as exc:
        db.session.rollback()
        return None, exc
    except Forbidden:
        db.session.rollback()
        abort(403)
    return result, None


def init_app(app: Flask) -> None:
    @app.teardown_request
    def _send_mail(exc):
        ids = g.pop("outgoing_mail", None)
        if ids and exc is None:
            mail.deliver(ids)
