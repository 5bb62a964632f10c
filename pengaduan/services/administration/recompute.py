"""Recompute open deadlines after the calendar changed (a new cuti bersama decree, a regional
holiday, a cancelled holiday), each change with an audit event giving the old and new date."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ... import audit
from ...extensions import db
from ...models import Complaint, ComplaintClock, ComplaintEvent, Role, utcnow
from ...policy import Actor
from ...sla.calendar import WorkingCalendar
from ...sla.clocks import refresh_due_dates, reschedule
from ...workflow import current_workflow

BATCH = 1000
# Timezones run from UTC+7 to UTC+9; a day's bounds in UTC are widened to cover them all.
MARGIN = timedelta(days=1)


def recompute_for_day(day: date, actor: Actor, at: datetime | None = None) -> int:
    """Recompute the open clocks whose count may touch `day`; returns how many changed.

    Candidates: running clocks due after the day began that started before it ended (or
    set days aside before a pause, which may include it), and paused clocks (the days they
    counted before pausing may include it)."""
    at = at or utcnow()
    workflow = current_workflow()
    day_start = datetime.combine(day, time(0), tzinfo=timezone.utc) - MARGIN
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc) + MARGIN
    moved, last_id = 0, 0
    while True:
        clocks = db.session.scalars(
            select(ComplaintClock)
            .options(joinedload(ComplaintClock.complaint).joinedload(Complaint.unit))
            .where(ComplaintClock.stopped_at.is_(None), ComplaintClock.id > last_id,
                   or_(ComplaintClock.paused_at.is_not(None),
                       (ComplaintClock.due_at >= day_start)
                       & ((ComplaintClock.counting_from < day_end) | (ComplaintClock.consumed > 0))))
            .order_by(ComplaintClock.id).limit(BATCH)).all()
        for clock in clocks:
            rule = workflow.sla.get(clock.rule)
            if rule is None:
                continue
            old, old_consumed = clock.due_at, clock.consumed
            cal = WorkingCalendar.for_unit(clock.complaint.unit)
            reschedule(clock, rule, cal)
            if (clock.due_at, clock.consumed) == (old, old_consumed):
                continue
            moved += 1
            complaint = clock.complaint
            refresh_due_dates(complaint, workflow)
            data = {"rule": rule.name, "day": day.isoformat(), "calendar_version": cal.version,
                    "old_due_at": old.isoformat() if old else None,
                    "new_due_at": clock.due_at.isoformat() if clock.due_at else None}
            if clock.paused_at is not None:  # no deadline while paused: what it had counted
                data.update(old_consumed=old_consumed, new_consumed=clock.consumed)
            db.session.add(ComplaintEvent(complaint_id=complaint.id, unit_id=complaint.unit_id,
                                          kind="deadline_recomputed", actor_role=Role.SYSTEM,
                                          public=False, occurred_at=at, data=data))
            audit.record(db.session, "sla.recomputed", actor=actor.label, unit=complaint.unit,
                         complaint=complaint.tracking_code, payload=data)
        db.session.flush()
        if len(clocks) < BATCH:
            return moved
        last_id = clocks[-1].id
