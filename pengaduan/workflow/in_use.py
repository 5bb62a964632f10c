"""What the database still uses of a workflow: a file that drops a state complaints are in,
a trigger their history records or a clock still running is refused before it serves,
instead of failing later on a page that looks the missing name up."""
from __future__ import annotations

import logging

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Category, Complaint, ComplaintClock, ComplaintEvent
from .current import current_workflow
from .definition import Workflow

log = logging.getLogger(__name__)


def missing_in_use(workflow: Workflow, session) -> list[str]:
    """One sentence per name the database uses and the workflow lacks; empty when it fits.

    A database without the complaint tables yet (before its first upgrade) uses nothing."""
    if not inspect(session.get_bind()).has_table(Complaint.__tablename__):
        return []
    problems = []
    for state, count in session.execute(
            select(Complaint.state, func.count()).group_by(Complaint.state).order_by(Complaint.state)):
        if state not in workflow.states:
            problems.append(f"states: '{state}' is missing, but {count} complaint(s) are in it")
    for trigger, count in session.execute(
            select(ComplaintEvent.trigger, func.count()).where(ComplaintEvent.kind == "transition")
            .group_by(ComplaintEvent.trigger).order_by(ComplaintEvent.trigger)):
        if workflow.transition(trigger) is None:
            problems.append(f"transitions: trigger '{trigger}' is missing, but {count} timeline "
                            "event(s) record it")
    for rule, count in session.execute(
            select(ComplaintClock.rule, func.count()).where(ComplaintClock.stopped_at.is_(None))
            .group_by(ComplaintClock.rule).order_by(ComplaintClock.rule)):
        if rule not in workflow.sla:
            problems.append(f"sla: clock '{rule}' is missing, but {count} complaint(s) have it running")
    return problems


def unknown_categories(workflow: Workflow, session) -> list[str]:
    """One sentence per code a category group names that no category in the database has (a
    typo would quietly leave its complaints out of the steps offered for the group)."""
    named = {code: name for name, group in workflow.category_groups.items() for code in group.categories}
    if not named or not inspect(session.get_bind()).has_table(Category.__tablename__):
        return []
    known = set(session.scalars(select(Category.code).where(Category.code.in_(list(named)))))
    return [f"category_groups.{named[code]}: no category '{code}' in the database; the steps "
            "offered for the group are offered for none of its complaints"
            for code in sorted(set(named) - known)]


def refuse_if_missing(workflow: Workflow, session) -> None:
    """Raise WorkflowMismatch naming every missing name (for start-up)."""
    if problems := missing_in_use(workflow, session):
        raise WorkflowMismatch(workflow.path, problems)


def refuse_to_serve(app, *, database_required: bool = True) -> None:
    """Stop a process of `app` before it serves (SystemExit with the reasons) when the
    workflow in force lacks a state, trigger or running clock the database uses.

    `python run.py` (database_required: it migrates next, which needs the database anyway)
    also stops when the database cannot be asked. gunicorn (gunicorn.conf.py) then starts
    with a warning instead: its workers answer 503 until the database is back, so a web tier
    restarted together with its database comes up with it rather than staying down."""
    with app.app_context():
        try:
            refuse_if_missing(current_workflow(), db.session)
        except WorkflowMismatch as exc:
            raise SystemExit("refusing to start, the workflow file lacks what the database "
                             f"uses:\n{exc}") from None
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            if database_required:
                raise SystemExit("refusing to start, the workflow file could not be checked "
                                 f"against the database: {reason}") from None
            log.warning("starting without checking the workflow file against the database, "
                        "which cannot be reached: %s", reason)
        finally:
            db.session.remove()


class WorkflowMismatch(Exception):
    """The workflow file lacks names the database still uses."""

    def __init__(self, file: str, problems: list[str]):
        super().__init__("\n".join(f"{file}: {problem}" for problem in problems))
        self.file, self.problems = file, problems
