"""Write an evidence pack: a signed ZIP an auditor verifies offline (verify_pack.py).

Everything is written as a stream: rows are read in chunks and each file is hashed while it
is written, so memory stays flat however long the period. Contents:

    manifest.json            period, unit, generator, counts, chain range, SHA-256 of every
                             file, the signer's Ed25519 public key
    manifest.sig             Ed25519 signature of manifest.json's exact bytes (hex)
    audit/events.jsonl       the audit chain slice of the period (other units' events as
                             seq, prev_hash and hash only)
    audit/checkpoints.jsonl  signed chain heads in and just after the slice
    register.csv             the complaint register (no identity; confidential titles withheld)
    cases.jsonl              per case: the follow-up steps, clocks and escalations
    sla.csv                  on-time rate, average and longest duration per stage
    lapor.csv                per answer owed to SP4N-LAPOR!: when given, when posted there, the delay
    supervision.csv, supervision_actions.csv, supervision/...   supervision and coaching
    documents.csv, documents/...                                standing documents
    skm/results.csv          the IKM of each survey period overlapping the dates (overall and
                             per service: respondents, NRR, element totals, IKM, mutu)
    skm/questionnaires.csv   those periods' questionnaires, without identity (none is stored)
    skm/actions.csv          their improvement actions (element, owner, due, status, evidence, days)
    compensation/compensations.csv, compensation/...   compensation given in the period and
                             its evidence files (each named with its SHA-256 in the CSV)
    standards/<UNIT>.json, standards/<UNIT>.html   the complaint service standard in force for
                             each unit at export (its own or the default, its 14 components,
                             maklumat, decree, review) and its A4 poster page; standards/default.*
                             the kabupaten-wide default (a pack of all units)
    ombudsman/products.csv, ombudsman/items.csv, ombudsman/...   the register of Ombudsman
                             products (evidence/ombudsman.py): products and actions of the
                             period, their deadlines, status, evidence and files
    evaluation/<UNIT>-<QUARTER>.csv, evaluation/actions.csv   the complaint evaluation report of
                             each unit for each quarter the period overlaps (evidence/evaluation.py)
                             and its improvement actions
    readiness.csv            readiness for the assessment on the last day (services/readiness):
                             per unit, item and piece of evidence its status, count and latest date
    summary.html             the same, for people
    verify_pack.py           the standalone verifier
"""
from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app, render_template
from sqlalchemy import func, or_, select, text

from .. import audit, spreadsheet, unit_of_work
from ..audit.chain import canonical, iso_utc
from ..audit.checkpoints import latest as latest_checkpoint
from ..audit.checkpoints import public_key_hex, signing_key
from ..database import read_only
from ..extensions import db
from ..models import (AuditCheckpoint, AuditEvent, Category, Compensation, Complaint, ComplaintClock,
                      ComplaintEvent, Escalation, StandingDocument, SupervisionRecord, Unit, utcnow)
from ..models.supervision import supervision_units
from ..policy import Actor
from ..services import standards
from ..services.attachments import chunks_of, named_as_type
from ..services.standards.poster import poster_html
from ..services.standards.poster import record as standard_record
from ..services.complaints.lapor_oversight import PACK_COLUMNS as LAPOR_COLUMNS
from ..services.complaints.lapor_oversight import pack_rows as lapor_rows
from ..services.complaints.lapor_oversight import with_lapor
from ..services.oversight.reports import bounds, periodic_report
from ..services import readiness
from ..services.surveys import records as skm
from ..version import __version__
from ..workflow.fields import digest, for_audit
from . import evaluation, ombudsman, verify_pack

FORMAT = verify_pack.FORMAT
READINESS = verify_pack.READINESS
COMPENSATION = verify_pack.COMPENSATION
CHUNK = 1000
ACCOUNT_ACTIONS = ("user.", "apikey.")  # events about staff accounts and integration keys


class _HashingFile:
    """A text file inside the ZIP that hashes what is written to it. Lines are gathered and
    compressed 64 KB at a time: a million one-line writes to the ZIP stream cost more than
    the export's queries."""

    BUFFER = 1 << 16

    def __init__(self, raw):
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0
        self._pending: list[str] = []
        self._pending_size = 0

    def write(self, text: str) -> int:
        self._pending.append(text)
        self._pending_size += len(text)
        if self._pending_size >= self.BUFFER:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            data = "".join(self._pending).encode("utf-8")
            self._pending, self._pending_size = [], 0
            self.raw.write(data)
            self.digest.update(data)
            self.size += len(data)


class PackWriter:
    def __init__(self, path: Path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.files: dict[str, str] = {}

    @contextmanager
    def text(self, name: str):
        with self.zip.open(name, "w", force_zip64=True) as raw:
            out = _HashingFile(raw)
            yield out
            out.flush()
        self.files[name] = out.digest.hexdigest()

    def copy(self, name: str, source: Path) -> None:
        with open(source, "rb") as src:
            self.copy_chunks(name, iter(lambda: src.read(1 << 16), b""))

    def copy_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        """Add a file given piece by piece (a stored upload, from whichever storage)."""
        hasher = hashlib.sha256()
        with self.zip.open(name, "w", force_zip64=True) as raw:
            for chunk in chunks:
                hasher.update(chunk)
                raw.write(chunk)
        self.files[name] = hasher.hexdigest()

    def close(self) -> None:
        self.zip.close()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:100] or "file"


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(current_app.config["PENGADUAN_TIMEZONE"])).isoformat()


class Scope:
    """What belongs to the pack: a period, and all units or one."""

    def __init__(self, start: date, end: date, unit: Unit | None):
        self.start, self.end, self.unit = start, end, unit
        self.since, self.until = bounds(start, end)
        self.unit_codes = dict(db.session.execute(select(Unit.id, Unit.code)).all())  # id: code
        self.own_codes: set[str] = set()  # the complaints the unit holds now
        if unit is not None:
            self.own_codes = set(db.session.scalars(select(Complaint.tracking_code).where(
                Complaint.unit_id == unit.id)))

    def complaints(self, query):
        return query if self.unit is None else query.where(Complaint.unit_id == self.unit.id)

    def owns_event(self, action: str, complaint_code: str | None, units: str | None) -> bool:
        """Whether a one-unit pack shows this event in full, by the units the event names
        (audit.record's `unit`): events of its units (of a complaint it handed on, those of
        the steps taken while the complaint was here), the whole history of the complaints
        it holds now, and events of the whole deployment (no unit) except those about staff
        accounts and integrations of no unit (admins, auditors, API keys), which name people
        and credentials outside the unit."""
        if self.unit is None:
            return True
        if units is None:
            return not action.startswith(ACCOUNT_ACTIONS)
        return self.unit.code in units.split() or complaint_code in self.own_codes


def _chain(writer: PackWriter, scope: Scope, counts: dict, progress) -> dict:
    first = db.session.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.occurred_at >= scope.since))
    last = db.session.scalar(select(func.max(AuditEvent.seq)).where(AuditEvent.occurred_at < scope.until))
    chain = {"first_seq": None, "last_seq": None, "first_prev_hash": None, "last_hash": None,
             "events": 0, "redacted": 0}
    with writer.text(verify_pack.EVENTS) as out:
        if first is not None and last is not None and first <= last:
            rows = db.session.execute(
                select(AuditEvent.seq, AuditEvent.action, AuditEvent.complaint_code, AuditEvent.units,
                       AuditEvent.body, AuditEvent.prev_hash, AuditEvent.hash)
                .where(AuditEvent.seq >= first, AuditEvent.seq <= last).order_by(AuditEvent.seq)
                .execution_options(yield_per=CHUNK))
            for seq, action, code, units, body, prev_hash, event_hash in rows:
                if chain["events"] == 0:
                    chain["first_seq"], chain["first_prev_hash"] = seq, prev_hash
                line = {"seq": seq, "prev_hash": prev_hash, "hash": event_hash}
                if scope.owns_event(action, code, units):
                    line["body"] = body
                else:
                    line["redacted"] = True
                    chain["redacted"] += 1
                out.write(canonical(line) + "\n")
                chain["events"] += 1
                chain["last_seq"], chain["last_hash"] = seq, event_hash
                if progress and chain["events"] % 10000 == 0:
                    progress("audit events", chain["events"])
    with writer.text(verify_pack.CHECKPOINTS) as out:
        if chain["events"]:
            # Heads signed inside the slice (once each: the worker signs an unchanged head
            # again on its interval), the first one after it, which seals its end, and the
            # head published last before the export, which `audit verify --pack` later proves
            # the live chain still contains.
            sealing = db.session.scalar(select(func.min(AuditCheckpoint.seq)).where(
                AuditCheckpoint.seq >= chain["last_seq"]))
            upper = sealing if sealing is not None else chain["last_seq"]
            first_of_each_head = (select(func.min(AuditCheckpoint.id)).where(
                AuditCheckpoint.seq >= chain["first_seq"], AuditCheckpoint.seq <= upper)
                .group_by(AuditCheckpoint.seq))
            published = latest_checkpoint(db.session)
            chosen = AuditCheckpoint.id.in_(first_of_each_head)
            if published is not None:
                chosen = or_(chosen, AuditCheckpoint.id == published.id)
            for cp in db.session.scalars(select(AuditCheckpoint).where(chosen)
                                         .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)):
                line = {"seq": cp.seq, "hash": cp.hash, "signed_at": iso_utc(cp.signed_at),
                        "public_key": cp.public_key, "signature": cp.signature}
                if cp.counter is not None:  # chained (legacy checkpoints signed less)
                    line.update(counter=cp.counter, prev_checkpoint_hash=cp.prev_checkpoint_hash)
                out.write(canonical(line) + "\n")
                counts["checkpoints"] = counts.get("checkpoints", 0) + 1
    counts["audit_events"] = chain["events"]
    return chain


# No identity: auditors are not entitled to it (policy.can_see_identity); the privacy mode says
# how the complainant filed.
REGISTER_COLUMNS = ["tracking_code", "received_at", "channel", "classification", "category",
                    "unit", "state", "closure_reason", "closed_at", "late_filing", "privacy",
                    "title", "stage_due_at", "resolution_due_at", "rating"]


def _register(writer: PackWriter, scope: Scope, counts: dict) -> None:
    # Plain rows, not ORM objects: a million of them must not pass through the identity map.
    query = scope.complaints(select(
        Complaint.tracking_code, Complaint.received_at, Complaint.channel, Complaint.classification,
        Complaint.category_id, Complaint.unit_id, Complaint.state, Complaint.closure_reason,
        Complaint.closed_at, Complaint.late_filing, Complaint.privacy, Complaint.title,
        Complaint.stage_due_at, Complaint.resolution_due_at, Complaint.rating).where(
        Complaint.received_at >= scope.since, Complaint.received_at < scope.until)
        .order_by(Complaint.received_at, Complaint.id)).execution_options(yield_per=CHUNK)
    units = scope.unit_codes
    categories = dict(db.session.execute(select(Category.id, Category.code)).all())
    n = 0
    with writer.text("register.csv") as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(REGISTER_COLUMNS)
        for c in db.session.execute(query):
            rows.writerow([
                c.tracking_code, _local(c.received_at), c.channel, c.classification,
                categories.get(c.category_id, ""), units.get(c.unit_id, ""), c.state,
                c.closure_reason or "", _local(c.closed_at), int(c.late_filing), c.privacy,
                "(rahasia)" if c.privacy == "confidential" else c.title,
                _local(c.stage_due_at), _local(c.resolution_due_at), c.rating or ""])
            n += 1
    counts["complaints_received"] = n


def _digest_text(text: str) -> str:
    found = digest(text)
    return f"sha256:{found['sha256']} ({found['length']} characters)"


def _event_fields(data: dict, confidential: bool) -> dict:
    """Timeline data as the pack shows it: never identity; a confidential case's free text
    only as its digest, as in the audit chain."""
    return for_audit(data) if confidential else (data or {})


def _cases(writer: PackWriter, scope: Scope, counts: dict) -> None:
    """One line per case active in the period: its whole timeline, clocks and escalations."""
    active = select(ComplaintEvent.complaint_id).where(
        ComplaintEvent.occurred_at >= scope.since, ComplaintEvent.occurred_at < scope.until)
    if scope.unit is not None:
        active = active.where(or_(ComplaintEvent.unit_id == scope.unit.id,
                                  ComplaintEvent.complaint_id.in_(select(Complaint.id).where(
                                      Complaint.unit_id == scope.unit.id))))
    ids = select(Complaint.id).where(Complaint.id.in_(active))
    units = scope.unit_codes
    n = 0
    with writer.text("cases.jsonl") as out:
        batch: list[int] = []

        def grouped(query) -> dict[int, list]:
            """Plain rows by complaint (no ORM objects: nothing accumulates in the session)."""
            rows: dict[int, list] = {}
            for row in db.session.execute(query):
                rows.setdefault(row.complaint_id, []).append(row)
            return rows

        def flush(batch_ids):
            nonlocal n
            complaints = {c.id: c for c in db.session.execute(select(
                Complaint.id, Complaint.tracking_code, Complaint.unit_id, Complaint.state,
                Complaint.closure_reason, Complaint.privacy, Complaint.received_at, Complaint.closed_at)
                .where(Complaint.id.in_(batch_ids)))}
            events = grouped(select(
                ComplaintEvent.complaint_id, ComplaintEvent.occurred_at, ComplaintEvent.kind,
                ComplaintEvent.trigger, ComplaintEvent.from_state, ComplaintEvent.to_state,
                ComplaintEvent.actor_role, ComplaintEvent.unit_id, ComplaintEvent.public, ComplaintEvent.data)
                .where(ComplaintEvent.complaint_id.in_(batch_ids))
                .order_by(ComplaintEvent.complaint_id, ComplaintEvent.id))
            clocks = grouped(select(
                ComplaintClock.complaint_id, ComplaintClock.rule, ComplaintClock.due_at,
                ComplaintClock.stopped_at, ComplaintClock.paused_at, ComplaintClock.calendar_version)
                .where(ComplaintClock.complaint_id.in_(batch_ids)).order_by(ComplaintClock.id))
            escalations = grouped(select(
                Escalation.complaint_id, Escalation.unit_id, Escalation.rule, Escalation.level,
                Escalation.fired_at, Escalation.acknowledged_at)
                .where(Escalation.complaint_id.in_(batch_ids)).order_by(Escalation.id))
            for cid in batch_ids:
                c = complaints[cid]
                confidential = c.privacy == "confidential"
                # A case this unit handed on: its own steps only, not what the next unit did.
                handed_on = scope.unit is not None and c.unit_id != scope.unit.id
                steps = [e for e in events.get(cid, []) if not handed_on or e.unit_id == scope.unit.id]
                ladder = [x for x in escalations.get(cid, []) if not handed_on or x.unit_id == scope.unit.id]
                out.write(canonical({
                    "tracking_code": c.tracking_code, "unit": units.get(c.unit_id),
                    "handed_on": handed_on, "state": None if handed_on else c.state,
                    "closure_reason": None if handed_on else c.closure_reason, "privacy": c.privacy,
                    "received_at": _local(c.received_at),
                    "closed_at": None if handed_on else (_local(c.closed_at) or None),
                    "events": [{"at": _local(e.occurred_at), "kind": e.kind, "trigger": e.trigger,
                                "from": e.from_state, "to": e.to_state, "by": e.actor_role,
                                "unit": units.get(e.unit_id), "public": e.public,
                                "data": _event_fields(e.data, confidential)} for e in steps],
                    "clocks": [] if handed_on else [
                        {"rule": k.rule, "due_at": _local(k.due_at) or None,
                         "stopped_at": _local(k.stopped_at) or None, "paused": k.paused_at is not None,
                         "met": None if k.stopped_at is None else (k.due_at is None or k.stopped_at <= k.due_at),
                         "calendar_version": k.calendar_version} for k in clocks.get(cid, [])],
                    "escalations": [{"rule": x.rule, "level": x.level, "fired_at": _local(x.fired_at),
                                     "acknowledged_at": _local(x.acknowledged_at) or None} for x in ladder],
                }) + "\n")
                n += 1

        for cid in db.session.scalars(ids.order_by(Complaint.id).execution_options(yield_per=CHUNK)):
            batch.append(cid)
            if len(batch) == 200:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    counts["cases"] = n


def _sla(writer: PackWriter, scope: Scope, report) -> None:
    with writer.text("sla.csv") as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(["rule", "finished_in_period", "on_time", "on_time_rate", "average_days",
                       "longest_days", "overdue_open_at_end"])
        for s in report.stages:
            rows.writerow([s.rule, s.finished, s.on_time,
                           "" if s.on_time_rate is None else f"{s.on_time_rate:.4f}",
                           "" if s.average_days is None else f"{s.average_days:.2f}",
                           f"{s.longest_days:.2f}", s.overdue_open])


def _lapor(writer: PackWriter, scope: Scope, counts: dict, moment: datetime) -> None:
    """lapor.csv: each answer owed to SP4N-LAPOR! that the summary's LAPOR! figures count
    (given or posted in the period, or waiting at its end): codes and times only, no words."""
    n = 0
    with writer.text("lapor.csv") as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(LAPOR_COLUMNS)
        for code, lapor_id, unit_id, answer, given, posted, recorded, hours, in_period, waiting in lapor_rows(
                scope.start, scope.end, scope.unit, now=moment):
            rows.writerow([code, lapor_id, scope.unit_codes.get(unit_id, ""), answer, _local(given),
                           _local(posted), _local(recorded), "" if hours is None else f"{hours:.2f}",
                           int(in_period), int(waiting)])
            n += 1
    counts["lapor_answers"] = n


def _supervision(writer: PackWriter, scope: Scope, counts: dict) -> list[SupervisionRecord]:
    query = select(SupervisionRecord).where(SupervisionRecord.held_on >= scope.start,
                                            SupervisionRecord.held_on <= scope.end)
    if scope.unit is not None:
        query = query.where(SupervisionRecord.id.in_(select(supervision_units.c.record_id).where(
            supervision_units.c.unit_id == scope.unit.id)))
    records = db.session.scalars(query.order_by(SupervisionRecord.held_on, SupervisionRecord.id)).all()
    with writer.text("supervision.csv") as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(["id", "held_on", "kind", "title", "supervisor", "units", "participants",
                       "findings", "complaints", "files"])
        for r in records:
            # Findings about a confidential case may retell its content: kept as a digest.
            secret = any(c.privacy == "confidential" for c in r.complaints)
            findings = _digest_text(r.findings) if secret and r.findings else (r.findings or "")
            rows.writerow([r.id, r.held_on.isoformat(), r.kind, r.title, r.supervisor.name,
                           " ".join(u.code for u in r.units), r.participants or "", findings,
                           " ".join(c.tracking_code for c in r.complaints), len(r.files)])
    with writer.text("supervision_actions.csv") as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(["record_id", "action_id", "description", "owner", "due_on", "status", "completed_on"])
        for r in records:
            for a in r.actions:
                rows.writerow([r.id, a.id, a.description, a.owner, a.due_on or "", a.status, a.completed_on or ""])
    for r in records:
        for f in r.files:
            writer.copy_chunks(f"supervision/{r.id}/{f.id}-{_safe(f.filename)}", chunks_of(f))
    counts["supervision_records"] = len(records)
    return records


def _documents(writer: PackWriter, scope: Scope, counts: dict) -> list[StandingDocument]:
    query = select(StandingDocument).where(
        StandingDocument.valid_from <= scope.end,
        or_(StandingDocument.valid_until.is_(None), StandingDocument.valid_until >= scope.start))
    if scope.unit is not None:
        query = query.where(StandingDocument.unit_id == scope.unit.id)
    documents = db.session.scalars(query.order_by(StandingDocument.unit_id, StandingDocument.kind)).all()
    with writer.text("documents.csv") as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(["id", "unit", "kind", "title", "valid_from", "valid_until", "file", "sha256"])
        for d in documents:
            name = f"documents/{d.id}-{_safe(d.filename)}"
            rows.writerow([d.id, d.unit.code, d.kind, d.title, d.valid_from, d.valid_until or "", name, d.sha256])
    for d in documents:
        writer.copy_chunks(f"documents/{d.id}-{_safe(d.filename)}", chunks_of(d))
    counts["standing_documents"] = len(documents)
    return documents


def _standards(writer: PackWriter, scope: Scope, counts: dict) -> None:
    """standards/<UNIT>.json and .html: the service standard in force for each unit of the
    pack now (the register keeps the current version; its history is the audit chain)."""
    units = [scope.unit] if scope.unit is not None else list(db.session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
    scopes: list[tuple[Unit | None, str]] = [(u, _safe(u.code)) for u in units]
    if scope.unit is None:
        scopes.insert(0, (None, "default"))
    for unit, name in scopes:
        standard = standards.standard_for(unit) if unit is not None else standards.default_standard()
        if unit is None and standard is None:
            continue
        data = standard_record(unit, standard)
        if standard is not None:
            data["poster"] = f"{verify_pack.STANDARDS}{name}.html"
            with writer.text(data["poster"]) as out:
                out.write(poster_html(unit, standard))
        with writer.text(f"{verify_pack.STANDARDS}{name}.json") as out:
            out.write(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True))
        counts["service_standards"] = counts.get("service_standards", 0) + (standard is not None)


def _compensation(writer: PackWriter, scope: Scope, counts: dict) -> None:
    """compensation/compensations.csv and the evidence files of the compensation given in the
    period. On a complaint whose complainant is not public, what was given is kept as its
    digest and the files are named by their number, not as uploaded (a receipt in her name)."""
    query = select(Compensation).where(Compensation.given_on >= scope.start, Compensation.given_on <= scope.end)
    if scope.unit is not None:
        query = query.where(Compensation.unit_id == scope.unit.id)
    given = db.session.scalars(query.order_by(Compensation.given_on, Compensation.id)).all()
    copies = []
    with writer.text(COMPENSATION) as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(verify_pack.COMPENSATION_COLUMNS)
        for c in given:
            masked = c.complaint is not None and c.complaint.privacy != "public"
            files = []
            for f in c.files:
                name = f"compensation/{c.id}/{f.id}-{_safe(named_as_type(f'kompensasi-{f.id}', f.content_type) if masked else f.filename)}"
                files.append(f"{name}:{f.sha256}")
                copies.append((name, f))
            description = _digest_text(c.description) if masked and c.description else (c.description or "")
            rows.writerow([c.id, c.unit.code, c.complaint.tracking_code if c.complaint else "", c.kind,
                           c.given_on.isoformat(), "" if c.value is None else c.value, description,
                           c.approved_by, c.recorded_by.name, " ".join(files)])
    for name, f in copies:
        writer.copy_chunks(name, chunks_of(f))
    counts["compensations"] = len(given)


SKM_FILES = ("skm/results.csv", "skm/questionnaires.csv", "skm/actions.csv")


def _skm(writer: PackWriter, scope: Scope, counts: dict) -> list[tuple]:
    """The SKM of the survey periods overlapping the pack's days (of its unit): their results,
    questionnaires and improvement actions, each file written even when there are none (an
    empty file says there was no survey). Returns (period, overall IKM) for the summary."""
    surveys = skm.overlapping(scope.start, scope.end, scope.unit.id if scope.unit else None)
    overall = []
    with writer.text(SKM_FILES[0]) as out:
        rows = spreadsheet.Writer(out)
        rows.writerow(skm.RESULT_COLUMNS)
        for survey in surveys:
            for service_type, ikm in skm.sections(survey):
                rows.writerow(skm.result_row(survey, service_type, ikm))
                if service_type is None:
                    overall.append((survey, ikm))
    counts["survey_periods"] = len(surveys)
    counts["survey_responses"] = _csv(writer, SKM_FILES[1], skm.QUESTIONNAIRE_COLUMNS,
                                      (row for survey in surveys for row in skm.questionnaire_rows(survey)))
    counts["survey_actions"] = _csv(writer, SKM_FILES[2], skm.ACTION_COLUMNS,
                                    (row for survey in surveys for row in skm.action_rows(survey)))
    return overall


def _readiness(writer: PackWriter, scope: Scope, counts: dict) -> readiness.Assessment:
    """readiness.csv: the pack's unit (or every active unit) against the assessment's items,
    as the readiness page showed them on the pack's last day."""
    units = [scope.unit] if scope.unit is not None else list(db.session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.code)))
    assessment = readiness.assess(units, scope.end)
    counts["readiness_rows"] = _csv(writer, READINESS, readiness.CSV_COLUMNS, readiness.csv_rows(assessment))
    return assessment


def _csv(writer: PackWriter, name: str, columns: list[str], rows) -> int:
    """Write `rows` under `columns` as the CSV file `name`; how many rows."""
    n = 0
    with writer.text(name) as out:
        csv_out = spreadsheet.Writer(out)
        csv_out.writerow(columns)
        for row in rows:
            csv_out.writerow(row)
            n += 1
    return n


def manifest_bytes(manifest: dict) -> bytes:
    """manifest.json as written: these bytes are signed, and named in the export's event."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def export_pack(out: str | Path | BinaryIO, start: date, end: date, unit: Unit | None = None, *,
                actor: Actor = Actor.cli(), progress=None, seal: bool = False) -> dict:
    """Write the pack for the period (local days, inclusive) and unit (or all units) to
    `out` (a path, or a seekable binary file the caller owns) and record the export in the
    audit chain; returns the manifest. With `seal`, the chain head is signed first, so a pack
    up to now is sealed by a checkpoint it carries.

    Unlike the other services, it cannot run inside its caller's unit of work: reading the
    pack takes as long as the export (15 to 35 s for a million events, bench/README.md), and
    a transaction that writes holds, until it ends, the chain lock (PostgreSQL: the advisory
    lock every audited write takes at its commit; signing the seal takes it) and on SQLite
    the database's write lock (a POST request begins BEGIN IMMEDIATE): every filing and step
    would wait for the export, or fail after the busy timeout. So the caller's transaction
    ends before the read (committing the seal, the only change it may then hold), the pack
    is read in a read-only transaction of its own, and the export's audit event is queued in
    a new one, which the caller's unit of work commits or rolls back. The download streams
    the finished file afterwards, outside any transaction. A caller that changed anything
    first is refused, so that no work of its own is committed behind its back."""
    if db.session.new or db.session.dirty or db.session.deleted or unit_of_work.current().audit_events:
        raise RuntimeError("export_pack ends the caller's transaction: call it before changing anything")
    if seal:
        audit.checkpoint(db.session)
    db.session.commit()  # the seal alone (see above); nothing else of the caller's is pending
    with read_only():
        manifest = _write(out if hasattr(out, "write") else Path(out), start, end, unit, progress)
        db.session.commit()  # ends the read-only transaction, which changed nothing
    audit.record(db.session, "evidence.exported", actor=actor.label, unit=manifest["unit"], payload={
        "period": manifest["period"], "unit": manifest["unit"], "counts": manifest["counts"],
        "chain": {k: manifest["chain"][k] for k in ("first_seq", "last_seq", "last_hash")},
        "manifest_sha256": hashlib.sha256(manifest_bytes(manifest)).hexdigest()})
    return manifest


def _write(out: Path | BinaryIO, start: date, end: date, unit: Unit | None, progress) -> dict:
    if db.session.get_bind().dialect.name == "postgresql":
        # The export reads every row its cursors open: plan them for the whole result, not
        # for the first rows (PostgreSQL's default for cursors picks slow nested loops here).
        db.session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    scope = Scope(start, end, unit)
    writer = PackWriter(out)
    counts: dict = {}
    try:
        def done(stage: str) -> None:
            if progress:
                progress(stage, counts.get(stage, 0))

        chain = _chain(writer, scope, counts, progress)
        done("audit_events")
        _register(writer, scope, counts)
        done("complaints_received")
        _cases(writer, scope, counts)
        done("cases")
        report = with_lapor(periodic_report(start, end, unit))
        _sla(writer, scope, report)
        _lapor(writer, scope, counts, report.moment)
        records = _supervision(writer, scope, counts)
        done("supervision_records")
        documents = _documents(writer, scope, counts)
        done("standing_documents")
        surveys = _skm(writer, scope, counts)
        done("survey_responses")
        _compensation(writer, scope, counts)
        done("compensations")
        ombudsman.write(writer, scope, counts, _safe)
        done("ombudsman_items")
        evaluation.write(writer, scope, counts, _safe)
        done("evaluation_reports")
        _standards(writer, scope, counts)
        done("service_standards")
        ready = _readiness(writer, scope, counts)
        done("readiness_rows")
        with writer.text("summary.html") as page:
            page.write(render_template("evidence/summary.html", report=report, records=records,
                                       documents=documents, counts=counts, chain=chain,
                                       generated_at=utcnow(), unit=unit, surveys=surveys,
                                       skm_files=SKM_FILES, readiness=ready))
        writer.copy("verify_pack.py", Path(verify_pack.__file__))
        manifest = {
            "format": FORMAT, "generator": f"pengaduan {__version__}",
            "generated_at": iso_utc(utcnow()), "timezone": current_app.config["PENGADUAN_TIMEZONE"],
            "period": {"from": start.isoformat(), "to": end.isoformat()},
            "unit": unit.code if unit else None, "counts": counts, "chain": chain,
            "files": dict(sorted(writer.files.items())),
        }
        key = signing_key()
        manifest["signer"] = {"algorithm": "Ed25519", "public_key": public_key_hex(key)}
        # The signature covers the bytes as stored, not a re-serialisation of them.
        signed = manifest_bytes(manifest)
        writer.zip.writestr(verify_pack.MANIFEST, signed)
        writer.zip.writestr(verify_pack.SIGNATURE, key.sign(signed).hex() + "\n")
    except BaseException:
        writer.close()
        if isinstance(out, Path):
            out.unlink(missing_ok=True)  # no half-written pack is left behind
        raise
    writer.close()
    return manifest
