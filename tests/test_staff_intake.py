"""Complaints staff type in from the counter, the phone, a letter, WhatsApp or SP4N-LAPOR!
(issue #17, items 1 and 3): /staff/complaints/new files through the intake service with the
real arrival time, the consent read out, and LAPOR!'s ID, dates and flags; it ends on a
printable receipt whose WhatsApp link never carries the PIN."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from pages import Page
from pengaduan.errors import InvalidFields
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, utcnow
from pengaduan.services import file_complaint
from pengaduan.services.complaints.intake import CONSENT_UNASKED_ENTERED, PUBLIC_SERVICE_BASIS
from pengaduan.sla import WorkingCalendar, compute_due
from test_staff import AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, get_page, org, signed_in  # noqa: F401
from test_lapor import answered  # noqa: F401
from test_supervision import pdf, png

NEW = "/staff/complaints/new"

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
    assert payload["consent"] == {"version": complaint.consent_version, "given": "in_writing", "basis": "consent"}


def test_a_written_channel_records_the_identity_without_consent_saying_why(world):
    """Nobody hears the consent words in a letter, a message or SP4N-LAPOR!: the identity is
    taken on the public-service basis, recorded as not asked; the counter and the phone
    still need the complainant's agreement."""
    filed = file_complaint(entry(consent=False), actor=world.officer_a.via("complaint_box"), at=NOW)
    db.session.commit()
    assert (filed.complaint.consent_version, filed.complaint.consent_at) == (CONSENT_UNASKED_ENTERED, NOW)
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "complaint.filed")
                               .order_by(AuditEvent.seq.desc())).first()
    assert json.loads(audit.body)["payload"]["consent"] == {
        "version": "unasked:staff", "given": "unasked", "basis": PUBLIC_SERVICE_BASIS}
    nameless = file_complaint(entry(consent=False, privacy="anonymous", name="", phone=""),
                              actor=world.officer_a.via("letter"), at=NOW)
    assert nameless.complaint.consent_version is None  # no identity, nothing to consent to
    db.session.rollback()
    for channel in ("walk_in", "phone"):
        assert "consent" in refused(world, entry(consent=False), channel)


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


# --- the page ---------------------------------------------------------------------------------

def typed(client, **fields) -> dict:
    """The rendered form (its CSRF and one-time tokens, its defaults) filled in as an officer
    would for a walk-in."""
    values = get_page(client, NEW).forms[NEW].values
    return values | {"channel": "walk_in", "unit": "UNIT-A", "category": "GENERAL",
                     "title": "Surat tentang jalan rusak", "description": "Jalan di depan pasar berlubang.",
                     "privacy": "public", "name": "Siti Aminah", "phone": "0812-3456-7890",
                     "email": "siti@example.id", "consent": "y"} | fields


def local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%dT%H:%M")


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Complaint))


def test_a_walk_in_with_a_scanned_letter_ends_on_a_receipt_counting_from_the_arrival(app, org):
    client = signed_in(app, OFFICER_A)
    home = client.get("/staff").get_data(as_text=True)
    assert f'href="{NEW}"' in home  # in the menu and on the home page
    arrival = utcnow().replace(second=0, microsecond=0) - timedelta(days=9)
    data = typed(client, arrival=local(arrival), arrival_note="Surat diterima saat libur petugas",
                 channel="letter", attachments=[(io.BytesIO(png()), "surat.png"), (io.BytesIO(pdf()), "surat.pdf")])
    response = client.post(NEW, data=data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/complaints/new/receipt")
    page = client.get("/staff/complaints/new/receipt").get_data(as_text=True)
    code = re.search(r'data-testid="tracking-code">([^<]+)<', page)[1]
    pin = re.search(r'data-testid="tracking-pin">([^<]+)<', page)[1]
    assert 'data-testid="receipt-qr"' in page and "Open the complaint" in page
    link = re.search(r'href="(https://wa\.me/[^"]+)"', page)[1]
    assert link.startswith("https://wa.me/6281234567890?text=") and code in link.replace("%2D", "-")
    assert pin not in link and pin.replace("-", "") not in link
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert complaint.channel == "letter" and complaint.received_at == arrival
        assert len(complaint.attachments) == 2
        clock = next(c for c in complaint.clocks if c.rule == "verification")
        cal = WorkingCalendar.for_unit(complaint.unit)
        assert clock.counting_from == arrival
        assert clock.due_at == compute_due(arrival, 3, "working_days", cal)[0] < utcnow()
        assert f'{clock.due_at.astimezone(ZoneInfo("Asia/Jakarta")).day}' in page  # the receipt's deadline
    # The PIN is shown once: the next form takes it away.
    assert client.get(NEW).status_code == 200
    assert client.get("/staff/complaints/new/receipt").status_code == 302
    # The same rendered form sent again files nothing.
    again = client.post(NEW, data=data | {"attachments": []}, content_type="multipart/form-data")
    assert again.status_code == 302 and count(app) == 1


@pytest.mark.parametrize("fields, field", [
    ({"arrival": "FUTURE"}, "arrival"),
    ({"arrival": "YESTERDAY"}, "arrival_note"),
    ({"channel": "carrier_pigeon"}, "channel"),
    ({"channel": "web"}, "channel"),
    ({"channel": "sp4n_lapor", "lapor_id": "", "lapor_disposed_at": ""}, "lapor_id"),
], ids=["future", "earlier-without-reason", "unknown-channel", "web-is-not-staff", "lapor-without-id"])
def test_a_refusal_keeps_what_was_typed(app, org, fields, field):
    client = signed_in(app, OFFICER_A)
    now = utcnow()
    moments = {"FUTURE": local(now + timedelta(hours=2)), "YESTERDAY": local(now - timedelta(days=1))}
    fields = {k: moments.get(v, v) for k, v in fields.items()}
    response = client.post(NEW, data=typed(client, **fields))
    assert response.status_code == 422
    form = Page(response.get_data(as_text=True)).forms[NEW]
    assert field in form.invalid
    assert form.values["title"] == "Surat tentang jalan rusak" and form.values["name"] == "Siti Aminah"
    assert form.values.get("arrival", "") == fields.get("arrival", form.values.get("arrival"))
    assert count(app) == 0


def test_a_lapor_id_already_used_is_refused_naming_its_complaint(app, org):
    client = signed_in(app, OFFICER_A)
    lapor = {"channel": "sp4n_lapor", "lapor_id": "#4231987", "lapor_disposed_at": local(utcnow())[:10],
             "lapor_rahasia": "y"}
    assert client.post(NEW, data=typed(client, **lapor)).status_code == 302
    with app.app_context():
        first = db.session.scalars(select(Complaint)).one()
        assert first.lapor_id == "4231987" and first.privacy == "confidential"
    again = client.post(NEW, data=typed(client, **lapor, title="Lagi"))
    assert again.status_code == 422 and first.tracking_code in again.get_data(as_text=True)
    assert count(app) == 1


def test_the_form_asks_consent_only_where_the_words_are_read_out(app, org):
    """?channel= preselects; the read-out and the consent box for the counter and the phone,
    a note of what is recorded for the others (the server decides, without the script)."""
    client = signed_in(app, OFFICER_A)

    def shown(html: str) -> set[str]:
        return {kind for kind, hidden in re.findall(r'data-consent="(\w+)"( hidden)?', html) if not hidden}

    letter = client.get(f"{NEW}?channel=letter").get_data(as_text=True)
    assert shown(letter) == {"unasked"} and Page(letter).forms[NEW].values["channel"] == "letter"
    assert shown(client.get(f"{NEW}?channel=walk_in").get_data(as_text=True)) == {"read_out"}
    assert shown(client.get(NEW).get_data(as_text=True)) == {"read_out", "unasked"}
    refusal = client.post(NEW, data=typed(client, consent=""))
    assert refusal.status_code == 422 and "consent" in Page(refusal.get_data(as_text=True)).forms[NEW].invalid
    # A ticked box left over from another channel is not taken for the complainant's word.
    assert client.post(NEW, data=typed(client, channel="whatsapp", consent="y")).status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Complaint)).one().consent_version == CONSENT_UNASKED_ENTERED


@pytest.mark.parametrize("email, status", [(AUDITOR, 403), ("admin@example.id", 403)])
def test_only_officers_and_supervisors_record(app, org, email, status):
    client = signed_in(app, email)
    assert client.get(NEW).status_code == status
    assert client.post(NEW, data={"title": "x"}).status_code == status
    assert count(app) == 0


def test_an_officer_records_only_for_her_units(app, org):
    client = signed_in(app, OFFICER_B)
    page = get_page(client, NEW)
    assert 'value="UNIT-A"' not in page.html
    response = client.post(NEW, data=typed(client, unit="UNIT-A"))
    assert response.status_code == 422 and "unit" in Page(response.get_data(as_text=True)).forms[NEW].invalid
    assert count(app) == 0
    supervisor = signed_in(app, SUPERVISOR_A)
    assert supervisor.post(NEW, data=typed(supervisor)).status_code == 302


# --- the reviewer's findings (wording, LAPOR! dates, queue tab, a tampered posting) -----------

def test_the_name_refusal_speaks_of_the_complainant_and_of_lapor_rahasia(world):
    """Anonim chosen but LAPOR!'s Rahasia flag made it confidential: the refusal says so."""
    rahasia = refused(world, lapor(privacy="anonymous", lapor_rahasia="on", name="", phone="", consent=False),
                      "sp4n_lapor")
    assert "Rahasia" in str(rahasia["name"]) and "Anonim" in str(rahasia["name"])
    plain = str(refused(world, entry(name=""))["name"])
    assert "Anda" not in plain and "Rahasia" not in plain


def test_the_form_speaks_of_the_complainant_and_the_receipt_to_her_in_her_language(app, org):
    client = signed_in(app, OFFICER_A)
    html = client.get(NEW).get_data(as_text=True)
    assert "Unit complained about" in html and "The complainant's NIK" in html
    assert "how to reach the complainant" in html
    assert "Unit you are complaining about" not in html and "your KTP" not in html and "reach you" not in html
    assert client.post(NEW, data=typed(client, locale="id")).status_code == 302
    page = client.get(f"{NEW}/receipt").get_data(as_text=True)
    assert "Pengaduan Anda telah diterima" in page and "Kode QR alamat" in page
    assert "Open the complaint" in page  # the officer's part stays in her language


def test_lapor_dates_typed_without_a_time_show_as_dates(app):
    from pengaduan.i18n import format_moment_or_day
    with app.test_request_context("/?lang=en"):
        assert format_moment_or_day(datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc), "Asia/Jakarta") == "1 Dec 2026"
        assert format_moment_or_day(datetime(2026, 12, 3, 2, 30, tzinfo=timezone.utc), "Asia/Jakarta") \
            == "3 Dec 2026 09:30 WIB"


def test_the_lapor_filter_has_a_tab_of_its_own_and_a_tampered_posting_a_label(app, answered):
    code, _event_id = answered
    officer = signed_in(app, OFFICER_A)
    queue = get_page(officer, "/staff/queue?lapor=1").html
    assert re.search(r'<a href="[^"]*lapor=1" aria-current="page" data-testid="tab-lapor">', queue)
    assert not re.search(r'<a href="/staff/queue" aria-current', queue)
    url = f"/staff/complaints/{code}/lapor"
    form = get_page(officer, f"/staff/complaints/{code}").forms[url].values
    tampered = officer.post(url, data={**form, "event": "999999"})
    assert tampered.status_code == 422
    html = tampered.get_data(as_text=True)
    assert "Answer chosen:" in html and "event:" not in html
