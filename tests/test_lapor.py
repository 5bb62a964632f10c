"""The SP4N-LAPOR! bridge: LAPOR!'s own time limits, the answers owed to LAPOR! and their
confirmation (services.complaints.lapor), the copy block on the case page and the queue's mark."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from pengaduan.errors import Forbidden, InvalidFields
from pengaduan import unit_of_work
from pengaduan.extensions import db
from pengaduan.integrations.lapor import LaporBridge, LaporReport, ManualBridge, Publication, load_bridge
from pengaduan.models import AuditEvent, Complaint, LaporPosting, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.complaints import lapor
from pengaduan.services.complaints.conversation import post_message
from organisation import organisation, seed_world
from test_staff import get_page, signed_in, token_of

VERIFY = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
       "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.", "name": "Budi", "consent": True}
WIB = ZoneInfo("Asia/Jakarta")
ANSWER = "Berkas KTP-el Anda sudah dicetak dan dapat diambil."


def from_lapor(world, lapor_id="LAP-1234567", disposed=None):
    """A complaint received from SP4N-LAPOR! with its LAPOR! ID, disposed to the office a
    day ago unless `disposed` (local YYYY-MM-DDTHH:MM) says when."""
    disposed = disposed or (datetime.now(WIB) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    return world.file(channel="sp4n_lapor", lapor_id=lapor_id, lapor_disposed_at=disposed).complaint


def followed_up(world, complaint):
    advance(complaint, "verify", world.officer_a, **VERIFY)
    event = advance(complaint, "follow_up", world.officer_a, response=ANSWER)
    db.session.commit()
    return event


def test_a_lapor_complaint_runs_lapors_limits_from_its_disposition(world):
    """Disposed on Tuesday 17 March 2026, filed here two days later: the first answer is due
    5 working days after the disposition, past cuti bersama, Nyepi and the weekend (25, 26,
    27, 30, 31 March). A web complaint runs no LAPOR! clock, and keeps the generic reply window."""
    filed_at = datetime(2026, 3, 19, 3, 0, tzinfo=timezone.utc)
    complaint = file_complaint({**RAW, "lapor_id": "LAP-2026-0317", "lapor_disposed_at": "2026-03-17T10:00"},
                               actor=Actor.channel("sp4n_lapor"), at=filed_at).complaint
    web = file_complaint(RAW, actor=Actor.channel("web"), at=filed_at).complaint
    db.session.commit()
    clock = complaint.clock("lapor_follow_up")
    assert clock.counting_from == datetime(2026, 3, 17, 3, 0, tzinfo=timezone.utc)
    assert clock.due_at.astimezone(WIB) == datetime(2026, 3, 31, 23, 59, 59, tzinfo=WIB)
    assert clock.explanation["counted"] == ["2026-03-25", "2026-03-26", "2026-03-27", "2026-03-30", "2026-03-31"]
    assert complaint.stage_due_at <= clock.due_at
    assert web.clock("lapor_follow_up") is None
    for case in (complaint, web):
        advance(case, "verify", world.officer_a, **VERIFY, at=filed_at)
        advance(case, "follow_up", world.officer_a, response=ANSWER, at=filed_at)
    db.session.commit()
    assert complaint.clock("lapor_follow_up").stopped_at == filed_at
    assert {c.rule for c in complaint.clocks if c.running} == {"resolution"}  # the reply window waits for LAPOR!
    assert complaint.clock("lapor_reply_window").due_at is None
    assert {c.rule for c in web.clocks if c.running} == {"resolution", "reply_window"}


def test_public_answers_wait_to_be_posted_until_recorded(world):
    complaint = from_lapor(world)
    event = followed_up(world, complaint)
    assert lapor.is_public_answer(event)
    assert complaint.lapor_unposted_since == event.occurred_at
    assert [e.id for e in lapor.unposted_answers(complaint)] == [event.id]
    assert lapor.answer_text(event) == ANSWER
    message = post_message(complaint, world.officer_a, "Silakan datang hari Senin.")
    db.session.commit()
    assert complaint.lapor_unposted_since == event.occurred_at  # the oldest still waits

    lapor.record_posted(complaint, event, utcnow(), world.officer_a)
    db.session.commit()
    assert complaint.lapor_unposted_since == message.occurred_at
    rows = db.session.execute(lapor.answer_postings().where(
        Complaint.id == complaint.id)).all()
    assert {(r.event_id, r.posted_at is not None) for r in rows} == {(event.id, True), (message.id, False)}
    lapor.record_posted(complaint, message, utcnow(), world.supervisor_a)
    db.session.commit()
    assert complaint.lapor_unposted_since is None
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "lapor.posted")).all()
    assert len(audit) == 2


def test_a_verification_or_a_web_complaint_owes_lapor_nothing(world):
    complaint = from_lapor(world)
    verified = advance(complaint, "verify", world.officer_a, **VERIFY)
    db.session.commit()
    assert not lapor.is_public_answer(verified)
    assert complaint.lapor_unposted_since is None
    web = world.file().complaint
    advance(web, "verify", world.officer_a, **VERIFY)
    answer = advance(web, "follow_up", world.officer_a, response=ANSWER)
    db.session.commit()
    assert not lapor.is_public_answer(answer) and web.lapor_unposted_since is None
    referred = from_lapor(world, "LAP-2")
    rejection = advance(referred, "reject", world.officer_a, reason="Bukan kewenangan kami.",
                        closure_reason="referred", referred_to="Kantor Pertanahan", note="rahasia internal")
    text = lapor.answer_text(rejection)
    assert "Bukan kewenangan kami." in text and "Kantor Pertanahan" in text and "rahasia" not in text


def test_a_posting_before_the_answer_in_the_future_or_twice_is_refused(world):
    complaint = from_lapor(world)
    event = followed_up(world, complaint)
    for when in (event.occurred_at - timedelta(hours=1), utcnow() + timedelta(hours=1)):
        with pytest.raises(InvalidFields) as refused:
            lapor.record_posted(complaint, event, when, world.officer_a)
        assert "posted_at" in refused.value.errors
    # A time typed to the minute of the answer is not "before" it.
    lapor.record_posted(complaint, event, event.occurred_at.replace(second=0, microsecond=0),
                        world.officer_a)
    db.session.commit()
    with pytest.raises(InvalidFields):
        lapor.record_posted(complaint, event, utcnow(), world.officer_a)
    db.session.rollback()
    assert db.session.scalar(select(LaporPosting.posted_at)) >= event.occurred_at


def test_an_officer_of_another_unit_may_not_record_a_posting(world):
    complaint = from_lapor(world)
    event = followed_up(world, complaint)
    for outsider in (world.officer_b, world.auditor):
        with pytest.raises(Forbidden):
            lapor.record_posted(complaint, event, utcnow(), outsider)
    db.session.rollback()
    assert complaint.lapor_unposted_since is not None


class PostingBridge(LaporBridge):
    """An adapter that posts every answer at once, as one with API credentials would."""

    name = "test"

    def __init__(self, config=None):
        super().__init__(config)
        self.posted = []

    def publish(self, answer):
        self.posted.append(answer)
        return Publication(True, utcnow())


def test_an_adapter_receives_reports_and_posts_answers_by_itself(world, ctx):
    """A dotted path in PENGADUAN_LAPOR_ADAPTER loads an adapter; its reports file through the
    intake with LAPOR!'s flags, and each answer it posts is recorded as posted (audited)."""
    bridge = load_bridge({"PENGADUAN_LAPOR_ADAPTER": "test_lapor:PostingBridge"})
    assert isinstance(bridge, PostingBridge) and isinstance(load_bridge({}), ManualBridge)
    with pytest.raises(ValueError, match="PENGADUAN_LAPOR_ADAPTER"):
        load_bridge({"PENGADUAN_LAPOR_ADAPTER": "pengaduan.models:Complaint"})
    ctx.extensions[lapor.BRIDGE] = bridge
    now = datetime.now(timezone.utc)
    filed = unit_of_work.run(lambda: bridge.receive(LaporReport(
        "LAP-77", "UNIT-A", "Jalan rusak", "Lubang besar di depan sekolah.",
        received_at=now - timedelta(days=2), disposed_at=now - timedelta(days=1),
        anonim=True, category="GENERAL")))
    complaint = filed.complaint
    assert (complaint.channel, complaint.lapor_id, complaint.privacy) == ("sp4n_lapor", "LAP-77", "anonymous")
    unit_of_work.run(lambda: advance(complaint, "verify", world.officer_a, **VERIFY))
    event = unit_of_work.run(lambda: advance(complaint, "follow_up", world.officer_a, response=ANSWER))
    assert [a.text for a in bridge.posted] == [ANSWER]
    db.session.expire_all()
    assert lapor.postings_of(complaint)[event.id].recorded_by_id is None
    assert complaint.lapor_unposted_since is None


@pytest.fixture
def answered(app):
    """A complaint from SP4N-LAPOR! that UNIT-A's officer answered: (code, answer's event id)."""
    with app.app_context():
        seed_world()
        db.session.commit()
        complaint = from_lapor(organisation())
        return complaint.tracking_code, followed_up(organisation(), complaint).id


def test_staff_copy_an_answer_for_lapor_and_record_when_it_was_posted(app, answered):
    """The queue marks the complaint and the case page gives the text to paste under the
    answer; a time in the future is refused with what was typed kept; the posting recorded,
    the marks go; an officer of another unit cannot record it."""
    code, event_id = answered
    officer = signed_in(app, "officer.a@example.id")
    queue = get_page(officer, "/staff/queue?lapor=1")
    assert code in queue.html and 'data-testid="lapor-unposted"' in queue.html
    case = get_page(officer, f"/staff/complaints/{code}")
    assert "1 answer not yet posted" in case.html and "LAP-1234567" in case.html
    assert f">{ANSWER}</textarea>" in case.html and "js/lapor-copy.js" in case.html
    url = f"/staff/complaints/{code}/lapor"
    form = case.forms[url].values
    assert form["event"] == str(event_id)
    future = (datetime.now(WIB) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    refused = officer.post(url, data={**form, "posted_at": future})
    assert refused.status_code == 422
    assert "is in the future" in refused.get_data(as_text=True) and future in refused.get_data(as_text=True)
    assert officer.post(url, data=form).status_code == 302  # the time offered: now
    case = get_page(officer, f"/staff/complaints/{code}")
    assert 'data-testid="lapor-posted"' in case.html and 'data-testid="lapor-waiting"' not in case.html
    assert code not in get_page(officer, "/staff/queue?lapor=1").html
    outsider = signed_in(app, "officer.b@example.id")
    assert outsider.post(url, data={**form, "csrf_token": token_of(outsider)}).status_code == 404
