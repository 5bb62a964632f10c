"""The conversation between the complainant and the office, beside the workflow's steps.

Either side may write at any open state; a message never moves the complaint. It is a public
timeline event of kind "message" (both timelines show it), its files are public, and the audit
chain records it like a step: the event, who wrote, the digest and length of the words (never
the words: they may hold a phone number or a name) and the files' digests.

A message of the complainant marks the complaint (`citizen_message_at`) until a staff member
answers it, in the conversation or with a public step that writes her words (lifecycle.advance),
or the complaint finishes, so the queue shows "new message" off the row it already reads. A
step handing the complaint to another unit keeps the mark for the unit receiving it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Complaint, ComplaintEvent, utcnow
from ...policy import Actor, acts_as_complainant, can_post_message, handles_cases
from ...workflow import current_workflow
from ...workflow.fields import FIELDS, clean_values, for_audit
from ..attachments import StoredFile, attach, attachment_digests
from . import complainant_mail, lapor, notifications

MESSAGE = ComplaintEvent.MESSAGE  # the timeline event's kind
FIELD = "message"  # the workflow field that checks and shows the words (at most 5,000 characters)


def is_open(complaint: Complaint) -> bool:
    """Messages are exchanged while the complaint is not finished."""
    return not current_workflow().is_terminal(complaint.state)


def post_message(complaint: Complaint, actor: Actor, text: str | None,
                 attachments: list[StoredFile] = (), at: datetime | None = None) -> ComplaintEvent:
    """Add a message of `actor` (the complainant, or staff of the complaint's unit) to the
    conversation; flushes, never commits. Raises Forbidden for anyone else and InvalidFields
    for an empty or too long message or a finished complaint. The complaint's state and
    version stay as they were: a message changes nothing another person may be deciding on."""
    if not can_post_message(actor, complaint):
        raise Forbidden(str(_l("you may not write messages on this complaint")))
    if not is_open(complaint):
        raise InvalidFields({FIELD: _l("the complaint is closed: messages can no longer be sent")})
    try:
        values = clean_values(current_workflow(), complaint, {FIELD: text}, requires=(FIELD,), accepts=())
    except InvalidFields as exc:
        if (text or "").strip():
            raise
        raise InvalidFields({FIELD: _l("is empty: write your message before sending it")}) from exc
    at = at or utcnow()
    citizen = acts_as_complainant(actor, complaint)
    event = ComplaintEvent(complaint=complaint, kind=MESSAGE, actor_id=actor.user.id if actor.user else None,
                           actor_role=actor.role, public=True, occurred_at=at, data=values,
                           unit=complaint.unit)
    db.session.add(event)
    attach(complaint, list(attachments), event=event, public=True)
    db.session.flush()
    _mark(complaint, at if citizen else None)
    audit.record(db.session, "complaint.message", actor=actor.label, unit=complaint.unit,
                 complaint=complaint.tracking_code, payload={
                     "event_id": event.id, "from": "complainant" if citizen else "staff",
                     "fields": for_audit(values), **attachment_digests(attachments)})
    if citizen:
        notifications.after_citizen_message(complaint, event)
    else:  # the officer's words reach the complainant's address too (never hers, back)
        complainant_mail.after_message(complaint, event)
        lapor.after_answer(complaint, event)  # and SP4N-LAPOR!, for a complaint from there
    return event


def _mark(complaint: Complaint, at: datetime | None) -> None:
    """Set or clear the unanswered-message mark without a new version of the complaint: a
    form opened before the message (a step, a reply) stays valid."""
    if complaint.citizen_message_at == at:
        return
    db.session.execute(update(Complaint).where(Complaint.id == complaint.id)
                       .values(citizen_message_at=at).execution_options(synchronize_session=False))
    set_committed_value(complaint, "citizen_message_at", at)


def answered_by_step(complaint: Complaint, actor: Actor, transition, values: dict, from_unit) -> None:
    """Clear the complainant's waiting-message mark as a step settles it (called by
    lifecycle.advance within the step's own change of the complaint, once its fields are set):
    always when the complaint finishes (nobody answers a closed complaint); never when the
    step hands it to another unit (the receiving unit has still to read the message);
    otherwise when a staff member's public step writes the complainant public words."""
    if complaint.citizen_message_at is None:
        return
    if current_workflow().is_terminal(transition.dest):
        complaint.citizen_message_at = None
    elif complaint.unit != from_unit:
        return
    elif transition.public and handles_cases(actor.role) and _writes_public_words(values):
        complaint.citizen_message_at = None


def _writes_public_words(values: dict) -> bool:
    return any(FIELDS[name].public and FIELDS[name].free_text and value
               for name, value in values.items() if name in FIELDS)
