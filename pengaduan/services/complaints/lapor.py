"""Answers owed to SP4N-LAPOR!: which events of a complaint received from LAPOR! must be
posted back there, whether each was, and since when the oldest one waits.

**A public answer** (to post to LAPOR!) is an event of a complaint that has a LAPOR! ID
(`Complaint.lapor_id`), public (the complainant sees it), taken or written by a staff member
who handles cases (an officer or supervisor), and either

- a message of the conversation (kind `message`), or
- a workflow step whose transition is public and carries words for the complainant: it
  requires or accepts a field that is public free text (the follow-up's response, the
  request's message, the resolution, a reason; `answer_triggers` lists them from the
  workflow in force). A step that only moves the file (verifying and forwarding it, say)
  says nothing to post, and the system's own steps (an expiry) are LAPOR!'s business too.

It is defined once, here: `is_public_answer(event)` in Python, `public_answer()` as an SQL
condition over `complaint_events` joined to `complaints` and `public_answers()` /
`answer_postings()` as ready selects, for the queue, the case page, the supervisor's review,
the periodic report and the evidence pack alike. An answer is *posted* once a `LaporPosting`
row names it (recorded by hand from the case page, or by an adapter of
integrations/lapor.py), which keeps the answer's time too (`posted_answers()` reads the
postings alone); `Complaint.lapor_unposted_since` is the time of the oldest answer
without one (NULL when none waits), kept by `after_answer` and `record_posted`.

The bridge to LAPOR! is above this layer (integrations/): create_app puts the configured one
in `app.extensions[BRIDGE]`, and `after_answer` hands it each new answer once the answer has
committed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ... import audit, sla, unit_of_work
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import label
from ...i18n import lazy_gettext as _l
from ...models import Complaint, ComplaintEvent, LaporPosting, utcnow
from ...policy import STAFF_WITH_UNITS, Actor, can_record_lapor_posting
from ...workflow import Workflow, current_workflow
from ...workflow.fields import FIELDS
from .complainant_mail import language, quoted_fields

BRIDGE = "pengaduan.lapor_bridge"  # the app.extensions key of the configured bridge
MESSAGE = ComplaintEvent.MESSAGE
ANSWER_ROLES = tuple(str(role.value) for role in STAFF_WITH_UNITS)  # officer, supervisor
# A posting time typed in a form has minutes only: it may read a little before the answer.
TYPED_PRECISION = timedelta(minutes=1)
LOCAL_MINUTE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})$")  # what datetime-local sends


def answer_triggers(workflow: Workflow | None = None) -> tuple[str, ...]:
    """The workflow's steps that answer the complainant in words: public, taken by staff,
    requiring or accepting a public free-text field."""
    workflow = workflow or current_workflow()
    return tuple(t.trigger for t in workflow.transitions
                 if t.public and any(role in ANSWER_ROLES for role in t.roles)
                 and any(FIELDS[name].public and FIELDS[name].free_text
                         for name in t.requires + t.accepts if name in FIELDS))


def is_public_answer(event: ComplaintEvent, complaint: Complaint | None = None,
                     workflow: Workflow | None = None) -> bool:
    """Whether this event is a public answer to post to LAPOR! (see the module's docstring)."""
    complaint = complaint or event.complaint
    if not complaint.lapor_id or not event.public or event.actor_role not in ANSWER_ROLES:
        return False
    return event.kind == MESSAGE or (
        event.kind == "transition" and event.trigger in answer_triggers(workflow))


def public_answer(workflow: Workflow | None = None) -> ColumnElement[bool]:
    """The SQL condition of a public answer, over ComplaintEvent and Complaint (the caller
    joins them: `ComplaintEvent.complaint_id == Complaint.id`)."""
    triggers = answer_triggers(workflow)
    return and_(
        Complaint.lapor_id.is_not(None), ComplaintEvent.public.is_(True),
        ComplaintEvent.actor_role.in_(ANSWER_ROLES),
        or_(ComplaintEvent.kind == MESSAGE,
            and_(ComplaintEvent.kind == "transition", ComplaintEvent.trigger.in_(triggers))
            if triggers else false()))


def is_posted() -> ColumnElement[bool]:
    """The SQL condition of an answer confirmed posted to LAPOR! (over ComplaintEvent)."""
    return exists().where(LaporPosting.event_id == ComplaintEvent.id)


def public_answers(workflow: Workflow | None = None) -> Select:
    """Every public answer as a select of ComplaintEvent (joined to its Complaint: filter by
    unit, period or complaint as needed), in the order they were given."""
    return (select(ComplaintEvent).join(Complaint, ComplaintEvent.complaint_id == Complaint.id)
            .where(public_answer(workflow)).order_by(ComplaintEvent.occurred_at, ComplaintEvent.id))


def answer_postings(workflow: Workflow | None = None) -> Select:
    """Each public answer with its posting, if any: rows (event_id, complaint_id, unit_id,
    answered_at, posted_at or None, recorded_at or None). The delay of a posted answer is
    posted_at - answered_at; an unposted one has waited since answered_at. For the periodic
    report, the evidence pack and the supervisor's review (count, filter, aggregate)."""
    return (select(ComplaintEvent.id.label("event_id"), ComplaintEvent.complaint_id,
                   Complaint.unit_id, ComplaintEvent.occurred_at.label("answered_at"),
                   LaporPosting.posted_at, LaporPosting.recorded_at)
            .join(Complaint, ComplaintEvent.complaint_id == Complaint.id)
            .outerjoin(LaporPosting, LaporPosting.event_id == ComplaintEvent.id)
            .where(public_answer(workflow)))


def posted_answers() -> Select:
    """Every answer posted to LAPOR!, read off its posting alone (a posting names a public
    answer and keeps when it was given, `answered_at`), joined to its Complaint: rows shaped
    as `answer_postings`'s. For a period's postings, which would otherwise each look their
    answer up among the timeline events."""
    return (select(LaporPosting.event_id, LaporPosting.complaint_id, Complaint.unit_id,
                   LaporPosting.answered_at, LaporPosting.posted_at, LaporPosting.recorded_at)
            .join(Complaint, LaporPosting.complaint_id == Complaint.id))


def unposted_answers(complaint: Complaint, workflow: Workflow | None = None) -> list[ComplaintEvent]:
    """The complaint's public answers not yet posted to LAPOR!, oldest first."""
    return list(db.session.scalars(public_answers(workflow).where(
        ComplaintEvent.complaint_id == complaint.id, ~is_posted())))


def postings_of(complaint: Complaint) -> dict[int, LaporPosting]:
    """The complaint's postings, by the answer (event id) each confirms."""
    return {p.event_id: p for p in db.session.scalars(
        select(LaporPosting).where(LaporPosting.complaint_id == complaint.id))}


def answer_text(event: ComplaintEvent, workflow: Workflow | None = None) -> str:
    """The answer as the complainant reads it, to paste into LAPOR!: the public words of the
    step or message (a single text as it is; several, each after its label), never an
    internal note or the assignee."""
    workflow = workflow or current_workflow()
    with force_locale(language(event.complaint)):  # in the complainant's language, as she reads it
        return _answer_text(event, workflow)


def _answer_text(event: ComplaintEvent, workflow: Workflow) -> str:
    transition = workflow.transition(event.trigger) if event.kind == "transition" else None
    shown = quoted_fields(event, transition)  # what her email quotes of it, in that order
    if len(shown) == 1 and shown[0][0].free_text:
        return str(shown[0][1]).strip()
    parts = []
    for spec, value in shown:
        words = str(spec.show(workflow, value)).strip()
        parts.append(f"{spec.label}:\n{words}" if spec.widget == "textarea" or "\n" in words
                     else f"{spec.label}: {words}")
    if not parts and transition is not None:
        parts.append(label(transition.done))
    return "\n\n".join(parts)


# Keeping the mark ------------------------------------------------------------------------

def _set_unposted_since(complaint: Complaint, since: datetime | None) -> None:
    """Set the waiting mark without a new version of the complaint: a form opened before the
    answer or the posting stays valid (as conversation's mark does)."""
    if complaint.lapor_unposted_since == since:
        return
    db.session.execute(update(Complaint).where(Complaint.id == complaint.id)
                       .values(lapor_unposted_since=since).execution_options(synchronize_session=False))
    set_committed_value(complaint, "lapor_unposted_since", since)


def oldest_unposted(complaint: Complaint, workflow: Workflow | None = None) -> datetime | None:
    """When the complaint's oldest answer not yet posted was given (None: none waits)."""
    return db.session.scalar(
        select(func.min(ComplaintEvent.occurred_at)).join(Complaint, ComplaintEvent.complaint_id == Complaint.id)
        .where(ComplaintEvent.complaint_id == complaint.id, public_answer(workflow), ~is_posted()))


def after_answer(complaint: Complaint, event: ComplaintEvent) -> bool:
    """Called by lifecycle.advance and conversation.post_message once a step or message is
    flushed: if it is a public answer on a LAPOR! complaint, mark the complaint as waiting
    (unless an older answer already waits) and hand the answer to the bridge after commit.
    True if it was an answer."""
    if not complaint.lapor_id or not is_public_answer(event, complaint):
        return False
    if complaint.lapor_unposted_since is None:
        _set_unposted_since(complaint, event.occurred_at)
    bridge = current_app.extensions.get(BRIDGE)
    if bridge is not None:
        complaint_id, event_id = complaint.id, event.id
        unit_of_work.current().on_commit(lambda: bridge.answer_committed(complaint_id, event_id))
    return True


def record_posted(complaint: Complaint, event: ComplaintEvent, posted_at: datetime | None,
                  actor: Actor, at: datetime | None = None) -> LaporPosting:
    """Record that a public answer now also stands on LAPOR!, posted at `posted_at` (UTC);
    flushes, never commits. Refuses (InvalidFields on `posted_at` or `event`) a time before
    the answer or in the future, an event that is no public answer of this complaint, and an
    answer already recorded; Forbidden for anyone but the officers and supervisors of the
    complaint's unit (and an adapter, acting as the system). Audited as `lapor.posted`."""
    if not can_record_lapor_posting(actor, complaint):
        raise Forbidden(str(_l("you may not record postings to SP4N-LAPOR! on this complaint")))
    at = at or utcnow()
    if event.complaint_id != complaint.id or not is_public_answer(event, complaint):
        raise InvalidFields({"event": _l("is not an answer of this complaint to post to SP4N-LAPOR!")})
    if posted_at is None:
        raise InvalidFields({"posted_at": _l("give the date and time it was posted on SP4N-LAPOR!")})
    if posted_at > at:
        raise InvalidFields({"posted_at": _l("is in the future")})
    if posted_at + TYPED_PRECISION <= event.occurred_at:
        raise InvalidFields({"posted_at": _l("is before the answer was given")})
    if db.session.scalar(select(exists().where(LaporPosting.event_id == event.id))):
        raise InvalidFields({"posted_at": _l("this answer was already recorded as posted")})
    posted_at = max(posted_at, event.occurred_at)  # a typed minute never reads as before it
    posting = LaporPosting(complaint_id=complaint.id, event_id=event.id, answered_at=event.occurred_at,
                           posted_at=posted_at, recorded_at=at, recorded_by_id=actor.user.id if actor.user else None)
    try:  # a second recording at the same moment fails on the unique event_id
        with db.session.begin_nested():
            db.session.add(posting)
    except IntegrityError:
        raise InvalidFields({"posted_at": _l("this answer was already recorded as posted")}) from None
    _set_unposted_since(complaint, oldest_unposted(complaint))
    _count_from_posting(complaint, event, posted_at)
    audit.record(db.session, "lapor.posted", actor=actor.label, unit=complaint.unit,
                 complaint=complaint.tracking_code, payload={
                     "event_id": event.id, "lapor_id": complaint.lapor_id,
                     "posted_at": posted_at.isoformat(),
                     "delay_seconds": int((posted_at - event.occurred_at).total_seconds())})
    return posting


def _count_from_posting(complaint: Complaint, event: ComplaintEvent, posted_at: datetime) -> None:
    """The clocks the answer's step started that count from its posting (`counting_from:
    lapor_posted`, LAPOR!'s reply window) and wait for it now count from `posted_at`."""
    workflow = current_workflow()
    for clock in complaint.clocks:
        rule = workflow.sla.get(clock.rule)
        if (rule is not None and rule.waits_for_posting and event.trigger in rule.start
                and clock.stopped_at is None and sla.is_waiting(clock)
                and clock.counting_from == event.occurred_at):
            sla.restart_from(clock, rule, posted_at, sla.WorkingCalendar.for_unit(complaint.unit))
    sla.refresh_due_dates(complaint, workflow)


def confirm_posted(complaint: Complaint, event_id: int | None, typed: str | None, actor: Actor,
                   at: datetime | None = None) -> LaporPosting:
    """The case page's "posted to LAPOR! at" form: `typed` is a local date and time of the
    complaint's unit (YYYY-MM-DDTHH:MM); checked and recorded as `record_posted` does."""
    if not can_record_lapor_posting(actor, complaint):
        raise Forbidden(str(_l("you may not record postings to SP4N-LAPOR! on this complaint")))
    event = db.session.get(ComplaintEvent, event_id) if event_id else None
    if event is None or event.complaint_id != complaint.id:
        raise InvalidFields({"event": _l("is not an answer of this complaint to post to SP4N-LAPOR!")})
    return record_posted(complaint, event, local_minute(typed, complaint.unit.timezone), actor, at)


def local_minute(typed: str | None, zone: str) -> datetime | None:
    """A typed local date and time (YYYY-MM-DDTHH:MM) as UTC; None if empty; InvalidFields
    on `posted_at` if it is no such thing."""
    if not (typed or "").strip():
        return None
    match = LOCAL_MINUTE.match(typed.strip())
    try:
        moment = datetime.fromisoformat(f"{match[1]}T{match[2]}") if match else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidFields({"posted_at": _l("must be a date and time (YYYY-MM-DD HH:MM)")})
    return moment.replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


@dataclass
class CaseLapor:
    """What the case page shows of a complaint from SP4N-LAPOR!: the text to paste for each
    public answer (by event id), the postings recorded, how many answers wait and since when."""

    answers: dict[int, str] = field(default_factory=dict)
    postings: dict[int, LaporPosting] = field(default_factory=dict)
    since: datetime | None = None

    @property
    def waiting(self) -> int:
        return sum(1 for event_id in self.answers if event_id not in self.postings)

    def delay(self, event: ComplaintEvent) -> tuple[str, int] | None:
        """How long after the answer it was posted: ("minutes"|"hours"|"days", n)."""
        posting = self.postings.get(event.id)
        if posting is None:
            return None
        return waited(posting.posted_at - event.occurred_at)


def days_waiting(since: datetime, now: datetime) -> int:
    """Whole days an answer has waited (the queue's "not yet posted · 3 days")."""
    return max((now - since).days, 0)


def waited(span: timedelta) -> tuple[str, int]:
    """A span in the largest whole unit people say: days, else hours, else minutes."""
    seconds = max(int(span.total_seconds()), 0)
    if seconds >= 86400:
        return "days", seconds // 86400
    if seconds >= 3600:
        return "hours", seconds // 3600
    return "minutes", seconds // 60


def case_view(complaint: Complaint, events: list[ComplaintEvent]) -> CaseLapor | None:
    """The case page's LAPOR! parts, from the timeline it already read; None for a complaint
    that did not come from SP4N-LAPOR!."""
    if not complaint.lapor_id:
        return None
    workflow = current_workflow()
    answers = {e.id: answer_text(e, workflow) for e in events if is_public_answer(e, complaint, workflow)}
    return CaseLapor(answers, postings_of(complaint), complaint.lapor_unposted_since)
