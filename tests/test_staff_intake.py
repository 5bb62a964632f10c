"""Complaints staff type in from the counter, the phone, a letter, WhatsApp or SP4N-LAPOR!
(issue #17, items 1 and 3): /staff/complaints/new files through the intake service with the
real arrival time, the consent read out, and LAPOR!'s ID, dates and flags; it ends on a
printable receipt whose WhatsApp link never carries the PIN."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from pengaduan.errors import InvalidFields
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint
from pengaduan.services import file_complaint

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)  # Monday 10:00 WIB


def entry(**overrides) -> dict:
    raw = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
           "title": "Surat tentang jalan rusak", "description": "Jalan di depan pasar berlubang.",
           "privacy": "public", "name": "Siti Aminah", "phone": "0812-3456-7890", "consent": True}
    return raw | overrides


def lapor(**overrides) -> dict:
    return entry(lapor_id="#4231987", lapor_received_at="2026-12-01", lapor_disposed_at="2026-12-03T09:30",
                 arrival="2026-12-04T08:00", arrival_note="Disposisi LAPOR! baru dibuka hari ini") | overrides


def refused(world, raw, channel="walk_in", actor=None) -> dict:
    with pytest.raises(InvalidFields) as caught:
        file_complaint(raw, actor=(actor or world.officer_a).via(channel), at=NOW)
    db.session.rollback()
    return caught.value.errors


def test_an_earlier_arrival_starts_the_clocks_and_is_audited(world):
    filed = file_complaint(entry(arrival="2026-12-04T14:15", arrival_note="Surat masuk Jumat sore"),
                           actor=world.officer_a.via("letter"), at=NOW)
    db.session.commit()
    complaint = filed.complaint
    assert complaint.channel == "letter"
    assert complaint.received_at == datetime(2026, 12, 4, 7, 15, tzinfo=timezone.utc)
    event = complaint.events[0]
    assert event.occurred_at == complaint.received_at and event.actor_id == world.officer_a.user.id
    assert event.data["arrival_note"] == "Surat masuk Jumat sore"
    assert event.data["entered_at"] == NOW.isoformat()
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.filed")
                               .order_by(AuditEvent.seq.desc())).first()
    assert audit.actor.endswith(world.officer_a.user.email)
    payload = json.loads(audit.body)["payload"]
    assert payload["arrival"] == complaint.received_at.isoformat()
    assert payload["consent"] == {"version": complaint.consent_version, "given": "in_writing"}


def test_arrival_refusals(world):
    assert "arrival" in refused(world, entry(arrival="2026-12-07T10:30"))  # 10:30 WIB is after 10:00
    assert "arrival_note" in refused(world, entry(arrival="2026-12-06T10:00"))
    assert "arrival" in refused(world, entry(arrival="7/12/2026"))
    with pytest.raises(InvalidFields) as caught:
        file_complaint(entry(), actor=world.officer_a.via("carrier_pigeon"), at=NOW)
    assert "channel" in caught.value.errors
    # Within the hour, no reason is asked: the form's "now" was a few minutes ago.
    file_complaint(entry(arrival="2026-12-07T09:20"), actor=world.officer_a.via("walk_in"), at=NOW)
    db.session.rollback()


def test_a_lapor_complaint_keeps_its_id_dates_and_flags(world):
    filed = file_complaint(lapor(lapor_anonim="on", name="", phone="", consent=False),
                           actor=world.officer_a.via("sp4n_lapor"), at=NOW)
    db.session.commit()
    complaint = filed.complaint
    assert complaint.lapor_id == "4231987" and complaint.privacy == "anonymous"
    assert complaint.lapor_disposed_at == datetime(2026, 12, 3, 2, 30, tzinfo=timezone.utc)
    assert complaint.lapor_received_at == datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
    assert complaint.events[0].data["lapor"] == {"id": "4231987", "anonim": True, "rahasia": False}

    both = file_complaint(lapor(lapor_id="LAP-77", lapor_anonim="on", lapor_rahasia="on", name="",
                                phone="", consent=False), actor=world.officer_a.via("sp4n_lapor"), at=NOW)
    assert both.complaint.privacy == "confidential"
    db.session.rollback()

    assert refused(world, lapor(lapor_id="4231987"), "sp4n_lapor")["lapor_id"].endswith(complaint.tracking_code)
    other_unit = refused(world, lapor(lapor_id="4231987", unit="UNIT-B"), "sp4n_lapor", world.officer_b)
    assert complaint.tracking_code not in other_unit["lapor_id"]
    errors = refused(world, lapor(lapor_id="", lapor_disposed_at="2026-12-05"), "sp4n_lapor")
    assert set(errors) == {"lapor_id", "lapor_disposed_at"}  # after the arrival of the 4th
    assert "lapor_disposed_at" in refused(world, lapor(lapor_id="X-1", lapor_disposed_at="2026-12-08",
                                                       arrival=""), "sp4n_lapor")
    assert "lapor_id" in refused(world, entry(lapor_id="4231988"), "phone")
