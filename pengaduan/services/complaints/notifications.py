"""Messages to staff inside the app (new complaint in my unit, assigned to me, the complainant
replied, escalation, a supervisor's instruction and its being done) and the email digest that
carries some of them.

A message names the complaint by its code and never carries the complainant's identity.
Emails are held outside office hours and go out in the first sweep of the next working day.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time
from typing import NamedTuple

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import joinedload

from ... import mail
from ...extensions import db
from ...i18n import lazy_ngettext
from ...models import Complaint, ComplaintEvent, Notification, Role, Unit, User, utcnow
from ...models.user import user_units
from ...policy import STAFF_WITH_UNITS, Actor, acts_as_complainant
from ...sla import WorkingCalendar
from ...workflow import current_workflow

EMAILED_KINDS = ("assigned", "escalation", "instruction")
INBOX_PAGE = 50


class StaffMember(NamedTuple):
    """Who may be told something: enough to address a message, without loading accounts."""

    id: int
    role: str


def staff_by_unit(unit_ids) -> dict[int, list[StaffMember]]:
    """Active officers and supervisors of the units, in one query."""
    rows = db.session.execute(
        select(user_units.c.unit_id, User.id, User.role).join(User, User.id == user_units.c.user_id)
        .where(user_units.c.unit_id.in_(set(unit_ids)), User.active.is_(True),
               User.role.in_(STAFF_WITH_UNITS)).order_by(User.id)).all()
    staff: dict[int, list[StaffMember]] = defaultdict(list)
    for unit_id, user_id, role in rows:
        staff[unit_id].append(StaffMember(user_id, role))
    return staff


def _role(users, role):
    return [u for u in users if u.role == role]


def recipients(complaint: Complaint, targets, staff: dict[int, list[User]]) -> list[User]:
    """Who the workflow's notify targets mean for this complaint now."""
    unit_staff = staff.get(complaint.unit_id, [])
    chosen: dict[int, User] = {}
    for target in targets:
        if target == "handler":
            assignee = complaint.assignee
            users = [assignee] if assignee is not None and assignee.active else \
                (_role(unit_staff, Role.OFFICER) or _role(unit_staff, Role.SUPERVISOR))
        elif target == "unit_officers":
            users = _role(unit_staff, Role.OFFICER)
        elif target == "unit_supervisors":
            users = _role(unit_staff, Role.SUPERVISOR)
        elif target == "next_level_supervisors":
            parent = complaint.unit.parent_id
            # At the top of the hierarchy the unit's own supervisors are the last level.
            users = _role(staff.get(parent, []) if parent else unit_staff, Role.SUPERVISOR)
        else:
            raise ValueError(f"unknown notify target {target!r}")
        for user in users:
            chosen.setdefault(user.id, user)
    return list(chosen.values())


def notification_rows(users, kind: str, complaint: Complaint | None, data: dict | None = None,
                      *, at: datetime | None = None, skip: User | None = None) -> list[dict]:
    """Rows for one message per user (not to `skip`, the person who caused it)."""
    return [{"user_id": u.id, "complaint_id": complaint.id if complaint else None, "kind": kind,
             "created_at": at or utcnow(), "data": data or {},
             "email": "pending" if kind in EMAILED_KINDS else None}
            for u in users if skip is None or u.id != skip.id]


def notify(users, kind: str, complaint: Complaint | None, data: dict | None = None, *,
           at: datetime | None = None, skip: User | None = None) -> int:
    """Send one message per user (not to `skip`); returns how many."""
    rows = notification_rows(users, kind, complaint, data, at=at, skip=skip)
    if rows:
        db.session.execute(insert(Notification), rows)
    return len(rows)


def _unit_desk(complaint: Complaint, staff) -> list[User]:
    """Who receives a complaint arriving at its unit: the officers, or with none the supervisors."""
    return recipients(complaint, ["unit_officers"], staff) or \
        recipients(complaint, ["unit_supervisors"], staff)


def after_filing(complaint: Complaint) -> None:
    """A new complaint reaches its unit."""
    notify(_unit_desk(complaint, staff_by_unit([complaint.unit_id])), "new_complaint", complaint,
           at=complaint.received_at)


def after_transition(complaint: Complaint, trigger: str, actor: Actor, values: dict,
                     from_unit: Unit, at: datetime, told=()) -> None:
    """Tell the people a workflow step concerns: the new unit of a disposed complaint, an
    officer it was assigned to, the handler when the complainant acted, and those the step
    names to be told (`notify` in the workflow file: a draft awaiting approval, say)."""
    me = actor.user
    if told:
        notify(recipients(complaint, told, staff_by_unit(
            [unit for unit in (complaint.unit_id, complaint.unit.parent_id) if unit])),
               "step", complaint, {"trigger": trigger}, at=at, skip=me)
    if acts_as_complainant(actor, complaint):
        staff = staff_by_unit([complaint.unit_id])
        notify(recipients(complaint, ["handler"], staff), "citizen_replied", complaint,
               {"trigger": trigger}, at=at)
    if complaint.unit_id != from_unit.id:
        notify(_unit_desk(complaint, staff_by_unit([complaint.unit_id])), "new_complaint",
               complaint, {"from_unit": from_unit.code}, at=at, skip=me)
    assignee = values.get("assignee")
    if assignee is not None:
        after_assignment(complaint, assignee, me, at)


def after_citizen_message(complaint: Complaint, message: ComplaintEvent) -> None:
    """The handler (the assignee, or the unit's desk) hears that the complainant wrote; the
    notice names the complaint, never what she wrote."""
    staff = staff_by_unit([complaint.unit_id])
    notify(recipients(complaint, ["handler"], staff), "citizen_replied", complaint,
           {"message": message.id}, at=message.occurred_at)


def after_assignment(complaint: Complaint, assignee: User | None, by: User | None,
                     at: datetime | None = None) -> None:
    if assignee is not None:
        notify([assignee], "assigned", complaint, at=at, skip=by)


def after_instruction(complaint: Complaint, instruction: ComplaintEvent, by: User) -> None:
    """An instruction reaches the assignee, or with none the unit's officers (its supervisors
    when it has no officer). The message names the case, not what the instruction says."""
    staff = staff_by_unit([complaint.unit_id])
    notify(recipients(complaint, ["handler"], staff), "instruction", complaint,
           {"event_id": instruction.id, "by": by.name}, at=instruction.occurred_at, skip=by)


def after_instruction_done(complaint: Complaint, instruction: ComplaintEvent, by: User) -> None:
    """The supervisor who gave an instruction hears that it was carried out."""
    giver = instruction.actor
    if giver is not None and giver.active:
        notify([giver], "instruction_done", complaint, {"event_id": instruction.id, "by": by.name},
               skip=by)


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def inbox(user: User, before: int | None = None, limit: int = INBOX_PAGE) -> list[Notification]:
    """The user's messages, newest first, a page at a time (keyset on id; ask for one more
    than a page to know whether an older page exists)."""
    query = (select(Notification).options(joinedload(Notification.complaint))
             .where(Notification.user_id == user.id))
    if before is not None:
        query = query.where(Notification.id < before)
    return db.session.scalars(query.order_by(Notification.id.desc()).limit(limit)).all()


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one message (or all) of this user as read; another user's message is untouched."""
    query = update(Notification).where(Notification.user_id == user.id,
                                       Notification.read_at.is_(None))
    if notification_id is not None:
        query = query.where(Notification.id == notification_id)
    return db.session.execute(query.values(read_at=utcnow())).rowcount


def office_hours() -> tuple[time, time]:
    start, end = current_app.config["PENGADUAN_OFFICE_HOURS"].split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def in_office_hours(user: User, now: datetime) -> bool:
    """Now is a working day and within office hours where the user works (first unit)."""
    unit = user.units[0] if user.units else None
    cal = WorkingCalendar.for_unit(unit) if unit else \
        WorkingCalendar.default(current_app.config["PENGADUAN_TIMEZONE"])
    local = now.astimezone(cal.tz)
    opens, closes = office_hours()
    return cal.day_off(local.date()) is None and opens <= local.time() < closes


def send_digests(now: datetime | None = None) -> int:
    """Queue one email per person with the messages not yet mailed, during their office
    hours; returns how many emails were queued. The caller commits."""
    now = now or utcnow()
    waiting = db.session.scalars(select(User).where(User.id.in_(
        select(Notification.user_id).where(Notification.email == "pending").distinct()))).all()
    queued = 0
    for user in waiting:
        mine = (Notification.user_id == user.id) & (Notification.email == "pending")
        if not user.active:  # nobody to send them to
            db.session.execute(update(Notification).where(mine).values(email=None))
            continue
        if not in_office_hours(user, now):
            continue
        # Claim the messages first: of two workers, each mails only what its UPDATE changed.
        claimed = db.session.scalars(update(Notification).where(mine)
                                     .values(email="sent", emailed_at=now)
                                     .returning(Notification.id)).all()
        if not claimed:
            continue
        messages = db.session.scalars(select(Notification).options(
            joinedload(Notification.complaint)).where(Notification.id.in_(claimed))
            .order_by(Notification.id)).all()
        mail.queue(user.email, lazy_ngettext("%(num)d complaint notice", "%(num)d complaint notices",
                                            len(messages)), "digest",
                   user=user, messages=messages, workflow=current_workflow())
        queued += 1
    return queued
