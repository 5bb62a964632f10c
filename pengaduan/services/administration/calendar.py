"""The working-day calendar as staff manage it: list a year, add a day off, make a day a
working day. Every change is audited and moves the open deadlines it affects."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, text

from ... import audit
from ...errors import InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import OVERRIDE_KINDS, CalendarOverride, utcnow
from ...policy import Actor
from ...sla import Overrides, WorkingCalendar, current_overrides
from ...sla.calendar import Override, national
from ...unit_of_work import UnitOfWork
from .recompute import recompute_for_day

MAX_REASON = 500
OVERRIDES = "calendar overrides"


def load_overrides() -> Overrides:
    """The override table, read once per unit of work (a change calls `forget_overrides`);
    the deadline arithmetic in sla/ gets it from here (see `init_app`)."""
    memo = UnitOfWork.of(db.session).memo
    if OVERRIDES not in memo:
        with db.session.no_autoflush:  # a read here must not flush a change half-made
            rows = db.session.scalars(select(CalendarOverride)).all()
        memo[OVERRIDES] = Overrides(
            max((row.revision for row in rows), default=0),
            MappingProxyType({row.day: Override(row.kind, row.off, row.reason) for row in rows}))
    return memo[OVERRIDES]


def forget_overrides() -> None:
    UnitOfWork.of(db.session).memo.pop(OVERRIDES, None)


@dataclass
class CalendarDay:
    day: date
    name: str            # in English, as explanations keep it
    kind: str            # holiday, cuti_bersama, working_day
    source: str          # package or override
    estimated: bool = False
    override: CalendarOverride | None = None
    names: dict | None = None  # {en: ..., id: ...}: i18n.label picks the reader's


def calendar_year(year: int) -> list[CalendarDay]:
    """National holidays and cuti bersama of a year from the package, with the overrides
    applied, in date order (weekends are not listed)."""
    public, joint = national(year)
    public_id, joint_id = national(year, "id")
    days: dict[date, CalendarDay] = {}
    for kind, source, named in (("cuti_bersama", joint, joint_id), ("holiday", public, public_id)):
        for day, name in source.items():
            days[day] = CalendarDay(day, name, kind, "package", "(estimated)" in name,
                                    names={"en": name, "id": named.get(day, name)})
    overrides = db.session.scalars(select(CalendarOverride).where(
        CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31))).all()
    for row in overrides:
        days[row.day] = CalendarDay(row.day, row.reason, row.kind, "override", False, row,
                                    {"en": row.reason, "id": row.reason})
    return [days[d] for d in sorted(days)]


def _parse(raw_day, reason: str | None, kind: str | None = None) -> tuple[date, str]:
    errors = {}
    try:
        day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day).strip())
    except ValueError:
        day = None
        errors["day"] = _l("must be a date (YYYY-MM-DD)")
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _l("give the decree or reason for the change")
    elif len(reason) > MAX_REASON:
        errors["reason"] = _l("must be at most %(n)d characters", n=MAX_REASON)
    if kind is not None and kind not in OVERRIDE_KINDS:
        errors["kind"] = _l("choose one of the options")
    if errors:
        raise InvalidFields(errors)
    return day, reason


def _is_off_nationally(day: date) -> bool:
    """Off for a unit with the default policy (5-day week, cuti bersama off), ignoring overrides."""
    return WorkingCalendar(timezone=current_app.config["PENGADUAN_TIMEZONE"]).day_off(day) is not None


CALENDAR_LOCK_KEY = 0x63616C65  # one advisory lock serialises calendar changes on PostgreSQL


def _apply(day: date, kind: str, reason: str, actor: Actor) -> tuple[CalendarOverride, int]:
    by = actor.label  # read before the new row is pending: loading the user would flush it
    if db.session.get_bind().dialect.name == "postgresql":  # SQLite's writer is already alone
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CALENDAR_LOCK_KEY})
        forget_overrides()  # read the revision after the lock, not before
    row = db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))
    previous = {"kind": row.kind, "reason": row.reason} if row else None
    revision = current_overrides().revision + 1
    if row is None:
        row = CalendarOverride(day=day)
        db.session.add(row)
    row.kind, row.off, row.reason = kind, OVERRIDE_KINDS[kind], reason
    row.entered_by, row.entered_at, row.revision = by, utcnow(), revision
    db.session.flush()
    forget_overrides()
    moved = recompute_for_day(day, actor)
    audit.record(db.session, "calendar.changed", actor=by, unit=None, payload={
        "day": day.isoformat(), "kind": kind, "off": row.off, "reason": reason,
        "revision": revision, "previous": previous, "deadlines_moved": moved})
    return row, moved


def add_day_off(raw_day, kind: str, reason: str | None, actor: Actor) -> tuple[CalendarOverride, int]:
    """Make a day a holiday or cuti bersama (e.g. a new SKB); returns the override and how
    many open deadlines moved."""
    day, reason = _parse(raw_day, reason, kind)
    if kind == "working_day":
        raise InvalidFields({"kind": _l("to make a day a working day, remove it from the calendar")})
    existing = current_overrides().days.get(day)
    if existing is not None and existing.kind == kind:
        raise InvalidFields({"day": _l("%(day)s is already in the calendar as this kind", day=day.isoformat())})
    return _apply(day, kind, reason, actor)


def make_working_day(raw_day, reason: str | None, actor: Actor) -> tuple[CalendarOverride, int]:
    """Remove a day from the days off (a cancelled or moved holiday, a replacement working
    Saturday); returns the override and how many open deadlines moved."""
    day, reason = _parse(raw_day, reason)
    existing = current_overrides().days.get(day)
    if existing is not None and not existing.off:
        raise InvalidFields({"day": _l("%(day)s is already a working day", day=day.isoformat())})
    if existing is None and not _is_off_nationally(day):
        raise InvalidFields({"day": _l("%(day)s is not a holiday, cuti bersama or weekend", day=day.isoformat())})
    return _apply(day, "working_day", reason, actor)


def default_year() -> int:
    return utcnow().astimezone(ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"])).year
