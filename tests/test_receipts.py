"""The receipt a citizen gets for a complaint filed on the web form (issue #13, items 5, 15
and 16): email links come only from PENGADUAN_BASE_URL, whatever Host the request named; the
receipt email carries no text typed by the filer and no PIN; one address gets a few receipts
a day at most; one rendered form files one complaint; and the receipt page says that an email
is on its way only when one really is."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import segno
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import pengaduan.jobs.outbox
import pengaduan.http.filing as filing
from pages import Page
from pengaduan import configure_proxy
from pengaduan.config import load_config
from pengaduan.extensions import db
from pengaduan.models import Complaint, OutboxMessage
from pengaduan.services import file_complaint
from pengaduan.services.complaints.intake import filed_from, new_submission
from test_citizen import (  # noqa: F401 (org and browser are fixtures)
    NEW,
    RECEIPT,
    browser,
    by_testid,
    file_and_read_receipt,
    get_page,
    new_browser,
    org,
    valid_form,
)

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = "https://pengaduan.example.go.id/lapor"
URL = re.compile(r"[a-z]+://[^\s\"'<>]+")


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        messages = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return messages


def complaints(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Complaint.id)))


def rendered_form(client) -> dict:
    """What a browser sends back from one rendering of the complaint form, filled in."""
    values = get_page(client, NEW).forms[NEW].values
    return {**valid_form(), "csrf_token": values["csrf_token"], "submission": values["submission"]}


class FakeSMTP:
    """Stands in for the mail server: records what it was given."""

    sent: list = []

    def __init__(self, host, port, timeout=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(app, monkeypatch):
    """A configured mail server that accepts everything."""
    FakeSMTP.sent = []
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", FakeSMTP)
    app.config["MAIL_SERVER"] = "smtp.example.go.id"
    return FakeSMTP.sent


# --- item 5: links from the configured address only ------------------------------------------

def test_email_links_ignore_a_hostile_host_and_forwarded_host(app, browser, smtp):
    """Behind a trusted proxy, a filing sent with Host and X-Forwarded-Host of the attacker's
    choosing still gets a receipt whose every link starts with PENGADUAN_BASE_URL."""
    app.config.update(PENGADUAN_BASE_URL=BASE_URL, PENGADUAN_PROXY_COUNT=1)
    configure_proxy(app)
    hostile = {"Host": "evil.example", "X-Forwarded-Host": "phish.example",
               "X-Forwarded-Proto": "http"}
    values = Page(browser.get(NEW, headers=hostile).get_data(as_text=True)).forms[NEW].values
    data = {**values, **valid_form(), "email": "budi@example.id"}
    response = browser.post(NEW, data=data, headers=hostile)
    assert response.status_code == 302
    [message] = outbox(app)
    [sent] = smtp
    bodies = [message.subject, sent.get_body(("plain",)).get_content(),
              sent.get_body(("html",)).get_content()]
    # The office's own footer names SP4N-LAPOR! (a fixed national address, not the request's).
    links = [url for body in bodies for url in URL.findall(body) if "lapor.go.id" not in url]
    assert links and all(url.startswith(BASE_URL + "/") for url in links), links
    assert f"{BASE_URL}/track?code=" in bodies[1]
    assert not any("evil" in body or "phish" in body for body in bodies)


def test_open311_links_ignore_a_hostile_host(app, client):
    """Open311 discovery and the notice of a new request name the configured site."""
    app.config["PENGADUAN_BASE_URL"] = BASE_URL
    discovery = client.get("/open311/v2/discovery.json", headers={"Host": "evil.example"})
    assert discovery.get_json()["endpoints"][0]["url"] == f"{BASE_URL}/open311/v2/"


def test_no_link_is_built_from_the_request():
    """url_for(..., _external=True) takes the host from the request; nothing may use it."""
    sources = [*(ROOT / "pengaduan").rglob("*.py"), *(ROOT / "templates").rglob("*.*"), ROOT / "run.py"]
    offenders = [str(path.relative_to(ROOT)) for path in sources
                 if re.search(r"_external\s*=\s*True", path.read_text(encoding="utf-8"))
                 and path.name != "links.py"]
    assert offenders == []


@pytest.mark.parametrize("value", ["pengaduan.example.go.id", "ftp://x.example", "https://",
                                   "https://x.example/?next=1", "https://u:p@x.example"])
def test_a_base_url_that_is_not_a_plain_site_address_is_refused(tmp_path, value):
    with pytest.raises(ValueError, match="PENGADUAN_BASE_URL"):
        load_config(str(tmp_path), {"PENGADUAN_BASE_URL": value, "SECRET_KEY": "x"})


def test_the_base_url_loses_its_trailing_slash(tmp_path):
    config = load_config(str(tmp_path), {"PENGADUAN_BASE_URL": BASE_URL + "/", "SECRET_KEY": "x"})
    assert config["PENGADUAN_BASE_URL"] == BASE_URL


# --- item 5: what a receipt says, and how many one address gets ------------------------------

def test_receipt_email_holds_facts_but_no_typed_text_and_no_pin(app, browser):
    """Code, unit, category, date, due date and link; not the title, the description, the
    name or the PIN (anyone may type any address, and the PIN opens the complaint)."""
    app.config["PENGADUAN_BASE_URL"] = BASE_URL
    typed = {"title": "Hadiah menanti, klik di sini", "description": "Transfer ke rekening 123.",
             "name": "Penipu Terkenal", "email": "budi@example.id"}
    receipt = file_and_read_receipt(browser, **typed)
    [message] = outbox(app)
    for body in (message.subject, message.body_text, message.body_html):
        assert receipt.pin not in body
        assert not any(value in body for key, value in typed.items() if key != "email")
    for body in (message.body_text, message.body_html):
        assert receipt.code in body and "Dinas A" in body and "Umum" in body
        assert f"{BASE_URL}/track?code={receipt.code}" in body
        assert "Received" in body and "forwards it to the responsible unit by" in body
        assert "not in this email" in body


def test_an_address_gets_at_most_three_receipts_a_day(app, browser):
    """Over the limit the complaint is still filed, no email is queued, and the receipt page
    says so; spellings of one address count together; another address is not affected."""
    spellings = ["budi@example.id", "Budi@Example.ID", "budi+lapor@example.id", "BUDI+x@example.id"]
    pages = [file_and_read_receipt(browser, email=email) for email in spellings]
    pages.append(file_and_read_receipt(browser, email="siti_1@example.id"))
    assert complaints(app) == 5
    assert [m.recipient for m in outbox(app)] == spellings[:3] + ["siti_1@example.id"]
    limited = by_testid(pages[3].html, "receipt-email")
    assert "No email was sent to BUDI+x@example.id" in limited and "Write down or print" in limited
    assert "No email was sent" not in by_testid(pages[4].html, "receipt-email")


def test_the_daily_receipts_per_address_are_configurable(app, browser):
    app.config["PENGADUAN_RECEIPTS_PER_ADDRESS"] = 1
    for _ in range(2):
        file_and_read_receipt(browser, email="budi@example.id")
    assert len(outbox(app)) == 1


# --- item 16: the receipt page tells the truth ------------------------------------------------

def test_receipt_page_says_sent_only_with_a_mail_server(app, browser, smtp):
    """With a mail server the page says the code was sent once the server took it, and that
    the PIN is only on the page; the email really went out."""
    receipt = file_and_read_receipt(browser, email="budi@example.id")
    said = by_testid(receipt.html, "receipt-email")
    assert "have been sent to budi@example.id" in said and "The PIN is not in the email" in said
    assert [m["To"] for m in smtp] == ["budi@example.id"]
    assert [m.status for m in outbox(app)] == ["sent"]


class DownSMTP(FakeSMTP):
    def __init__(self, host, port, timeout=None):
        raise OSError("connection refused")


def test_receipt_page_says_will_be_sent_while_the_server_is_down(app, org, monkeypatch):
    """A failed first try is retried by the worker: "will be sent", in both languages."""
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", DownSMTP)
    app.config["MAIL_SERVER"] = "smtp.example.go.id"
    said = by_testid(file_and_read_receipt(new_browser(app), email="budi@example.id").html, "receipt-email")
    assert "will be sent to budi@example.id in the next few minutes" in said
    said = by_testid(file_and_read_receipt(new_browser(app, "id"), email="siti@example.id").html,
                     "receipt-email")
    assert "akan dikirim ke siti@example.id" in said and "telah dikirim" not in said
    assert [m.status for m in outbox(app)] == ["failed", "failed"]


def test_receipt_page_in_indonesian_once_sent(app, org, smtp):
    said = by_testid(file_and_read_receipt(new_browser(app, "id"), email="budi@example.id").html,
                     "receipt-email")
    assert "telah dikirim ke budi@example.id" in said and "PIN tidak ada dalam email" in said


def test_receipt_page_has_the_tracking_address_its_qr_code_and_the_office(app, browser):
    """The tracking address from PENGADUAN_BASE_URL, as a link and as a QR code drawn inline
    (the address only: no PIN), the deadline and the office's contacts."""
    app.config["PENGADUAN_BASE_URL"] = BASE_URL
    receipt = file_and_read_receipt(browser)
    url = f"{BASE_URL}/track?code={receipt.code}"
    assert by_testid(receipt.html, "tracking-url") == url
    svg = re.search(r'data-testid="receipt-qr".*?(<svg .*?</svg>)', receipt.html, re.S).group(1)
    expected = segno.make(url, error="m").svg_inline(omitsize=True)
    dark = re.compile(r'class="qrline"[^>]* d="([^"]+)"')  # the dark modules (after the light square)
    assert dark.search(svg).group(1) == dark.search(expected).group(1)
    assert 'role="img"' in svg and "<title>" in svg and "<img" not in svg.lower()
    assert "by " in by_testid(receipt.html, "receipt-deadline")
    contacts = re.search(r'data-testid="receipt-contacts".*?</section>', receipt.html, re.S).group(0)
    assert app.config["PENGADUAN_OFFICE_NAME"] in contacts


def test_receipt_page_says_nothing_was_sent_without_a_mail_server(app, browser):
    """Without a mail server the message is only held, and the page says to write the code and
    PIN down instead of claiming they were sent."""
    app.config["MAIL_SERVER"] = None
    receipt = file_and_read_receipt(browser, email="budi@example.id")
    said = by_testid(receipt.html, "receipt-email")
    assert "nothing was sent to budi@example.id" in said and "Write down or print" in said
    assert "sending" not in said and "sent this code" not in receipt.html
    assert [m.status for m in outbox(app)] == ["held"]


def test_receipt_page_in_indonesian_without_a_mail_server(app, org):
    app.config["MAIL_SERVER"] = None
    receipt = file_and_read_receipt(new_browser(app, "id"), email="budi@example.id")
    assert "Catat atau cetak kode lacak dan PIN sekarang" in by_testid(receipt.html, "receipt-email")


@pytest.mark.parametrize("server", [None, "smtp.example.go.id"], ids=["no-mail", "mail"])
def test_the_form_promises_an_email_only_with_a_mail_server(app, browser, server):
    app.config["MAIL_SERVER"] = server
    html = get_page(browser, NEW).html
    assert ("receive the tracking code by email" in html) == bool(server)


# --- item 15: one filing per rendered form ----------------------------------------------------

def test_the_same_rendered_form_sent_twice_files_once(app, browser):
    """Back and send again (even after changing a field): one complaint, one receipt email;
    this browser is shown the receipt of the complaint already filed."""
    data = {**rendered_form(browser), "email": "budi@example.id"}
    first = browser.post(NEW, data=data)
    assert first.status_code == 302 and first.headers["Location"] == RECEIPT
    code = by_testid(browser.get(RECEIPT).get_data(as_text=True), "tracking-code")
    again = browser.post(NEW, data={**data, "title": "Judul yang diubah"})
    assert again.status_code == 302 and again.headers["Location"] == RECEIPT
    html = browser.get(RECEIPT).get_data(as_text=True)
    assert by_testid(html, "tracking-code") == code and "already sent" in html
    assert complaints(app) == 1 and len(outbox(app)) == 1


def test_a_form_sent_again_without_its_receipt_shows_no_complaint(app, browser):
    """The form's token alone (another session) files nothing and reveals nothing."""
    data = rendered_form(browser)
    assert browser.post(NEW, data=data).status_code == 302
    stranger = new_browser(app)
    stolen = {**data, "csrf_token": get_page(stranger, NEW).token}
    response = stranger.post(NEW, data=stolen)
    assert response.status_code == 302 and response.headers["Location"] == "/track"
    html = stranger.get("/track").get_data(as_text=True)
    assert "already sent" in html
    with app.app_context():
        code = db.session.scalar(select(Complaint.tracking_code))
    assert code not in html and complaints(app) == 1


def test_a_corrected_form_keeps_its_token_and_a_new_form_gets_another(app, browser):
    """A form refused for a mistake is still unused: sent again it files; each new rendering
    of the form files a complaint of its own."""
    data = rendered_form(browser)
    refused = Page(browser.post(NEW, data={**data, "title": ""}).get_data(as_text=True))
    kept = refused.forms[NEW].values
    assert kept["submission"] == data["submission"]
    assert browser.post(NEW, data={**kept, "title": "KTP-el belum jadi"}).status_code == 302
    assert browser.post(NEW, data=rendered_form(browser)).status_code == 302
    assert complaints(app) == 2


def test_two_sends_of_one_form_at_once_file_once(app, browser, monkeypatch):
    """When the second send checks before the first has committed, the unique digest stops
    it at the insert, and it answers like any other second send."""
    data = rendered_form(browser)
    assert browser.post(NEW, data=data).status_code == 302
    calls = []

    def not_yet_committed(token):
        calls.append(token)
        return None if len(calls) == 1 else filed_from(token)

    monkeypatch.setattr(filing, "filed_from", not_yet_committed)
    again = browser.post(NEW, data=data)
    assert again.status_code == 302 and again.headers["Location"] == RECEIPT
    assert len(calls) == 2 and complaints(app) == 1


def test_a_form_token_is_stored_once(app, org):
    """The database itself refuses a second complaint from one form token."""
    token = new_submission()
    raw = {"unit": "UNIT-A", "title": "KTP-el", "description": "Belum jadi.", "privacy": "anonymous"}
    with app.app_context():
        file_complaint(raw, submission=token)
        db.session.commit()
        assert filed_from(token) is not None and filed_from(new_submission()) is None
        with pytest.raises(IntegrityError):
            file_complaint(raw, submission=token)
            db.session.commit()
        db.session.rollback()
