"""Mail to the office's mailbox, turned into complaints and messages (integrations/mailbox.py
reads the mailbox and hands each message here).

A message goes through two steps, so that nothing slow happens inside a write transaction:

- `read` (no database): parse it (Python's email package, `policy=default`), recognise what
  must be left alone (auto-replies, bounces, our own mail come back, spam the mail server
  marked), find the sender, the tracking code in the subject, the Message-IDs it answers, the
  text (the plain part, or the HTML part as plain text, with any message forwarded as an
  attachment) and check its files like any upload (services.attachments: by content, size,
  number; signatures and `cid:` logos dropped).
- `register` (one unit of work, flushes only): a new mail becomes a complaint of channel
  `email` in the workflow's initial state, in the unit PENGADUAN_IMAP_UNIT (staff re-dispose
  it at verification), confidential, with the sender as complainant and a receipt email; a
  reply from the complaint's own address that names the Message-ID of an email the office
  sent her about it (`answers_our_mail`: MailReference) becomes her message, or her answer
  when the office asked her for information (`answering_step`); mail from a staff account's address is
  not filed (`from_staff`: staff record complaints on the staff form); anything refused
  gets a reply saying why (at most PENGADUAN_RECEIPTS_PER_ADDRESS a day to one address), and
  nothing of it is filed. Every message, whatever became of it, leaves an
  InboundMail row keyed by its digest in the same transaction: the worker marks a message
  handled on the server only after that commit, and one already recorded is only marked.
  A message that raised leaves a `failed` row counting its attempts (`note_failure`), which
  its eventual outcome takes over.

Logs name the row and the rule, never an address, a name or a subject.
"""
from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import parseaddr
from html.parser import HTMLParser

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from ... import mail as outbox
from ...errors import DomainError, InvalidFields, StorageFull
from ...extensions import db
from ...i18n import lazy_gettext as _l
from ...models import Complaint, InboundMail, MailReference, OutboxMessage, Unit, User, utcnow
from ...policy import Actor
from ...unit_of_work import UnitOfWork
from ...workflow import current_workflow
from ..attachments import check_uploads, limits, stored_files
from ..inputs import EMAIL
from .conversation import FIELD as MESSAGE_FIELD
from .conversation import is_open, post_message
from .intake import LIMITS, file_complaint
from .lifecycle import advance, allowed_triggers
from .receipts import send_receipt
from .tracking import ALPHABET

log = logging.getLogger(__name__)

CHANNEL = "email"
PRIVACY = "confidential"  # the sender chose nothing: her name and words stay off public pages
# A tracking code as our emails write it in their subjects ("Pengaduan 7KQ2-M9DT diterima",
# "... (7KQ2-M9DT)"): upper case, the code's alphabet, not part of a longer word.
_CODE_CHAR = f"[{re.escape(ALPHABET)}]"
CODE_IN_SUBJECT = re.compile(rf"(?<![0-9A-Za-z-])({_CODE_CHAR}{{4}}-{_CODE_CHAR}{{4}})(?![0-9A-Za-z-])")
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|tr|bls|balas|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAILER_DAEMONS = ("mailer-daemon", "postmaster")
LIST_PRECEDENCE = ("bulk", "junk", "list")

# What became of a message (InboundMail.outcome) and the rules that decide it (kind).
FILED, MESSAGE, REFUSED, IGNORED = "filed", "message", "refused", "ignored"
AUTO_REPLY, BOUNCE, LOOP, NO_SENDER = "auto_reply", "bounce", "loop", "no_sender"
TOO_LARGE, ATTACHMENT, EMPTY, TOO_LONG = "too_large", "attachment", "empty", "too_long"
NOT_ITS_SENDER, CLOSED, INVALID, STAFF = "not_its_sender", "closed", "invalid", "staff"
NOT_A_REPLY, NOT_ALLOWED, SPAM = "not_a_reply", "not_allowed", "spam"
FAILED = "failed"  # reading or registering it raised; `attempts` counts the runs (mailbox.py)
MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
REFUSAL_WINDOW = timedelta(days=1)


class MailboxNotReady(Exception):
    """Mail cannot be filed: no unit to file it in (PENGADUAN_IMAP_UNIT)."""


@dataclass
class Mail:
    """One message as `read` found it: what `register` needs, without the raw bytes."""

    digest: str
    ignored: str | None = None  # AUTO_REPLY, BOUNCE, LOOP, NO_SENDER: nothing is sent back
    refused: str | None = None  # a refusal kind found before any database work
    reason: object = None  # the refusal in words (a lazy text), for the reply
    name: str | None = None
    address: str | None = None
    subject: str = ""
    text: str = ""
    code: str | None = None  # a tracking code named in the subject
    answers: tuple[str, ...] = ()  # the Message-IDs named in In-Reply-To and References
    files: list = field(default_factory=list)  # checked uploads (name, data, type)


def digest_of(headers: bytes) -> str:
    """What a message is known by: SHA-256 of its Message-ID, or of its whole header block
    when it has none (the same bytes on every fetch)."""
    parsed = BytesParser(policy=default_policy).parsebytes(headers, headersonly=True)
    message_id = str(parsed.get("Message-ID") or "").strip()
    if message_id:
        return hashlib.sha256(b"message-id:" + message_id.encode("utf-8", "replace")).hexdigest()
    return hashlib.sha256(b"headers:" + headers).hexdigest()


def largest_mail() -> int:
    """The largest message read, in bytes: the largest complaint form the site takes (every
    file at its limit), as mail carries it (base64 makes files a third larger)."""
    return current_app.config["MAX_CONTENT_LENGTH"] * 4 // 3


def recorded(digest: str, max_attempts: int | None = None) -> bool:
    """Whether the message is done with: recorded with what it became, or failed
    `max_attempts` times (given up). A failure below that is tried again."""
    row = db.session.execute(select(InboundMail.outcome, InboundMail.attempts)
                             .where(InboundMail.digest == digest)).first()
    if row is None:
        return False
    return row.outcome != FAILED or (max_attempts is not None and row.attempts >= max_attempts)


def note_failure(digest: str, kind: str) -> int:
    """Count one more failed run for this message (its own unit of work, after the failed
    one rolled back); returns the runs that failed. `kind` names the error's class only."""
    row = db.session.scalar(select(InboundMail).where(InboundMail.digest == digest))
    if row is not None and row.outcome != FAILED:
        return 0  # recorded already (marking it handled failed): the next run only marks it
    if row is None:
        row = InboundMail(digest=digest, outcome=FAILED, kind=kind[:32], attempts=0)
        db.session.add(row)
    row.attempts, row.kind, row.handled_at = (row.attempts or 0) + 1, kind[:32], utcnow()
    db.session.flush()
    return row.attempts


def intake_unit() -> Unit:
    """The unit new mail complaints go to: PENGADUAN_IMAP_UNIT, or the only active unit."""
    code = current_app.config.get("PENGADUAN_IMAP_UNIT")
    if code:
        unit = Unit.by_code(code)
        if unit is None or not unit.active:
            raise MailboxNotReady(f"PENGADUAN_IMAP_UNIT names no active unit: {code!r}")
        return unit
    units = db.session.scalars(select(Unit).where(Unit.active.is_(True)).limit(2)).all()
    if len(units) != 1:
        raise MailboxNotReady("set PENGADUAN_IMAP_UNIT to the code of the unit new mail complaints go to")
    return units[0]


# Reading a message (no database) ----------------------------------------------------------

def read(digest: str, headers: bytes, raw: bytes | None, size: int) -> Mail:
    """What a message is, from its bytes (`raw` None: too large to fetch, only its headers)."""
    message = BytesParser(policy=default_policy).parsebytes(raw if raw is not None else headers,
                                                            headersonly=raw is None)
    name, address = sender(message)
    ignored = automatic(message, address) or spam(message)
    if ignored or address is None:
        return Mail(digest, ignored=ignored or NO_SENDER)
    subject = clean(str(message.get("Subject") or ""))
    found = CODE_IN_SUBJECT.search(subject)
    answers = " ".join(str(message.get(name) or "") for name in ("In-Reply-To", "References"))
    mail = Mail(digest, name=name, address=address, subject=subject,
                code=found.group(1) if found else None,
                answers=tuple(MESSAGE_ID.findall(answers))[-50:])
    if raw is None or size > largest_mail():
        return replace(mail, refused=TOO_LARGE, reason=_l(
            "Your email is larger than %(mb)d MB, the most this office takes in one email. "
            "Please send it again with fewer or smaller files.", mb=largest_mail() // (1024 * 1024)))
    plain, html, files = parts(message)
    mail.text = plain
    try:
        mail.files = check_uploads(files)
    except InvalidFields as exc:
        max_bytes, max_count = limits()
        return replace(mail, refused=ATTACHMENT, reason=[*exc.errors.values(), _l(
            "Photos (JPEG, PNG, WebP, GIF) and PDF documents are accepted, at most %(num)d "
            "files of %(mb)d MB each.", num=max_count, mb=max_bytes // (1024 * 1024))])
    return mail


def sender(message: EmailMessage) -> tuple[str | None, str | None]:
    """The display name and address of the first From address (None when there is none)."""
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except (AttributeError, IndexError, ValueError):
        addresses = ()
    if not addresses:
        name, address = parseaddr(str(message.get("From") or ""))
    else:
        name, address = addresses[0].display_name, addresses[0].addr_spec
    address = clean(address or "").strip()
    if not EMAIL.match(address) or len(address) > LIMITS["email"]:
        return None, None
    return clean(name or "").strip() or None, address


def automatic(message: EmailMessage, address: str | None) -> str | None:
    """LOOP, BOUNCE or AUTO_REPLY when the message was written by a machine, else None.
    Answering any of them could start a loop of mail between two machines."""
    ours = outbox.our_addresses()
    if address and address.lower() in ours:
        return LOOP
    loops = " ".join(str(value) for value in message.get_all("X-Loop") or ()).lower()
    if loops and any(mine in loops for mine in ours | {outbox.loop_id().lower()}):
        return LOOP
    local = (address or "").split("@")[0].lower()
    report_type = str(message.get_param("report-type", "")).strip().lower()
    if local in MAILER_DAEMONS or (message.get_content_type() == "multipart/report"
                                   and report_type == "delivery-status"):
        return BOUNCE
    auto_submitted = str(message.get("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return AUTO_REPLY
    if message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None:
        return AUTO_REPLY
    if str(message.get("Precedence") or "").strip().lower() in LIST_PRECEDENCE:
        return AUTO_REPLY
    if message.get("List-Id") is not None:
        return AUTO_REPLY
    if str(message.get("Return-Path") or "").strip() == "<>":
        return AUTO_REPLY
    return None


def spam(message: EmailMessage) -> str | None:
    """SPAM when the mail server marked the message as spam (X-Spam-Flag: YES, X-Spam-Status:
    Yes, ...) or its sender's domain failed DMARC (Authentication-Results: dmarc=fail): its
    From is likely forged, and answering it would send our mail to a stranger (backscatter)."""
    if str(message.get("X-Spam-Flag") or "").strip().lower() == "yes":
        return SPAM
    if re.match(r"\s*yes\b", str(message.get("X-Spam-Status") or ""), re.I):
        return SPAM
    results = " ".join(str(value) for value in message.get_all("Authentication-Results") or ())
    if re.search(r"\bdmarc\s*=\s*fail\b", results, re.I):
        return SPAM
    return None


class _Upload:
    """A mail attachment as check_uploads reads an upload."""

    def __init__(self, filename: str, data: bytes):
        self.filename = filename
        self._stream = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)


SIGNATURES = ("application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature")


def parts(message: EmailMessage) -> tuple[str, str | None, list[_Upload]]:
    """The text of a message (its plain part, else its HTML part as text), the HTML part if
    any, and every other part as an upload to check. A message forwarded as an attachment
    (message/rfc822) adds its Subject, From and Date lines and its text to the text, and its
    files to the files; S/MIME and PGP signatures and the images the HTML shows by `cid:`
    (signature logos) are dropped."""
    plain_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = _content(plain_part) if plain_part is not None else ""
    html = _content(html_part) if html_part is not None else None
    if not text.strip() and html:
        text = html_to_text(html)
    bodies = {id(plain_part), id(html_part)}
    shown = {ref.strip().lower() for ref in re.findall(r"""cid:([^"'\s>)]+)""", html or "", re.I)}
    files = []
    forwarded = []
    for part in message.iter_parts() if message.is_multipart() else ():
        forwarded.extend(_forwarded(part))
    inner = {id(sub) for part in forwarded for sub in part.walk()}
    for part in forwarded:
        inner_text, _, inner_files = parts(part)
        heading = [f"{label}: {clean(str(part.get(label)))}" for label in ("Subject", "From", "Date")
                   if part.get(label) is not None]
        text = "\n\n".join(piece for piece in (text.strip(), "\n".join(heading), inner_text) if piece)
        files.extend(inner_files)
    for part in message.walk():
        if part.is_multipart() or id(part) in bodies or id(part) in inner:
            continue
        if part.get_content_type() in SIGNATURES:
            continue
        content_id = str(part.get("Content-ID") or "").strip().strip("<>").lower()
        if content_id and content_id in shown and part.get_content_maintype() == "image":
            continue
        disposition = part.get_content_disposition()
        if part.get_content_maintype() == "text" and disposition != "attachment" \
                and not part.get_filename():
            continue  # another rendering of the text (a second plain or HTML body)
        data = part.get_payload(decode=True) or b""
        files.append(_Upload(part.get_filename() or "lampiran", data))
    return clean(text).strip(), html, files


def _forwarded(part) -> list[EmailMessage]:
    """The messages forwarded as attachments (message/rfc822) at or under `part`."""
    if part.get_content_type() == "message/rfc822":
        return [inner for inner in part.iter_parts() if isinstance(inner, EmailMessage)]
    if part.is_multipart():
        return [found for sub in part.iter_parts() for found in _forwarded(sub)]
    return []


def _content(part) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeError, AssertionError):  # an unknown or lying charset
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def clean(text: str) -> str:
    """Text without control characters (NUL above all: PostgreSQL refuses it), lines ending
    in a newline only."""
    return CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


class _Text(HTMLParser):
    """HTML to plain text: the text of the page, with a line break for each block; scripts,
    styles and the head are dropped, entities decoded. Nothing is run or fetched."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
              "pre", "table", "ul", "ol", "hr"}
    SKIP = {"script", "style", "head", "title", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def without_quote(text: str) -> str:
    """A reply's own words: quoted lines (">") and what follows "-----Original Message-----"
    dropped, and the "On ... wrote:" line that introduced the quote."""
    kept = []
    for line in text.split("\n"):
        if re.match(r"^\s*-{2,}\s*(original message|pesan asli|pesan awal)", line, re.I):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and re.search(r"(wrote|menulis)\s*:\s*$", kept[-1], re.I):
        kept.pop()
    return "\n".join(kept).strip()


def title_of(subject: str) -> str:
    """The complaint's title: the subject without Re:/Fwd: prefixes, on one line, at most the
    title's length; a fixed title when the subject is empty."""
    title = re.sub(r"\s+", " ", REPLY_PREFIX.sub("", subject)).strip()
    if not title:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            return str(_l("Complaint received by email"))
    limit = LIMITS["title"]
    return title if len(title) <= limit else title[:limit - 1].rstrip() + "…"


# Registering it (one unit of work) --------------------------------------------------------

def register(mail: Mail) -> InboundMail | None:
    """What the message becomes, with its InboundMail row; flushes only. None when it was
    recorded already (the worker then only marks it handled)."""
    if recorded(mail.digest):
        return None
    if mail.ignored:
        return _record(mail, IGNORED, mail.ignored)
    if mail.refused:
        return _refuse(mail, mail.refused, mail.reason)
    if from_staff(mail):
        return _refuse(mail, STAFF, _l(
            "This mailbox takes complaints from the public, and your address belongs to a staff "
            "account, so your email was not filed as a complaint. Staff record a complaint they "
            "received with “%(record)s” on the staff pages.", record=_l("Record a complaint")), staff=True)
    if mail.code:
        return _reply(mail)
    return _file(mail)


def from_staff(mail: Mail) -> bool:
    """Mail from the address of an active staff account (a reply to a notification the office
    sent from this mailbox, say), unless its subject names a complaint filed with that very
    address: a staff member may complain as a citizen too, and then writes as one."""
    user = User.by_email(mail.address)
    if user is None or not user.active:
        return False
    if mail.code:
        complaint = db.session.scalar(select(Complaint).where(Complaint.tracking_code == mail.code))
        return complaint is None or (complaint.complainant_email or "").strip().lower() != mail.address.lower()
    return True


def _file(mail: Mail) -> InboundMail:
    unit = intake_unit()
    description = mail.text or (title_of(mail.subject) if mail.files else "")
    if not description:
        return _refuse(mail, EMPTY, _l("Your email had no text. Please write what happened, "
                                       "where and when, and send it again."))
    if len(description) > LIMITS["description"]:
        return _refuse(mail, TOO_LONG, _l(
            "The text of your email is longer than %(num)d characters. Please shorten it, or "
            "send the long text as a PDF document attached to a short email.",
            num=LIMITS["description"]))
    raw = {"unit": unit.code, "title": title_of(mail.subject), "description": description,
           "privacy": PRIVACY, "name": (mail.name or mail.address)[:LIMITS["name"]],
           "email": mail.address}
    try:
        with stored_files(mail.files) as stored:
            filed = file_complaint(raw, actor=Actor.channel(CHANNEL), attachments=stored,
                                   consent_unasked=True)
    except StorageFull:
        raise  # the server's problem, not the sender's: the mail stays for the next run
    except InvalidFields as exc:
        return _refuse(mail, INVALID, list(exc.errors.values()))
    send_receipt(filed.complaint, template="mail_receipt")
    return _record(mail, FILED, CHANNEL, filed.complaint)


NOT_ADDED = _l(
    "Its subject names a tracking code, so it was taken for a reply about a complaint, but it "
    "was not added to one: a reply is added only when it is sent with “Reply” on one of the "
    "emails this office sent about the complaint, from the address the complaint was filed "
    "with. To write about your complaint, reply to one of our emails, or open it on the "
    "tracking page with its code and PIN; to file a new complaint, send it again without a "
    "tracking code in the subject.")


def answers_our_mail(mail: Mail, complaint: Complaint) -> bool:
    """Whether the reply names (In-Reply-To, References) the Message-ID of an email the office
    sent to this complaint's complainant about it: a From address is easily forged, and the
    tracking code and the address may both be known to others."""
    if not mail.answers:
        return False
    found = db.session.scalar(select(func.count()).select_from(MailReference).where(
        MailReference.message_id.in_(mail.answers), MailReference.complaint_id == complaint.id,
        MailReference.recipient == (complaint.complainant_email or "").strip().lower()))
    return bool(found)


def _reply(mail: Mail) -> InboundMail:
    complaint = db.session.scalar(select(Complaint).where(Complaint.tracking_code == mail.code))
    if complaint is None or (complaint.complainant_email or "").strip().lower() != mail.address.lower():
        # The same answer whether the code exists or not: it tells a stranger nothing.
        return _refuse(mail, NOT_ITS_SENDER, NOT_ADDED)
    if not answers_our_mail(mail, complaint):
        return _refuse(mail, NOT_A_REPLY, NOT_ADDED)
    if not is_open(complaint):
        return _refuse(mail, CLOSED, _l(
            "Complaint %(code)s is finished, so nothing can be added to it any more. If the "
            "matter goes on, send a new complaint without the tracking code in the subject.",
            code=complaint.tracking_code), complaint)
    text = without_quote(mail.text)
    if not text and mail.files:
        with force_locale(complaint.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            text = str(_l("(Files sent by email, without text.)"))
    actor = replace(Actor.citizen(complaint), intake=CHANNEL)
    step = answering_step(complaint, actor, bool(mail.files))
    try:
        with stored_files(mail.files) as stored:
            if step:
                advance(complaint, step, actor, attachments=stored, message=text)
            else:
                post_message(complaint, actor, text, attachments=stored)
    except StorageFull:
        raise  # the server's problem, not the sender's: the mail stays for the next run
    except InvalidFields as exc:
        return _refuse(mail, TOO_LONG if text else EMPTY, [
            _l("The text of your reply %(problem)s.", problem=problem) for problem in exc.errors.values()],
            complaint)
    except DomainError:  # the complaint does not take her words now (a step not allowed, a change at once)
        return _refuse(mail, NOT_ALLOWED, _l(
            "Complaint %(code)s cannot take a reply by email at this moment. Please open it on "
            "the tracking page with its code and PIN to see where it stands.",
            code=complaint.tracking_code), complaint)
    return _record(mail, MESSAGE, step or CHANNEL, complaint)


def answering_step(complaint: Complaint, actor: Actor, with_files: bool) -> str | None:
    """The complainant's step that answers what the office asked of her in the complaint's
    state (in perpres76.yaml `provide_info`, while it waits for information): a step of
    hers that needs her words alone and no page to confirm it. Her reply by email takes it, as
    answering on the tracking page does, so the complaint is not deemed withdrawn for want of
    an answer she sent. None: the reply is a message of the conversation."""
    workflow = current_workflow()
    for trigger in allowed_triggers(complaint, actor, workflow):
        step = workflow.transition(trigger)
        if step.requires == (MESSAGE_FIELD,) and step.confirm is None and (step.attachments or not with_files):
            return trigger
    return None


def _refuse(mail: Mail, kind: str, reason, complaint: Complaint | None = None, staff: bool = False) -> InboundMail:
    """Tell the sender what was refused and why (in the office's language); file nothing.
    `staff`: the sender is a staff member, pointed to the staff entry form instead."""
    reasons = reason if isinstance(reason, list) else [reason]
    subject = _l("Your email could not be registered")
    if _refusals_in_window(mail.address, subject) < current_app.config["PENGADUAN_RECEIPTS_PER_ADDRESS"]:
        outbox.queue(mail.address, subject, "mail_refused", reasons=reasons, staff=staff)
    else:  # one address gets no more refusals a day than receipts: no mailer for strangers
        UnitOfWork.of(db.session).on_commit(lambda: log.info("mailbox: refusal reply withheld (%s): "
                                                             "the address had its replies for today", kind))
    return _record(mail, REFUSED, kind, complaint)


def _refusals_in_window(address: str, subject) -> int:
    """Refusal replies queued for this address in the last 24 hours (by their subject, in the
    office's language, as `outbox.queue` renders it)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        words = str(subject)
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        func.lower(OutboxMessage.recipient) == address.strip().lower(), OutboxMessage.subject == words,
        OutboxMessage.created_at > utcnow() - REFUSAL_WINDOW))


def _record(mail: Mail, outcome: str, kind: str, complaint: Complaint | None = None) -> InboundMail:
    complaint_id = complaint.id if complaint is not None else None
    failed = db.session.scalar(select(InboundMail).where(InboundMail.digest == mail.digest,
                                                         InboundMail.outcome == FAILED))
    if failed is None:
        row = InboundMail(digest=mail.digest, outcome=outcome, kind=kind, complaint_id=complaint_id)
        db.session.add(row)
    else:  # it failed before: the same row, taken only if no other worker took it meanwhile
        taken = db.session.execute(update(InboundMail).where(
            InboundMail.id == failed.id, InboundMail.outcome == FAILED).values(
            outcome=outcome, kind=kind, complaint_id=complaint_id, handled_at=utcnow()))
        if taken.rowcount != 1:
            raise IntegrityError("inbound_mail", None, Exception("recorded by another worker"))
        row = failed
        db.session.refresh(row)
    db.session.flush()
    number = row.id
    UnitOfWork.of(db.session).on_commit(lambda: log.info("mailbox: mail %s %s (%s)", number, outcome, kind))
    return row
