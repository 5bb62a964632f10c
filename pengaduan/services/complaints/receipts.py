"""The receipt email of a complaint filed on the web form.

Anyone may type any address into the form, so the office must not become a mailer for
strangers: the receipt carries only what the office itself says (code, unit, category,
dates, a link to the configured site), neither the filer's free text nor the PIN, and one
address gets at most PENGADUAN_RECEIPTS_PER_ADDRESS receipts in 24 hours.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from ... import mail
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Complaint
from .citizen import citizen_deadline

QUEUED = "queued"  # a mail server sends it once the filing commits
NO_MAIL_SERVER = "no_mail_server"  # held in the outbox: nobody will send it
LIMITED = "limited"  # the address had its receipts for today: nothing queued
WINDOW = timedelta(days=1)


def send_receipt(complaint: Complaint, locale: str | None = None) -> str | None:
    """Queue the receipt of a freshly filed complaint; say what became of it (None: no
    address). The receipt page tells the citizen exactly this, so it must be true."""
    address = complaint.complainant_email
    if not address:
        return None
    if _receipts_in_window(address, complaint) >= current_app.config["PENGADUAN_RECEIPTS_PER_ADDRESS"]:
        return LIMITED
    deadline = citizen_deadline(complaint)
    mail.queue(address, _l("Complaint %(code)s received", code=complaint.tracking_code), "receipt",
               locale=locale, complaint=complaint, deadline=deadline[1] if deadline else None)
    return QUEUED if current_app.config.get("MAIL_SERVER") else NO_MAIL_SERVER


def _receipts_in_window(address: str, complaint: Complaint) -> int:
    """Other web filings for this address in the last 24 hours. Each got a receipt or was
    refused one, so their count bounds the receipts. Case and `+tag` spellings count as one
    address; the complaints table already holds the address, so nothing new is stored."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    stored = func.lower(Complaint.complainant_email)
    same = or_(stored == f"{local}@{domain}",
               stored.like(f"{_literal(local)}+%@{_literal(domain)}", escape="\\"))
    return db.session.scalar(select(func.count()).select_from(Complaint).where(
        Complaint.received_at > complaint.received_at - WINDOW, Complaint.channel == "web",
        Complaint.id != complaint.id, same))


def _literal(text: str) -> str:
    """`text` matched literally by LIKE (with escape character backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
