"""The working-day calendar and the deadlines it yields (domain.md sections 4-5, design.md
section 4).

1. Counting rules on the national calendar: day 0 is the start day, the deadline is 23:59:59
   local time of the N-th counted day, weekends, holidays and (by default) cuti bersama are
   skipped, calendar-day deadlines on a day off roll forward; per-unit working week,
   cuti-bersama policy and timezone; the hours unit.
2. The deployment's overrides: added days off, removed days off, the calendar version.
3. Pauses: the waiting days do not count.
4. Recomputation: a calendar change moves exactly the open deadlines it affects, audited.
5. The command line (`sla due`, `calendar list|add|remove`) and the admin page /admin/calendar.

Every expected date is written out by hand from the 2026 SKB lists, so that a change in the
counting shows up here.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from sqlalchemy import func, select

from pages import Form, Page
from pengaduan.errors import InvalidFields
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, CalendarOverride, Complaint, ComplaintEvent, User
from pengaduan.policy import Actor
from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint
from pengaduan.services.administration.calendar import add_day_off, forget_overrides, make_working_day
from pengaduan.sla import WorkingCalendar, compute_due, current_overrides

UTC = timezone.utc
WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
PASSWORD = "correct horse battery"
ADMIN = "admin@example.id"
ADMIN_ACTOR = "user:1:admin@example.id"  # the first account created by `org` below
NATIONAL = WorkingCalendar()  # 5-day week, cuti bersama off, WIB, no overrides

# Reasons as the explanation gives them (holidays package names, SKB 2026).
CUTI = " (cuti bersama)"
NYEPI_CUTI, NYEPI = "Day of Silence Joint Holiday" + CUTI, "Day of Silence"
LEBARAN_CUTI = "Eid al-Fitr Joint Holiday" + CUTI
LEBARAN, LEBARAN_2 = "Eid al-Fitr", "Eid al-Fitr Second Day"
CHRISTMAS_CUTI, CHRISTMAS = "Christmas Joint Holiday" + CUTI, "Christmas Day"

PERDA = "Perda Kota No. 7/2026 tentang Hari Jadi Kota"
SKB = "SKB 3 Menteri No. 2/2026 tentang perubahan cuti bersama"
RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
       "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.",
       "privacy": "public", "name": "Budi Hartono", "email": "budi@example.id", "consent": True}


# --- helpers -------------------------------------------------------------------------------

def at(month: int, day: int, hour: int = 9, minute: int = 0, tz=WIB, year: int = 2026) -> datetime:
    """A moment of local time (2026 unless told)."""
    return datetime(year, month, day, hour, minute, tzinfo=tz)


def end_of(month: int, day: int, tz=WIB, year: int = 2026) -> datetime:
    """23:59:59 local time of that day: where deadlines end."""
    return datetime(year, month, day, 23, 59, 59, tzinfo=tz)


def iso(moment: datetime) -> str:
    """A deadline as stored in audit and timeline payloads (UTC ISO 8601)."""
    return moment.astimezone(UTC).isoformat()


def version(revision: int) -> str:
    return f"holidays-{holidays.__version__}+r{revision}"


def due(start: datetime, amount: int, unit: str, cal: WorkingCalendar = NATIONAL):
    """(deadline, explanation) of a clock started at `start`."""
    deadline, explanation = compute_due(start.astimezone(UTC), amount, unit, cal)
    assert deadline.tzinfo is not None and deadline.utcoffset() == timedelta(0)
    return deadline, explanation


def days_off(explanation: dict, key: str = "skipped") -> dict[str, str]:
    return {day: reason for day, reason in explanation[key]}


def working_days_in(first_excluded: date, last: date, cal: WorkingCalendar) -> int:
    """Working days after `first_excluded` up to and including `last`."""
    count, day = 0, first_excluded
    while day < last:
        day += timedelta(days=1)
        count += cal.day_off(day) is None
    return count


def file_at(moment: datetime, unit: str = "UNIT-A") -> Complaint:
    """File a complaint received at `moment` (through the intake service) and commit."""
    complaint = file_complaint(dict(RAW, unit=unit), at=moment).complaint
    db.session.commit()
    return complaint


def clock_dues(complaints: dict[str, Complaint]) -> dict[tuple[str, str], datetime | None]:
    """Every clock's deadline, by (complaint name, rule)."""
    return {(name, clock.rule): clock.due_at
            for name, complaint in complaints.items() for clock in complaint.clocks}


def recomputed_events(complaint: Complaint) -> list[ComplaintEvent]:
    return db.session.scalars(select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == complaint.id,
        ComplaintEvent.kind == "deadline_recomputed").order_by(ComplaintEvent.id)).all()


def audit_payloads(action: str) -> list[tuple[str, str | None, dict]]:
    """(actor, complaint code, payload) of the audit events of one action, oldest first."""
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.seq)).all()
    return [(row.actor, row.complaint_code, json.loads(row.body)["payload"]) for row in rows]


def calendar_state() -> tuple:
    """Everything a refused calendar change must leave alone, read afresh from the database:
    the version, the override rows, the audit chain's length, the timeline events."""
    db.session.rollback()
    forget_overrides()
    rows = db.session.scalars(select(CalendarOverride).order_by(CalendarOverride.day)).all()
    return (current_overrides().version,
            [(r.day, r.kind, r.off, r.reason, r.revision) for r in rows],
            db.session.scalar(select(func.count(AuditEvent.seq))),
            db.session.scalars(select(ComplaintEvent.id)).all())


# --- 1. counting on the national calendar --------------------------------------------------

def test_domain_example_skips_cuti_bersama_nyepi_and_idul_fitri():
    """domain.md: received Tue 17 March 2026, 3 working days: 27 March 23:59:59 WIB, with each
    skipped day and its reason in the explanation."""
    deadline, explanation = due(at(3, 17), 3, "working_days")
    assert deadline == end_of(3, 27) == datetime(2026, 3, 27, 16, 59, 59, tzinfo=UTC)
    assert explanation["counted"] == ["2026-03-25", "2026-03-26", "2026-03-27"]
    assert explanation["skipped"] == [
        ["2026-03-18", NYEPI_CUTI], ["2026-03-19", NYEPI], ["2026-03-20", LEBARAN_CUTI],
        ["2026-03-21", LEBARAN], ["2026-03-22", LEBARAN_2],
        ["2026-03-23", LEBARAN_CUTI], ["2026-03-24", LEBARAN_CUTI]]
    assert explanation["rolled_forward"] == []
    assert (explanation["start"], explanation["timezone"], explanation["due"]) == (
        "2026-03-17T09:00:00+07:00", "Asia/Jakarta", "2026-03-27T23:59:59+07:00")
    assert (explanation["amount"], explanation["unit"], explanation["consumed_before"]) == (
        3, "working_days", 0)
    assert explanation["calendar_version"] == version(0)


def test_domain_example_with_cuti_bersama_counted_as_working_days():
    """A unit that works on cuti bersama counts 18, 20 and 23 March: due 23 March."""
    deadline, explanation = due(at(3, 17), 3, "working_days",
                                WorkingCalendar(cuti_bersama_off=False))
    assert deadline == end_of(3, 23)
    assert explanation["counted"] == ["2026-03-18", "2026-03-20", "2026-03-23"]
    assert explanation["skipped"] == [["2026-03-19", NYEPI], ["2026-03-21", LEBARAN],
                                      ["2026-03-22", LEBARAN_2]]


def test_christmas_2026_skips_cuti_bersama_holiday_and_weekend():
    """From Wed 23 Dec: 24 (cuti bersama), 25 (Christmas), 26-27 (weekend) skipped: 30 Dec."""
    deadline, explanation = due(at(12, 23), 3, "working_days")
    assert deadline == end_of(12, 30)
    assert explanation["counted"] == ["2026-12-28", "2026-12-29", "2026-12-30"]
    assert explanation["skipped"] == [["2026-12-24", CHRISTMAS_CUTI], ["2026-12-25", CHRISTMAS],
                                      ["2026-12-26", "weekend"], ["2026-12-27", "weekend"]]


def test_counting_crosses_into_the_next_year():
    """From Thu 31 Dec 2026: New Year, a weekend and Isra' Mi'raj (5 Jan 2027) skipped: 7 Jan."""
    deadline, explanation = due(at(12, 31), 3, "working_days")
    assert deadline == end_of(1, 7, year=2027)
    assert explanation["counted"] == ["2027-01-04", "2027-01-06", "2027-01-07"]
    assert [day for day, _ in explanation["skipped"]] == [
        "2027-01-01", "2027-01-02", "2027-01-03", "2027-01-05"]


@pytest.mark.parametrize("start, deadline, counted", [
    (at(8, 17), end_of(8, 20), ["2026-08-18", "2026-08-19", "2026-08-20"]),
    (at(12, 25, 10), end_of(12, 30), ["2026-12-28", "2026-12-29", "2026-12-30"]),
    (at(8, 22, 10), end_of(8, 27), ["2026-08-24", "2026-08-26", "2026-08-27"]),
    (at(12, 27, 20), end_of(12, 30), ["2026-12-28", "2026-12-29", "2026-12-30"]),
], ids=["independence-day", "christmas-day", "saturday-before-a-holiday", "sunday"])
def test_a_start_on_a_day_off_is_still_day_0(start, deadline, counted):
    """A complaint received on a holiday or a weekend counts from the next working day; the
    day it arrived is day 0 whatever it is (Prophet's Birthday, Tue 25 Aug, is skipped)."""
    got, explanation = due(start, 3, "working_days")
    assert got == deadline
    assert explanation["counted"] == counted


@pytest.mark.parametrize("start, cal, deadline, rolled", [
    (at(12, 11), NATIONAL, end_of(12, 28),
     [["2026-12-25", CHRISTMAS], ["2026-12-26", "weekend"], ["2026-12-27", "weekend"]]),
    (at(12, 10), NATIONAL, end_of(12, 28),
     [["2026-12-24", CHRISTMAS_CUTI], ["2026-12-25", CHRISTMAS], ["2026-12-26", "weekend"],
      ["2026-12-27", "weekend"]]),
    (at(12, 10), WorkingCalendar(cuti_bersama_off=False), end_of(12, 24), []),
    (at(1, 3), NATIONAL, end_of(1, 19), [["2026-01-17", "weekend"], ["2026-01-18", "weekend"]]),
    (at(12, 1), NATIONAL, end_of(12, 15), []),
    (at(3, 10), NATIONAL, end_of(3, 25),
     [["2026-03-24", LEBARAN_CUTI]]),
], ids=["on-christmas", "on-cuti-bersama", "cuti-bersama-worked", "on-saturday",
        "on-a-working-day", "on-the-last-day-of-lebaran"])
def test_calendar_day_deadline_on_a_day_off_rolls_forward(start, cal, deadline, rolled):
    """14 calendar days count every day; only a deadline landing on a day off moves, to the
    next working day of the unit, and the explanation names the days it rolled over."""
    got, explanation = due(start, 14, "calendar_days", cal)
    assert got == deadline
    assert explanation["rolled_forward"] == rolled
    assert explanation["counted"] == explanation["skipped"] == []


def test_six_day_week_counts_saturday():
    """A unit working Monday to Saturday ("123456") counts Sat 26 Dec: due 29 Dec, not 30."""
    six_days = WorkingCalendar(working_days="123456")
    deadline, explanation = due(at(12, 23), 3, "working_days", six_days)
    assert deadline == end_of(12, 29)
    assert explanation["counted"] == ["2026-12-26", "2026-12-28", "2026-12-29"]
    assert explanation["skipped"] == [["2026-12-24", CHRISTMAS_CUTI], ["2026-12-25", CHRISTMAS],
                                      ["2026-12-27", "weekend"]]


def test_wita_unit_ends_its_day_at_1559_utc_and_starts_it_at_its_own_midnight():
    """00:30 WITA on Tue 17 March is still Monday 16 March in Jakarta: the WITA unit's day 0
    is 17 March (due 27 March 23:59:59 WITA = 15:59:59 UTC), a WIB unit's is 16 March
    (17 March counts: due 26 March 23:59:59 WIB)."""
    moment = at(3, 17, 0, 30, tz=WITA)
    wita = WorkingCalendar(timezone="Asia/Makassar")
    deadline, explanation = due(moment, 3, "working_days", wita)
    assert deadline == end_of(3, 27, tz=WITA) == datetime(2026, 3, 27, 15, 59, 59, tzinfo=UTC)
    assert explanation["start"] == "2026-03-17T00:30:00+08:00"
    assert explanation["due"] == "2026-03-27T23:59:59+08:00"
    deadline, explanation = due(moment, 3, "working_days", NATIONAL)
    assert deadline == end_of(3, 26) == datetime(2026, 3, 26, 16, 59, 59, tzinfo=UTC)
    assert explanation["counted"] == ["2026-03-17", "2026-03-25", "2026-03-26"]


def test_wit_unit_ends_its_day_at_1459_utc():
    """Papua (WIT, UTC+9): 30 March + 3 working days (Good Friday skipped) ends 2 April
    23:59:59 WIT."""
    wit = WorkingCalendar(timezone="Asia/Jayapura")
    deadline, _ = due(at(3, 30, tz=WIT), 3, "working_days", wit)
    assert deadline == datetime(2026, 4, 2, 14, 59, 59, tzinfo=UTC)


def test_hours_run_through_holidays_to_the_minute():
    """An hours limit is plain elapsed time: 48 hours from Tue 17 March 09:00 end Thu 19 March
    09:00 WIB (Nyepi), not at the end of a day, and no day is skipped."""
    deadline, explanation = due(at(3, 17), 48, "hours")
    assert deadline == at(3, 19)
    assert explanation["due"] == "2026-03-19T09:00:00+07:00"
    assert explanation["counted"] == explanation["skipped"] == explanation["rolled_forward"] == []


def test_unknown_unit_is_refused():
    """Only working_days, calendar_days and hours are units."""
    with pytest.raises(ValueError, match="business_days"):
        due(at(3, 17), 3, "business_days")


# --- 2. the deployment's overrides ---------------------------------------------------------

@pytest.fixture
def units(ctx):
    """UNIT-A counts like the nation; PKM works on cuti bersama."""
    create_unit("UNIT-A", "Dinas A")
    create_unit("PKM", "Puskesmas", cuti_bersama_off=False)
    db.session.commit()


def unit_calendar(code: str) -> WorkingCalendar:
    from pengaduan.models import Unit

    return WorkingCalendar.for_unit(Unit.by_code(code))


def test_added_holiday_and_cuti_bersama_move_deadlines_and_name_their_reason(units):
    """From Tue 7 April (due Fri 10 April): a regional holiday on 9 April moves it to 13 April,
    a cuti bersama on 10 April to 14 April. The unit working on cuti bersama ignores the added
    cuti bersama but not the holiday. The version changes with each change."""
    start = at(4, 7)
    assert current_overrides().version == version(0)
    assert due(start, 3, "working_days", unit_calendar("UNIT-A"))[0] == end_of(4, 10)

    add_day_off(date(2026, 4, 9), "holiday", PERDA, actor=Actor.cli("test"))
    db.session.commit()
    deadline, explanation = due(start, 3, "working_days", unit_calendar("UNIT-A"))
    assert deadline == end_of(4, 13)
    assert explanation["skipped"] == [["2026-04-09", f"{PERDA} (holiday, override)"],
                                      ["2026-04-11", "weekend"], ["2026-04-12", "weekend"]]
    assert explanation["calendar_version"] == version(1)

    add_day_off("2026-04-10", "cuti_bersama", SKB, actor=Actor.cli("test"))
    db.session.commit()
    deadline, explanation = due(start, 3, "working_days", unit_calendar("UNIT-A"))
    assert deadline == end_of(4, 14)
    assert explanation["counted"] == ["2026-04-08", "2026-04-13", "2026-04-14"]
    assert days_off(explanation) == {"2026-04-09": f"{PERDA} (holiday, override)",
                                     "2026-04-10": f"{SKB} (cuti bersama, override)",
                                     "2026-04-11": "weekend", "2026-04-12": "weekend"}
    assert explanation["calendar_version"] == version(2)

    deadline, explanation = due(start, 3, "working_days", unit_calendar("PKM"))
    assert deadline == end_of(4, 13)
    assert explanation["counted"] == ["2026-04-08", "2026-04-10", "2026-04-13"]
    assert explanation["calendar_version"] == version(2)


def test_removed_package_holiday_and_working_saturday_count(units):
    """Christmas moved away (25 Dec made a working day) and a replacement working Saturday
    (26 Dec): from Wed 23 Dec the deadline comes back from 30 to 29, then to 28 December."""
    start = at(12, 23)
    add_day_off("2026-04-09", "holiday", PERDA, actor=Actor.cli("test"))  # revision 1, elsewhere in the year
    make_working_day(date(2026, 12, 25), "Keppres: Natal dipindah", actor=Actor.cli("test"))
    db.session.commit()
    deadline, explanation = due(start, 3, "working_days", unit_calendar("UNIT-A"))
    assert deadline == end_of(12, 29)
    assert explanation["counted"] == ["2026-12-25", "2026-12-28", "2026-12-29"]
    assert explanation["skipped"] == [["2026-12-24", CHRISTMAS_CUTI],
                                      ["2026-12-26", "weekend"], ["2026-12-27", "weekend"]]
    assert explanation["calendar_version"] == version(2)

    make_working_day("2026-12-26", "Sabtu kerja pengganti", actor=Actor.cli("test"))
    db.session.commit()
    deadline, explanation = due(start, 3, "working_days", unit_calendar("UNIT-A"))
    assert deadline == end_of(12, 28)
    assert explanation["counted"] == ["2026-12-25", "2026-12-26", "2026-12-28"]
    assert explanation["calendar_version"] == version(3)
    assert current_overrides().version == version(3)


def test_an_override_replaced_takes_a_new_revision(units):
    """Turning an added holiday into cuti bersama replaces the day's row under a new revision;
    the unit working on cuti bersama then counts the day again."""
    add_day_off("2026-04-09", "holiday", PERDA, actor=Actor.cli("test"))
    add_day_off("2026-04-09", "cuti_bersama", SKB, actor=Actor.cli("test"))
    db.session.commit()
    rows = db.session.scalars(select(CalendarOverride)).all()
    assert [(r.day, r.kind, r.off, r.reason, r.revision, r.entered_by) for r in rows] == [
        (date(2026, 4, 9), "cuti_bersama", True, SKB, 2, "test")]
    assert current_overrides().version == version(2)
    assert unit_calendar("PKM").day_off(date(2026, 4, 9)) is None
    assert unit_calendar("UNIT-A").day_off(date(2026, 4, 9)) == f"{SKB} (cuti bersama, override)"
    assert [p["previous"] for _, _, p in audit_payloads("calendar.changed")] == [
        None, {"kind": "holiday", "reason": PERDA}]


@pytest.mark.parametrize("change, field", [
    (lambda: add_day_off("2026-02-30", "holiday", PERDA, Actor.cli("test")), "day"),
    (lambda: add_day_off("9 April 2026", "holiday", PERDA, Actor.cli("test")), "day"),
    (lambda: add_day_off("2026-04-09", "holiday", "   ", Actor.cli("test")), "reason"),
    (lambda: add_day_off("2026-04-09", "holiday", None, Actor.cli("test")), "reason"),
    (lambda: add_day_off("2026-04-09", "holiday", "x" * 501, Actor.cli("test")), "reason"),
    (lambda: add_day_off("2026-04-09", "regional", PERDA, Actor.cli("test")), "kind"),
    (lambda: add_day_off("2026-04-09", "working_day", PERDA, Actor.cli("test")), "kind"),
    (lambda: add_day_off("2026-08-17", "holiday", PERDA, Actor.cli("test")), "day"),  # already added below
    (lambda: make_working_day("2026-04-08", "Bukan hari libur", Actor.cli("test")), "day"),
    (lambda: make_working_day("2026-12-26", "Sudah hari kerja", Actor.cli("test")), "day"),  # made one below
    (lambda: make_working_day("2026-12-25", "", Actor.cli("test")), "reason"),
], ids=["impossible-date", "not-iso", "blank-reason", "no-reason", "reason-too-long",
        "unknown-kind", "working-day-kind", "same-override-twice", "plain-working-day",
        "already-working", "remove-without-reason"])
def test_refused_calendar_change_changes_nothing(units, change, field):
    """Bad input is refused at its field and leaves the overrides, the version, the audit
    chain and every deadline as they were."""
    add_day_off("2026-08-17", "holiday", PERDA, actor=Actor.cli("test"))
    make_working_day("2026-12-26", "Sabtu kerja pengganti", actor=Actor.cli("test"))
    db.session.commit()
    before = calendar_state()
    with pytest.raises(InvalidFields) as refused:
        change()
    assert list(refused.value.errors) == [field]
    assert calendar_state() == before
    assert before[0] == version(2)


# --- 3. pauses -----------------------------------------------------------------------------

@pytest.mark.parametrize("filed, asked, answered, before, after, consumed, lost", [
    # Paused Tue 7 April, resumed Mon 13 April: 8, 9, 10 waited, 13 is day 0 again.
    ((4, 6), (4, 7), (4, 13), {"verification": (4, 9), "response": (4, 20)},
     {"verification": (4, 15), "response": (4, 27)}, {"verification": 1, "response": 1}, 4),
    # Paused Wed 1 April, resumed Sat 4 April: only Thu 2 April was a working day lost
    # (3 April Good Friday); 5 April is Easter Sunday.
    ((3, 30), (4, 1), (4, 4), {"verification": (4, 2), "response": (4, 13)},
     {"verification": (4, 6), "response": (4, 16)}, {"verification": 2, "response": 2}, 1),
], ids=["over-a-weekend", "over-easter"])
def test_waiting_for_the_complainant_does_not_count(world, filed, asked, answered, before, after,
                                                    consumed, lost):
    """request_info pauses the unit's clocks; provide_info resumes them. Policy: the pause day
    counts, the days waited do not, and the resume day is day 0 again, so the verification
    deadline moves by exactly the working days from the day after the pause up to the resume
    day (the response deadline likewise by calendar days, then rolls forward)."""
    complaint = file_at(at(*filed))
    assert {rule: complaint.clock(rule).due_at for rule in before} == {
        rule: end_of(*day) for rule, day in before.items()}

    advance(complaint, "request_info", world.officer_a, at=at(*asked, 10),
            message="Mohon lampirkan nomor registrasi.")
    db.session.commit()
    for rule, used in consumed.items():
        clock = complaint.clock(rule)
        assert (clock.due_at, clock.paused_at, clock.consumed) == (None, at(*asked, 10), used)
    assert complaint.stage_due_at is None

    advance(complaint, "provide_info", Actor.citizen(complaint), at=at(*answered, 10),
            message="Nomor registrasi 3201-0001.")
    db.session.commit()
    verification = complaint.clock("verification")
    assert {rule: complaint.clock(rule).due_at for rule in after} == {
        rule: end_of(*day) for rule, day in after.items()}
    assert complaint.stage_due_at == end_of(*after["verification"])
    assert verification.explanation["pauses"] == [[at(*asked, 10).isoformat(),
                                                   at(*answered, 10).isoformat()]]
    assert verification.explanation["consumed_before"] == consumed["verification"]
    assert verification.explanation["clock_started"] == at(*filed).isoformat()

    cal = WorkingCalendar.for_unit(complaint.unit)
    moved = working_days_in(date(2026, *before["verification"]),
                            date(2026, *after["verification"]), cal)
    paused = working_days_in(date(2026, *asked), date(2026, *answered), cal)
    assert moved == paused == lost


# --- 4. recomputation when the calendar changes --------------------------------------------

@pytest.fixture
def scenario(world):
    """Open complaints at different stages around Wed 8 April 2026, one closed, one paused."""
    create_unit("UNIT-W", "Dinas W (Makassar)", timezone="Asia/Makassar")
    db.session.commit()
    complaints = {
        "fresh": file_at(at(4, 6)),                      # verification 7, 8, 9 April
        "wita": file_at(at(4, 6, 10, tz=WITA), "UNIT-W"),  # the same, in WITA
        "later": file_at(at(4, 9)),                      # counts from 10 April
        "earlier": file_at(at(3, 30)),                   # verification ends 2 April
        "response_on_8th": file_at(at(3, 25)),           # 14 calendar days end 8 April
        "verified": file_at(at(4, 2)),
        "closed": file_at(at(4, 6)),
        "paused": file_at(at(4, 6)),
    }
    advance(complaints["verified"], "verify", world.officer_a, at=at(4, 6, 10),
            unit="UNIT-A", category="GENERAL", classification="pengaduan")
    advance(complaints["closed"], "reject", world.officer_a, at=at(4, 6, 11),
            reason="Bukan pengaduan pelayanan publik.", closure_reason="rejected")
    advance(complaints["paused"], "request_info", world.officer_a, at=at(4, 6, 11),
            message="Mohon lampirkan nomor registrasi.")
    db.session.commit()
    return complaints


# The clocks a day off on Wed 8 April moves, and where to (all others stay).
MOVED_BY_8_APRIL = {
    ("fresh", "verification"): (end_of(4, 9), end_of(4, 10)),
    ("wita", "verification"): (end_of(4, 9, tz=WITA), end_of(4, 10, tz=WITA)),
    ("response_on_8th", "response"): (end_of(4, 8), end_of(4, 9)),  # rolls forward
    ("verified", "first_follow_up"): (end_of(4, 13), end_of(4, 14)),
}
STAGE_DUE = {  # complaint.stage_due_at before and after
    "fresh": (end_of(4, 9), end_of(4, 10)),
    "wita": (end_of(4, 9, tz=WITA), end_of(4, 10, tz=WITA)),
    "response_on_8th": (end_of(3, 30), end_of(3, 30)),  # its verification comes first
    "verified": (end_of(4, 13), end_of(4, 14)),
    "later": (end_of(4, 14), end_of(4, 14)),
    "earlier": (end_of(4, 2), end_of(4, 2)),
    "closed": (None, None),
    "paused": (None, None),
}


def test_calendar_change_moves_exactly_the_affected_deadlines(world, scenario):
    """A regional holiday on Wed 8 April moves the four clocks whose count touches that day
    (working-day counts across it, a calendar-day deadline on it, in WIB and WITA), each with
    an internal timeline event and an `sla.recomputed` audit event giving old and new date,
    and the complaints' stage deadlines follow. Everything else, including the closed and the
    paused complaint, is untouched. Making the day a working day again moves them back."""
    original = clock_dues(scenario)
    for (name, rule), (old, _) in MOVED_BY_8_APRIL.items():
        assert original[(name, rule)] == old, (name, rule)
    assert {name: c.stage_due_at for name, c in scenario.items()} == {
        name: old for name, (old, _) in STAGE_DUE.items()}
    closed_clocks = [(c.rule, c.due_at, c.stopped_at, c.calendar_version)
                     for c in scenario["closed"].clocks]

    _, moved = add_day_off(date(2026, 4, 8), "holiday", PERDA, actor=world.admin)
    db.session.commit()

    assert moved == len(MOVED_BY_8_APRIL) == 4
    now = clock_dues(scenario)
    changed = {key: (original[key], now[key]) for key in original if now[key] != original[key]}
    assert changed == MOVED_BY_8_APRIL
    assert {name: c.stage_due_at for name, c in scenario.items()} == {
        name: new for name, (_, new) in STAGE_DUE.items()}
    explanation = scenario["fresh"].clock("verification").explanation
    assert explanation["skipped"] == [["2026-04-08", f"{PERDA} (holiday, override)"]]
    assert explanation["calendar_version"] == version(1)
    assert scenario["fresh"].clock("verification").calendar_version == version(1)

    for name, complaint in scenario.items():
        events = recomputed_events(complaint)
        expected = [{"rule": rule, "old_due_at": iso(old), "new_due_at": iso(new),
                     "day": "2026-04-08", "calendar_version": version(1)}
                    for (n, rule), (old, new) in MOVED_BY_8_APRIL.items() if n == name]
        assert [e.data for e in events] == expected, name
        assert all((e.public, e.actor_role) == (False, "system") for e in events)
    codes = {scenario[name].tracking_code: name for name in scenario}
    assert {(actor, codes[code], p["rule"], p["old_due_at"], p["new_due_at"], p["day"])
            for actor, code, p in audit_payloads("sla.recomputed")} == {
        (world.admin.label, name, rule, iso(old), iso(new), "2026-04-08")
        for (name, rule), (old, new) in MOVED_BY_8_APRIL.items()}
    [(_, _, change)] = audit_payloads("calendar.changed")
    assert (change["day"], change["kind"], change["revision"], change["deadlines_moved"]) == (
        "2026-04-08", "holiday", 1, 4)

    _, moved = make_working_day("2026-04-08", "Perda dibatalkan", actor=world.admin)
    db.session.commit()
    assert moved == 4
    assert clock_dues(scenario) == original
    assert {name: c.stage_due_at for name, c in scenario.items()} == {
        name: old for name, (old, _) in STAGE_DUE.items()}
    back = [p for _, _, p in audit_payloads("sla.recomputed")][4:]
    assert sorted((p["rule"], p["old_due_at"], p["new_due_at"], p["calendar_version"])
                  for p in back) == sorted(
        (rule, iso(new), iso(old), version(2))
        for (_, rule), (old, new) in MOVED_BY_8_APRIL.items())
    assert recomputed_events(scenario["closed"]) == []
    assert [(c.rule, c.due_at, c.stopped_at, c.calendar_version)
            for c in scenario["closed"].clocks] == closed_clocks


def test_change_outside_every_counting_window_moves_nothing(world, scenario):
    """A holiday added for a day no open clock counts (1 July) moves nothing and writes no
    recomputation event."""
    original = clock_dues(scenario)
    _, moved = add_day_off("2026-07-01", "holiday", PERDA, actor=world.admin)
    db.session.commit()
    assert moved == 0
    assert clock_dues(scenario) == original
    assert audit_payloads("sla.recomputed") == []
    assert db.session.scalar(select(func.count()).where(
        ComplaintEvent.kind == "deadline_recomputed")) == 0


def test_day_off_added_during_a_pause_counts_for_the_days_before_it(world):
    """Two complaints filed Mon 6 April, both asked for information Tue 7 April and answering
    Mon 13 April. Tue 7 April is declared a holiday: for the first complaint before the
    question, for the second while it waits. Neither should have used a working day before
    the pause: both are due 16 April (14, 15, 16 counted)."""
    question = {"message": "Mohon lampirkan nomor registrasi."}
    paused_first = file_at(at(4, 6))
    advance(paused_first, "request_info", world.officer_a, at=at(4, 7, 10), **question)
    db.session.commit()
    add_day_off("2026-04-07", "holiday", "Libur mendadak: Keputusan Wali Kota No. 12/2026",
                actor=world.admin)
    db.session.commit()
    holiday_first = file_at(at(4, 6))
    advance(holiday_first, "request_info", world.officer_a, at=at(4, 7, 10), **question)
    for complaint in (holiday_first, paused_first):
        advance(complaint, "provide_info", Actor.citizen(complaint), at=at(4, 13, 10),
                message="Nomor registrasi 3201-0001.")
    db.session.commit()
    assert holiday_first.clock("verification").due_at == end_of(4, 16)
    assert paused_first.clock("verification").due_at == end_of(4, 16)  # actually 15 April


# --- 5. command line -----------------------------------------------------------------------

@pytest.fixture
def org(app):
    """Units (UNIT-A in WIB, UNIT-W in WITA), a category and one account per role, made in
    their own app context for tests that use the CLI or a browser."""
    with app.app_context():
        create_user(ADMIN, "admin", password=PASSWORD)
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-W", "Dinas W (Makassar)", timezone="Asia/Makassar")
        create_category("GENERAL", "Umum")
        create_user("officer@example.id", "officer", password=PASSWORD, unit_codes=["UNIT-A"])
        create_user("supervisor@example.id", "supervisor", password=PASSWORD, unit_codes=["UNIT-A"])
        create_user("auditor@example.id", "auditor", password=PASSWORD)
        db.session.commit()
        assert Actor.staff(User.by_email(ADMIN)).label == ADMIN_ACTOR


def file_in(app, moment: datetime) -> str:
    """File a UNIT-A complaint received at `moment`; its tracking code."""
    with app.app_context():
        return file_at(moment).tracking_code


def verification_due(app, code: str) -> datetime:
    with app.app_context():
        return Complaint.by_code(code).clock("verification").due_at


def state_of(app) -> tuple:
    with app.app_context():
        return calendar_state()


def lines(output: str) -> list[str]:
    """Output lines with runs of spaces squeezed (columns are padded)."""
    return [" ".join(line.split()) for line in output.splitlines()]


def header(start: str, zone: str, amount: str) -> str:
    """The explanation's first line, for a unit with the national calendar policy."""
    return (f"start {start} ({zone}), {amount}, day 0 is the start day; working days 12345 "
            f"(ISO, Monday=1), cuti bersama off; calendar {version(0)}")


DOMAIN_EXAMPLE_DAYS = [
    "2026-03-18 skipped: " + NYEPI_CUTI, "2026-03-19 skipped: " + NYEPI,
    "2026-03-20 skipped: " + LEBARAN_CUTI, "2026-03-21 skipped: " + LEBARAN,
    "2026-03-22 skipped: " + LEBARAN_2, "2026-03-23 skipped: " + LEBARAN_CUTI,
    "2026-03-24 skipped: " + LEBARAN_CUTI,
    "2026-03-25 counted", "2026-03-26 counted", "2026-03-27 counted"]
WORKING_3 = ["--days", "3", "--unit", "working_days"]


@pytest.mark.parametrize("args, first, explanation", [
    (["--start", "2026-03-17T09:00:00+07:00", *WORKING_3], "2026-03-27T23:59:59+07:00",
     [header("2026-03-17T09:00:00+07:00", "Asia/Jakarta", "3 working_days"),
      *DOMAIN_EXAMPLE_DAYS]),
    (["--start", "2026-12-10T09:00", "--days", "14", "--unit", "calendar_days"],
     "2026-12-28T23:59:59+07:00",
     [header("2026-12-10T09:00:00+07:00", "Asia/Jakarta", "14 calendar_days"),
      "2026-12-24 not a working day, rolled forward: " + CHRISTMAS_CUTI,
      "2026-12-25 not a working day, rolled forward: " + CHRISTMAS,
      "2026-12-26 not a working day, rolled forward: weekend",
      "2026-12-27 not a working day, rolled forward: weekend"]),
    (["--start", "2026-03-17T09:00:00+07:00", *WORKING_3, "--unit-code", "unit-w"],
     "2026-03-27T23:59:59+08:00",
     [header("2026-03-17T10:00:00+08:00", "Asia/Makassar", "3 working_days"),
      *DOMAIN_EXAMPLE_DAYS]),
    (["--start", "2026-03-17T00:30", *WORKING_3, "--unit-code", "UNIT-W"],
     "2026-03-27T23:59:59+08:00",
     [header("2026-03-17T00:30:00+08:00", "Asia/Makassar", "3 working_days"),
      *DOMAIN_EXAMPLE_DAYS]),
    (["--start", "2026-03-17T09:00:00+07:00", "--days", "48", "--unit", "hours"],
     "2026-03-19T09:00:00+07:00",
     [header("2026-03-17T09:00:00+07:00", "Asia/Jakarta", "48 hours")]),
], ids=["domain-example", "calendar-days-christmas", "wita-unit", "naive-start-in-unit-zone",
        "hours"])
def test_sla_due_prints_the_deadline_then_the_explanation(app, org, runner, args, first,
                                                          explanation):
    """`sla due`: the ISO 8601 deadline in the unit's zone on the first line, then how it was
    counted, day by day (a naive --start is read in the unit's timezone)."""
    result = runner.invoke(args=["sla", "due", *args])
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    assert datetime.fromisoformat(out[0]).isoformat() == out[0] == first
    assert out[1:] == explanation


@pytest.mark.parametrize("args, message", [
    (["--start", "17/03/2026", "--days", "3", "--unit", "working_days"],
     "error: --start must be ISO 8601, e.g. 2026-03-17T09:00:00+07:00"),
    (["--start", "2026-03-17T09:00", "--days", "3", "--unit", "working_days",
      "--unit-code", "NOPE"], "error: unknown unit NOPE"),
], ids=["bad-start", "unknown-unit"])
def test_sla_due_refuses_bad_input_with_exit_1(app, org, runner, args, message):
    """A --start that is not ISO 8601, or an unknown --unit-code: exit 1, one line on stderr."""
    result = runner.invoke(args=["sla", "due", *args])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == message


def test_calendar_list_shows_the_year_and_marks_overrides(app, org, runner):
    """`calendar list --year 2026` lists holidays and cuti bersama in date order (Christmas
    and its cuti bersama among them, weekends not), overrides marked with who entered them,
    and the calendar version on top."""
    result = runner.invoke(args=["calendar", "list", "--year", "2026"])
    assert result.exit_code == 0, result.output
    out = lines(result.stdout)
    assert out[0] == f"calendar {version(0)}, year 2026"
    assert "2026-12-24 Thu cuti_bersama Christmas Joint Holiday [package]" in out
    assert out[-1] == "2026-12-25 Fri holiday Christmas Day [package]"
    assert "2026-03-19 Thu holiday Day of Silence [package]" in out
    assert len(out) == 1 + 25  # the 2026 SKB: 17 holidays and 8 cuti bersama
    assert [line[:10] for line in out[1:]] == sorted(line[:10] for line in out[1:])

    with app.app_context():
        add_day_off("2026-04-08", "holiday", PERDA, actor=Actor.cli())
        make_working_day("2026-12-25", "Keppres: Natal dipindah", actor=Actor.staff(User.by_email(ADMIN)))
        db.session.commit()
    out = lines(runner.invoke(args=["calendar", "list", "--year", "2026"]).stdout)
    assert out[0] == f"calendar {version(2)}, year 2026"
    assert f"2026-04-08 Wed holiday {PERDA} [override by cli]" in out
    assert out[-1] == ("2026-12-25 Fri working_day Keppres: Natal dipindah "
                       f"[override by {ADMIN_ACTOR}]")
    assert "2026-12-24 Thu cuti_bersama Christmas Joint Holiday [package]" in out


def test_calendar_add_and_remove_from_the_command_line(app, org, runner):
    """`calendar add` and `calendar remove` change the calendar, say which revision it is now
    and how many open deadlines moved, and move them."""
    code = file_in(app, at(4, 6))  # verification due Thu 9 April
    result = runner.invoke(args=["calendar", "add", "2026-04-08", "holiday", "--reason", PERDA])
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-04-08 is now holiday (revision 1); 1 deadline(s) recomputed\n"
    assert verification_due(app, code) == end_of(4, 10)

    result = runner.invoke(args=["calendar", "remove", "2026-04-08",
                                 "--reason", "Perda dibatalkan"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("2026-04-08 is now a working day (revision 2); "
                             "1 deadline(s) recomputed\n")
    assert verification_due(app, code) == end_of(4, 9)

    result = runner.invoke(args=["calendar", "remove", "2026-12-26", "--reason", "Sabtu kerja"])
    assert result.exit_code == 0, result.output
    assert result.stdout == ("2026-12-26 is now a working day (revision 3); "
                             "0 deadline(s) recomputed\n")
    with app.app_context():
        assert [(p["day"], p["kind"], p["revision"]) for actor, _, p in
                audit_payloads("calendar.changed") if actor == "cli"] == [
            ("2026-04-08", "holiday", 1), ("2026-04-08", "working_day", 2),
            ("2026-12-26", "working_day", 3)]


@pytest.mark.parametrize("args, code, message", [
    (["add", "2026-02-30", "holiday", "--reason", PERDA], 1, "error: day: "),
    (["add", "2026-04-10", "holiday"], 2, "Missing option '--reason'"),
    (["add", "2026-04-10", "holiday", "--reason", "  "], 1,
     "error: reason: give the decree or reason for the change"),
    (["add", "2026-04-10", "regional", "--reason", PERDA], 2,
     "'regional' is not one of 'holiday', 'cuti_bersama'"),
    (["add", "2026-08-20", "holiday", "--reason", PERDA], 1,
     "error: day: 2026-08-20 is already in the calendar as this kind"),
    (["remove", "2026-04-09", "--reason", "Bukan hari libur"], 1,
     "error: day: 2026-04-09 is not a holiday, cuti bersama or weekend"),
    (["remove", "2026-12-26", "--reason", "Lagi"], 1,
     "error: day: 2026-12-26 is already a working day"),
    (["remove", "tomorrow", "--reason", "Lagi"], 1, "error: day: "),
    (["remove", "2026-12-25"], 2, "Missing option '--reason'"),
], ids=["bad-date", "missing-reason", "blank-reason", "unknown-kind", "same-override-twice",
        "remove-plain-working-day", "remove-twice", "remove-bad-date", "remove-missing-reason"])
def test_calendar_command_refuses_bad_input_and_changes_nothing(app, org, runner, args, code,
                                                                message):
    """Every refused `calendar add|remove` exits non-zero with a message naming the problem
    and leaves the calendar, its version, the audit chain and the deadlines alone."""
    with app.app_context():
        add_day_off("2026-08-20", "holiday", PERDA, actor=Actor.cli())
        make_working_day("2026-12-26", "Sabtu kerja pengganti", actor=Actor.cli())
        db.session.commit()
    complaint = file_in(app, at(4, 6))
    before, due_before = state_of(app), verification_due(app, complaint)
    result = runner.invoke(args=["calendar", *args])
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert state_of(app) == before
    assert verification_due(app, complaint) == due_before == end_of(4, 9)


# --- 6. the admin page ---------------------------------------------------------------------

def browser(app, lang: str | None = "en"):
    client = app.test_client()
    if lang:
        client.set_cookie("lang", lang)
    return client


def signed_in(app, email: str, lang: str | None = "en"):
    client = browser(app, lang)
    token = Page(client.get("/login").get_data(as_text=True)).token
    response = client.post("/login", data={"csrf_token": token, "email": email,
                                           "password": PASSWORD})
    assert response.status_code == 302, email
    return client


def calendar_forms(html: str) -> dict[str, Form]:
    """The page's two forms (neither has an `action` attribute), by their hidden `action`
    field: "add" and "remove"."""
    forms = {}
    for chunk in re.findall(r"<form\b.*?</form>", html, flags=re.S):
        for form in Page(chunk).forms.values():
            if "action" in form.values:
                forms[form.values["action"]] = form
    return forms


def send(client, action: str, **fields):
    """Fill in and send one of the calendar forms as rendered."""
    page = client.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    form = calendar_forms(page.get_data(as_text=True))[action]
    return client.post("/admin/calendar", data={**form.values, **fields})


def flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+" role="status">(.*?)</div>', html, flags=re.S)


def test_admin_adds_and_removes_days_and_sees_deadlines_recomputed(app, org):
    """An admin adds a holiday and makes it a working day again through the page; each time
    the flash says how many open deadlines were recomputed, the table shows the override and
    the deadline moves."""
    code = file_in(app, at(4, 6))
    admin = signed_in(app, ADMIN)
    response = send(admin, "add", day="2026-04-08", kind="holiday", reason=PERDA)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/calendar?year=2026"
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert flashes(html) == ["Calendar changed for 2026-04-08; 1 open deadline recomputed."]
    assert PERDA in html and version(1) in html
    assert verification_due(app, code) == end_of(4, 10)

    response = send(admin, "remove", day="2026-04-08", reason="Perda dibatalkan")
    assert response.status_code == 302
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert flashes(html) == ["Calendar changed for 2026-04-08; 1 open deadline recomputed."]
    assert "Perda dibatalkan" in html and version(2) in html
    assert verification_due(app, code) == end_of(4, 9)

    response = send(admin, "add", day="2026-07-01", kind="cuti_bersama", reason=SKB)
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert flashes(html) == ["Calendar changed for 2026-07-01; 0 open deadlines recomputed."]
    with app.app_context():
        assert [(actor, p["day"], p["kind"], p["deadlines_moved"])
                for actor, _, p in audit_payloads("calendar.changed")] == [
            (ADMIN_ACTOR, "2026-04-08", "holiday", 1),
            (ADMIN_ACTOR, "2026-04-08", "working_day", 1),
            (ADMIN_ACTOR, "2026-07-01", "cuti_bersama", 0)]
        assert [actor for actor, _, _ in audit_payloads("sla.recomputed")] == [ADMIN_ACTOR] * 2


@pytest.mark.parametrize("action, sent, invalid, message", [
    ("add", {"day": "2026-04-31", "kind": "cuti_bersama", "reason": SKB}, {"day"},
     "must be a date (YYYY-MM-DD)"),
    ("add", {"day": "2026-04-08", "kind": "holiday", "reason": ""}, {"reason"},
     "give the decree or reason for the change"),
    ("add", {"day": "2026-08-20", "kind": "holiday", "reason": "Lagi"}, {"day"},
     "2026-08-20 is already in the calendar as this kind"),
    ("remove", {"day": "2026-04-09", "reason": "Bukan hari libur"}, {"day"},
     "2026-04-09 is not a holiday, cuti bersama or weekend"),
    ("remove", {"day": "2026-12-25", "reason": "   "}, {"reason"},
     "give the decree or reason for the change"),
], ids=["bad-date", "missing-reason", "same-override-twice", "plain-working-day",
        "remove-blank-reason"])
def test_bad_calendar_form_answers_422_keeping_what_was_typed(app, org, action, sent, invalid,
                                                              message):
    """Refused input comes back with 422, the message at its field and the typed values in
    the form that was sent; nothing changes."""
    with app.app_context():
        add_day_off("2026-08-20", "holiday", PERDA, actor=Actor.cli())
        db.session.commit()
    before = state_of(app)
    admin = signed_in(app, ADMIN)
    response = send(admin, action, **sent)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    form = calendar_forms(html)[action]
    assert {name: form.values[name] for name in sent} == sent
    assert form.invalid == invalid
    other = calendar_forms(html)["remove" if action == "add" else "add"]
    assert (other.values["day"], other.values["reason"]) == ("", "")
    assert state_of(app) == before


@pytest.mark.parametrize("email", ["officer@example.id", "supervisor@example.id",
                                   "auditor@example.id"])
def test_other_roles_are_refused_the_calendar(app, org, email):
    """Officers, supervisors and auditors get 403 for the page and for a change (sent with
    their own valid CSRF token); nothing changes."""
    before = state_of(app)
    client = signed_in(app, email)
    assert client.get("/admin/calendar").status_code == 403
    token = Page(client.get("/account/password").get_data(as_text=True)).token
    response = client.post("/admin/calendar", data={
        "csrf_token": token, "action": "add", "day": "2026-04-08", "kind": "holiday",
        "reason": PERDA})
    assert response.status_code == 403
    assert state_of(app) == before


def test_anonymous_visitor_is_sent_to_sign_in(app, org):
    """Without an account the page (and a change, even with a session's token) redirects to
    /login and changes nothing."""
    before = state_of(app)
    client = browser(app)
    response = client.get("/admin/calendar")
    assert response.status_code == 302
    assert response.headers["Location"].split("?")[0] == "/login"
    token = Page(client.get("/login").get_data(as_text=True)).token
    response = client.post("/admin/calendar", data={
        "csrf_token": token, "action": "add", "day": "2026-04-08", "kind": "holiday",
        "reason": PERDA})
    assert response.status_code == 302
    assert response.headers["Location"].split("?")[0] == "/login"
    assert state_of(app) == before


@pytest.mark.parametrize("token", [None, "IjAwMDAi.forged.token"], ids=["missing", "forged"])
def test_calendar_change_without_valid_csrf_token_is_refused(app, org, token):
    """An admin's POST without a valid token is refused (400) and changes nothing."""
    code = file_in(app, at(4, 6))
    before = state_of(app)
    admin = signed_in(app, ADMIN)
    admin.get("/admin/calendar")  # the session has a token
    data = {"action": "add", "day": "2026-04-08", "kind": "holiday", "reason": PERDA}
    if token:
        data["csrf_token"] = token
    assert admin.post("/admin/calendar", data=data).status_code == 400
    assert state_of(app) == before
    assert verification_due(app, code) == end_of(4, 9)


def test_calendar_page_speaks_the_default_language(app, org):
    """Indonesian is the deployment's default language (BABEL_DEFAULT_LOCALE "id"): the page
    heading, its forms and its error messages are translated like the rest of the admin."""
    admin = signed_in(app, ADMIN, lang=None)
    html = admin.get("/admin/units").get_data(as_text=True)
    assert 'lang="id"' in html
    html = send(admin, "add", day="2026-04-08", kind="holiday", reason="").get_data(as_text=True)
    for english in ("Working-day calendar", "Add a day off", "Make a day a working day",
                    "give the decree or reason for the change"):
        assert english not in html, english
