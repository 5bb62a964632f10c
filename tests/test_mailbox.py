"""Email intake (issue 17, item 2) against a real IMAP server, Dovecot (tests/dovecot.py): a
new mail becomes a confidential complaint with a receipt, a reply carrying the tracking code
becomes the complainant's message, machines' mail (auto-replies, bounces, loops) is left
alone, a disguised attachment or an oversized mail is refused with a reply and nothing filed,
and a worker stopped before or after its commit loses and duplicates nothing."""
from __future__ import annotations

import io
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import pengaduan.errors
import pengaduan.jobs.outbox
import pengaduan.services.attachments
from dovecot import REQUIRED, USER, Dovecot, missing
from pengaduan.errors import StorageFull
from pengaduan.extensions import db
from pengaduan.integrations import mailbox
from pengaduan.jobs import MAILBOX_LOCK, mailbox_job
from pengaduan.jobs.lock import exclusive
from pengaduan.models import Attachment, Complaint, ComplaintEvent, InboundMail, MailReference, OutboxMessage
from pengaduan.services.complaints import mail_intake
from pengaduan.services.complaints.intake import CONSENT_UNASKED
from pengaduan.services.complaints.lifecycle import advance
from pengaduan.services.complaints.receipts import send_receipt
from test_receipts import FakeSMTP

SITI = "Siti Aminah <siti.aminah@example.id>"


@pytest.fixture(scope="module")
def dovecot():
    reason = missing()
    if reason:
        if REQUIRED:
            pytest.fail(f"PENGADUAN_REQUIRE_MAIL=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    server = Dovecot()
    yield server
    server.stop()


@pytest.fixture
def office(app, world, dovecot):
    """The app reading the Dovecot mailbox (emptied first), filing new mail in UNIT-A."""
    dovecot.empty()
    app.config.update(dovecot.settings(), PENGADUAN_IMAP_UNIT="UNIT-A",
                      MAIL_DEFAULT_SENDER=f"Pengaduan <{USER}>")
    return app


class Killed(BaseException):
    """The worker's process dying (not an error it could handle)."""


def run_worker(app) -> dict | None:
    db.session.rollback()  # the test's own reads hold no lock while the worker writes
    return mailbox_job(app)


def message(subject="Jalan rusak di depan Puskesmas Mlati", body="Lubangnya dalam, sudah ada "
            "motor yang jatuh.\n", sender=SITI, headers=None, files=(), html=None) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = USER
    mail["Subject"] = subject
    mail["Date"] = formatdate()
    mail["Message-ID"] = make_msgid(domain="example.id")
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    for name, data, kind in files:
        maintype, subtype = kind.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()


# A delivery-status report from a relay not named MAILER-DAEMON (RFC 3464).
DELIVERY_REPORT = (
    b"From: Relay <relay@mx.example.id>\r\nTo: " + USER.encode() + b"\r\nSubject: Delivery report\r\n"
    b"Message-ID: <report-1@mx.example.id>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
    b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.id\r\n\r\n"
    b"Final-Recipient: rfc822; x@example.id\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n")


def our_mail(complaint) -> str:
    """The Message-ID of the latest email the office sent her about the complaint (its receipt,
    sent now, when there is none): a reply names it in In-Reply-To."""
    def latest():
        return db.session.scalar(select(MailReference.message_id).where(
            MailReference.complaint_id == complaint.id).order_by(MailReference.id.desc()).limit(1))
    if latest() is None:
        send_receipt(complaint)
        db.session.commit()
    return latest()


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def flags(dovecot) -> list[set[str]]:
    with dovecot.mailbox() as box:
        return [set(m.flags) for m in box.fetch(headers_only=True, mark_seen=False)]


def handled(dovecot) -> list[bool]:
    return [mailbox.HANDLED in f and "\\Seen" in f for f in flags(dovecot)]


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def outbox() -> list[OutboxMessage]:
    db.session.rollback()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_a_new_mail_becomes_a_confidential_complaint_and_its_sender_gets_a_receipt(office, dovecot):
    dovecot.deliver(message(subject="Fwd: Jalan rusak di depan Puskesmas Mlati",
                            files=[("lubang.png", photo(), "image/png")]))

    assert run_worker(office) == {"filed": 1}

    complaint = db.session.scalars(select(Complaint)).one()
    assert (complaint.channel, complaint.state, complaint.privacy) == ("email", "received", "confidential")
    assert complaint.unit.code == "UNIT-A"
    assert complaint.title == "Jalan rusak di depan Puskesmas Mlati"
    assert complaint.description == "Lubangnya dalam, sudah ada motor yang jatuh."
    assert (complaint.complainant_name, complaint.complainant_email) == ("Siti Aminah", "siti.aminah@example.id")
    assert complaint.consent_version == CONSENT_UNASKED and complaint.consent_at is not None
    assert [a.content_type for a in complaint.attachments] == ["image/png"]
    [receipt] = outbox()
    assert receipt.recipient == "siti.aminah@example.id"
    assert complaint.tracking_code in receipt.subject and complaint.tracking_code in receipt.body_text
    assert "Lupa PIN" in receipt.body_text and "Jalan rusak" not in receipt.body_text
    row = db.session.scalars(select(InboundMail)).one()
    assert (row.outcome, row.kind, row.complaint_id) == ("filed", "email", complaint.id)
    assert handled(dovecot) == [True]

    assert run_worker(office) == {}  # handled mail is not read again


def test_a_mailbox_run_is_skipped_while_another_holds_its_lock(office, dovecot):
    """Two schedulers overlapping for a moment (see jobs/lock.py): the second mailbox run
    finds the run's lock taken, reads nothing and files nothing; the mail waits for the next."""
    dovecot.deliver(message())
    db.session.rollback()
    with exclusive(db.engine, MAILBOX_LOCK) as held:
        assert held
        assert run_worker(office) == {"skipped": "another mailbox run is in progress"}
    assert count(Complaint) == 0 and handled(dovecot) == [False]
    assert run_worker(office) == {"filed": 1}
    assert count(Complaint) == 1


def test_a_reply_with_the_tracking_code_becomes_her_message_and_no_one_else_s(office, world, dovecot):
    code = world.file(email="siti.aminah@example.id").complaint.tracking_code
    closed = world.file(email="siti.aminah@example.id").complaint
    closed.state = "closed"
    db.session.commit()
    quoted = f"Fotonya saya lampirkan.\n\nPada 7 Des 2026, Pengaduan <{USER}> menulis:\n> Pengaduan diterima\n"
    receipt = our_mail(db.session.scalar(select(Complaint).where(Complaint.tracking_code == code)))
    dovecot.deliver(
        message(subject=f"Re: Pengaduan {code} diterima", body=quoted,
                files=[("foto.png", photo(), "image/png")], headers={"In-Reply-To": receipt}),
        message(subject=f"Re: Pengaduan {code} diterima", sender="Orang Lain <lain@example.id>",
                headers={"In-Reply-To": receipt}),
        message(subject=f"Re: Pengaduan {closed.tracking_code} diterima",
                headers={"In-Reply-To": our_mail(closed)}),
    )

    assert run_worker(office) == {"message": 1, "refused": 2}

    complaint = db.session.scalar(select(Complaint).where(Complaint.tracking_code == code))
    [event] = [e for e in complaint.events if e.kind == ComplaintEvent.MESSAGE]
    assert event.data == {"message": "Fotonya saya lampirkan."} and event.actor_role == "citizen"
    assert complaint.citizen_message_at is not None
    assert [a.event_id for a in complaint.attachments] == [event.id]
    replies = {m.recipient: m.body_text for m in outbox() if m.recipient != "officer.a@example.id"}
    stranger = replies["lain@example.id"]
    assert code not in stranger and "Balas" in stranger and "Siti" not in stranger
    assert closed.tracking_code in replies["siti.aminah@example.id"]
    assert count(Complaint) == 2 and handled(dovecot) == [True, True, True]


def test_staff_replying_to_a_notification_file_nothing_unless_it_is_their_own_complaint(office, world, dovecot,
                                                                                          caplog):
    """A mail from a staff account's address (a reply to a notification the office sent from
    this mailbox) is not filed: the reply points to the staff form; about a complaint filed
    with that same address, a staff member writes as the citizen she then is."""
    other = world.file(email="siti.aminah@example.id").complaint.tracking_code
    own = world.file(email="officer.a@example.id").complaint
    db.session.commit()
    officer = "Petugas A <Officer.A@example.id>"
    dovecot.deliver(message(subject=f"Re: Pengaduan baru {other}", sender=officer),
                    message(subject="Re: Ringkasan harian", sender=officer),
                    message(subject=f"Re: Pengaduan {own.tracking_code} diterima", sender=officer,
                            headers={"References": our_mail(own)}))

    with caplog.at_level("INFO", logger=mail_intake.__name__):
        assert run_worker(office) == {"refused": 2, "message": 1}

    assert count(Complaint) == 2
    told = [m.body_text for m in outbox() if "Catat pengaduan" in m.body_text]
    assert len(told) == 2 and all("/staff/complaints/new" in body and other not in body for body in told)
    assert sorted(db.session.scalars(select(InboundMail.kind))) == ["email", "staff", "staff"]
    assert caplog.text.count("refused (staff)") == 2 and "officer.a" not in caplog.text.lower()


def test_her_reply_to_a_request_for_information_is_her_answer(office, world, dovecot):
    """While the office waits for information, her reply by email takes the step she would
    take on the tracking page: the complaint goes back to the officer and its clock for her
    answer stops, so it is not deemed withdrawn."""
    complaint = world.file(email="siti.aminah@example.id").complaint
    advance(complaint, "request_info", world.officer_a, message="Mohon kirim foto lokasi.")
    db.session.commit()
    dovecot.deliver(message(subject=f"Re: Pengaduan Anda perlu kelengkapan ({complaint.tracking_code})",
                            body="Ini fotonya.\n", files=[("lokasi.png", photo(), "image/png")],
                            headers={"In-Reply-To": our_mail(complaint)}))

    assert run_worker(office) == {"message": 1}

    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.state == "received"
    [event] = [e for e in complaint.events if e.trigger == "provide_info"]
    assert event.data["message"] == "Ini fotonya." and len(complaint.attachments) == 1
    assert db.session.scalar(select(InboundMail.kind)) == "provide_info"


def test_auto_replies_bounces_and_loops_are_left_alone(office, dovecot):
    report = EmailMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.id>"
    report["To"], report["Subject"], report["Message-ID"] = USER, "Undelivered", make_msgid()
    report.set_content("Delivery failed")
    dovecot.deliver(
        message(headers={"Auto-Submitted": "auto-replied"}, subject="Sedang cuti"),
        message(headers={"X-Autoreply": "yes"}),
        message(headers={"X-Autorespond": "Out of office"}),
        message(headers={"Precedence": "bulk"}),
        message(headers={"List-Id": "<berita.example.id>"}),
        message(headers={"Return-Path": "<>"}),
        report.as_bytes(),
        DELIVERY_REPORT,
        message(sender=f"Pengaduan <{USER}>"),
        message(headers={"X-Loop": USER}),
    )

    assert run_worker(office) == {"ignored": 10}

    kinds = sorted(db.session.scalars(select(InboundMail.kind)))
    assert kinds == ["auto_reply"] * 6 + ["bounce"] * 2 + ["loop"] * 2
    assert count(Complaint) == 0 and outbox() == []
    assert handled(dovecot) == [True] * 10


def test_the_office_s_own_mail_come_back_is_left_alone(office, dovecot, monkeypatch):
    """What the office sends carries X-Loop and Auto-Submitted: its receipt forwarded back to
    the mailbox under the citizen's name is recognised as a loop, and nothing answers it."""
    FakeSMTP.sent = []
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", FakeSMTP)
    office.config["MAIL_SERVER"] = "smtp.example.go.id"
    dovecot.deliver(message())
    assert run_worker(office) == {"filed": 1}
    [receipt] = FakeSMTP.sent
    assert (receipt["X-Loop"], receipt["Auto-Submitted"]) == (USER, "auto-generated")

    del receipt["From"], receipt["Message-ID"]
    receipt["From"], receipt["Message-ID"] = SITI, make_msgid(domain="example.id")
    dovecot.deliver(receipt.as_bytes())
    assert run_worker(office) == {"ignored": 1}
    assert db.session.scalar(select(InboundMail.kind).where(InboundMail.outcome == "ignored")) == "loop"
    assert len(FakeSMTP.sent) == 1 and count(Complaint) == 1


def test_handled_mail_may_be_moved_to_a_folder_instead(office, dovecot):
    with dovecot.mailbox() as box:
        if not box.folder.exists("Selesai"):
            box.folder.create("Selesai")
    office.config["PENGADUAN_IMAP_DONE_FOLDER"] = "Selesai"
    dovecot.deliver(message(), message(headers={"X-Autoreply": "yes"}))

    assert run_worker(office) == {"filed": 1, "ignored": 1}
    assert flags(dovecot) == []
    with dovecot.mailbox() as box:
        box.folder.set("Selesai")
        assert len(box.uids()) == 2
        box.delete(box.uids())


def test_mail_fetch_reads_the_mailbox_once_by_hand(office, dovecot, runner):
    dovecot.deliver(message(headers={"Auto-Submitted": "auto-replied"}))
    db.session.rollback()
    result = runner.invoke(args=["mail", "fetch"])
    assert (result.exit_code, result.output.strip()) == (0, '{"ignored": 1}')

    dovecot.deliver(message())
    office.config["PENGADUAN_IMAP_UNIT"] = "NO-SUCH-UNIT"  # nothing is read, nothing lost
    result = runner.invoke(args=["mail", "fetch"])
    assert result.exit_code == 1 and "PENGADUAN_IMAP_UNIT" in result.output
    assert handled(dovecot) == [True, False]

    office.config["PENGADUAN_IMAP_HOST"] = None
    result = runner.invoke(args=["mail", "fetch"])
    assert result.exit_code == 1 and "PENGADUAN_IMAP_HOST" in result.output


def test_a_disguised_attachment_or_an_oversized_mail_is_refused_with_a_reply(office, dovecot):
    office.config["MAX_CONTENT_LENGTH"] = 60_000  # so the largest mail is 80,000 bytes
    dovecot.deliver(
        message(files=[("foto.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")]),
        message(sender="Budi <budi@example.id>", files=[("besar.pdf", b"%PDF-1.4 " + b"0" * 90_000,
                                                          "application/pdf")]),
    )

    assert run_worker(office) == {"refused": 2}

    assert count(Complaint) == 0 and count(Attachment) == 0
    assert not any(Path(office.config["PENGADUAN_UPLOAD_DIR"]).glob("*"))
    replies = {m.recipient: m.body_text for m in outbox()}
    assert "foto.jpg" in replies["siti.aminah@example.id"]
    assert "MB" in replies["budi@example.id"]
    assert sorted(db.session.scalars(select(InboundMail.kind))) == ["attachment", "too_large"]
    assert handled(dovecot) == [True, True]


def test_a_worker_killed_before_its_commit_loses_nothing_and_files_once(office, dovecot, monkeypatch):
    dovecot.deliver(message())
    register = mail_intake.register

    def killed_while_filing(mail):
        register(mail)
        raise Killed()

    monkeypatch.setattr(mail_intake, "register", killed_while_filing)
    with pytest.raises(Killed):
        run_worker(office)
    assert count(Complaint) == 0 and count(InboundMail) == 0 and outbox() == []
    assert handled(dovecot) == [False]

    monkeypatch.setattr(mail_intake, "register", register)
    assert run_worker(office) == {"filed": 1}
    assert count(Complaint) == 1 and len(outbox()) == 1 and handled(dovecot) == [True]


def test_a_full_disk_leaves_the_mail_for_the_next_run(office, dovecot, monkeypatch):
    """The server's trouble is not the sender's: nothing is refused, recorded or marked."""
    def full(checked, field="attachments"):
        raise StorageFull({field: "full"})

    monkeypatch.setattr(pengaduan.services.attachments, "store", full)
    dovecot.deliver(message(files=[("lubang.png", photo(), "image/png")]))
    assert run_worker(office) == {"failed": 1}
    assert count(InboundMail) == 0 and outbox() == [] and handled(dovecot) == [False]

    monkeypatch.undo()
    assert run_worker(office) == {"filed": 1}


def test_a_worker_killed_after_its_commit_before_marking_files_once(office, dovecot, monkeypatch):
    dovecot.deliver(message())
    mark = mailbox.mark_handled

    def killed_before_marking(box, uid):
        raise Killed()

    monkeypatch.setattr(mailbox, "mark_handled", killed_before_marking)
    with pytest.raises(Killed):
        run_worker(office)
    assert count(Complaint) == 1 and handled(dovecot) == [False]

    monkeypatch.setattr(mailbox, "mark_handled", mark)
    assert run_worker(office) == {"already": 1}
    assert count(Complaint) == 1 and count(InboundMail) == 1 and len(outbox()) == 1
    assert handled(dovecot) == [True]


def test_html_mail_is_read_as_text_and_replies_lose_their_quote():
    html = ("<html><head><style>p{color:red}</style><title>x</title></head><body><p>Antrean "
            "&amp; loket<br>tutup jam 10</p><script>alert('x')</script><ul><li>KTP</li></ul></body></html>")
    assert mail_intake.html_to_text(html) == "Antrean & loket\ntutup jam 10\n\nKTP"
    assert mail_intake.without_quote("Terima kasih.\n\nOn Mon, Dec 7, 2026 Pengaduan wrote:\n> lama\n>\n") \
        == "Terima kasih."
    assert mail_intake.without_quote("Ya.\n-----Original Message-----\nFrom: x") == "Ya."
    assert mail_intake.title_of("RE: Fwd:  Loket\n tutup") == "Loket tutup"
    assert mail_intake.CODE_IN_SUBJECT.search("Re: Pengaduan 7KQ2-M9DT diterima").group(1) == "7KQ2-M9DT"
    assert mail_intake.CODE_IN_SUBJECT.search("Re: pengaduan 7kq2-m9dt") is None


def test_a_reply_is_added_only_when_it_answers_our_mail_to_her(office, world, dovecot, monkeypatch):
    """Her address and the tracking code are no proof (From is easily forged): a reply is added
    only when it names the Message-ID the office gave an email to her about that complaint;
    a forged one gets a reply that names no complaint."""
    FakeSMTP.sent = []
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", FakeSMTP)
    office.config["MAIL_SERVER"] = "smtp.example.go.id"
    complaint = world.file(email="siti.aminah@example.id").complaint
    other = world.file(email="siti.aminah@example.id").complaint
    ours, others = our_mail(complaint), our_mail(other)
    pengaduan.jobs.outbox.deliver()
    assert {str(m["Message-ID"]) for m in FakeSMTP.sent} == {ours, others}
    subject = f"Re: Pengaduan {complaint.tracking_code} diterima"
    dovecot.deliver(
        message(subject=subject, body="Palsu, tanpa balasan.\n"),
        message(subject=subject, body="Palsu, Message-ID karangan.\n", headers={"In-Reply-To": "<x@example.id>"}),
        message(subject=subject, body="Palsu, surel pengaduan lain.\n", headers={"References": others}),
        message(subject=subject, body="Asli.\n", headers={"References": f"<a@example.id> {ours}"}),
    )

    assert run_worker(office) == {"refused": 3, "message": 1}

    complaint = db.session.get(Complaint, complaint.id)
    assert [e.data["message"] for e in complaint.events if e.kind == ComplaintEvent.MESSAGE] == ["Asli."]
    assert sorted(db.session.scalars(select(InboundMail.kind))) == ["email"] + ["not_a_reply"] * 3
    told = [m.get_body(("plain",)).get_content() for m in FakeSMTP.sent[2:]]
    assert len(told) == 3 and all(complaint.tracking_code not in body and "PIN" in body for body in told)


def test_a_message_that_always_fails_is_given_up_and_blocks_nothing(office, dovecot, monkeypatch, caplog):
    read = mail_intake.read

    def poisoned(digest, headers, raw, size):
        if b"Racun" in headers:
            raise ValueError("cannot parse")
        return read(digest, headers, raw, size)

    monkeypatch.setattr(mail_intake, "read", poisoned)
    dovecot.deliver(message(subject="Racun"), message())
    with caplog.at_level("ERROR", logger=mailbox.__name__):
        assert run_worker(office) == {"failed": 1, "filed": 1}
        assert run_worker(office) == {"failed": 1}
        assert run_worker(office) == {"given_up": 1}
    assert run_worker(office) == {}
    row = db.session.scalars(select(InboundMail).where(InboundMail.outcome == "failed")).one()
    assert (row.kind, row.attempts, row.complaint_id) == ("ValueError", 3, None)
    assert handled(dovecot) == [True, True] and "given up" in caplog.text and "Racun" not in caplog.text


def test_a_failure_to_mark_a_recorded_message_keeps_what_it_became(office, dovecot, monkeypatch):
    mark = mailbox.mark_handled

    def server_gone(box, uid):
        raise OSError("connection reset")

    monkeypatch.setattr(mailbox, "mark_handled", server_gone)
    dovecot.deliver(message())
    assert run_worker(office) == {"failed": 1}
    monkeypatch.setattr(mailbox, "mark_handled", mark)
    assert run_worker(office) == {"already": 1}
    row = db.session.scalars(select(InboundMail)).one()
    assert (row.outcome, row.kind, row.attempts) == ("filed", "email", 0) and handled(dovecot) == [True]


def test_a_message_given_up_may_be_moved_to_a_quarantine_folder(office, dovecot, monkeypatch):
    with dovecot.mailbox() as box:
        if not box.folder.exists("Karantina"):
            box.folder.create("Karantina")
    office.config["PENGADUAN_IMAP_FAILED_FOLDER"] = "Karantina"
    monkeypatch.setattr(mailbox, "MAX_ATTEMPTS", 1)
    monkeypatch.setattr(mail_intake, "register", lambda mail: 1 / 0)
    dovecot.deliver(message())

    assert run_worker(office) == {"given_up": 1}
    assert flags(dovecot) == []
    with dovecot.mailbox() as box:
        box.folder.set("Karantina")
        assert len(box.uids()) == 1
        box.delete(box.uids())


def test_a_failed_message_filed_later_keeps_one_row_and_a_refused_step_is_answered(office, world, dovecot,
                                                                                  monkeypatch):
    """A message that failed once and then goes through takes over its row; a reply the
    complaint cannot take (a step not allowed at that moment) is refused with a reply."""
    register = mail_intake.register
    monkeypatch.setattr(mail_intake, "register", lambda mail: 1 / 0)
    dovecot.deliver(message())
    assert run_worker(office) == {"failed": 1}
    monkeypatch.setattr(mail_intake, "register", register)
    assert run_worker(office) == {"filed": 1}
    row = db.session.scalars(select(InboundMail)).one()
    assert (row.outcome, row.kind, row.attempts) == ("filed", "email", 1)

    complaint = world.file(email="siti.aminah@example.id").complaint

    def refused(*args, **kwargs):
        raise pengaduan.errors.Forbidden()

    monkeypatch.setattr(mail_intake, "post_message", refused)
    dovecot.deliver(message(subject=f"Re: {complaint.tracking_code}", headers={"In-Reply-To": our_mail(complaint)}))
    assert run_worker(office) == {"refused": 1}
    assert db.session.scalar(select(InboundMail.kind).where(InboundMail.outcome == "refused")) == "not_allowed"
    assert complaint.tracking_code in outbox()[-1].body_text


def test_spam_is_left_alone_and_refusals_to_one_address_are_capped(office, dovecot):
    dovecot.deliver(
        message(headers={"X-Spam-Flag": "YES"}),
        message(headers={"X-Spam-Status": "Yes, score=9.1 required=5.0"}),
        message(headers={"Authentication-Results": "mx.example.go.id; spf=pass; dmarc=fail (p=none) "
                                                   "header.from=example.id"}),
        message(headers={"X-Spam-Status": "No, score=0.1"}, body=""),  # not spam: refused (empty)
    )
    assert run_worker(office) == {"ignored": 3, "refused": 1}
    assert sorted(db.session.scalars(select(InboundMail.kind))) == ["empty", "spam", "spam", "spam"]
    assert len(outbox()) == 1

    office.config["PENGADUAN_RECEIPTS_PER_ADDRESS"] = 2
    dovecot.empty()
    dovecot.deliver(*(message(body="") for _ in range(3)))
    assert run_worker(office) == {"refused": 3}
    assert len(outbox()) == 2  # one before, one now: the third and fourth are not answered


def test_a_forwarded_message_signatures_and_logos(office, dovecot):
    """A complaint forwarded as an attachment keeps its words; a signature (S/MIME) and the
    logo the HTML shows by cid: are dropped, not refused or attached."""
    forwarded = EmailMessage()
    forwarded["From"], forwarded["Subject"] = "Warga <warga@example.id>", "Lampu jalan mati"
    forwarded["Date"] = "Mon, 07 Dec 2026 08:00:00 +0700"
    forwarded.set_content("Lampu di Jalan Kaliurang km 9 mati seminggu.\n")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = SITI, USER, "Fwd: Lampu jalan mati"
    mail["Message-ID"] = make_msgid(domain="example.id")
    mail.set_content("Mohon ditindaklanjuti.\n")
    mail.add_alternative('<p>Mohon ditindaklanjuti.</p><img src="cid:logo@example.id">', subtype="html")
    mail.get_payload()[1].add_related(photo(), "image", "png", cid="<logo@example.id>")
    mail.add_attachment(forwarded)
    mail.add_attachment(b"0\x82\x01", maintype="application", subtype="pkcs7-signature", filename="smime.p7s")
    dovecot.deliver(mail.as_bytes())

    assert run_worker(office) == {"filed": 1}

    complaint = db.session.scalars(select(Complaint)).one()
    assert complaint.description.startswith("Mohon ditindaklanjuti.\n\nSubject: Lampu jalan mati\n")
    assert "From: Warga <warga@example.id>" in complaint.description
    assert complaint.description.endswith("Lampu di Jalan Kaliurang km 9 mati seminggu.")
    assert complaint.attachments == []


def test_database_errors_name_no_values(app, world):
    """A database error logged with its traceback shows no parameter of its statement. (On
    PostgreSQL the server's own detail still names the value of a unique key it refused.)"""
    db.session.add(InboundMail(digest="d" * 64, outcome="ignored", kind="spam"))
    db.session.commit()
    db.session.add(InboundMail(digest="d" * 64, outcome="ignored", kind="siti.aminah"))
    with pytest.raises(IntegrityError) as raised:
        db.session.commit()
    db.session.rollback()
    assert "siti.aminah" not in str(raised.value) and "parameters hidden" in str(raised.value)
