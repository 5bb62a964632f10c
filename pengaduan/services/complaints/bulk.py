"""Work on many complaints of a queue view at once: assign a selection to one officer, and
download the whole view as CSV.

A batch assignment is all or nothing. Every selected complaint is checked first exactly as a
single assignment checks it (the policy, the assignee's unit) and against the version the
page showed; only when all pass is each one assigned through casework.assign, so each gets
the timeline step, the audit event and the notification of a single assignment. One refusal
saves nothing, and names every refused code with its reason.

The export holds no identity column at all (name, NIK, email, phone, address), whatever the
complaint's privacy mode and whoever exports, and a confidential complaint's title is
withheld: a file leaves the access control of the pages. Every cell a spreadsheet would run
as a formula is neutralised (spreadsheet.Writer).
"""
from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from ... import audit, spreadsheet
from ...errors import DomainError, Forbidden, InvalidFields
from ...extensions import db
from ...i18n import LazyText, channel_label, format_number, label
from ...i18n import lazy_gettext as _l
from ...models import Category, Complaint, Unit, User, utcnow
from ...policy import Actor, can_add_note, can_view, handles_cases, sees_all_units
from ...policy.complaints import assigns_in_units, can_assign_in_bulk, can_export_queue
from ...workflow import current_workflow
from ...workflow.fields import clean_values, digest
from .casework import assign
from .queue import QueueFilter, view_scope
from .tracking import normalise_code

# The most complaints one batch assigns: four full queue pages. A larger selection is refused
# as a whole, so that nobody reassigns a unit's work by one mistaken click.
MAX_BATCH = 100
# The most rows one CSV export holds. The export streams (memory stays flat; see bench/), so
# this bounds the time a download takes, not memory: about 20 s at a million rows.
EXPORT_CAP = 1_000_000
STREAM_CHUNK = 2_000  # rows fetched from the database cursor at a time


class BatchRefused(InvalidFields):
    """Some complaints of a batch may not be assigned: nothing was; `refusals` maps each
    refused tracking code to the reason."""

    code, status = "batch_refused", 409

    def __init__(self, refusals: dict[str, LazyText]):
        self.refusals = refusals
        super().__init__({"selection": LazyText(lambda: _summary(refusals))})


class ExportTooLarge(DomainError):
    code, status = "export_too_large", 422

    def __init__(self, cap: int):
        super().__init__(_l("This view holds more than %(cap)s complaints, too many for one file. "
                            "Narrow it with a tab or a filter (a category, a period of deadlines) "
                            "and download again.", cap=format_number(cap)))


def refusal_groups(refusals: dict[str, LazyText]) -> list[tuple[str, list[str]]]:
    """The refused codes grouped by reason (in the reader's language), in selection order."""
    by_reason: dict[str, list[str]] = {}
    for code, reason in refusals.items():
        by_reason.setdefault(str(reason), []).append(code)
    return list(by_reason.items())


def _summary(refusals: dict[str, LazyText]) -> str:
    """The refusals grouped by reason: "Reason: CODE, CODE; reason: CODE"."""
    text = "; ".join(f"{reason}: {', '.join(codes)}" for reason, codes in refusal_groups(refusals))
    return text[:1].upper() + text[1:]


# --- choosing whom to assign ---------------------------------------------------------------


def assignee_choices(actor: Actor) -> list[tuple[Unit, list[User]]]:
    """The officers and supervisors a batch may go to, by unit: the active staff of each
    unit the actor may assign in (an officer of two units appears under both)."""
    unit_ids = assigns_in_units(actor)
    if not unit_ids:
        return []
    units = db.session.scalars(select(Unit).where(Unit.id.in_(unit_ids)).order_by(Unit.code)).all()
    return [(unit, sorted((u for u in unit.staff if u.active and handles_cases(u.role)),
                          key=lambda u: (u.name.casefold(), u.email))) for unit in units]


# --- assigning a batch ---------------------------------------------------------------------


def selection_of(codes: Iterable[str], versions: dict[str, str]) -> list[tuple[str, str | None]]:
    """(tracking code, version the page showed) for each ticked code, normalised, in page
    order, each once."""
    seen: dict[str, str | None] = {}
    for raw in codes:
        code = normalise_code(raw or "")
        if code and code not in seen:
            seen[code] = versions.get(raw) or versions.get(code)
    return list(seen.items())


def assign_batch(actor: Actor, selection: list[tuple[str, str | None]], assignee: str | None
                 ) -> tuple[list[Complaint], User]:
    """Assign every selected complaint to `assignee` (an email), or none of them.

    Raises InvalidFields for an empty selection, a selection over MAX_BATCH or no assignee,
    and BatchRefused naming each complaint that may not be assigned: unknown or not of the
    actor's units (one reason for both: a complaint of another unit does not exist for
    them), not assignable by the actor, changed since the page showed it, or the assignee
    not an officer of its unit."""
    if not can_assign_in_bulk(actor):
        raise Forbidden(str(_l("you may not assign complaints")))
    if not selection:
        raise InvalidFields({"selection": _l(
            "No complaint was selected. Tick the box in front of each complaint to assign, or "
            "“Select all on this page”, then choose the officer.")})
    if len(selection) > MAX_BATCH:
        raise InvalidFields({"selection": _l(
            "%(count)d complaints were selected; at most %(max)d can be assigned at once. "
            "Select fewer and assign them in several rounds.", count=len(selection), max=MAX_BATCH)})
    if not (assignee or "").strip():
        raise InvalidFields({"assignee": _l("Choose the officer to assign the selected complaints to.")})
    officer = User.by_email(assignee)
    if officer is None or not officer.active or not handles_cases(officer.role):
        raise InvalidFields({"assignee": _l(
            "%(email)s is not an active officer or supervisor. Choose one from the list.",
            email=assignee.strip())})
    codes = [code for code, _ in selection]
    found = {c.tracking_code: c for c in db.session.scalars(
        select(Complaint).where(Complaint.tracking_code.in_(codes)))}
    workflow = current_workflow()
    refusals: dict[str, LazyText] = {}
    for code, version in selection:
        complaint = found.get(code)
        if complaint is None or not can_view(actor, complaint):
            refusals[code] = _l("no such complaint in your units")
        elif not can_add_note(actor, complaint):
            refusals[code] = _l("you may not assign complaints of unit %(unit)s", unit=complaint.unit.code)
        elif version is not None and str(version) != str(complaint.version):
            refusals[code] = _l("changed by someone else after your page was loaded")
        else:
            try:  # the single assignment's own check of the assignee, against this complaint
                clean_values(workflow, complaint, {"assignee": assignee}, requires=(), accepts=("assignee",))
            except InvalidFields:  # the officer works in other units only
                refusals[code] = _l("%(name)s does not work in unit %(unit)s",
                                    name=officer.name, unit=complaint.unit.code)
    if refusals:
        raise BatchRefused(refusals)
    for code, _ in selection:
        assign(found[code], actor, assignee)
    db.session.flush()  # a row changed meanwhile fails here (ConcurrentChange), not at the commit
    return [found[code] for code, _ in selection], officer


# --- exporting a view ----------------------------------------------------------------------


def export_headers() -> list[str]:
    return [gettext("Tracking code"), gettext("Title"), gettext("State"), gettext("Unit"),
            gettext("Category"), gettext("Channel"), gettext("Received (unit's local time)"),
            gettext("Stage due (unit's local time)"), gettext("Resolution due (unit's local time)"),
            gettext("Assigned to"), gettext("Overdue")]


@dataclass
class Export:
    rows: int
    sha256: str
    units: list[str]  # the codes of the units the view read; empty for every unit


def write_view(actor: Actor, filters: QueueFilter, out: BinaryIO, now: datetime | None = None,
               cap: int | None = None) -> Export:
    """Write every complaint of the queue view (the page's scope and filters, all its pages)
    to `out` as CSV, UTF-8 with a BOM, nearest deadline first. It only reads: the caller runs
    it in a read-only transaction of its own (database.read_apart; a million rows take
    seconds, and a write transaction would hold SQLite's write lock all that while), then
    records the export with record_export before anything is sent."""
    if not can_export_queue(actor):
        raise Forbidden(str(_l("you may not export the queue")))
    now = now or utcnow()
    units, states, conditions = view_scope(actor.user, filters, now)
    rows, sha256 = write_csv(out, units, states, conditions, now, EXPORT_CAP if cap is None else cap)
    codes = ([] if sees_all_units(actor.user) and not filters.unit
             else list(db.session.scalars(select(Unit.code).where(Unit.id.in_(units)).order_by(Unit.code))))
    return Export(rows, sha256, codes)


def record_export(actor: Actor, filters: QueueFilter, export: Export) -> None:
    """The export in the audit chain: who, which view, how many rows, the file's digest."""
    audit.record(db.session, "queue.exported", actor=actor.label, unit=export.units or None, payload={
        "format": "csv", "rows": export.rows, "sha256": export.sha256, "units": export.units or "all",
        "view": _view_facts(filters)})


def _view_facts(filters: QueueFilter) -> dict:
    """The view as the audit chain keeps it: each filter, the search words as a digest (a
    search may be a name)."""
    search = filters.search.strip()
    return {"state": filters.state or "open", "category": filters.category, "overdue": filters.overdue,
            "due_within_days": filters.due_within_days, "mine": filters.mine,
            "unassigned": filters.unassigned, "unit": filters.unit,
            "search": digest(search) if search else None}


class _HashingWriter:
    """Text written as UTF-8 to a binary file, hashed on the way."""

    def __init__(self, out: BinaryIO):
        self.out, self.sha = out, hashlib.sha256()
        self.buffer: list[str] = []
        self.size = 0

    def write(self, data: str) -> None:
        self.buffer.append(data)
        self.size += len(data)
        if self.size >= 1 << 16:
            self.flush()

    def flush(self) -> None:
        raw = "".join(self.buffer).encode("utf-8")
        self.sha.update(raw)
        self.out.write(raw)
        self.buffer, self.size = [], 0


def write_csv(out: BinaryIO, units: list[int], states: list[str], conditions: list, now: datetime,
              cap: int) -> tuple[int, str]:
    """Stream the complaints of a view (view_scope's units, states and conditions) to `out`
    as CSV, in queue order; (rows, SHA-256 of the bytes written). Raises ExportTooLarge past
    `cap` rows."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # One cursor reads every row: plan it for the whole result (as the evidence pack does).
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    assignee = aliased(User)
    query = (select(Complaint.tracking_code, Complaint.title, Complaint.privacy, Complaint.state,
                    Unit.code, Unit.timezone, Category.name, Complaint.channel, Complaint.received_at,
                    Complaint.stage_due_at, Complaint.resolution_due_at, assignee.name)
             .join(Unit, Unit.id == Complaint.unit_id)
             .outerjoin(Category, Category.id == Complaint.category_id)
             .outerjoin(assignee, assignee.id == Complaint.assignee_id)
             .where(Complaint.unit_id.in_(units), Complaint.state.in_(states), *conditions)
             .order_by(Complaint.stage_due_at.is_(None), Complaint.stage_due_at, Complaint.id))
    workflow = current_workflow()
    states_shown = {name: label(state.label) or name for name, state in workflow.states.items()}
    channels: dict[str, str] = {}
    zones: dict[str, ZoneInfo] = {}
    default_zone = current_app.config["PENGADUAN_TIMEZONE"]
    yes, no, withheld = gettext("yes"), gettext("no"), gettext("(confidential: title withheld)")

    def local(moment: datetime | None, zone: ZoneInfo) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment is not None else ""


    sink = _HashingWriter(out)
    sink.write(codecs.BOM_UTF8.decode("utf-8"))  # Excel reads the file as UTF-8 only with it
    writer = spreadsheet.Writer(sink)
    writer.writerow(export_headers())
    rows = 0
    if units and states:
        result = session.execute(query.execution_options(yield_per=STREAM_CHUNK))
        for (code, title, privacy, state, unit, tz, category, channel, received, stage_due,
             resolution_due, assigned) in result:
            rows += 1
            if rows > cap:
                result.close()
                raise ExportTooLarge(cap)
            zone = zones.get(tz)
            if zone is None:
                zone = zones[tz] = ZoneInfo(tz or default_zone)
            shown_channel = channels.get(channel)
            if shown_channel is None:
                shown_channel = channels[channel] = channel_label(channel)
            writer.writerow((code, withheld if privacy == "confidential" else title,
                             states_shown.get(state, state), unit, category or "", shown_channel,
                             local(received, zone), local(stage_due, zone), local(resolution_due, zone),
                             assigned or "", yes if stage_due is not None and stage_due < now else no))
    sink.flush()
    return rows, sink.sha.hexdigest()
