"""The audit log as people read it: events filtered by complaint, actor, action and period,
newest first a page at a time (keyset pagination by seq, fast however long the chain), each
in plain words; and the chain verified on request, itself an audit event.

What an entry shows is what the evidence pack shows its reader: the chain never holds a
complainant's identity or words (free text is kept as its digest), and the one piece of
case text an entry quotes, a reveal's reason, read from the case's internal timeline, is
shown only where the policy lets the reader see it (audit_log_shows_case_text).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from ... import audit
from ...audit import actions
from ...database import read_only
from ...extensions import db
from ...i18n import channel_label, format_number, label, role_label
from ...i18n import lazy_gettext as _l
from ...models import AuditEvent, Complaint, ComplaintEvent, User, utcnow
from ...policy import Actor, audit_log_shows_case_text
from ...workflow import current_workflow
from ...workflow.labels import closure_label, level_label, state_label
from ..inputs import in_calendar, out_of_calendar
from .reports import bounds

PAGE_SIZE = 50
MAX_ACTORS = 20  # people a name may match; a longer list asks for a more precise name
# One verification at a time per minute for the whole deployment: it reads every event
# (several seconds at a million), and its answer, shown to everyone, holds for all.
VERIFY_EVERY = timedelta(minutes=1)

# Actors that are not staff accounts (policy.Actor.label), in words.
SYSTEM_ACTORS = {
    "system": _l("The system"),
    "cli": _l("An operator (command line)"),
    "demo": _l("The demo data"),
    "citizen": _l("A complainant (web form)"),
}
PROBLEMS = {  # audit.Problem.kind in words
    "altered": _l("an event was changed"),
    "missing": _l("an event was deleted"),
    "inserted": _l("an event was inserted or moved"),
    "truncated": _l("the newest events were removed"),
    "checkpoint": _l("a signed checkpoint is not valid"),
    "stale": _l("the newest signed checkpoint is too old"),
    "forked": _l("the chain was rewritten"),
}


@dataclass
class Filters:
    complaint: str = ""
    actor: str = ""
    action: str = ""
    start: date | None = None
    end: date | None = None
    errors: dict = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.complaint or self.actor or self.action or self.start or self.end)

    def args(self) -> dict:
        """As a query string (for the next page's link)."""
        values = {"complaint": self.complaint, "actor": self.actor, "action": self.action,
                  "from": self.start.isoformat() if self.start else "",
                  "to": self.end.isoformat() if self.end else ""}
        return {k: v for k, v in values.items() if v}


def _day(values, name: str, errors: dict) -> date | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[name] = _l("must be a date (YYYY-MM-DD)")
        return None
    if not in_calendar(day):
        errors[name] = out_of_calendar()
        return None
    return day


def read_filters(values, normalise_code=str.upper) -> Filters:
    """The filters asked for; a bad one is named in `errors` and kept as typed where it is text.
    `normalise_code` reads a typed tracking code as stored (complaints.tracking's, handed down
    by the view: complaints/ already imports oversight/)."""
    errors: dict = {}
    complaint = (values.get("complaint") or "").strip()[:40]
    actor = (values.get("actor") or "").strip()[:320]
    action = (values.get("action") or "").strip()
    if action and action not in dict(known_actions_flat()):
        errors["action"] = _l("choose an action from the list")
        action = ""
    start, end = _day(values, "from", errors), _day(values, "to", errors)
    if start and end and end < start:
        errors["to"] = _l("must be a date on or after the start")
    return Filters(normalise_code(complaint) if complaint else "", actor, action, start, end, errors)


def known_actions() -> list[tuple[str, list[tuple[str, str]]]]:
    """The action select: (group label, [(code, label), ...]) in a fixed order; the workflow's
    steps (from the workflow file) come first under their own heading."""
    workflow = current_workflow()
    steps = [(actions.STEP_PREFIX + t.trigger, label(t.label)) for t in workflow.transitions]
    seen: set[str] = set()
    steps = [(code, text) for code, text in steps if not (code in seen or seen.add(code))]
    groups = [(gettext("Workflow steps"), steps)]
    for key, heading in actions.GROUPS:
        groups.append((str(heading), [(code, str(text)) for code, (group, text) in actions.LABELS.items()
                                      if group == key]))
    return groups


def known_actions_flat() -> list[tuple[str, str]]:
    return [item for _, items in known_actions() for item in items]


# ----------------------------------------------------------------------------- the query


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def actor_labels(text: str) -> list[str]:
    """The chain's actor labels (policy.Actor.label) a typed name or email stands for: staff
    accounts whose email or name contains it, the system's own actors by their words, and a
    label typed as the chain writes it."""
    lowered = text.lower()
    users = db.session.scalars(select(User).where(or_(
        func.lower(User.email).like(_like(lowered), escape="\\"),
        func.lower(User.name).like(_like(lowered), escape="\\"))).order_by(User.id).limit(MAX_ACTORS)).all()
    labels = [Actor.staff(user).label for user in users]
    for name, words in SYSTEM_ACTORS.items():
        if lowered in (name, str(words).lower()) or lowered in str(words).lower().split():
            labels.append(name)
    if ":" in text:  # a label as the chain writes it (user:12:siti@..., channel:api), pasted
        labels.append(text)  # from an evidence pack's events
    return list(dict.fromkeys(labels))


def _period_seqs(start: date | None, end: date | None) -> tuple[int | None, int | None, list]:
    """The period as a range of seq (the events appended then; seq grows with time, as in the
    evidence pack's slice), with the exact bounds on the time as well."""
    since, until = bounds(start or date(1900, 1, 1), end or date(2999, 12, 30))
    conditions, lo, hi = [], None, None
    if start is not None:
        lo = db.session.scalar(select(AuditEvent.seq).where(AuditEvent.occurred_at >= since)
                               .order_by(AuditEvent.occurred_at).limit(1))
        conditions.append(AuditEvent.occurred_at >= since)
        lo = lo if lo is not None else -1  # nothing since: an empty page
        if lo == -1:
            return -1, -1, conditions
    if end is not None:
        hi = db.session.scalar(select(AuditEvent.seq).where(AuditEvent.occurred_at < until)
                               .order_by(AuditEvent.occurred_at.desc()).limit(1))
        conditions.append(AuditEvent.occurred_at < until)
        hi = hi if hi is not None else -1
    return lo, hi, conditions


@dataclass
class Entry:
    seq: int
    occurred_at: datetime
    sentence: str
    details: list[str]
    complaint: str | None
    prev_hash: str
    hash: str
    action: str


@dataclass
class Page:
    entries: list[Entry]
    next_before: int | None  # the seq to continue below, if there is more
    unknown_actor: bool = False  # the actor filter matched nobody


def page(filters: Filters, reader: Actor, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """One page of events matching the filters, newest first, below seq `before`."""
    conditions = []
    if filters.complaint:
        conditions.append(AuditEvent.complaint_code == filters.complaint)
    if filters.action:
        conditions.append(AuditEvent.action == filters.action)
    if filters.start or filters.end:
        lo, hi, exact = _period_seqs(filters.start, filters.end)
        if lo == -1 or hi == -1:
            return Page([], None)
        conditions += exact
        if lo is not None:
            conditions.append(AuditEvent.seq >= lo)
        if hi is not None and (before is None or hi < before):
            before = hi + 1
    if before is not None:
        conditions.append(AuditEvent.seq < before)
    columns = (AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.actor, AuditEvent.action,
               AuditEvent.complaint_code, AuditEvent.body, AuditEvent.prev_hash, AuditEvent.hash)
    if filters.actor:
        labels = actor_labels(filters.actor)
        if not labels:
            return Page([], None, unknown_actor=True)
        if len(labels) == 1:
            query = select(*columns).where(*conditions, AuditEvent.actor == labels[0])
        else:
            # Each actor's newest events by its own index range, then merged: an IN list
            # would read every event of every actor it names before sorting them.
            parts = [select(AuditEvent.seq).where(*conditions, AuditEvent.actor == name)
                     .order_by(AuditEvent.seq.desc()).limit(size + 1).subquery() for name in labels]
            merged = union_all(*(select(p.c.seq) for p in parts)).subquery()
            seqs = select(merged.c.seq).order_by(merged.c.seq.desc()).limit(size + 1)
            query = select(*columns).where(AuditEvent.seq.in_(seqs))
    else:
        query = select(*columns).where(*conditions)
    rows = db.session.execute(query.order_by(AuditEvent.seq.desc()).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    return Page(describe(rows, reader), rows[-1].seq if more else None)


# ----------------------------------------------------------------------------- in words


def _who(label_: str, users: dict) -> str:
    if label_.startswith("user:"):  # user:<id>:<email>; whatever else a chain holds reads as is
        _, user_id, *email = label_.split(":", 2)
        user = users.get(int(user_id)) if user_id.isdigit() else None
        if user is None:
            return email[0] if email else label_
        return f"{user.name} ({role_label(user.role)})"
    if label_.startswith("channel:"):
        return gettext("A complainant (%(channel)s)", channel=channel_label(label_.split(":", 1)[1]))
    words = SYSTEM_ACTORS.get(label_)
    return str(words) if words is not None else label_


def verification_words(payload: dict) -> tuple[str, list[str]]:
    """A recorded verification's outcome, and what it found, in words."""
    problem = payload.get("problem")
    if problem:
        kind = PROBLEMS.get(problem.get("kind"), problem.get("kind"))
        return (gettext("BROKEN at seq %(seq)s (%(kind)s)", seq=problem.get("seq"), kind=kind),
                [str(problem.get("detail") or "")])
    return (gettext("intact, %(count)s events", count=format_number(payload.get("events"))),
            [gettext("Head hash: %(hash)s", hash=payload.get("head"))])


def describe(rows, reader: Actor) -> list[Entry]:
    """The rows in plain words, with the few details each kind of event is worth."""
    workflow = current_workflow()
    triggers = {t.trigger: t for t in workflow.transitions}
    payloads = {row.seq: _payload(row.body) for row in rows}
    user_ids = {int(r.actor.split(":")[1]) for r in rows
                if r.actor.startswith("user:") and r.actor.split(":")[1].isdigit()}
    users = {u.id: u for u in db.session.execute(
        select(User.id, User.name, User.role).where(User.id.in_(user_ids)))} if user_ids else {}
    reveals = [r for r in rows if r.action == "complaint.identity_revealed"]
    privacy, reasons = {}, {}
    if reveals:
        privacy = dict(db.session.execute(select(Complaint.tracking_code, Complaint.privacy).where(
            Complaint.tracking_code.in_({r.complaint_code for r in reveals}))).all())
        shown = [payloads[r.seq].get("event_id") for r in reveals
                 if audit_log_shows_case_text(reader, privacy.get(r.complaint_code))]
        if shown:
            reasons = {e.id: (e.data or {}).get("reason") for e in db.session.execute(
                select(ComplaintEvent.id, ComplaintEvent.data).where(ComplaintEvent.id.in_(shown)))}
    entries = []
    for row in rows:
        payload = payloads[row.seq]
        values = {"who": _who(row.actor, users), "code": row.complaint_code or "—",
                  **actions.facts(row.action, payload)}
        details: list[str] = []
        step = None
        if actions.is_step(row.action, triggers):
            step = label(triggers[row.action[len(actions.STEP_PREFIX):]].label)
            details.append(f"{state_label(payload.get('from'))} → {state_label(payload.get('to'))}")
            if payload.get("closure_reason"):
                details.append(gettext("Closure reason: %(reason)s",
                                       reason=closure_label(payload["closure_reason"])))
        elif row.action == "complaint.filed":
            details.append(gettext("Channel: %(channel)s", channel=channel_label(payload.get("channel"))))
        elif row.action == "complaint.identity_revealed":
            event_id = payload.get("event_id")
            if event_id in reasons and reasons[event_id]:
                details.append(gettext("Reason: %(reason)s", reason=reasons[event_id]))
            elif privacy.get(row.complaint_code) == "confidential":
                details.append(gettext("Reason: withheld, the complaint is confidential"))
            else:
                details.append(gettext("Reason: on the complaint's internal timeline"))
        elif row.action == "complaint.escalated":
            values["level"] = level_label(payload.get("rule"), payload.get("level"))
        elif row.action == "evidence.exported":
            values["scope"] = (gettext("unit %(unit)s", unit=payload["unit"]) if payload.get("unit")
                               else gettext("all units"))
        elif row.action in ("user.created", "user.updated"):
            role = (payload.get("after") or {}).get("role") or payload.get("role")
            if role:
                details.append(gettext("Role: %(role)s", role=role_label(role)))
        elif row.action == actions.VERIFIED:
            values["outcome"], found = verification_words(payload)
            details += found
        entries.append(Entry(row.seq, row.occurred_at, actions.sentence(row.action, step, **values),
                             details, row.complaint_code, row.prev_hash, row.hash, row.action))
    return entries


def _payload(body: str) -> dict:
    try:
        payload = json.loads(body).get("payload")
    except (ValueError, AttributeError):
        return {}
    return payload if isinstance(payload, dict) else {}


# ----------------------------------------------------------------------------- verification


@dataclass
class LastVerification:
    by: str
    at: datetime
    ok: bool
    outcome: str
    details: list[str]


def last_verification() -> LastVerification | None:
    """The newest verification recorded in the chain (anyone's)."""
    row = db.session.execute(select(AuditEvent.actor, AuditEvent.occurred_at, AuditEvent.body)
                             .where(AuditEvent.action == actions.VERIFIED)
                             .order_by(AuditEvent.seq.desc()).limit(1)).first()
    if row is None:
        return None
    payload = _payload(row.body)
    users = {}
    if row.actor.startswith("user:") and row.actor.split(":")[1].isdigit():
        users = {u.id: u for u in db.session.execute(select(User.id, User.name, User.role).where(
            User.id == int(row.actor.split(":")[1])))}
    outcome, details = verification_words(payload)
    return LastVerification(_who(row.actor, users), row.occurred_at, not payload.get("problem"),
                            outcome, details)


def next_verification_at() -> datetime | None:
    """When the chain may be verified again, if it was verified less than VERIFY_EVERY ago."""
    at = db.session.scalar(select(AuditEvent.occurred_at).where(AuditEvent.action == actions.VERIFIED)
                           .order_by(AuditEvent.seq.desc()).limit(1))
    if at is not None and utcnow() - at < VERIFY_EVERY:
        return at + VERIFY_EVERY
    return None


def verify_chain() -> audit.VerifyResult:
    """Verify the whole chain as `flask audit verify` does (every event's hash and link, the
    chain of signed checkpoints, the age of the newest one), in a read-only session of its
    own: its seconds hold no lock anyone waits for. Call it outside any writing transaction."""
    with read_only(), Session(bind=db.engine) as reader:
        return audit.verify_chain(reader, audit.public_key_hex(),
                                  max_age=2 * audit.checkpoint_interval())


def record_verification(result: audit.VerifyResult, actor: Actor) -> None:
    """The verification joins the chain it verified, with its answer."""
    problem = result.problem
    audit.record(db.session, actions.VERIFIED, actor=actor.label, unit=None, payload={
        "ok": result.ok, "events": result.count, "head": result.head,
        "problem": {"seq": problem.seq, "kind": problem.kind, "detail": problem.detail} if problem else None,
        "gaps": len(result.gaps)})
