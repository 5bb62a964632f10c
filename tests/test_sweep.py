"""The SLA sweep (pengaduan/jobs/sweep.py): the escalation ladder of the staff clocks
(warning, overdue, serious), the complainant clocks (reminder, then expire_info or
auto_close), who is told, the email digests held to office hours, the job lock and the
unique key that keep concurrent sweeps from firing anything twice, the supervisor's
acknowledgement, and the `sla sweep` command (domain.md sections 3-5, design.md).

Time is frozen: services get an explicit `at=` and the sweep an explicit `now=`. Every
expected instant is worked out by hand in Western Indonesian Time (WIB, UTC+7) from the
workflow file (workflows/perpres76.yaml) and the 2026 calendar: November has no holiday;
17 August (Independence Day) and 25 August (the Prophet's Birthday) are days off.

The reference complaint is filed on Monday 2 November 2026 at 10:00 WIB. Its clocks:
- verification, 3 working days: due Thu 5 Nov 23:59:59. Warning at 00:00 of the working day
  before the deadline day (Wed 4 Nov), overdue one second after the deadline (Fri 6 Nov
  00:00), serious once five more working days have ended (6, 9, 10, 11, 12 Nov: Fri 13 Nov
  00:00).
- response, 14 calendar days: due Mon 16 Nov 23:59:59. Warning Fri 13 Nov 00:00, overdue
  Tue 17 Nov 00:00, serious after 17, 18, 19, 20, 23 Nov: Tue 24 Nov 00:00.

Web tests build their data in short `with app.app_context():` blocks and then use fresh
test clients (see the conftest docstring: `ctx`/`world` must not be mixed with requests).
"""
from __future__ import annotations

import json
import re
import threading
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import pengaduan.jobs.sweep as sweep_module
from pages import Page
from pengaduan.jobs.lock import exclusive
from pengaduan.extensions import db
from pengaduan.models import (AuditEvent, Complaint, ComplaintEvent, Escalation, JobLease,
                              Notification, OutboxMessage, User, utcnow)
from pengaduan.policy import Actor
from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint
from pengaduan.services.complaints.casework import assign
from pengaduan.jobs.sweep import LOCK_NAME, sweep

WIB = ZoneInfo("Asia/Jakarta")
WIT = ZoneInfo("Asia/Jayapura")
SECOND = timedelta(seconds=1)
PASSWORD = "correct horse battery"
BOOKKEEPING = {"at", "seconds", "clocks", "emails"}  # report keys that are not firings


def wib(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    """An instant in Western Indonesian Time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=WIB)


FILED = wib(2026, 11, 2, 10)  # Monday
# When each rung of the reference complaint's ladders comes due (see the module docstring).
RUNGS = {
    ("verification", "warning"): wib(2026, 11, 4),
    ("verification", "overdue"): wib(2026, 11, 6),
    ("verification", "serious"): wib(2026, 11, 13),
    ("response", "warning"): wib(2026, 11, 13),
    ("response", "overdue"): wib(2026, 11, 17),
    ("response", "serious"): wib(2026, 11, 24),
}
DUE = {"verification": wib(2026, 11, 5, 23, 59, 59), "response": wib(2026, 11, 16, 23, 59, 59)}
LONG_AFTER = wib(2026, 12, 1, 2)  # Tuesday 02:00: every rung above is past, offices closed

RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
       "title": "Antrean KTP-el", "description": "Sudah tiga minggu menunggu.",
       "privacy": "public", "name": "Budi Hartono", "email": "budi@example.id", "consent": True}
FIELDS = {
    "verify": {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"},
    "request_info": {"message": "Mohon lampirkan nomor registrasi."},
    "provide_info": {"message": "Nomor registrasi 3201-0001."},
    "follow_up": {"response": "Sudah kami proses."},
    "dispute": {"comment": "KTP-el belum saya terima."},
}


# --- helpers: acting and sweeping -------------------------------------------------------

def file_at(at: datetime, **overrides) -> Complaint:
    """File a complaint at `at` (None drops a field of the filing) and commit."""
    raw = {name: value for name, value in {**RAW, **overrides}.items() if value is not None}
    complaint = file_complaint(raw, at=at).complaint
    db.session.commit()
    return complaint


def act(complaint: Complaint, trigger: str, actor: Actor, at: datetime) -> None:
    """Fire a workflow step at `at` with valid fields, and commit."""
    advance(complaint, trigger, actor, at=at, **FIELDS.get(trigger, {}))
    db.session.commit()


def run_sweep(now: datetime, **kwargs) -> dict:
    """One sweep at `now`, which must not be turned away by the job lock."""
    report = sweep(now=now, **kwargs)
    assert "skipped" not in report, report
    assert report["at"] == now.isoformat()
    return report


def firings(report: dict) -> dict:
    """What a sweep report says was fired (levels, reminders, expiries, already_fired)."""
    return {key: value for key, value in report.items() if key not in BOOKKEEPING}


def fired(complaint: Complaint) -> set[tuple[str, int, str]]:
    """(rule, cycle, level) of the complaint's escalation rows; never two for one rung."""
    rows = db.session.execute(select(Escalation.rule, Escalation.cycle, Escalation.level)
                              .where(Escalation.complaint_id == complaint.id)).all()
    assert len(rows) == len(set(rows)), rows
    return {tuple(row) for row in rows}


def events_of(complaint: Complaint, kind: str) -> list[ComplaintEvent]:
    return list(db.session.scalars(select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.kind == kind)
        .order_by(ComplaintEvent.id)))


def audit_of(complaint: Complaint, action: str) -> list[tuple[str, dict]]:
    """(actor, payload) of the complaint's audit events with this action, oldest first."""
    rows = db.session.scalars(select(AuditEvent).where(
        AuditEvent.complaint_code == complaint.tracking_code, AuditEvent.action == action)
        .order_by(AuditEvent.seq))
    return [(row.actor, json.loads(row.body)["payload"]) for row in rows]


def notified(complaint: Complaint, rule: str | None = None) -> dict[tuple[str, str], list[str]]:
    """{(rule, level): sorted emails of the staff told} for the complaint's escalations."""
    rows = db.session.execute(
        select(Notification.data, User.email).join(User, User.id == Notification.user_id)
        .where(Notification.complaint_id == complaint.id, Notification.kind == "escalation"))
    told = defaultdict(list)
    for data, email in rows:
        if rule is None or data["rule"] == rule:
            told[(data["rule"], data["level"])].append(email)
    return {key: sorted(emails) for key, emails in told.items()}


def escalation_notifications() -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == "escalation")
                                   .order_by(Notification.id)))


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def staff(email: str, role: str, *units: str) -> Actor:
    user, _ = create_user(email, role, password=PASSWORD, unit_codes=list(units))
    db.session.commit()
    return Actor.staff(user)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


# --- 1. the ladder: each rung once, at its moment ---------------------------------------

def test_each_rung_fires_once_at_its_moment(world):
    """A sweep one second before a rung fires nothing new, a sweep at its moment fires it,
    and sweeping again fires nothing; both stage clocks climb warning, overdue, serious."""
    complaint = file_at(FILED)
    expected: set = set()
    for moment in sorted(set(RUNGS.values())):
        due_now = {(rule, 1, level) for (rule, level), at in RUNGS.items() if at == moment}
        assert firings(run_sweep(moment - SECOND)) == {}
        assert fired(complaint) == expected
        report = run_sweep(moment)
        expected |= due_now
        assert fired(complaint) == expected
        assert firings(report) == dict(Counter(level for _, _, level in due_now))
        assert firings(run_sweep(moment)) == {}
        assert firings(run_sweep(moment + timedelta(hours=1))) == {}
    assert firings(run_sweep(LONG_AFTER)) == {}
    assert fired(complaint) == {(rule, 1, level) for rule, level in RUNGS}
    rows = db.session.scalars(select(Escalation).where(Escalation.complaint_id == complaint.id))
    assert {(e.rule, e.level): (e.fired_at, e.due_at, e.unit_id) for e in rows} == {
        (rule, level): (at, DUE[rule], world.unit_a.id) for (rule, level), at in RUNGS.items()}
    # The ladders are done: the clocks are never read by a sweep again.
    for rule in DUE:
        clock = complaint.clock(rule)
        assert (clock.next_step, clock.next_check_at, clock.cycle) == (3, None, 1)


def test_each_firing_is_on_the_timeline_in_the_audit_chain_and_with_the_right_people(world):
    """Unassigned complaint of a top-level unit: the warning goes to the unit's officers, the
    overdue to them and its supervisors, the serious to its supervisors (no level above)."""
    officer_a2 = staff("officer.a2@example.id", "officer", "UNIT-A")
    staff("officer.b2@example.id", "officer", "UNIT-B")  # another unit: never told
    complaint = file_at(FILED)
    for moment in sorted(set(RUNGS.values())):
        run_sweep(moment)
    officers = sorted([world.officer_a.user.email, officer_a2.user.email])
    supervisors = [world.supervisor_a.user.email]
    told = {"warning": officers, "overdue": sorted(officers + supervisors), "serious": supervisors}
    assert notified(complaint) == {(rule, level): told[level] for rule, level in RUNGS}

    events = events_of(complaint, "escalation")
    assert len(events) == len(RUNGS)
    escalation_ids = {(e.rule, e.level): e.id for e in db.session.scalars(
        select(Escalation).where(Escalation.complaint_id == complaint.id))}
    for event in events:
        key = (event.data["rule"], event.data["level"])
        assert (event.public, event.actor_role, event.actor_id) == (False, "system", None)
        assert event.occurred_at == RUNGS[key]
        assert event.data["escalation_id"] == escalation_ids[key]
        assert datetime.fromisoformat(event.data["due_at"]) == DUE[key[0]]

    audited = audit_of(complaint, "complaint.escalated")
    assert len(audited) == len(RUNGS)
    ids = {u.email: u.id for u in db.session.scalars(select(User))}
    for actor, payload in audited:
        key = (payload["rule"], payload["level"])
        assert actor == "system"
        assert payload["cycle"] == 1 and payload["escalation_id"] == escalation_ids[key]
        assert sorted(payload["notified"]) == sorted(ids[email] for email in told[key[1]])
    for message in escalation_notifications():
        assert message.email == "pending"
        assert message.created_at == RUNGS[(message.data["rule"], message.data["level"])]


def test_the_resolution_clock_climbs_the_same_ladder_around_holidays(world):
    """Verified Fri 19 Jun 2026: resolution (60 calendar days) is due Tue 18 Aug. Warned at
    the start of Fri 14 Aug (Mon 17 Aug, Independence Day, is off), overdue at Wed 19 Aug
    00:00, serious once 19, 20, 21, 24 and 26 Aug have ended (25 Aug, the Prophet's
    Birthday, is off): Thu 27 Aug 00:00."""
    complaint = file_at(wib(2026, 6, 19, 9))
    act(complaint, "verify", world.officer_a, wib(2026, 6, 19, 10))
    assert complaint.clock("resolution").due_at == wib(2026, 8, 18, 23, 59, 59)
    run_sweep(wib(2026, 8, 1))  # the stage clocks' ladders are all done by now
    for level, moment in (("warning", wib(2026, 8, 14)), ("overdue", wib(2026, 8, 19)),
                          ("serious", wib(2026, 8, 27))):
        assert firings(run_sweep(moment - SECOND)) == {}
        assert firings(run_sweep(moment)) == {level: 1}
    assert {(cycle, level) for rule, cycle, level in fired(complaint) if rule == "resolution"} == {
        (1, "warning"), (1, "overdue"), (1, "serious")}
    officer, supervisor = world.officer_a.user.email, world.supervisor_a.user.email
    assert notified(complaint, "resolution") == {
        ("resolution", "warning"): [officer], ("resolution", "overdue"): [officer, supervisor],
        ("resolution", "serious"): [supervisor]}


def test_escalations_reach_the_assignee_the_unit_and_the_level_above(world):
    """Assigned complaint of a unit under a parent: the handler is the assignee only, and a
    serious delay reaches the parent unit's supervisors (not its officers)."""
    province = create_unit("PROV", "Inspektorat Provinsi")
    create_unit("KAB", "Dinas Kabupaten", parent=province)
    db.session.commit()
    officer = staff("officer.kab@example.id", "officer", "KAB")
    handler = staff("handler.kab@example.id", "officer", "KAB")
    supervisor = staff("supervisor.kab@example.id", "supervisor", "KAB")
    above = staff("supervisor.prov@example.id", "supervisor", "PROV")
    staff("officer.prov@example.id", "officer", "PROV")
    complaint = file_at(FILED, unit="KAB")
    assign(complaint, officer, handler.user.email)
    db.session.commit()
    for level in ("warning", "overdue", "serious"):
        run_sweep(RUNGS[("verification", level)])
    assert notified(complaint, "verification") == {
        ("verification", "warning"): [handler.user.email],
        ("verification", "overdue"): sorted([handler.user.email, supervisor.user.email]),
        ("verification", "serious"): sorted([supervisor.user.email, above.user.email]),
    }
    [escalation] = [e for e in db.session.scalars(select(Escalation)) if e.level == "serious"]
    assert escalation.unit.code == "KAB"  # the case's unit, where it is acknowledged


def test_a_deactivated_assignee_leaves_the_warning_to_the_units_officers(world):
    """The handler is the assignee only while that account is active."""
    colleague = staff("officer.a2@example.id", "officer", "UNIT-A")
    complaint = file_at(FILED)
    assign(complaint, world.officer_a, colleague.user.email)
    colleague.user.active = False
    db.session.commit()
    run_sweep(RUNGS[("verification", "warning")])
    assert notified(complaint, "verification") == {
        ("verification", "warning"): [world.officer_a.user.email]}


def test_rungs_and_digests_follow_the_units_own_timezone(world):
    """A unit in Papua (WIT, UTC+9): its deadline ends at 23:59:59 WIT, two hours before
    Jakarta's, and its staff get their digest at 08:00 WIT while Jakarta's (06:00 WIB) wait."""
    create_unit("PAPUA", "Dinas Papua", timezone="Asia/Jayapura")
    db.session.commit()
    east_staff = {staff("officer.papua@example.id", "officer", "PAPUA").user.email,
                  staff("supervisor.papua@example.id", "supervisor", "PAPUA").user.email}
    east = file_at(datetime(2026, 11, 2, 10, tzinfo=WIT), unit="PAPUA")
    west = file_at(FILED)
    assert east.clock("verification").due_at == datetime(2026, 11, 5, 23, 59, 59, tzinfo=WIT)
    run_sweep(datetime(2026, 11, 4, tzinfo=WIT))
    assert fired(east) == {("verification", 1, "warning")} and fired(west) == set()
    run_sweep(wib(2026, 11, 4))
    assert fired(west) == {("verification", 1, "warning")}

    east_overdue = datetime(2026, 11, 6, tzinfo=WIT)  # Thu 5 Nov 22:00 WIB
    assert firings(run_sweep(east_overdue - SECOND)) == {}
    assert firings(run_sweep(east_overdue)) == {"overdue": 1}
    assert ("verification", 1, "overdue") in fired(east)
    assert firings(run_sweep(wib(2026, 11, 6) - SECOND)) == {}
    assert firings(run_sweep(wib(2026, 11, 6))) == {"overdue": 1}
    assert ("verification", 1, "overdue") in fired(west)

    mails = len(outbox())
    report = run_sweep(datetime(2026, 11, 6, 8, tzinfo=WIT))  # 06:00 WIB
    assert report["emails"] == 2
    assert {m.recipient for m in outbox()[mails:]} == east_staff
    assert {m.email for m in escalation_notifications() if m.complaint_id == west.id} == {"pending"}
    assert run_sweep(wib(2026, 11, 6, 8))["emails"] == 2
    assert {m.email for m in escalation_notifications()} == {"sent"}


# --- 2. downtime ----------------------------------------------------------------------------

def test_after_a_long_downtime_one_sweep_fires_overdue_and_serious_but_no_warning(world):
    """The first sweep in a month fires each past rung once and skips the warnings (the
    deadline has passed); the next sweep fires nothing."""
    complaint = file_at(FILED)
    report = run_sweep(LONG_AFTER)
    assert firings(report) == {"overdue": 2, "serious": 2}
    assert report["clocks"] == 2
    assert fired(complaint) == {(rule, 1, level) for rule in DUE
                                for level in ("overdue", "serious")}
    assert [e.occurred_at for e in events_of(complaint, "escalation")] == [LONG_AFTER] * 4
    assert len(audit_of(complaint, "complaint.escalated")) == 4
    assert all(level != "warning" for _, level in notified(complaint))
    assert {c.rule: c.next_check_at for c in complaint.clocks} == {"verification": None,
                                                                  "response": None}
    again = run_sweep(LONG_AFTER + timedelta(days=1))
    assert firings(again) == {} and "clocks" not in again
    assert len(events_of(complaint, "escalation")) == 4


def test_batches_fire_what_one_sweep_fires(world):
    """A sweep reading one clock at a time fires every due rung exactly once."""
    complaints = [file_at(FILED + timedelta(minutes=i)) for i in range(3)]
    report = run_sweep(LONG_AFTER, batch=1)
    assert firings(report) == {"overdue": 6, "serious": 6}
    for complaint in complaints:
        assert fired(complaint) == {(rule, 1, level) for rule in DUE
                                    for level in ("overdue", "serious")}
    assert count(ComplaintEvent, ComplaintEvent.kind == "escalation") == 12
    assert firings(run_sweep(LONG_AFTER, batch=1)) == {}


# --- 3. stopped, paused and restarted clocks ------------------------------------------------

def test_a_stopped_clock_never_climbs_further(world):
    """Verified on the deadline day after the warning: verification's ladder ends there."""
    complaint = file_at(FILED)
    run_sweep(RUNGS[("verification", "warning")])
    act(complaint, "verify", world.officer_a, wib(2026, 11, 5, 10))
    for moment in sorted(set(RUNGS.values())) + [LONG_AFTER]:
        run_sweep(moment)
    assert {(r, c, lvl) for r, c, lvl in fired(complaint) if r == "verification"} == {
        ("verification", 1, "warning")}
    clock = complaint.clock("verification")
    assert clock.stopped_at == wib(2026, 11, 5, 10) and clock.next_check_at is None


def test_a_clock_filed_and_stopped_before_its_warning_never_escalates(world):
    """Verified the day after filing: verification fires no rung at all."""
    complaint = file_at(FILED)
    act(complaint, "verify", world.officer_a, wib(2026, 11, 3, 10))
    run_sweep(LONG_AFTER)
    assert not any(rule == "verification" for rule, _, _ in fired(complaint))


def test_a_paused_clock_does_not_escalate_until_it_resumes(world):
    """Information requested on Tue 3 Nov: nothing escalates while the complainant is asked.
    Answered on Mon 23 Nov: verification had 1 of 3 working days used, so it is due Wed 25
    Nov, warned at Tue 24 Nov 00:00 and overdue at Thu 26 Nov 00:00."""
    complaint = file_at(FILED)
    act(complaint, "request_info", world.officer_a, wib(2026, 11, 3, 10))
    for moment in (wib(2026, 11, 6, 1), wib(2026, 11, 13, 1), wib(2026, 11, 23, 9)):
        assert firings(run_sweep(moment)) == {}
    assert fired(complaint) == set()
    for rule in DUE:
        clock = complaint.clock(rule)
        assert (clock.due_at, clock.next_check_at) == (None, None)
    act(complaint, "provide_info", Actor.citizen(complaint), wib(2026, 11, 23, 10))
    assert complaint.clock("verification").due_at == wib(2026, 11, 25, 23, 59, 59)
    assert firings(run_sweep(wib(2026, 11, 24) - SECOND)) == {}
    assert firings(run_sweep(wib(2026, 11, 24))) == {"warning": 1}
    assert firings(run_sweep(wib(2026, 11, 26) - SECOND)) == {}
    assert firings(run_sweep(wib(2026, 11, 26))) == {"overdue": 1}
    assert fired(complaint) == {("verification", 1, "warning"), ("verification", 1, "overdue")}


def test_a_restarted_clock_climbs_its_ladder_again_in_a_new_cycle(world):
    """first_follow_up (5 working days from verification on Mon 2 Nov: due Mon 9 Nov) goes
    overdue; the complainant disputes the answer on Thu 12 Nov, which restarts it: due Thu 19
    Nov, warned Wed 18 Nov 00:00, overdue Fri 20 Nov 00:00, in cycle 2."""
    complaint = file_at(wib(2026, 11, 2, 9))
    act(complaint, "verify", world.officer_a, FILED)
    assert firings(run_sweep(wib(2026, 11, 10))) == {"overdue": 1}
    act(complaint, "follow_up", world.officer_a, wib(2026, 11, 11, 10))
    act(complaint, "dispute", Actor.citizen(complaint), wib(2026, 11, 12, 10))
    clock = complaint.clock("first_follow_up")
    assert (clock.cycle, clock.next_step, clock.due_at) == (2, 0, wib(2026, 11, 19, 23, 59, 59))
    assert firings(run_sweep(wib(2026, 11, 18) - SECOND)) == {}
    assert firings(run_sweep(wib(2026, 11, 18))) == {"warning": 1}
    assert firings(run_sweep(wib(2026, 11, 20) - SECOND)) == {}
    assert firings(run_sweep(wib(2026, 11, 20))) == {"overdue": 1}
    assert fired(complaint) == {("first_follow_up", 1, "overdue"),
                                ("first_follow_up", 2, "warning"),
                                ("first_follow_up", 2, "overdue")}
    cycles = [(p["cycle"], p["level"]) for _, p in audit_of(complaint, "complaint.escalated")]
    assert cycles == [(1, "overdue"), (2, "warning"), (2, "overdue")]


# --- 4. the complainant's windows: reminder, then expiry ---------------------------------

WINDOWS = {
    # Asked on Tue 3 Nov: 30 calendar days, due Thu 3 Dec; reminder 5 working days before
    # (Thu 26 Nov 00:00), deemed withdrawn at Fri 4 Dec 00:00.
    "info_window": {
        "steps": [("request_info", wib(2026, 11, 3, 10))],
        "waiting": "awaiting_info", "due": wib(2026, 12, 3, 23, 59, 59),
        "reminder": wib(2026, 11, 26), "expiry": wib(2026, 12, 4),
        "trigger": "expire_info", "reason": "deemed_withdrawn",
        "in_time": ("provide_info", wib(2026, 12, 3, 20)), "after": "received",
    },
    # Answered on Tue 3 Nov: 10 working days, due Tue 17 Nov; reminder 2 working days before
    # (Fri 13 Nov 00:00), closed automatically at Wed 18 Nov 00:00.
    "reply_window": {
        "steps": [("verify", wib(2026, 11, 2, 11)), ("follow_up", wib(2026, 11, 3, 10))],
        "waiting": "followed_up", "due": wib(2026, 11, 17, 23, 59, 59),
        "reminder": wib(2026, 11, 13), "expiry": wib(2026, 11, 18),
        "trigger": "auto_close", "reason": "auto_closed",
        "in_time": ("dispute", wib(2026, 11, 17, 20)), "after": "verified",
    },
}


def waiting_on_complainant(world, window: str, **overrides) -> Complaint:
    """A complaint whose complainant window `window` runs (the officer took the steps)."""
    complaint = file_at(FILED, **overrides)
    for trigger, at in WINDOWS[window]["steps"]:
        act(complaint, trigger, world.officer_a, at)
    clock = complaint.clock(window)
    assert clock.running and clock.due_at == WINDOWS[window]["due"]
    return complaint


@pytest.mark.parametrize("window", WINDOWS)
def test_the_complainant_is_reminded_then_the_window_expires(world, window):
    """A public reminder (and an email) 2 or 5 working days ahead, then the system closes
    the complaint at the moment the window has passed, not a sweep before."""
    spec = WINDOWS[window]
    complaint = waiting_on_complainant(world, window)
    mails = len(outbox())
    assert firings(run_sweep(spec["reminder"] - SECOND)) == {}
    assert firings(run_sweep(spec["reminder"])) == {"reminder": 1}
    [reminder] = events_of(complaint, "reminder")
    assert (reminder.public, reminder.actor_role, reminder.occurred_at) == (
        True, "system", spec["reminder"])
    assert reminder.data["rule"] == window
    [message] = outbox()[mails:]
    assert message.recipient == "budi@example.id"
    assert complaint.tracking_code in message.subject
    assert complaint.tracking_code in message.body_text
    [(actor, payload)] = audit_of(complaint, "complaint.reminded")
    assert actor == "system" and payload["emailed"] is True

    assert firings(run_sweep(spec["expiry"] - SECOND)) == {}
    assert complaint.state == spec["waiting"]
    assert firings(run_sweep(spec["expiry"])) == {spec["trigger"]: 1}
    assert (complaint.state, complaint.closure_reason, complaint.closed_at) == (
        "closed", spec["reason"], spec["expiry"])
    transition = events_of(complaint, "transition")[-1]
    assert (transition.trigger, transition.actor_role, transition.actor_id, transition.public,
            transition.occurred_at) == (spec["trigger"], "system", None, True, spec["expiry"])
    [(actor, payload)] = audit_of(complaint, f"complaint.{spec['trigger']}")
    assert actor == "system"
    assert (payload["to"], payload["closure_reason"]) == ("closed", spec["reason"])
    assert fired(complaint) == {(window, 1, "reminder"), (window, 1, "expiry")}
    assert all(not clock.running for clock in complaint.clocks)
    assert firings(run_sweep(spec["expiry"] + timedelta(days=30))) == {}
    # The reminder, then the email telling the complainant the window closed the complaint.
    assert len(events_of(complaint, "reminder")) == 1 and len(outbox()) == mails + 2


@pytest.mark.parametrize("window", WINDOWS)
def test_no_reminder_email_without_an_email_address(world, window):
    """The reminder is on the public timeline either way; no email is queued without one."""
    complaint = waiting_on_complainant(world, window, email=None)
    mails = len(outbox())
    assert firings(run_sweep(WINDOWS[window]["reminder"])) == {"reminder": 1}
    assert len(events_of(complaint, "reminder")) == 1
    assert len(outbox()) == mails
    [(_, payload)] = audit_of(complaint, "complaint.reminded")
    assert payload["emailed"] is False


@pytest.mark.parametrize("window", WINDOWS)
def test_a_complainant_who_acts_in_time_is_not_closed(world, window):
    """Answering (or disputing) on the last evening stops the window: no expiry fires."""
    spec = WINDOWS[window]
    complaint = waiting_on_complainant(world, window)
    run_sweep(spec["reminder"])
    trigger, at = spec["in_time"]
    act(complaint, trigger, Actor.citizen(complaint), at)
    report = run_sweep(spec["expiry"] + timedelta(days=1))
    assert spec["trigger"] not in report
    assert complaint.state == spec["after"] and complaint.closure_reason is None
    assert (window, 1, "expiry") not in fired(complaint)
    assert audit_of(complaint, f"complaint.{spec['trigger']}") == []


# --- 5. one sweep at a time, and the unique key behind it --------------------------------

def _setup_for_threads(app, complaints: int) -> list[str]:
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_category("GENERAL", "Umum")
        create_user("officer.a@example.id", "officer", password=PASSWORD, unit_codes=["UNIT-A"])
        create_user("supervisor.a@example.id", "supervisor", password=PASSWORD,
                    unit_codes=["UNIT-A"])
        db.session.commit()
        return [file_at(FILED + timedelta(minutes=i)).tracking_code for i in range(complaints)]


def _sweep_in_threads(app, now: datetime, threads: int) -> list[dict]:
    """Start `threads` sweeps at once, each in its own application context."""
    barrier = threading.Barrier(threads)
    reports, errors = [], []

    def work():
        with app.app_context():
            try:
                barrier.wait()
                reports.append(sweep(now=now))
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return reports


def _assert_each_rung_once(app, codes: list[str]) -> None:
    with app.app_context():
        for code in codes:
            complaint = Complaint.by_code(code)
            assert fired(complaint) == {(rule, 1, level) for rule in DUE
                                        for level in ("overdue", "serious")}
            assert len(events_of(complaint, "escalation")) == 4
            assert len(audit_of(complaint, "complaint.escalated")) == 4
            assert notified(complaint) == {
                **{(rule, "overdue"): ["officer.a@example.id", "supervisor.a@example.id"]
                   for rule in DUE},
                **{(rule, "serious"): ["supervisor.a@example.id"] for rule in DUE}}


def test_concurrent_sweeps_fire_everything_exactly_once(app):
    """Several workers sweeping at the same instant (PostgreSQL: an advisory lock; SQLite: a
    lease) add up to one sweep: no duplicate rows, events, notifications or emails."""
    codes = _setup_for_threads(app, complaints=5)
    now = wib(2026, 12, 1, 9)  # Tuesday 09:00: digests go out too
    reports = _sweep_in_threads(app, now, threads=6)
    total = Counter()
    for report in reports:
        if "skipped" not in report:
            total.update({k: v for k, v in report.items() if k not in ("at", "seconds")})
    assert dict(total) == {"overdue": 10, "serious": 10, "clocks": 10, "emails": 2}
    _assert_each_rung_once(app, codes)
    with app.app_context():
        assert sorted(m.recipient for m in outbox()) == ["officer.a@example.id",
                                                         "supervisor.a@example.id"]


def test_without_the_lock_the_unique_key_still_fires_each_rung_once(app, monkeypatch):
    """Two workers that both got past the job lock (PostgreSQL, where they truly overlap)
    still fire each rung once: the loser's inserts conflict and it writes nothing."""
    codes = _setup_for_threads(app, complaints=5)
    with app.app_context():
        if not is_postgres():
            pytest.skip("SQLite serialises writers; the overlap needs PostgreSQL")

    @contextmanager
    def no_lock(engine, name):
        yield type("Lease", (), {"__bool__": lambda self: True, "renew": lambda self: None})()

    monkeypatch.setattr(sweep_module, "exclusive", no_lock)
    reports = _sweep_in_threads(app, LONG_AFTER, threads=4)
    total = Counter()
    for report in reports:
        total.update(firings(report))
    assert (total["overdue"], total["serious"]) == (10, 10)
    _assert_each_rung_once(app, codes)


def test_a_sweep_steps_aside_while_another_holds_the_lock(world):
    """While the job lock is held the sweep does nothing and says so; afterwards it runs."""
    complaint = file_at(FILED)
    with exclusive(db.engine, LOCK_NAME) as lock:
        assert lock
        assert sweep(now=LONG_AFTER) == {"skipped": "another sweep is running"}
        assert fired(complaint) == set()
        db.session.commit()  # end the read before the lease is released (SQLite: one writer)
    assert firings(run_sweep(LONG_AFTER)) == {"overdue": 2, "serious": 2}


@pytest.mark.parametrize("expires_in, runs", [(timedelta(minutes=5), False),
                                              (-timedelta(seconds=1), True)],
                         ids=["live-lease", "expired-lease"])
def test_a_lease_of_a_crashed_worker_is_taken_over_once_expired(world, expires_in, runs):
    """SQLite: a lease left by another process blocks the sweep until it expires; an expired
    one is taken over, and released when the sweep ends."""
    if is_postgres():
        pytest.skip("PostgreSQL uses an advisory lock, released when its holder dies")
    complaint = file_at(FILED)
    db.session.merge(JobLease(name=LOCK_NAME, holder="other-host:4242:dead",
                              expires_at=utcnow() + expires_in))
    db.session.commit()
    report = sweep(now=LONG_AFTER)
    assert ("skipped" not in report) is runs
    assert bool(fired(complaint)) is runs
    lease = db.session.get(JobLease, LOCK_NAME)
    db.session.refresh(lease)
    assert (lease.holder is None) is runs  # a taken-over lease is released at the end


def test_the_database_refuses_a_second_row_for_one_rung(world):
    """Even without any lock, the unique key (clock, cycle, level) refuses a duplicate."""
    complaint = file_at(FILED)
    run_sweep(RUNGS[("verification", "overdue")])
    [first] = db.session.scalars(select(Escalation).where(Escalation.complaint_id == complaint.id))
    columns = {"complaint_id": first.complaint_id, "clock_id": first.clock_id,
               "unit_id": first.unit_id, "rule": first.rule, "level": first.level,
               "due_at": first.due_at, "fired_at": LONG_AFTER}
    db.session.add(Escalation(cycle=first.cycle, **columns))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(Escalation(cycle=first.cycle + 1, **columns))  # a new cycle is a new rung
    db.session.commit()
    assert count(Escalation, Escalation.clock_id == columns["clock_id"]) == 2


def test_a_sweep_working_from_a_stale_clock_fires_nothing_twice(world):
    """A worker that read a clock before another's sweep committed (simulated by rewinding
    the clock) conflicts on every rung already there and writes nothing for them, while the
    new rungs of the same batch fire normally."""
    old = file_at(FILED)
    run_sweep(LONG_AFTER)
    for clock in old.clocks:
        clock.next_step, clock.next_check_at = 0, clock.due_at
    db.session.commit()
    new = file_at(FILED + timedelta(hours=1))
    chain = count(AuditEvent)
    report = run_sweep(LONG_AFTER + timedelta(hours=1))
    assert firings(report) == {"already_fired": 4, "overdue": 2, "serious": 2}
    assert len(events_of(old, "escalation")) == 4 and len(events_of(new, "escalation")) == 4
    assert len(audit_of(old, "complaint.escalated")) == 4
    assert count(AuditEvent) == chain + 4
    assert sum(len(emails) for emails in notified(old).values()) == 6
    assert fired(old) == fired(new)


# --- 6. email digests, in office hours on working days ----------------------------------

DIGEST_CASES = {  # filed, a sweep while the office is closed, the next one while it is open
    "01:00": (FILED, wib(2026, 11, 6, 1), wib(2026, 11, 6, 9)),
    "16:00": (FILED, wib(2026, 11, 6, 16), wib(2026, 11, 9, 8)),
    "saturday": (FILED, wib(2026, 11, 7, 10), wib(2026, 11, 9, 9)),
    "holiday": (wib(2026, 8, 3, 10), wib(2026, 8, 17, 10), wib(2026, 8, 18, 9)),  # 17 Aug
}


@pytest.mark.parametrize("case", DIGEST_CASES)
def test_escalations_are_emailed_as_one_digest_in_office_hours(world, case):
    """Outside office hours (night, after 16:00, weekend, holiday) the escalations wait;
    the first sweep in office hours sends one email per person naming every complaint."""
    filed, closed, opened = DIGEST_CASES[case]
    complaints = [file_at(filed), file_at(filed + timedelta(minutes=5))]
    report = run_sweep(closed)
    assert firings(report) and report["emails"] == 0
    assert outbox() == []
    pending = escalation_notifications()
    assert pending and {m.email for m in pending} == {"pending"}

    report = run_sweep(opened)
    messages = outbox()
    by_user = defaultdict(set)
    for message in escalation_notifications():
        by_user[message.user_id].add(message.complaint.tracking_code)
        assert (message.email, message.emailed_at) == ("sent", opened)
    emails = {db.session.get(User, user_id).email: codes for user_id, codes in by_user.items()}
    assert report["emails"] == len(messages) == len(emails)
    assert sorted(m.recipient for m in messages) == sorted(emails)
    assert set(emails) == {world.officer_a.user.email, world.supervisor_a.user.email}
    for message in messages:
        assert emails[message.recipient] == {c.tracking_code for c in complaints}
        for code in emails[message.recipient]:
            assert code in message.body_text
    later = run_sweep(opened + timedelta(hours=1))
    assert later["emails"] == 0 and len(outbox()) == len(messages)


def test_the_reminder_email_speaks_the_default_language(world):
    """The complainant's reminder is in the deployment's default language, Indonesian
    (BABEL_DEFAULT_LOCALE "id"), like the receipt and every page (the plain-text email
    templates were once left out of the catalogue)."""
    waiting_on_complainant(world, "info_window")
    run_sweep(WINDOWS["info_window"]["reminder"])
    message = outbox()[-1]  # after the request for information's own email
    assert message.subject.startswith("Pengingat")
    for english in ("Reminder about", "The officer asked you for more information",
                    "Open your complaint with its tracking code"):
        assert english not in message.subject + message.body_text, english


def test_the_digest_email_speaks_the_default_language(world):
    """Staff digests are in the default language too, not English around Indonesian labels."""
    file_at(FILED)
    run_sweep(wib(2026, 11, 6, 9))
    messages = outbox()
    assert len(messages) == 2
    for message in messages:
        for english in ("complaint notices", "Complaints that need your attention",
                        "All notifications"):
            assert english not in message.subject + message.body_text, english


# --- 7. the supervisor acknowledges --------------------------------------------------------

@pytest.fixture
def org(app):
    """UNIT-A with an officer and a supervisor, UNIT-B with a supervisor."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_category("GENERAL", "Umum")
        for email, role, unit in (("officer.a@example.id", "officer", "UNIT-A"),
                                  ("supervisor.a@example.id", "supervisor", "UNIT-A"),
                                  ("supervisor.b@example.id", "supervisor", "UNIT-B")):
            create_user(email, role, password=PASSWORD, unit_codes=[unit])
        db.session.commit()


def signed_in(app, email: str):
    """A fresh browser, in English, signed in through the login form."""
    client = app.test_client()
    client.set_cookie("lang", "en")
    token = get_page(client, "/login").token
    response = client.post("/login", data={"csrf_token": token, "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 302
    return client


def get_page(client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.get_data(as_text=True))


def row_of(html: str, code: str) -> str:
    """The overdue review's row of one complaint (up to the next row or the end of the list)."""
    return re.split(r'<li class="late-case"|</ol>', html.split(f'id="late-{code}"', 1)[1], maxsplit=1)[0]


def escalations_of(app, code: str) -> list[tuple[str, bool, str | None]]:
    """(level, acknowledged, by whom) of a complaint's escalations."""
    with app.app_context():
        rows = db.session.scalars(select(Escalation).join(Complaint)
                                  .where(Complaint.tracking_code == code).order_by(Escalation.id))
        return [(e.level, e.acknowledged_at is not None,
                 e.acknowledged_by.email if e.acknowledged_by else None) for e in rows]


def test_supervisor_acknowledges_the_escalations_from_the_overdue_review(app, org):
    """The review lists the escalated case once, each late clock named once with its delay
    (the page counts to now, so past the 13th), the highest rung once, and an Acknowledge
    button; posting it acknowledges every open escalation, on the internal timeline and
    audited."""
    with app.app_context():
        complaint = file_at(FILED)
        code = complaint.tracking_code
        run_sweep(wib(2026, 11, 13))  # verification overdue and serious, response warning
    supervisor = signed_in(app, "supervisor.a@example.id")
    page = get_page(supervisor, "/staff/overdue")
    action = f"/staff/complaints/{code}/acknowledge"
    row = row_of(page.html, code)
    tags = [" ".join(t.split()) for t in re.findall(r'<span class="tag tag-lateness[^"]*">(.*?)</span>', row, re.S)]
    assert len(tags) == 2
    assert re.fullmatch(r"Verification late by \d+ working days", tags[0])
    assert re.fullmatch(r"Written response late by \d+ days", tags[1])
    assert re.findall(r'<span class="tag tag-rung">(.*?)</span>', row) == ["Seriously overdue"]
    assert "Acknowledge 3 escalations" in row and action in page.forms

    response = supervisor.post(action, data=page.forms[action].values)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/overdue")
    escalations = escalations_of(app, code)
    assert len(escalations) == 3
    assert all(acked and by == "supervisor.a@example.id" for _, acked, by in escalations)
    after = get_page(supervisor, "/staff/overdue")
    assert "Escalation acknowledged." in after.html and action not in after.forms
    with app.app_context():
        complaint = Complaint.by_code(code)
        supervisor_user = User.by_email("supervisor.a@example.id")
        [event] = events_of(complaint, "escalation_ack")
        assert (event.public, event.actor_role, event.actor_id) == (
            False, "supervisor", supervisor_user.id)
        assert sorted(event.data["levels"]) == ["overdue", "serious", "warning"]
        [(actor, payload)] = audit_of(complaint, "complaint.escalation_acknowledged")
        assert actor == Actor.staff(supervisor_user).label
        assert sorted(payload["levels"]) == ["overdue", "serious", "warning"]
        assert sorted(payload["escalation_ids"]) == sorted(
            e.id for e in db.session.scalars(select(Escalation)))


def test_only_a_supervisor_of_the_unit_may_acknowledge(app, org):
    """An officer of the unit is refused (403); a supervisor of another unit is told the
    complaint does not exist (404); nothing is acknowledged either way."""
    with app.app_context():
        code = file_at(FILED).tracking_code
        run_sweep(LONG_AFTER)
    action = f"/staff/complaints/{code}/acknowledge"
    officer = signed_in(app, "officer.a@example.id")
    token = get_page(officer, f"/staff/complaints/{code}").token
    assert officer.post(action, data={"csrf_token": token}).status_code == 403
    other = signed_in(app, "supervisor.b@example.id")
    token = get_page(other, "/staff/overdue").token
    assert other.post(action, data={"csrf_token": token}).status_code == 404
    assert [acked for _, acked, _ in escalations_of(app, code)] == [False] * 4
    with app.app_context():
        assert audit_of(Complaint.by_code(code), "complaint.escalation_acknowledged") == []


def test_acknowledging_with_nothing_pending_says_so(app, org):
    """A second acknowledgement (or one before any escalation) changes nothing and explains."""
    with app.app_context():
        code = file_at(FILED).tracking_code
    supervisor = signed_in(app, "supervisor.a@example.id")
    action = f"/staff/complaints/{code}/acknowledge"
    token = get_page(supervisor, f"/staff/complaints/{code}").token
    response = supervisor.post(action, data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    assert "there is no escalation to acknowledge" in response.get_data(as_text=True)
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert events_of(complaint, "escalation_ack") == []
        run_sweep(wib(2026, 11, 6))
    assert supervisor.post(action, data={"csrf_token": token}).status_code == 302
    again = supervisor.post(action, data={"csrf_token": token}, follow_redirects=True)
    assert "there is no escalation to acknowledge" in again.get_data(as_text=True)
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert len(events_of(complaint, "escalation_ack")) == 1
        assert len(audit_of(complaint, "complaint.escalation_acknowledged")) == 1


# --- 8. the command ------------------------------------------------------------------------

def test_sla_sweep_command_prints_one_json_object(app, org, runner, monkeypatch):
    """`flask sla sweep` sweeps now (frozen here at Tue 1 Dec 2026 09:00 WIB) and prints its
    counts as one JSON object; a second run fires nothing."""
    now = wib(2026, 12, 1, 9)
    monkeypatch.setattr(sweep_module, "utcnow", lambda: now)
    with app.app_context():
        code = file_at(FILED).tracking_code
    result = runner.invoke(args=["sla", "sweep"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert isinstance(report, dict)
    assert datetime.fromisoformat(report["at"]) == now
    assert isinstance(report["seconds"], float)
    assert {k: v for k, v in report.items() if k not in ("at", "seconds")} == {
        "overdue": 2, "serious": 2, "clocks": 2, "emails": 2}
    again = json.loads(runner.invoke(args=["sla", "sweep"]).stdout)
    assert {k: v for k, v in again.items() if k not in ("at", "seconds")} == {"emails": 0}
    with app.app_context():
        assert len(fired(Complaint.by_code(code))) == 4
