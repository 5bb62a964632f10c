"""The office's mailbox (IMAP, imap-tools): the worker reads the mail not yet handled and hands
each message to services.complaints.mail_intake, one unit of work per message.

Nothing is lost and nothing is filed twice when the worker stops anywhere:

1. the headers are fetched and the message's digest computed; a message already recorded
   (InboundMail) only gets marked handled (the worker stopped after its commit last time);
2. the whole message is fetched (unless it is larger than mail_intake.largest_mail()) and read,
   its files checked, outside any database transaction;
3. what it becomes (a complaint, a message, a refusal with its reply, or nothing) is committed
   together with its InboundMail row (a unique digest: a second worker's commit fails);
4. only then is it marked handled on the server: the keyword HANDLED and \\Seen, or moved to
   PENGADUAN_IMAP_DONE_FOLDER when one is set. A worker stopped before this step finds the
   message again and goes to 1.

A message that fails for any other reason is logged (by its number in the folder and the
error's kind, never its sender or subject), its failure counted on its InboundMail row (outcome
`failed`, `attempts`, in a transaction of its own after the rollback) and left for the next
run; the others go on. After MAX_ATTEMPTS failed runs it is given up: moved to
PENGADUAN_IMAP_FAILED_FOLDER when one is set (for someone to read by hand), else marked handled.
A full disk (StorageFull) or a database that cannot be reached is the server's trouble, not the
message's: it is not counted.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import unit_of_work
from ..database import read_only
from ..errors import StorageFull
from ..extensions import db
from ..services.complaints import mail_intake

log = logging.getLogger(__name__)

HANDLED = "PengaduanHandled"  # the IMAP keyword of a handled message
BATCH = 50  # messages one run reads at most; the next run takes the rest
MAX_ATTEMPTS = 3  # failed runs after which a message is given up
TIMEOUT = 60  # seconds for any one exchange with the server
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def configured() -> bool:
    return bool(current_app.config.get("PENGADUAN_IMAP_HOST"))


@contextmanager
def connect() -> Iterator[MailBox]:
    """A logged-in connection to the configured folder (TLS unless told `none`)."""
    config = current_app.config
    host, port = config["PENGADUAN_IMAP_HOST"], config["PENGADUAN_IMAP_PORT"]
    kind = {"ssl": MailBox, "starttls": MailBoxStartTls, "none": MailBoxUnencrypted}[
        config["PENGADUAN_IMAP_SECURITY"]]
    box = kind(host, port, timeout=TIMEOUT)
    box.login(config["PENGADUAN_IMAP_USER"] or "", config["PENGADUAN_IMAP_PASSWORD"] or "",
              initial_folder=config["PENGADUAN_IMAP_FOLDER"])
    try:
        yield box
    finally:
        try:
            box.logout()
        except Exception:  # noqa: BLE001 - the connection may be gone already
            log.debug("mailbox logout failed", exc_info=True)


def poll(limit: int = BATCH) -> dict[str, int]:
    """Read the mail not yet handled (at most `limit` messages); count what each became
    (filed, message, refused, ignored, already: recorded before, failed: left for next time).
    Commits once per message. Nothing happens when no mailbox is configured."""
    if not configured():
        return {}
    with read_only():
        mail_intake.intake_unit()  # MailboxNotReady before any message is touched
        db.session.commit()
    counts: Counter[str] = Counter()
    with connect() as box:
        done_folder = current_app.config.get("PENGADUAN_IMAP_DONE_FOLDER")
        uids = box.uids("ALL" if done_folder else AND(no_keyword=HANDLED))[:limit]
        for uid in uids:
            digest = None
            try:
                headers, size = fetch(box, uid, "BODY.PEEK[HEADER]")
                digest = mail_intake.digest_of(headers)
                outcome = _handle(box, uid, headers, size, digest)
                mark_handled(box, uid)
            except Exception as exc:  # noqa: BLE001 - one bad message must not stop the others
                unit_of_work.abandon()
                outcome = _failed(box, uid, digest, exc)
            counts[outcome] += 1
    return dict(counts)


def _failed(box: MailBox, uid: str, digest: str | None, exc: Exception) -> str:
    """Log a message that failed and count the failure; give it up after MAX_ATTEMPTS."""
    kind = type(exc).__name__
    if digest is None or isinstance(exc, (StorageFull, OperationalError)):
        log.exception("mailbox: mail %s of the folder failed (%s); the next run tries again", uid, kind)
        return "failed"
    try:
        attempts = unit_of_work.run(lambda: mail_intake.note_failure(digest, kind))
        if attempts == 0:  # recorded already: only marking it failed
            log.exception("mailbox: mail %s of the folder was recorded but not marked handled (%s); "
                          "the next run marks it", uid, kind)
            return "failed"
        if attempts < MAX_ATTEMPTS:
            log.exception("mailbox: mail %s of the folder failed (%s, attempt %d of %d); the next run "
                          "tries again", uid, kind, attempts, MAX_ATTEMPTS)
            return "failed"
        log.exception("mailbox: mail %s of the folder failed (%s) %d times; given up", uid, kind, attempts)
        quarantine = current_app.config.get("PENGADUAN_IMAP_FAILED_FOLDER")
        if quarantine:
            box.move(uid, quarantine)
        else:
            mark_handled(box, uid)
        return "given_up"
    except Exception:  # noqa: BLE001 - counting failed too: the next run tries again
        unit_of_work.abandon()
        log.exception("mailbox: mail %s of the folder failed (%s); its failure was not counted", uid, kind)
        return "failed"


def _handle(box: MailBox, uid: str, headers: bytes, size: int, digest: str) -> str:
    with read_only():
        known = mail_intake.recorded(digest, MAX_ATTEMPTS)
        db.session.commit()
    if known:
        return "already"
    raw = fetch(box, uid, "BODY.PEEK[]")[0] if size <= mail_intake.largest_mail() else None
    mail = mail_intake.read(digest, headers, raw, size)
    try:
        row = unit_of_work.run(lambda: mail_intake.register(mail))
    except IntegrityError:  # another worker recorded it first
        return "already"
    return row.outcome if row is not None else "already"


def fetch(box: MailBox, uid: str, what: str) -> tuple[bytes, int]:
    """The bytes of `what` (BODY.PEEK[HEADER] or BODY.PEEK[]: never marks it read) and the
    message's size."""
    status, data = box.client.uid("fetch", uid, f"({what} RFC822.SIZE)")
    for item in data or ():
        if isinstance(item, tuple) and len(item) == 2:
            found = _SIZE.search(item[0])
            return item[1], int(found.group(1)) if found else len(item[1])
    raise LookupError(f"the server returned no message {uid} ({status})")


def mark_handled(box: MailBox, uid: str) -> None:
    """Done with this message: moved to the done folder, or flagged with HANDLED and \\Seen."""
    done_folder = current_app.config.get("PENGADUAN_IMAP_DONE_FOLDER")
    if done_folder:
        box.move(uid, done_folder)
    else:
        box.flag(uid, (HANDLED, "\\Seen"), True)
