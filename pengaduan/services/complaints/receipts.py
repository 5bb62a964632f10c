"""The receipt email of a complaint filed on the web form.

Anyone may type any address into the form, so the office must not become a mailer for
strangers: the receipt carries only what the office itself says (code, unit, category,
dates, a link to the configured site), neither the filer's free text nor the PIN, and one
address gets at most PENGADUAN_RECEIPTS_PER_ADDRESS receipts in 24 hours.

The receipt page offers the same tracking address as a QR code, drawn here as inline SVG:
the address only (the code is in it), never the PIN.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import segno
from flask import current_app
from sqlalchemy import func, or_, select

from ... import mail
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Complaint, OutboxMessage
from .citizen import citizen_deadline

QUEUED = "queued"  # a mail server sends it once the filing commits
NO_MAIL_SERVER = "no_mail_server"  # held in the outbox: nobody will send it
LIMITED = "limited"  # the address had its receipts for today: nothing queued
WINDOW = timedelta(days=1)
SELF_FILED = ("web", "email")  # the channels whose filer asks for a receipt herself


@dataclass(frozen=True)
class ReceiptEmail:
    """What became of the receipt email: `status` is QUEUED, NO_MAIL_SERVER or LIMITED;
    `message` the outbox message's id, when one was queued."""

    status: str
    message: int | None = None


def send_receipt(complaint: Complaint, locale: str | None = None, *,
                 template: str = "receipt") -> ReceiptEmail | None:
    """Queue the receipt of a freshly filed complaint; say what became of it (None: no
    address). The receipt page tells the citizen exactly this, so it must be true. A
    complaint that came by email gets `template="mail_receipt"` (services.complaints.mail_intake)."""
    address = complaint.complainant_email
    if not address:
        return None
    if _receipts_in_window(address, complaint) >= current_app.config["PENGADUAN_RECEIPTS_PER_ADDRESS"]:
        return ReceiptEmail(LIMITED)
    deadline = citizen_deadline(complaint)
    message = mail.queue(address, _l("Complaint %(code)s received", code=complaint.tracking_code),
                         template, locale=locale, complaint=complaint,
                         deadline=deadline[1] if deadline else None)
    db.session.flush()  # the id, for the receipt page to ask whether it went out
    return ReceiptEmail(QUEUED if current_app.config.get("MAIL_SERVER") else NO_MAIL_SERVER, message.id)


def receipt_sent(message_id: int | None) -> bool:
    """Whether the mail server took the receipt email (it is sent right after the filing
    commits; until then, or after a failure the worker retries, it is still to be sent)."""
    if message_id is None:
        return False
    return db.session.scalar(select(OutboxMessage.status).where(OutboxMessage.id == message_id)) == "sent"


def tracking_qr(url: str, title: str) -> str:
    """The tracking address (the site's own, with the code: never the PIN) as a QR code, an
    SVG element to put into the page (no image request, nothing from another site). It has
    no size of its own: the stylesheet sizes it for the screen and for print."""
    svg = segno.make(url, error="m").svg_inline(border=4, dark="#000", light="#fff", title=title,
                                                svgclass="qr-code", omitsize=True)
    return svg.replace("<svg ", '<svg role="img" ', 1)


def _receipts_in_window(address: str, complaint: Complaint) -> int:
    """Other web and email filings for this address in the last 24 hours. Each got a receipt or was
    refused one, so their count bounds the receipts. Case and `+tag` spellings count as one
    address; the complaints table already holds the address, so nothing new is stored."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    stored = func.lower(Complaint.complainant_email)
    same = or_(stored == f"{local}@{domain}",
               stored.like(f"{_literal(local)}+%@{_literal(domain)}", escape="\\"))
    return db.session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.received_at > complaint.received_at - WINDOW, Complaint.channel.in_(SELF_FILED),
        Complaint.id != complaint.id, same))


def _literal(text: str) -> str:
    """`text` matched literally by LIKE (with escape character backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
