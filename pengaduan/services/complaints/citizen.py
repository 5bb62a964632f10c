"""What a complainant holding the tracking code and PIN may find, see and do."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ... import audit
from ...errors import Forbidden, InvalidFields
from ...extensions import db
from ...i18n import format_moment, label
from ...i18n import lazy_gettext as _l
from ...models import Attachment, Complaint, ComplaintEvent, Role, utcnow
from ...policy import Actor, acts_as_complainant, handles_cases
from ...workflow import current_workflow
from ...workflow.fields import FIELDS, clean_values, for_audit
from .conversation import MESSAGE
from .publication import publishable
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
    # What the tracking page needs besides: the step in the past tense ("Asked you for
    # information"), who wrote ("office", "complainant" or "system"), the words written
    # (free-text fields) apart from the facts, and which step it was.
    done: object = None
    side: str = "system"
    texts: list[tuple[str, str]] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    kind: str = ""
    to_state: str | None = None
    event_id: int | None = None


def _titles(event: ComplaintEvent, complaint: Complaint, workflow, side: str) -> tuple[object, object]:
    """(the step's name, the step in the past tense) as the complainant reads them."""
    if event.kind == "filed":
        title = _l("Complaint received")
        return title, title
    if event.kind == "rating":
        title = _l("Service rated")
        return title, _l("You rated the service")
    if event.kind == "reminder":
        title = _l("Reminder: please respond by %(due)s", due=format_moment(
            event.data.get("due_at"), complaint.unit.timezone))
        return title, title
    if event.kind == MESSAGE:
        title = _l("Message from the office") if side == "office" else _l("Your message")
        return title, title
    transition = workflow.transition(event.trigger)
    if transition is None:
        return event.trigger, event.trigger
    merged = _closed_as(complaint, workflow, (event.data or {}).get("closure_reason"))
    if merged:  # closed as a duplicate: merged with its original, not rejected
        return merged, merged
    return transition.label, transition.done or transition.label


def _closed_as(complaint: Complaint, workflow, reason: str | None) -> str | None:
    """The complainant's words for a complaint closed for `reason` when the workflow gives
    that reason words of its own (closure_reasons.<name>.citizen_label), with the original's
    code where her page shows it; None otherwise."""
    words = workflow.closure_citizen.get(reason or "")
    if words is None:
        return None
    original = complaint.duplicate_of
    if original is not None and publishable(original) is not None:
        return label(words[0]).replace("{code}", original.tracking_code)
    return label(words[1])


def closed_as(complaint: Complaint) -> str | None:
    """What the complainant's page calls her closed complaint's state when its closure reason
    has words of its own ("Merged with complaint ..."); None otherwise (the state's label)."""
    workflow = current_workflow()
    if not workflow.is_terminal(complaint.state):
        return None
    return _closed_as(complaint, workflow, complaint.closure_reason)


def waits_for_original(complaint: Complaint) -> bool:
    """A complaint closed as a duplicate whose original is still handled: its matter is not
    finished, so its complainant rates the service once the original closes."""
    original = complaint.duplicate_of
    return original is not None and not current_workflow().is_terminal(original.state)


def can_rate(complaint: Complaint) -> bool:
    """Whether the complainant may rate the service now: her complaint closed, not rated yet,
    and not merged with a complaint still handled."""
    return (current_workflow().is_terminal(complaint.state) and complaint.rating is None
            and not waits_for_original(complaint))


def public_timeline(complaint: Complaint) -> list[TimelineEntry]:
    """Steps and messages meant for the complainant, oldest first: no internal notes, no
    officer names, only the unit; only the files marked public."""
    workflow = current_workflow()
    events = db.session.scalars(
        select(ComplaintEvent).options(joinedload(ComplaintEvent.unit)).where(ComplaintEvent.complaint_id == complaint.id,
                                     ComplaintEvent.public.is_(True)).order_by(ComplaintEvent.id)
    ).all()
    files: dict[int, list[Attachment]] = {}
    for attachment in sorted(complaint.attachments, key=lambda a: a.id):
        if attachment.public and attachment.event_id:
            files.setdefault(attachment.event_id, []).append(attachment)
    entries = []
    for event in events:
        staff = handles_cases(event.actor_role)
        side = "office" if staff else "complainant" if event.by_complainant else "system"
        title, done = _titles(event, complaint, workflow, side)
        shown = [(name, FIELDS[name].label, FIELDS[name].show(workflow, value))
                 for name, value in (event.data or {}).items()
                 if name in FIELDS and FIELDS[name].public and value not in (None, "")]
        by_unit = (event.unit or complaint.unit).name if staff else None
        entries.append(TimelineEntry(
            event.occurred_at, title, by_unit, [(text, words) for _, text, words in shown],
            files.get(event.id, []), done=done, side=side,
            texts=[(text, words) for name, text, words in shown if FIELDS[name].free_text],
            facts=[(text, words) for name, text, words in shown if not FIELDS[name].free_text],
            kind=event.kind, to_state=event.to_state, event_id=event.id))
    return entries


@dataclass
class OriginalProgress:
    """What the complainant of a duplicate sees of the original her complaint was merged
    with: its state and dates always; its unit, code and public steps (their names, units and
    dates, without the office's words to its complainant or any file) when the original is
    listed (publication.py); its description and place when its text is published too. Never
    its complainant or identity."""
    state: str
    closure_reason: str | None
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    code: str | None = None
    unit: str | None = None
    description: str | None = None
    place: str | None = None
    steps: list[TimelineEntry] = field(default_factory=list)


def original_progress(complaint: Complaint) -> OriginalProgress | None:
    """The original's public progress for the complainant of a duplicate (None otherwise)."""
    original = complaint.duplicate_of
    if original is None:
        return None
    progress = OriginalProgress(original.state, original.closure_reason, original.received_at,
                                original.updated_at, original.closed_at)
    published = publishable(original)
    if published is None:  # confidential: its state and dates only
        return progress
    progress.code, progress.unit = original.tracking_code, original.unit.name
    progress.description, progress.place = published["description"], published["place"]
    progress.steps = [replace(entry, texts=[], fields=entry.facts, attachments=[])
                      for entry in public_timeline(original) if entry.kind in ("filed", "transition")]
    return progress


def office_words(complaint: Complaint, timeline: list[TimelineEntry]) -> list[TimelineEntry]:
    """What the office said that the complainant should read first, oldest first: the step
    that brought the complaint to its current state when the office wrote something with it
    (the question of a request for information, the response to accept or dispute), and the
    office's latest public words (a step's message, response, resolution or reason, or a
    conversation message) when they came later. Empty when the office has written nothing."""
    said = [entry for entry in timeline if entry.side == "office" and entry.texts]
    if not said:
        return []
    latest = said[-1]
    entered = next((entry for entry in reversed(timeline) if entry.kind == "transition"), None)
    prompt = (entered if entered is not None and entered.side == "office" and entered.texts
              and entered.to_state == complaint.state else None)
    if prompt is None or prompt is latest:
        return [latest]
    return [prompt, latest]


def filed_files(complaint: Complaint) -> list[Attachment]:
    """The files the complainant sent with the complaint itself (public ones only: the page
    never shows a file staff kept internal)."""
    filed = {event.id for event in complaint.events if event.kind == "filed"}
    return sorted((a for a in complaint.attachments if a.public and a.event_id in filed),
                  key=lambda a: a.id)


def _partly(value: str | None, keep: int = 4) -> str | None:
    """A contact shown on a possibly shared screen: enough to recognise, not to copy."""
    if not value:
        return None
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}{'•' * 3}@{domain}"
    return "•" * max(len(value) - keep, 3) + value[-keep:]


def name_in_part(complaint: Complaint) -> bool:
    """An anonymous or confidential complaint's page shows the name only in part: she chose
    to keep it out of sight, and the page may be open where others look on."""
    return complaint.privacy != "public"


def _name_partly(name: str) -> str:
    """"Budi Hartono" as "Budi H.", a single name "Sukarno" as "S•••"."""
    first, *rest = name.split()
    if not rest:
        return f"{first[:1]}{'•' * 3}"
    return " ".join([first, *(f"{word[:1]}." for word in rest)])


def identity_as_given(complaint: Complaint) -> list[tuple[object, str]]:
    """The identity the complainant gave, as the tracking page shows it back: her name (in
    part for an anonymous or confidential complaint, `name_in_part`), and the NIK, phone and
    email only partly (the page may be open on a shared computer, at a kelurahan or an
    internet cafe; she knows them, a passer-by need not). The address is named as given or
    not, never shown."""
    shown = []
    name = (complaint.complainant_name or "").strip()
    if name:
        shown.append((_l("Name"), _name_partly(name) if name_in_part(complaint) else name))
    for text, value in ((_l("NIK"), complaint.complainant_nik), (_l("Phone"), complaint.complainant_phone),
                        (_l("Email"), complaint.complainant_email)):
        if value:
            shown.append((text, _partly(value)))
    if complaint.complainant_address:
        shown.append((_l("Address"), str(_l("given (not shown here)"))))
    return shown


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
    pin = set_new_pin(complaint)
    audit.record(db.session, "complaint.pin_replaced", actor=actor.label, unit=complaint.unit,
                 complaint=complaint.tracking_code)
    return pin


def set_new_pin(complaint: Complaint) -> str:
    """Give the complaint a new PIN and return it; only its keyed hash is kept. Written without
    a new version of the complaint: an officer's form opened before stays valid."""
    pin = new_pin()
    pin_hash = hash_pin(pin)
    db.session.execute(update(Complaint).where(Complaint.id == complaint.id)
                       .values(pin_hash=pin_hash).execution_options(synchronize_session=False))
    set_committed_value(complaint, "pin_hash", pin_hash)
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
    if waits_for_original(complaint):
        raise InvalidFields({"rating": _l("the service can be rated once the complaint yours was merged "
                                          "with is closed")})
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
