"""The officer's queue: a unit's complaints, nearest deadline first, one page at a time.

The order (no deadline last, then deadline, then id) is the `ix_complaints_queue` index's,
and the cursor is a row-value comparison on the same key, so a page of one unit and state
is read straight off the index: it costs the same on page 1 and page 10,000, at a thousand
complaints or a million.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import (Integer, String, and_, column, false, func, literal_column, or_, select, true,
                        tuple_, union_all, values)
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import MAX_ID, Category, Complaint, Unit, User, utcnow
from ...policy import sees_all_units
from ...workflow import current_workflow
from .tracking import normalise_code

PAGE_SIZE = 25
# A tab of finished complaints says "10000+" beyond this: counting a million closed cases on
# every page view costs more than the exact number is worth.
COUNT_CAP = 10_000
# Above this many (unit, state) ranges a page is sorted as a whole instead of merged.
MAX_MERGED_RANGES = 300


@dataclass
class QueueFilter:
    state: str | None = None  # None: every open complaint
    category: str | None = None
    overdue: bool = False
    due_within_days: int | None = None
    mine: bool = False
    unassigned: bool = False
    search: str = ""
    unit: str | None = None  # a unit code, within the units the user may see
    # Complaints from SP4N-LAPOR! with answers not yet posted there (in any state, unless a tab is chosen).
    lapor_unposted: bool = False


@dataclass
class QueuePage:
    items: list[Complaint]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)


def encode_cursor(complaint: Complaint) -> str:
    due = complaint.stage_due_at.isoformat() if complaint.stage_due_at else None
    return base64.urlsafe_b64encode(json.dumps([due, complaint.id]).encode()).decode()


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


def _scope(user: User):
    """Complaints of the units the user works for (every unit for an auditor)."""
    return true() if sees_all_units(user) else Complaint.unit_id.in_(user.unit_ids)


def view_scope(user: User, filters: QueueFilter, now: datetime) -> tuple[list[int], list[str], list]:
    """What a queue view reads, for its pages and its CSV export alike: the unit ids (the
    user's, or the one chosen), the states (the tab, or every open one) and the filters'
    conditions."""
    units = _unit_ids(user, filters.unit)
    states = [filters.state] if filters.state else (
        list(current_workflow().states) if filters.lapor_unposted else _open_states())
    conditions = []
    if filters.category:
        category_id = db.session.scalar(select(Category.id).where(Category.code == filters.category))
        conditions.append(Complaint.category_id == category_id if category_id is not None else false())
    if filters.overdue:
        conditions.append(Complaint.stage_due_at < now)
    if filters.due_within_days is not None:
        conditions.append(Complaint.stage_due_at <= now + timedelta(days=filters.due_within_days))
    if filters.mine:
        conditions.append(Complaint.assignee_id == user.id)
    if filters.unassigned:
        conditions.append(Complaint.assignee_id.is_(None))
    if filters.lapor_unposted:  # an answer closing the complaint is owed to LAPOR! too
        conditions.append(Complaint.lapor_unposted_since.is_not(None))
    text = filters.search.strip()
    if text:
        conditions.append(or_(Complaint.tracking_code == normalise_code(text),
                              Complaint.title.ilike(f"%{_escape_like(text)}%", escape="\\")))
    return units, states, conditions


def queue_page(user: User, filters: QueueFilter, cursor: str | None = None,
               limit: int = PAGE_SIZE, now: datetime | None = None) -> QueuePage:
    now = now or utcnow()
    units, states, conditions = view_scope(user, filters, now)
    text = filters.search.strip()
    no_deadline = Complaint.stage_due_at.is_(None)
    position = decode_cursor(cursor)
    if position is not None:
        due, last_id = position
        if due is None:
            conditions.append(and_(no_deadline, Complaint.id > last_id))
        else:  # (false, due, id) < (true, ...): the rows without a deadline come after
            conditions.append(tuple_(no_deadline, Complaint.stage_due_at, Complaint.id)
                              > tuple_(False, due, last_id))
    order = (no_deadline, Complaint.stage_due_at, Complaint.id)
    loaded = (joinedload(Complaint.category), joinedload(Complaint.assignee), joinedload(Complaint.unit))
    if not text and 1 < len(units) * len(states) <= MAX_MERGED_RANGES:
        # Each (unit, state) range comes off the index already in page order: the page is the
        # head of their merge, instead of a sort of every open complaint of every unit. (A
        # search reads every row of the ranges anyway and finds few: those are sorted.)
        ids = db.session.scalars(_merged_ranges(units, states, conditions, order, limit + 1)).all()
        found = {c.id: c for c in db.session.scalars(
            select(Complaint).options(*loaded).where(Complaint.id.in_(ids))).unique()}
        items = [found[i] for i in ids]
    else:
        items = list(db.session.scalars(
            select(Complaint).options(*loaded)
            .where(Complaint.unit_id.in_(units), Complaint.state.in_(states), *conditions)
            .order_by(*order).limit(limit + 1)).unique())
    next_cursor = encode_cursor(items[limit - 1]) if len(items) > limit else None
    return QueuePage(items[:limit], next_cursor, state_counts(user))


def _merged_ranges(units: list[int], states: list[str], conditions: list, order, limit: int):
    """The ids of the first `limit` complaints, in page order, of every (unit, state) range.

    PostgreSQL takes the ranges as one LATERAL subquery over a VALUES list (planned once,
    merged with a Merge Append); SQLite has no LATERAL, so each range is a UNION ALL member,
    built from plain columns (SQLAlchemy's column proxies for 80 subqueries cost more than
    the query)."""
    head = select(Complaint.id, order[0].label("no_deadline"), Complaint.stage_due_at)
    if db.engine.dialect.name == "postgresql":
        ranges = values(column("unit_id", Integer), column("state", String), name="ranges").data(
            [(unit_id, state) for unit_id in units for state in states])
        per_range = (head.where(Complaint.unit_id == ranges.c.unit_id, Complaint.state == ranges.c.state,
                                *conditions).order_by(*order).limit(limit).lateral("per_range"))
        return (select(per_range.c.id).select_from(ranges).join(per_range, true())
                .order_by(per_range.c.no_deadline, per_range.c.stage_due_at, per_range.c.id).limit(limit))
    members = [select(literal_column("*")).select_from(
        head.where(Complaint.unit_id == unit_id, Complaint.state == state, *conditions)
        .order_by(*order).limit(limit).subquery()) for unit_id in units for state in states]
    merged = union_all(*members).subquery("merged")
    return (select(literal_column("id")).select_from(merged)
            .order_by(literal_column("no_deadline"), literal_column("stage_due_at"), literal_column("id"))
            .limit(limit))


def _unit_ids(user: User, code: str | None) -> list[int]:
    """The units a page reads: the user's (every unit for an auditor), or the one chosen."""
    query = select(Unit.id).order_by(Unit.id)
    if code:
        query = query.where(Unit.code == code.strip().upper())
    if not sees_all_units(user):
        query = query.where(Unit.id.in_(user.unit_ids))
    return list(db.session.scalars(query))


def _open_states() -> list[str]:
    workflow = current_workflow()
    return [name for name in workflow.states if name not in workflow.terminal_states]


def state_counts(user: User) -> dict[str, int]:
    """How many complaints of the user's units are in each state (the tabs): exact for the
    open states, at most COUNT_CAP + 1 for the finished ones."""
    rows = db.session.execute(select(Complaint.state, func.count())
                              .where(_scope(user), Complaint.state.in_(_open_states()))
                              .group_by(Complaint.state))
    counts = {state: count for state, count in rows}
    for state in current_workflow().terminal_states:
        some = select(Complaint.id).where(_scope(user), Complaint.state == state).limit(COUNT_CAP + 1)
        counts[state] = db.session.scalar(select(func.count()).select_from(some.subquery()))
    return counts


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
