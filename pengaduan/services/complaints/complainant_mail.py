"""Telling the complainant: an email for every public step of her complaint that someone else
takes (staff, or the system when a window runs out) and for every message an officer writes
to her, and the WhatsApp message an officer may send from the case page.

Emails are queued in the outbox on the step's own unit of work (mail.queue), so a step that
rolls back tells nobody. What an email says is workflow data (each public transition's
`tell_complainant`: what happened and what, if anything, to do), in the language the
complaint was filed in, followed by the office's own public words for the step (the
officer's message, response, resolution or reason: addressed to the complainant). Like the
receipt (receipts.py), no email carries what the complainant typed, so the office cannot be
made to mail a stranger's text to an address typed into the form, and none carries the PIN:
the link leads to the tracking page, where the code and PIN open the complaint.

The complainant's own steps get no email: the page she took them on has just confirmed them.
Without an address (most anonymous filings) nothing is sent.
"""
from __future__ import annotations

from typing import NamedTuple

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from ... import mail
from ...extensions import db
from ...i18n import gettext, label
from ...i18n import lazy_gettext as _l
from ...models import Complaint, ComplaintEvent
from ...policy import Actor, acts_as_complainant
from ...workflow import current_workflow
from ...workflow.definition import TransitionDef, complainant_window
from ...workflow.fields import FIELDS
from .. import phones

# The complainant's own words, never repeated to her address (see the module's docstring).
NOT_QUOTED = ("comment", "rating")
TEMPLATE = "update"  # emails/update.txt and .html
ORIGINAL_CLOSED = "original_closed"  # emails/original_closed.txt and .html


def language(complaint: Complaint) -> str:
    """The language the complainant is written to in: the one she filed in (default: the site's)."""
    if complaint.locale in current_app.config["LANGUAGES"]:
        return complaint.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def quoted_fields(event: ComplaintEvent, transition: TransitionDef | None = None) -> list[tuple]:
    """(field spec, value) of what the office said publicly with a step: its one-line values
    (unit, closure reason, an agency) first, then its longer words (the templates quote them
    as blocks), each in the order the step names its fields."""
    order = list(transition.requires + transition.accepts) if transition else []
    names = sorted((event.data or {}), key=lambda n: (
        n in FIELDS and FIELDS[n].widget == "textarea", order.index(n) if n in order else len(order)))
    return [(FIELDS[name], event.data[name]) for name in names
            if name in FIELDS and FIELDS[name].public and name not in NOT_QUOTED
            and event.data[name] not in (None, "")]


def _window_due(complaint: Complaint, trigger: str):
    """The deadline of the complainant's window this step opened (its email's `{due}`)."""
    for name in complainant_window(trigger, current_workflow().sla):
        clock = complaint.clock(name)
        if clock is not None and clock.running and clock.due_at is not None:
            return clock.due_at
    return None


def after_transition(complaint: Complaint, transition: TransitionDef, event: ComplaintEvent,
                     actor: Actor) -> bool:
    """Email the complainant about a public step someone else took; True if one was queued.
    A step closing the complaint for a reason with words of its own (a duplicate) says those."""
    workflow = current_workflow()
    closing = workflow.is_terminal(transition.dest) and transition.dest != event.from_state
    tell = (closing and workflow.closure_tell.get(complaint.closure_reason)) or transition.tell_complainant
    address = complaint.complainant_email
    if tell is None or not event.public or not address or acts_as_complainant(actor, complaint):
        return False
    locale = language(complaint)
    due = _window_due(complaint, transition.trigger)
    mail.queue(address, f"{label(tell.subject, locale)} ({complaint.tracking_code})",
               TEMPLATE, locale=locale, complaint=complaint, workflow=current_workflow(),
               headline=tell.subject, text=tell.text_for(due), due=due,
               fields=quoted_fields(event, transition), message=None)
    return True


def after_message(complaint: Complaint, message: ComplaintEvent) -> bool:
    """Email the complainant an officer's message in the conversation, quoting it (the
    office's words to her); True if one was queued. Her own messages are not mailed back."""
    address = complaint.complainant_email
    if not address or not message.public:
        return False
    locale = language(complaint)
    mail.queue(address, _l("A message from the officer (%(code)s)", code=complaint.tracking_code),
               TEMPLATE, locale=locale, complaint=complaint, workflow=current_workflow(),
               headline=None, text=None, due=None, fields=quoted_fields(message), message=message)
    return True


def tell_duplicates(original: Complaint) -> int:
    """Email the complainants of the complaints closed as duplicates of this one that it has
    closed (each in her language; no word of the original's complainant, identity or text:
    its outcome, and the way to her own page, where its public progress shows); returns how
    many were queued."""
    told = 0
    for duplicate in db.session.scalars(select(Complaint).where(
            Complaint.duplicate_of_id == original.id, Complaint.complainant_email.is_not(None))):
        locale = language(duplicate)
        mail.queue(duplicate.complainant_email,
                   _l("The complaint yours was merged with is closed (%(code)s)", code=duplicate.tracking_code),
                   ORIGINAL_CLOSED, locale=locale, complaint=duplicate, original=original,
                   workflow=current_workflow())
        told += 1
    return told


# WhatsApp ------------------------------------------------------------------------------------

class WhatsApp(NamedTuple):
    """The case page's "send by WhatsApp" offer: a wa.me link, or None for a number that is
    not a valid telephone number (the page says so instead)."""

    link: str | None


def whatsapp_contact(complaint: Complaint, identity: dict | None, track_url: str) -> WhatsApp | None:
    """The WhatsApp message an officer may send the complainant, prefilled in her language:
    greeting, tracking code, the tracking page's link (`track_url`, built from the configured
    site) and what the latest public step said; never the PIN. `identity` is what the viewer
    may see of the complainant (policy: visible_identity or an audited reveal); None without
    it or without a phone number."""
    phone = (identity or {}).get("phone")
    if not phone:
        return None
    e164 = phones.to_e164(phone)
    if e164 is None:
        return WhatsApp(None)
    with force_locale(language(complaint)):
        return WhatsApp(phones.whatsapp_link(
            e164, whatsapp_text(complaint, identity.get("name"), track_url)))


def whatsapp_text(complaint: Complaint, name: str | None, track_url: str) -> str:
    """The message itself, in the current language."""
    greeting = gettext("Dear %(name)s,", name=name) if name else gettext("Dear Sir or Madam,")
    return "\n".join([
        greeting,
        gettext("This is %(unit)s, about your complaint with tracking code %(code)s.",
                unit=complaint.unit.name, code=complaint.tracking_code),
        latest_news(complaint),
        gettext("You can follow it at %(link)s with this code and your PIN.",
                link=track_url),
        gettext("Thank you."),
    ])


def latest_news(complaint: Complaint) -> str:
    """What the latest public step said, in one line: the subject of its email when it was
    one the complainant is told of, else the complaint's state."""
    workflow = current_workflow()
    event = db.session.scalars(select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.public.is_(True),
        ComplaintEvent.kind == "transition").order_by(ComplaintEvent.id.desc()).limit(1)).first()
    transition = workflow.transition(event.trigger) if event is not None else None
    if transition is not None and transition.tell_complainant:
        return label(transition.tell_complainant.subject) + "."
    state = workflow.states.get(complaint.state)
    return gettext("Status of your complaint: %(state)s.",
                   state=label(state.label) if state else complaint.state)
