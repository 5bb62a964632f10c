"""The audit log's part in every commit: just before a session commits, the events queued on
its unit of work join the chain (chain.py), and the head is signed when the append crosses a
checkpoint boundary (checkpoints.py). It sits above both, which otherwise would import each
other."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import unit_of_work
from ..unit_of_work import UnitOfWork
from . import chain
from .checkpoints import checkpoint_if_due


def _before_commit(session: Session) -> None:
    chain.append_pending(session)
    unit = UnitOfWork.of(session)
    appended, unit.audit_appended = unit.audit_appended, None
    if appended:
        checkpoint_if_due(session, *appended)


def install(session_class) -> None:
    """Hook the chain into a Session class's commit (once per class); the unit of work drops
    the queued events of whatever rolls back."""
    unit_of_work.install(session_class)
    if not event.contains(session_class, "before_commit", _before_commit):
        event.listen(session_class, "before_commit", _before_commit)
