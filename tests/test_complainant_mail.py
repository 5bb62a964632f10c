"""The complainant is told of every public step someone else takes (issue 16, item 4): one
email per step, in the language she filed in, with the office's own words for the step and a
link to the configured site, never the PIN and never what she typed herself; nothing for her
own steps, without an address, or when the step rolls back. Officers may also send her a
prefilled WhatsApp message from the case page, to a number normalised to E.164."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import Complaint, OutboxMessage
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.complaints.conversation import post_message
from pengaduan.services.phones import to_e164
from pengaduan.jobs.sweep import sweep
from test_api import FILING
from test_citizen import NEW, valid_form
from test_staff import (OFFICER_A, SUPERVISOR_A, browser, file, get_page, org, page_of,  # noqa: F401
                        signed_in, staff_does)

BASE_URL = "https://pengaduan.example.go.id/lapor"
TITLE, DESCRIPTION = "Antrean KTP-el sangat panjang", "Saya menunggu sejak pukul tujuh pagi."
WIB = ZoneInfo("Asia/Jakarta")


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def file_now(world, at=None, locale=None, **overrides):
    """File a complaint (None drops a field) and commit; the Filed (complaint and PIN)."""
    raw = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
           "title": TITLE, "description": DESCRIPTION, "privacy": "public", "name": "Budi Hartono",
           "email": "budi@example.id", "consent": True, **overrides}
    filed = file_complaint({k: v for k, v in raw.items() if v is not None}, at=at, locale=locale)
    db.session.commit()
    return filed


def step(complaint, trigger, actor, at=None, **fields):
    """Fire a step, commit, and return the emails it queued."""
    before = len(outbox())
    advance(complaint, trigger, actor, at=at, **fields)
    db.session.commit()
    return outbox()[before:]


def told(messages, complaint, pin, *words):
    """The one email of a step: to the complainant, naming the code, linking to the configured
    site, holding `words` (the office's), never the PIN nor what she typed."""
    [message] = messages
    assert message.recipient == "budi@example.id"
    assert complaint.tracking_code in message.subject
    for body in (message.body_text, message.body_html):
        assert f"{BASE_URL}/track?code={complaint.tracking_code}" in body.replace("&amp;", "&")
        assert pin not in body and TITLE not in body and DESCRIPTION not in body
        for word in words:
            assert word in body, (word, body)
    return message


def test_every_public_step_of_staff_and_system_is_emailed(world):
    """Asked for information, verified and forwarded, answered, closed, reopened, rejected,
    deemed withdrawn, closed automatically, reminded: one email each, in Indonesian; the
    complainant's own steps (providing information, disputing) send nothing."""
    current_app.config["PENGADUAN_BASE_URL"] = BASE_URL
    filed = file_now(world)
    c, pin, officer = filed.complaint, filed.pin, world.officer_a
    assert c.locale == "id"
    m = told(step(c, "request_info", officer, message="Mohon lampirkan foto KTP-el."), c, pin,
             "Mohon lampirkan foto KTP-el.", "Silakan lengkapi paling lambat")
    assert m.subject == f"Petugas meminta kelengkapan informasi ({c.tracking_code})"
    assert step(c, "provide_info", Actor.citizen(c), message="Foto terlampir di sini.") == []
    m = told(step(c, "verify", officer, unit="UNIT-A", category="GENERAL",
                  classification="pengaduan"), c, pin, "Dinas A", "Umum")
    assert m.subject.startswith("Pengaduan Anda diverifikasi dan diteruskan")
    told(step(c, "follow_up", officer, response="KTP-el dapat diambil Senin."), c, pin,
         "KTP-el dapat diambil Senin.", "menerima atau menyanggah")
    assert step(c, "dispute", Actor.citizen(c), comment="Belum saya terima juga.") == []
    step(c, "follow_up", officer, response="Sudah dikirim lewat pos.")
    told(step(c, "close", officer, resolution="KTP-el telah diterima pelapor."), c, pin,
         "KTP-el telah diterima pelapor.", "penilaian")
    told(step(c, "reopen", world.supervisor_a, reason="Pelapor melapor KTP-el rusak."), c, pin,
         "Pelapor melapor KTP-el rusak.", "dibuka kembali")

    other = file_now(world)
    m = told(step(other.complaint, "reject", officer, reason="Bukan kewenangan kami.",
                  closure_reason="referred", referred_to="Kantor Pos Bogor"),
             other.complaint, other.pin, "Bukan kewenangan kami.", "Kantor Pos Bogor",
             "Dilimpahkan ke instansi lain")
    assert m.subject.startswith("Pengaduan Anda tidak ditindaklanjuti")

    # The system's steps, when the complainant's windows run out (and the reminders before).
    start = datetime(2026, 11, 2, 10, tzinfo=WIB)
    waiting = file_now(world, at=start)
    step(waiting.complaint, "request_info", officer, at=start, message="Mohon nomor registrasi.")
    answered = file_now(world, at=start)
    step(answered.complaint, "verify", officer, at=start, unit="UNIT-A", category="GENERAL",
         classification="pengaduan")
    step(answered.complaint, "follow_up", officer, at=start, response="Sudah selesai.")
    before = len(outbox())
    for day in range(1, 40):  # a sweep each day: each reminder, then each expiry
        sweep(now=start + timedelta(days=day))
    mails = [m for m in outbox()[before:] if m.recipient == "budi@example.id"]  # not staff digests
    subjects = sorted(m.subject for m in mails)
    assert subjects == sorted([
        f"Pengaduan Anda dianggap dicabut ({waiting.complaint.tracking_code})",
        f"Pengaduan Anda ditutup otomatis ({answered.complaint.tracking_code})",
        f"Pengingat mengenai pengaduan {waiting.complaint.tracking_code}",
        f"Pengingat mengenai pengaduan {answered.complaint.tracking_code}"]), subjects
    for m in mails:
        for filed_one in (waiting, answered):
            assert filed_one.pin not in m.body_text and filed_one.pin not in m.body_html
        assert BASE_URL in m.body_text


def test_the_language_the_complaint_was_filed_in(world):
    """A complaint filed in English is told in English, whatever the deployment's default;
    older complaints (no language kept) are told in the default one."""
    filed = file_now(world, locale="en")
    c = filed.complaint
    assert c.locale == "en"
    [m] = step(c, "request_info", world.officer_a, message="Please send a photo.")
    assert m.subject == f"The officer asks for more information ({c.tracking_code})"
    assert "Please provide it by" in m.body_text and "Please send a photo." in m.body_text
    assert "Petugas" not in m.body_text

    old = file_now(world, locale="en").complaint
    old.locale = None  # filed before the language was kept
    db.session.commit()
    [m] = step(old, "request_info", world.officer_a, message="Mohon foto KTP-el.")
    assert m.subject.startswith("Petugas meminta kelengkapan informasi")


def test_the_form_and_the_api_keep_the_language_of_the_filing(app, org, client):
    """The citizen who filled the form in English is written to in English; an API client's
    Accept-Language says the same, and a client naming none gets the default language."""
    client.set_cookie("lang", "en")
    values = get_page(client, NEW).forms[NEW].values
    data = {**valid_form(), "csrf_token": values["csrf_token"], "submission": values["submission"]}
    assert client.post(NEW, data=data).status_code == 302
    api = app.test_client()
    for language in ("en", None):
        headers = {"Accept-Language": language} if language else {}
        assert api.post("/api/v1/complaints", json=FILING, headers=headers).status_code == 201
    with app.app_context():
        locales = db.session.scalars(select(Complaint.locale).order_by(Complaint.id)).all()
        assert locales == ["en", "en", "id"]


def test_staff_message_is_emailed_and_the_complainants_is_not(world):
    filed = file_now(world)
    c = filed.complaint
    before = len(outbox())
    post_message(c, world.officer_a, "Kapan Anda bisa datang ke kantor?")
    db.session.commit()
    [m] = outbox()[before:]
    assert m.subject == f"Pesan dari petugas ({c.tracking_code})"
    assert "Kapan Anda bisa datang ke kantor?" in m.body_text and filed.pin not in m.body_text
    post_message(c, Actor.citizen(c), "Besok pagi saya datang.")
    db.session.commit()
    assert len(outbox()) == before + 1


def test_without_a_running_window_the_email_names_no_deadline(world, monkeypatch):
    """No clock for her window (paused, say): the step's undated text, never "by -"."""
    from pengaduan.services.complaints import complainant_mail
    monkeypatch.setattr(complainant_mail, "_window_due", lambda complaint, trigger: None)
    c = file_now(world).complaint
    [m] = step(c, "request_info", world.officer_a, message="Mohon lengkapi.")
    for body in (m.body_text, m.body_html):
        assert "Silakan lengkapi melalui halaman pengaduan Anda." in body
        assert "paling lambat" not in body and " - " not in body


@pytest.mark.parametrize("overrides", [{"email": None}, {"privacy": "anonymous", "name": None,
                                                         "email": None, "consent": None}])
def test_nothing_is_sent_without_an_address(world, overrides):
    c = file_now(world, **overrides).complaint
    assert step(c, "request_info", world.officer_a, message="Mohon lengkapi.") == []


def test_a_step_rolled_back_sends_nothing(world):
    c = file_now(world).complaint
    before = len(outbox())
    advance(c, "request_info", world.officer_a, message="Mohon lengkapi.")
    db.session.rollback()
    db.session.commit()
    assert len(outbox()) == before


# --- WhatsApp ----------------------------------------------------------------------------

@pytest.mark.parametrize("typed, e164", [
    ("0812-3456-7890", "+6281234567890"), ("+62 812 3456 7890", "+6281234567890"),
    ("62812 3456 7890", "+6281234567890"), ("(0251) 832-1234", "+622518321234"),
    ("0812", None), ("12345", None), ("", None)])
def test_numbers_are_normalised_to_e164(typed, e164):
    assert to_e164(typed) == e164


def whatsapp(html: str) -> dict | None:
    """The attributes of the page's WhatsApp link, if any."""
    found = re.search(r'<a [^>]*data-testid="whatsapp-link"[^>]*>', html)
    return dict(re.findall(r'(\w+)="([^"]*)"', found.group(0))) if found else None


def case_page(app, code):
    response = signed_in(app, OFFICER_A).get(page_of(code))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_officer_may_send_the_tracking_link_by_whatsapp(app, org):
    app.config["PENGADUAN_BASE_URL"] = BASE_URL
    code, pin = file(app, phone="0812-3456-7890")
    staff_does(app, OFFICER_A, code, ("request_info", {"message": "Mohon foto KTP-el."}))
    link = whatsapp(case_page(app, code))
    assert link is not None and link["target"] == "_blank" and "noopener" in link["rel"]
    url = urlsplit(unescape(link["href"]))
    assert (url.scheme, url.netloc, url.path) == ("https", "wa.me", "/6281234567890")
    [text] = parse_qs(url.query)["text"]
    assert code in text and f"{BASE_URL}/track?code={code}" in text
    assert "Petugas meminta kelengkapan informasi" in text and pin not in text


def test_no_whatsapp_link_for_an_invalid_number_or_a_masked_identity(app, org):
    code, _ = file(app)
    with app.app_context():  # kept from before numbers were checked when filed
        Complaint.by_code(code).complainant_phone = "0812"
        db.session.commit()
    html = case_page(app, code)
    assert whatsapp(html) is None and "The number is not valid for WhatsApp" in html
    code, _ = file(app, phone="081234567890", privacy="confidential")
    html = case_page(app, code)
    assert whatsapp(html) is None and "wa.me" not in html and "not valid for WhatsApp" not in html
