"""The SLA sweep: fire every rung of every clock ladder that has come due, once.

The database is asked only for clocks whose `next_check_at` has come (an indexed range
read), so a sweep costs what is due, not what is stored. Each batch is one transaction:
escalation rows are inserted set-wise with ON CONFLICT DO NOTHING against their unique key,
and only the rows this sweep inserted go on to write timeline and audit events, notify
people or move the complaint. A job lock keeps a second worker out; the unique key keeps
even a second worker that got past it from firing anything twice.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from .. import audit, mail, unit_of_work
from ..errors import DomainError, TriggerNotAllowed
from ..extensions import db
from ..i18n import lazy_gettext as _l
from ..models import Complaint, ComplaintClock, ComplaintEvent, Escalation, Notification, utcnow
from ..policy import Actor
from ..services.complaints import complainant_mail
from ..services.complaints.lifecycle import advance
from ..services.complaints.notifications import notification_rows, recipients, send_digests, staff_by_unit
from ..workflow import current_workflow
from ..sla.calendar import WorkingCalendar
from ..sla.ladder import due_steps
from . import ombudsman
from .lock import exclusive

log = logging.getLogger(__name__)
BATCH = 500
LOCK_NAME = "sla-sweep"
RETRY = timedelta(minutes=5)


def sweep(now: datetime | None = None, batch: int = BATCH) -> dict:
    """One sweep; commits batch by batch and returns what it did. Run it outside any open
    unit of work (it owns its transactions, like a CLI command)."""
    work = unit_of_work.current()
    work.commit()
    started = time.perf_counter()
    counts: Counter = Counter()
    with exclusive(db.engine, LOCK_NAME) as lock:
        if not lock:
            return {"skipped": "another sweep is running"}
        now = now or utcnow()
        seen: set[int] = set()
        while True:
            done = _sweep_batch(now, batch, counts, seen)
            work.commit()
            lock.renew()
            if done < batch:
                break
        counts.update(ombudsman.escalate(now))  # the register's late items, in the same lock
        work.commit()
        counts["emails"] += send_digests(now)
        work.commit()
    report = {"at": now.isoformat(), **{k: counts[k] for k in sorted(counts)},
              "seconds": round(time.perf_counter() - started, 3)}
    log.info("sla sweep %s", report)
    return report


def _row(clock, rule, step, now: datetime) -> dict:
    return {"complaint_id": clock.complaint_id, "clock_id": clock.id,
            "unit_id": clock.complaint.unit_id, "rule": rule.name, "cycle": clock.cycle,
            "level": step.level, "due_at": clock.due_at, "fired_at": now}


def _insert_ignoring_duplicates(rows: list[dict]) -> dict[tuple[int, str], int]:
    """Insert escalation rows, skipping those already there; {(clock_id, level): id} of the
    rows this call inserted."""
    if not rows:
        return {}
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    table = Escalation.__table__
    statement = (dialect.insert(table).on_conflict_do_nothing()
                 .returning(table.c.clock_id, table.c.level, table.c.id))
    # executemany with RETURNING: batched into multi-row INSERTs from one cached statement
    return {(clock_id, level): id_ for clock_id, level, id_ in db.session.execute(statement, rows)}


class _Rows:
    """Timeline events and notifications of one batch, inserted in bulk."""

    def __init__(self):
        self.events: list[dict] = []
        self.notices: list[dict] = []

    def flush(self) -> None:
        if self.events:
            db.session.execute(insert(ComplaintEvent), self.events)
        if self.notices:
            db.session.execute(insert(Notification), self.notices)
        self.events, self.notices = [], []


def _sweep_batch(now: datetime, batch: int, counts: Counter, seen: set[int]) -> int:
    workflow = current_workflow()
    rows = _Rows()
    clocks = db.session.scalars(
        select(ComplaintClock)
        .options(joinedload(ComplaintClock.complaint).joinedload(Complaint.unit),
                 joinedload(ComplaintClock.complaint).joinedload(Complaint.assignee))
        .where(ComplaintClock.next_check_at <= now)
        .order_by(ComplaintClock.next_check_at, ComplaintClock.id).limit(batch)).all()
    calendars: dict[int, WorkingCalendar] = {}
    planned = []
    for clock in clocks:
        counts["clocks"] += 1
        rule = workflow.sla.get(clock.rule)
        if clock.id in seen or rule is None or clock.due_at is None or not clock.running:
            clock.next_check_at = None  # nothing (more) to fire: never read again
            continue
        seen.add(clock.id)
        unit = clock.complaint.unit
        cal = calendars.setdefault(unit.id, WorkingCalendar.for_unit(unit))
        planned += [(clock, rule, step) for step in due_steps(clock, rule, cal, now)]
    if not planned:
        return len(clocks)

    # Expiries are claimed one by one with their workflow step (see _expire); the rest at once.
    fired = _insert_ignoring_duplicates([
        _row(clock, rule, step, now) for clock, rule, step in planned if step.action != "expiry"])
    escalating = [c.complaint for c, _, s in planned if s.action == "escalate"]
    staff = staff_by_unit({c.unit_id for c in escalating} |
                          {c.unit.parent_id for c in escalating if c.unit.parent_id})
    for clock, rule, step in planned:
        if step.action == "expiry":
            rows.flush()  # the workflow service writes its own events in order after ours
            _expire(clock, rule, step, now, counts)
            continue
        escalation_id = fired.get((clock.id, step.level))
        if escalation_id is None:
            counts["already_fired"] += 1
            continue
        if step.action == "escalate":
            _escalate(rows, clock, rule, step, escalation_id, staff, now)
        else:
            _remind(rows, clock, rule, now)
        counts[step.level] += 1
    rows.flush()
    return len(clocks)


def _system_event(rows: _Rows, complaint: Complaint, kind: str, now: datetime, data: dict,
                  public: bool = False) -> None:
    """A timeline event by the system, inserted in bulk with the others of its batch."""
    rows.events.append({
        "complaint_id": complaint.id, "unit_id": complaint.unit_id, "kind": kind,
        "actor_role": Actor.system().role, "public": public, "occurred_at": now, "data": data})


def _escalate(rows: _Rows, clock, rule, step, escalation_id: int, staff, now: datetime) -> None:
    complaint = clock.complaint
    people = recipients(complaint, step.notify, staff)
    data = {"rule": rule.name, "level": step.level, "due_at": clock.due_at.isoformat(),
            "escalation_id": escalation_id}
    _system_event(rows, complaint, "escalation", now, data)
    rows.notices.extend(notification_rows(people, "escalation", complaint, data, at=now))
    audit.record(db.session, "complaint.escalated", actor=Actor.system().label, unit=complaint.unit,
                 complaint=complaint.tracking_code,
                 payload={**data, "cycle": clock.cycle, "notified": [u.id for u in people]})


def _remind(rows: _Rows, clock, rule, now: datetime) -> None:
    """Tell the complainant the time to act runs out soon (by email if they gave one; the
    tracking page shows it either way)."""
    complaint = clock.complaint
    data = {"rule": rule.name, "due_at": clock.due_at.isoformat()}
    _system_event(rows, complaint, "reminder", now, data, public=True)
    emailed = bool(complaint.complainant_email)
    if emailed:
        mail.queue(complaint.complainant_email,
                   _l("Reminder about complaint %(code)s", code=complaint.tracking_code), "reminder",
                   locale=complainant_mail.language(complaint), complaint=complaint, rule=rule, due=clock.due_at,
                   trigger=current_workflow().transition(rule.on_expiry))
    audit.record(db.session, "complaint.reminded", actor=Actor.system().label, unit=complaint.unit,
                 complaint=complaint.tracking_code, payload={**data, "emailed": emailed})


def _expire(clock, rule, step, now: datetime, counts: Counter) -> None:
    """The complainant's time ran out: fire `on_expiry` as the system, through the same
    workflow service as any human step. The expiry's row is claimed in the same savepoint,
    so a step that fails (someone changed the complaint at that moment) is tried again at
    the next sweep, and a step another sweep took is not taken twice."""
    savepoint = db.session.begin_nested()
    try:
        if not _insert_ignoring_duplicates([_row(clock, rule, step, now)]):
            savepoint.commit()
            counts["already_fired"] += 1
            return
        advance(clock.complaint, rule.on_expiry, Actor.system(), at=now)
        savepoint.commit()
        counts[rule.on_expiry] += 1
    except TriggerNotAllowed as exc:  # the complaint moved on meanwhile: nothing to expire
        savepoint.rollback()
        counts["expiry_skipped"] += 1
        log.info("%s not applied to %s: %s", rule.on_expiry, clock.complaint.tracking_code, exc)
    except DomainError as exc:
        savepoint.rollback()
        clock.next_step = rule.steps.index(step)  # the rung is not spent: try again soon
        clock.next_check_at = now + RETRY
        counts["expiry_retried"] += 1
        log.warning("%s on %s failed, retried later: %s", rule.on_expiry,
                    clock.complaint.tracking_code, exc)
