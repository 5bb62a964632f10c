"""The officer's queue: a unit's complaints, nearest deadline first, one page at a time.

Keyset pagination on (stage_due_at, id) walks the `ix_complaints_queue` index, so a page
costs the same on page 1 and page 10,000, at a thousand complaints or a million.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Category, Complaint, User, utcnow
from ..workflow import current_workflow
from .tracking import normalise_code

PAGE_SIZE = 25


@dataclass
class QueueFilter:
    state: str | None = None  # None: every open complaint
    category: str | None = None
    overdue: bool = False
    due_within_days: int | None = None
    mine: bool = False
    unassigned: bool = False
    search: str = ""


@dataclass
class QueuePage:
    items: list[Complaint]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def encode_cursor(complaint: Complaint) -> str:
    due = complaint.stage_due_at.isoformat() if complaint.stage_due_at else None
    return base64.urlsafe_b64encode(json.dumps([due, complaint.id]).encode()).decode()


MAX_ID = 2**31 - 1


def decode_cursor(cursor: str | None) -> tuple[datetime | None, int] | None:
    """The position a cursor names; a mangled cursor starts from the top instead of failing."""
    if not cursor:
        return None
    try:
        due, last_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(last_id, int) or isinstance(last_id, bool) or not 0 <= last_id <= MAX_ID:
            return None
        if due is None:
            return None, last_id
        moment = datetime.fromisoformat(due)
        if moment.tzinfo is None:
            return None
        return moment.astimezone(timezone.utc), last_id
    except (ValueError, TypeError, OverflowError, binascii.Error):
        return None


def _scope(user: User, unit_ids: set[int] | None = None):
    """Complaints of the units the user works for."""
    return Complaint.unit_id.in_(unit_ids if unit_ids is not None else user.unit_ids)


def queue_page(user: User, filters: QueueFilter, cursor: str | None = None,
               limit: int = PAGE_SIZE, now: datetime | None = None) -> QueuePage:
    workflow = current_workflow()
    now = now or utcnow()
    terminal = [name for name, state in workflow.states.items() if state.terminal]
    conditions = [_scope(user)]
    if filters.state:
        conditions.append(Complaint.state == filters.state)
    else:
        conditions.append(Complaint.state.not_in(terminal))
    if filters.category:
        conditions.append(Complaint.category.has(Category.code == filters.category))
    if filters.overdue:
        conditions.append(Complaint.stage_due_at < now)
    if filters.due_within_days is not None:
        conditions.append(Complaint.stage_due_at <= now + timedelta(days=filters.due_within_days))
    if filters.mine:
        conditions.append(Complaint.assignee_id == user.id)
    if filters.unassigned:
        conditions.append(Complaint.assignee_id.is_(None))
    text = filters.search.strip()
    if text:
        conditions.append(or_(Complaint.tracking_code == normalise_code(text),
                              Complaint.title.ilike(f"%{_escape_like(text)}%", escape="\\")))
    position = decode_cursor(cursor)
    if position is not None:
        due, last_id = position
        if due is None:
            conditions.append(and_(Complaint.stage_due_at.is_(None), Complaint.id > last_id))
        else:
            conditions.append(or_(Complaint.stage_due_at > due,
                                  and_(Complaint.stage_due_at == due, Complaint.id > last_id),
                                  Complaint.stage_due_at.is_(None)))
    query = (select(Complaint).options(joinedload(Complaint.category), joinedload(Complaint.assignee),
                                       joinedload(Complaint.unit))
             .where(*conditions)
             .order_by(Complaint.stage_due_at.is_(None), Complaint.stage_due_at, Complaint.id)
             .limit(limit + 1))
    items = list(db.session.scalars(query).unique())
    next_cursor = encode_cursor(items[limit - 1]) if len(items) > limit else None
    return QueuePage(items[:limit], next_cursor, state_counts(user))


def state_counts(user: User) -> dict[str, int]:
    """How many complaints of the user's units are in each state (the tabs)."""
    rows = db.session.execute(select(Complaint.state, func.count()).where(_scope(user))
                              .group_by(Complaint.state))
    return {state: count for state, count in rows}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
