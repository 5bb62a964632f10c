"""The unit of work: what one request, command or job changes, committed or rolled back as one.

Services flush and never commit; they hand what must wait for the outcome to the unit of
work of their session: audit events (appended to the chain just before the commit), email
(delivered after it), callbacks (run after it) and stored files (removed if it rolls back).
The boundary that owns the transaction (the web request, a CLI command, a job) calls
`commit()` once when its work succeeded and `rollback()` otherwise. Session events keep the
object in step with whatever ends a transaction, so a rollback anywhere drops everything
queued in it, and no queued side effect outlives the change that caused it.
"""
from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from functools import partial, wraps
from pathlib import Path
from typing import NoReturn, TypeVar

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from .extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

_units: weakref.WeakKeyDictionary[Session, UnitOfWork] = weakref.WeakKeyDictionary()


class UnitOfWork:
    """Pending side effects of one session's current transaction, and its outcome."""

    def __init__(self, session: Session):
        self.session = session
        self.audit_events: list[tuple] = []  # queued by audit.record, appended before commit
        self.audit_appended: tuple[int, int, str] | None = None  # (first seq, last seq, head hash)
        self._audit_marks: dict[SessionTransaction, int] = {}  # savepoint -> events before it
        self._mail: list = []  # OutboxMessage rows queued in this transaction
        self._files: list[Path] = []
        self._callbacks: list[Callable[[], None]] = []
        self._committed_mail: list[int] = []
        self._committed_callbacks: list[Callable[[], None]] = []
        self.memo: dict = {}  # values read once per session, dropped by whoever changes them
        self.failed = False

    @classmethod
    def of(cls, session: Session | scoped_session) -> UnitOfWork:
        """The unit of work of this session (created with it on first use)."""
        real = session() if isinstance(session, scoped_session) else session
        unit = _units.get(real)
        if unit is None:
            unit = _units[real] = cls(real)
        return unit

    # What services hand over -------------------------------------------------------------

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction has committed; never if it rolls back."""
        self._callbacks.append(callback)

    def discard_on_failure(self, paths) -> None:
        """Remove these files if this transaction rolls back (their rows never existed)."""
        self._files.extend(Path(p) for p in paths)

    def queue_mail(self, message) -> None:
        """Deliver this outbox message once this transaction has committed."""
        self._mail.append(message)

    def take_committed_mail(self) -> list[int]:
        """Ids of the committed messages not yet handed to delivery."""
        ids, self._committed_mail = self._committed_mail, []
        return ids

    # The boundary --------------------------------------------------------------------------

    def fail(self) -> None:
        """Mark the work failed: the boundary rolls back instead of committing."""
        self.failed = True

    def commit(self) -> None:
        """Commit the work, then run what waited for it."""
        self.session.commit()
        self.run_after_commit()

    def rollback(self) -> None:
        """Discard the work and everything queued with it."""
        self.session.rollback()
        self._forget(discard_files=True)

    def finish(self) -> None:
        """End the unit of work as its outcome says: commit unless it failed."""
        if self.failed:
            self.rollback()
        else:
            self.commit()

    def run_after_commit(self) -> None:
        callbacks, self._committed_callbacks = self._committed_callbacks, []
        for callback in callbacks:
            callback()

    # Kept in step by the session's events --------------------------------------------------

    def _committed(self) -> None:
        # Identity keys need no SQL: the session may not emit any while it commits.
        self._committed_mail += [inspect(m).identity[0] for m in self._mail
                                 if inspect(m).identity is not None]
        self._committed_callbacks += self._callbacks
        self._mail, self._callbacks, self._files = [], [], []
        self.audit_events, self._audit_marks = [], {}

    def _forget(self, discard_files: bool) -> None:
        if discard_files:
            for path in self._files:
                path.unlink(missing_ok=True)
        self.audit_events, self.audit_appended, self._audit_marks = [], None, {}
        self._mail, self._callbacks, self._files = [], [], []
        self.failed = False

    def _savepoint_begun(self, transaction: SessionTransaction) -> None:
        self._audit_marks[transaction] = len(self.audit_events)

    def _savepoint_rolled_back(self, transaction: SessionTransaction) -> None:
        """A rolled-back savepoint drops only the audit events recorded inside it."""
        mark = self._audit_marks.pop(transaction, None)
        if mark is not None:
            del self.audit_events[mark:]


def _after_commit(session: Session) -> None:
    unit = _units.get(session)
    if unit is not None:
        unit._committed()


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    unit = _units.get(session)
    if unit is None:
        return
    if previous.nested:
        unit._savepoint_rolled_back(previous)
    else:
        unit._forget(discard_files=True)


def _after_transaction_create(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        UnitOfWork.of(session)._savepoint_begun(transaction)


def install(session_class) -> None:
    """Keep every session's unit of work in step with its transactions (once per class)."""
    if not event.contains(session_class, "after_commit", _after_commit):
        event.listen(session_class, "after_commit", _after_commit)
        event.listen(session_class, "after_soft_rollback", _after_soft_rollback)
        event.listen(session_class, "after_transaction_create", _after_transaction_create)


class Rerender(Exception):
    """Raised by a view that refuses what was sent: its unit of work rolls back, then
    `render()` answers (the form again, with what was typed and why it was refused)."""

    def __init__(self, render: Callable):
        super().__init__("re-render after rollback")
        self.render = render


def rerender(render: Callable, *args, **kwargs) -> NoReturn:
    """Roll back the request's changes and answer with `render(*args, **kwargs)` instead."""
    raise Rerender(partial(render, *args, **kwargs))


def current() -> UnitOfWork:
    """The unit of work of the app's session (the request's, the command's or the job's)."""
    return UnitOfWork.of(db.session)


def run(work: Callable[[], T]) -> T:
    """The one transaction boundary: run `work`, commit if it returns (unless it marked the
    unit of work failed), roll back if it raises. A `Rerender` rolls back and answers with
    its page."""
    unit = current()
    try:
        result = work()
        unit.finish()
    except Rerender as refused:
        abandon()
        return refused.render()
    except BaseException:
        abandon()
        raise
    return result


def abandon() -> None:
    """Roll back after a failure, even when the connection itself is gone (the session is
    then discarded at teardown)."""
    try:
        current().rollback()
    except Exception:  # noqa: BLE001 - the original failure is what gets reported
        log.debug("rollback after a failure failed too", exc_info=True)


def transactional(fn: Callable[..., T]) -> Callable[..., T]:
    """Run each call of `fn` as one unit of work (see `run`)."""

    @wraps(fn)
    def in_unit_of_work(*args, **kwargs):
        return run(lambda: fn(*args, **kwargs))

    in_unit_of_work.in_unit_of_work = True
    return in_unit_of_work


def init_app(app: Flask, deliver_mail: Callable[[list[int]], object]) -> None:
    """Make every view of `app` one unit of work (call once its blueprints are registered):
    a view that returns commits, one that raises rolls back before any error page is drawn,
    and the email it queued is handed to `deliver_mail` (the ids of its committed outbox
    messages; create_app passes jobs.outbox.deliver) once the response is done."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static" and not getattr(view, "in_unit_of_work", False):
            app.view_functions[endpoint] = transactional(view)

    @app.teardown_request
    def _after_the_request(exc):
        unit = _units.get(db.session())
        if unit is None:
            return
        if exc is not None:
            abandon()
            return
        unit.run_after_commit()
        ids = unit.take_committed_mail()
        if ids:
            deliver_mail(ids)
