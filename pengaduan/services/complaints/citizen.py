"""What a complainant holding the tracking code and PIN may find, see and do."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import format_moment
from ...i18n import lazy_gettext as _l
from ...models import Attachment, Complaint, ComplaintEvent, Role, utcnow
from ...policy import Actor, acts_as_complainant, handles_cases
from ...workflow import current_workflow
from ...workflow.fields import FIELDS, clean_values, for_audit
from .tracking import check_pin, hash_pin, new_pin, normalise_code

# A valid-looking hash to compare against when the code is unknown, so that a wrong code
# and a wrong PIN take the same path.
_DUMMY_PIN_HASH = "hmac-sha256$0000000000000000$" + "0" * 64


def find_for_citizen(code: str, pin: str) -> Complaint | None:
    """The complaint with this code if the PIN matches; the same None for either mistake."""
    complaint = Complaint.by_code(normalise_code(code or ""))
    ok = check_pin(complaint.pin_hash if complaint else _DUMMY_PIN_HASH, pin or "")
    return complaint if complaint is not None and ok else None


@dataclass
class TimelineEntry:
    at: datetime
    title: str
    by_unit: str | None
    fields: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def public_timeline(complaint: Complaint) -> list[TimelineEntry]:
    """Steps meant for the complainant: no internal notes, no officer names, only the unit."""
    workflow = current_workflow()
    events = db.session.scalars(
        select(ComplaintEvent).options(joinedload(ComplaintEvent.unit)).where(ComplaintEvent.complaint_id == complaint.id,
                                     ComplaintEvent.public.is_(True)).order_by(ComplaintEvent.id)
    ).all()
    files: dict[int, list[Attachment]] = {}
    for attachment in complaint.attachments:
        if attachment.public and attachment.event_id:
            files.setdefault(attachment.event_id, []).append(attachment)
    entries = []
    for event in events:
        if event.kind == "filed":
            title = _l("Complaint received")
        elif event.kind == "rating":
            title = _l("Service rated")
        elif event.kind == "reminder":
            title = _l("Reminder: please respond by %(due)s", due=format_moment(
                event.data.get("due_at"), complaint.unit.timezone))
        else:
            transition = workflow.transition(event.trigger)
            title = transition.label if transition else event.trigger
        shown = [(FIELDS[name].label, FIELDS[name].show(workflow, value))
                 for name, value in (event.data or {}).items()
                 if name in FIELDS and FIELDS[name].public and value not in (None, "")]
        staff = handles_cases(event.actor_role)
        by_unit = (event.unit or complaint.unit).name if staff else None
        entries.append(TimelineEntry(event.occurred_at, title, by_unit, shown,
                                     files.get(event.id, [])))
    return entries


def citizen_deadline(complaint: Complaint) -> tuple[str, datetime] | None:
    """The one deadline that concerns the complainant now, with what it is for."""
    workflow = current_workflow()
    running = [c for c in complaint.clocks if c.running and c.due_at is not None]
    by_track: dict[str, list] = {}
    for clock in running:
        rule = workflow.sla.get(clock.rule)
        if rule:
            by_track.setdefault(rule.track, []).append((clock.due_at, rule))
    for track in ("complainant", "stage", "resolution"):
        if by_track.get(track):
            due, rule = min(by_track[track], key=lambda item: item[0])
            return rule.label, due
    return None


def replace_pin(complaint: Complaint, actor: Actor) -> str:
    """A new, long PIN for the complainant (the old one stops working), returned once to be
    shown; only its keyed hash is kept. Offered to whoever opened the complaint with a 6-digit
    PIN of an old receipt: the limit on guessing those can keep their owner out for a day."""
    if not acts_as_complainant(actor, complaint):
        raise Forbidden(str(_l("only the complainant may replace the PIN")))
    pin = new_pin()
    complaint.pin_hash = hash_pin(pin)
    db.session.flush()
    audit.record(db.session, "complaint.pin_replaced", actor=actor.label, unit=complaint.unit,
                 complaint=complaint.tracking_code)
    return pin


def rate(complaint: Complaint, actor: Actor, rating, comment: str | None = None) -> ComplaintEvent:
    """The complainant rates the service once the complaint is closed."""
    if not acts_as_complainant(actor, complaint):
        raise Forbidden(str(_l("only the complainant may rate the service")))
    workflow = current_workflow()
    if not workflow.is_terminal(complaint.state):
        raise InvalidFields({"rating": _l("the service can be rated once the complaint is closed")})
    if complaint.rating is not None:
        raise InvalidFields({"rating": _l("the service was already rated")})
    values = clean_values(workflow, complaint, {"rating": rating, "comment": comment},
                          requires=("rating",), accepts=("comment",))
    complaint.rating, complaint.rating_comment = values["rating"], values.get("comment")
    event = ComplaintEvent(complaint=complaint, kind="rating", actor_role=Role.CITIZEN, public=True,
                           occurred_at=utcnow(), data=values, unit=complaint.unit)
    db.session.add(event)
    db.session.flush()
    audit.record(db.session, "complaint.rated", actor=actor.label, unit=complaint.unit,
                 complaint=complaint.tracking_code, payload={"fields": for_audit(values)})
    return event
