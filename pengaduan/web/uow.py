"""The request's unit of work: one commit, then the side effects it queued."""
from __future__ import annotations

from .. import mail
from ..extensions import db


def commit() -> None:
    """Commit everything the services did in this request, then send queued email."""
    db.session.commit()
    mail.deliver_queued()
