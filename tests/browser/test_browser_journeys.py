"""Journeys through the running app in a real browser (Chromium driven by Playwright): a
citizen files a complaint with a photo on a phone, gets its receipt and emails, and follows
it on the tracking page while an officer takes it through the workflow of
workflows/perpres76.yaml, until she accepts the response; a complainant withdraws a
complaint and sets a lost PIN anew through the emailed link; a supervisor reviews an overdue
case and records a coaching session; an auditor downloads an evidence pack and verifies it
offline. The citizen and officer journey runs in Indonesian (the default) and in English
(chosen with the header's language switch).

Every key page is saved as a full-page screenshot under tests/browser/artifacts/ (or
PENGADUAN_ARTIFACTS_DIR), one folder per test, numbered by step.
"""
from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from browser_support import (AUDITOR, DESCRIPTION, OFFICER, PHONE, PIN_PATTERN, SUPERVISOR, TITLE,
                             Words, above, choose_language, email_text, expect, file_in_browser,
                             flash, holds_pin, image_file, outbox, sign_in, staff_menu,
                             track_in_browser)
from pengaduan.extensions import db
from pengaduan.models import User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.jobs.sweep import sweep

pytestmark = pytest.mark.browser

VERIFIER = Path(__file__).resolve().parents[2] / "pengaduan" / "evidence" / "verify_pack.py"
JAKARTA = ZoneInfo("Asia/Jakarta")
RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
       "description": "Sudah tiga bulan menunggu KTP-el.", "privacy": "public",
       "name": "Siti Aminah", "email": "siti@example.id", "consent": True}

REQUEST = "Mohon kirim foto tiang lampu yang mati dan nomor tiangnya."
ANSWER = "Tiang nomor PJU-0412, fotonya saya lampirkan."
NOTE = "Catatan internal: koordinasi dengan bidang PJU."
RESPONSE = "Petugas PJU sudah mengganti lampu pada tiang PJU-0412 hari ini."
REPLY = "Jika lampu padam lagi, balas di halaman ini; kami cek dalam sehari."


def status_of(page):
    """Where a complaint page states its status: the staff case page's status panel, the
    facts list at the top of the tracking page (status, unit, outcome...)."""
    return page.locator(".case-status, dl.facts").first


# --- a. from filing to closure: the citizen on a phone, the officer at a desk --------------

def staff_step(page, words: Words, trigger: str, texts: dict | None = None,
               selects: dict | None = None) -> None:
    """Open a workflow step from the staff complaint page's step buttons, fill its form by
    its labels and send it."""
    page.locator(".case-steps").get_by_role("link", name=words.step(trigger), exact=True).click()
    form = page.get_by_role("region", name=words.step(trigger), exact=True)
    for label, option in (selects or {}).items():
        form.get_by_label(words(label)).select_option(label=option)
    for label, value in (texts or {}).items():
        form.get_by_label(words(label)).fill(value)
    form.get_by_role("button", name=words.step(trigger)).click()
    expect(flash(page)).to_have_text(words("Step completed: %(step)s.", step=words.step(trigger)))


def to_her(delivered: list) -> list:
    """The emails delivered to the complainant of file_in_browser, in the order sent."""
    return [email for email in delivered if email["To"] == "budi@example.id"]


def test_citizen_follows_her_complaint_on_a_phone_from_receipt_to_acceptance(
        app, browsing, org, words, shots, mail_server):
    """The citizen's side on a phone, from filing to closure: the receipt with its QR code
    and its email (the tracking link, never the PIN); the officer asks (request_info) and the
    question is the first thing on her tracking page, above the form to answer it and what
    she filed, and in an email; she answers with a photo; the officer verifies, follows up
    and writes to her ("Reply to the complainant"); she reads the response and the message at
    the top (never the internal note), accepts with a rating, and the complaint is closed."""
    citizen = browsing.new_page(PHONE)
    code, pin = file_in_browser(citizen, words, photo=image_file("lampu-mati.png"))
    expect(citizen.get_by_test_id("receipt-qr").locator("svg")).to_be_visible()
    tracking_url = citizen.get_by_test_id("tracking-url").inner_text().strip()
    assert tracking_url.startswith(app.config["PENGADUAN_BASE_URL"]) and code in tracking_url
    expect(citizen.get_by_test_id("receipt-email")).to_contain_text("budi@example.id")
    assert citizen.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shots(citizen, "receipt")
    [row] = outbox(app, "budi@example.id")
    assert row.status == "sent" and code in row.subject
    [receipt] = to_her(mail_server)
    assert tracking_url in email_text(receipt) and not holds_pin(receipt, pin)
    citizen.get_by_role("link", name=words("Follow your complaint")).click()
    expect(citizen).to_have_url(re.compile(f"/track/{code}$"))
    photo = citizen.get_by_test_id("filed").get_by_role("link", name="lampu-mati.png")
    served = citizen.request.get(photo.get_attribute("href"))
    assert served.ok and served.headers["content-type"] == "image/png"
    assert served.body().startswith(b"\x89PNG")

    officer = browsing.new_page()
    officer.goto("/")
    choose_language(officer, words)
    sign_in(officer, words, OFFICER)
    expect(officer).to_have_url(re.compile(r"/staff$"))  # the officer's home
    expect(officer.locator("#new")).to_contain_text(code)
    staff_menu(officer, words).get_by_role("link", name=words("Complaint queue")).click()
    expect(officer).to_have_url(re.compile(r"/staff/queue$"))
    officer.get_by_role("link", name=code).click()
    expect(officer.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(officer.get_by_text(DESCRIPTION)).to_be_visible()

    # The file is incomplete: the officer asks, the clock stops, the complainant is emailed.
    staff_step(officer, words, "request_info", texts={"Message": REQUEST})
    expect(status_of(officer)).to_contain_text(words.state("awaiting_info"))
    shots(officer, "officer-asked")
    [_receipt, asked] = to_her(mail_server)
    assert REQUEST in email_text(asked) and tracking_url in email_text(asked)

    # The question comes first on her page: above the form to answer it and what she filed.
    citizen.reload()
    expect(status_of(citizen)).to_contain_text(words.state("awaiting_info"))
    latest = citizen.get_by_test_id("office-latest")
    expect(latest).to_contain_text(REQUEST)
    answer = citizen.get_by_test_id("action-provide_info")
    assert above(latest, answer) and above(latest, citizen.get_by_test_id("filed"))
    shots(citizen, "citizen-asked")
    answer.get_by_label(words("Message")).fill(ANSWER)
    answer.get_by_label(words("Photos or documents")).set_input_files(image_file("tiang-pju.jpg"))
    answer.get_by_role("button", name=words.step("provide_info")).click()
    expect(flash(citizen)).to_have_text(
        words("Thank you. The information was sent to the officer, who will check it."))
    expect(status_of(citizen)).to_contain_text(words.state("received"))
    expect(citizen.locator("#history").get_by_role("link", name="tiang-pju.jpg")).to_be_visible()

    # Verify and forward, follow up, and a message to her in the conversation.
    officer.reload()
    expect(officer.get_by_text(ANSWER).first).to_be_visible()
    staff_step(officer, words, "verify", selects={
        "Unit": "Dinas A", "Category": "Umum",
        "Classification": words.classification("pengaduan")}, texts={"Internal note": NOTE})
    expect(status_of(officer)).to_contain_text(words.state("verified"))
    staff_step(officer, words, "follow_up", texts={"Response": RESPONSE})
    expect(status_of(officer)).to_contain_text(words.state("followed_up"))
    officer.locator(".case-steps").get_by_role(
        "link", name=words("Reply to the complainant"), exact=True).click()
    reply = officer.get_by_test_id("reply-form")
    reply.get_by_label(words("Message")).fill(REPLY)
    reply.get_by_role("button", name=words("Send to the complainant")).click()
    expect(flash(officer)).to_have_text(words("Message sent to the complainant."))
    expect(status_of(officer)).to_contain_text(words.state("followed_up"))  # not moved by it
    shots(officer, "officer-followed-up-and-replied")
    _receipt, _asked, *told = to_her(mail_server)  # verified and forwarded, answered, the message
    assert len(told) == 3 and RESPONSE in email_text(told[1]) and REPLY in email_text(told[2])
    assert not any(holds_pin(email, pin) or NOTE in email_text(email) for email in mail_server)

    # She reads the response and the message first, then accepts: the complaint is closed.
    citizen.reload()
    expect(status_of(citizen)).to_contain_text(words.state("followed_up"))
    expect(latest).to_contain_text(RESPONSE)
    expect(latest).to_contain_text(REPLY)
    expect(citizen.get_by_text(NOTE)).to_have_count(0)  # internal notes stay internal
    accept = citizen.get_by_test_id("action-accept")
    assert above(latest, accept) and above(latest, citizen.get_by_test_id("filed"))
    expect(citizen.get_by_role("button", name=words.step("dispute"))).to_be_visible()
    shots(citizen, "citizen-answered")
    accept.get_by_role("radio", name="5", exact=True).check()
    accept.get_by_label(words("Comment")).fill("Cepat dan jelas, terima kasih.")
    accept.get_by_role("button", name=words.step("accept")).click()
    expect(flash(citizen)).to_have_text(
        words("Thank you. You accepted the response; the complaint is closed."))
    expect(status_of(citizen)).to_contain_text(words.state("closed"))
    expect(status_of(citizen)).to_contain_text(words.closure("resolved"))
    expect(citizen.get_by_text(words("You rated the service %(n)d of 5. Thank you.", n=5))
           ).to_be_visible()
    assert len(to_her(mail_server)) == 5  # her own step is not mailed back to her
    shots(citizen, "citizen-accepted")

    officer.reload()
    expect(status_of(officer)).to_contain_text(words.state("closed"))


# --- b. withdrawing, confirmed on its own page; a lost PIN set anew by email ----------------

def titled(text: str) -> re.Pattern:
    """A page title: the page's own words, then the office's name."""
    return re.compile("^" + re.escape(text) + " · ")


def test_withdrawing_is_confirmed_and_a_lost_pin_is_set_anew_by_the_emailed_link(
        app, browsing, org, shots, mail_server):
    """Withdrawing asks on its own page (Cancel changes nothing; confirming with a reason
    withdraws). A forgotten PIN: the form answers without telling anything, the link comes
    only by email, opens a page that makes a new PIN once; the new PIN opens the complaint,
    the old one no longer does, and the same link a second time is no longer valid."""
    words = Words(app, "id")
    with app.app_context():
        withdrawn = file_complaint({**RAW, "title": "Antrean KTP-el sejak bulan lalu"})
        lost = file_complaint({**RAW, "title": "Pungutan di loket"})
        code, pin = withdrawn.complaint.tracking_code, withdrawn.pin
        lost_code, old_pin = lost.complaint.tracking_code, lost.pin
        db.session.commit()

    phone = browsing.new_page(PHONE)
    track_in_browser(phone, words, code, pin)
    expect(phone).to_have_url(re.compile(f"/track/{code}$"))
    phone.get_by_test_id("withdraw-link").click()
    expect(phone).to_have_url(re.compile(f"/track/{code}/withdraw$"))
    expect(phone.get_by_role("heading", level=1, name=words("Withdraw the complaint?"))
           ).to_be_visible()
    phone.get_by_role("link", name=words("Cancel, keep the complaint")).click()
    expect(phone).to_have_url(re.compile(f"/track/{code}$"))
    expect(status_of(phone)).to_contain_text(words.state("received"))
    phone.get_by_test_id("withdraw-link").click()
    phone.get_by_label(words("Why do you withdraw it? (optional)")).fill("Sudah selesai di loket.")
    shots(phone, "withdraw-confirmation")
    phone.get_by_role("button", name=words("Yes, withdraw the complaint")).click()
    expect(flash(phone)).to_have_text(words("Your complaint was withdrawn."))
    expect(status_of(phone)).to_contain_text(words.state("closed"))
    expect(status_of(phone)).to_contain_text(words.closure("withdrawn"))
    expect(phone.get_by_test_id("withdraw-link")).to_have_count(0)

    # The PIN of the other complaint is lost: the link comes by email only.
    phone.goto("/track")
    phone.get_by_test_id("forgot-pin-link").click()
    phone.get_by_label(words("Tracking code")).fill(lost_code)
    phone.get_by_role("button", name=words("Send me a link")).click()
    expect(phone.get_by_test_id("forgot-pin-answer")).to_be_visible()
    expect(phone).to_have_title(titled(words("Check your email")))
    shots(phone, "forgot-pin-answer")
    [message] = [m for m in outbox(app, "siti@example.id") if "reset-pin" in m.body_text]
    assert lost_code in message.subject and not holds_pin(message, old_pin)
    link = re.search(r"http\S+/track/reset-pin\?token=\S+", message.body_text).group(0)

    phone.goto(link)
    expect(phone.get_by_role("heading", level=1, name=words("Set a new PIN"))).to_be_visible()
    expect(phone).to_have_title(titled(words("Set a new PIN")))
    phone.get_by_role("button", name=words("Make a new PIN")).click()
    expect(phone.get_by_role("heading", level=1, name=words("Your new PIN"))).to_be_visible()
    new_pin = phone.get_by_test_id("tracking-pin").inner_text().strip()
    assert PIN_PATTERN.fullmatch(new_pin) and new_pin != old_pin
    shots(phone, "new-pin")

    other = browsing.new_page(PHONE)  # a device that never saw the complaint
    track_in_browser(other, words, lost_code, old_pin)
    expect(other.get_by_role("alert")).to_have_text(
        words("We could not find a complaint with this tracking code and PIN."))
    expect(other).to_have_url(re.compile(r"/track$"))
    expect(other.get_by_label(words("PIN"))).to_have_value("")
    other.get_by_label(words("PIN")).fill(new_pin)
    other.get_by_role("button", name=words("Open my complaint")).click()
    expect(other).to_have_url(re.compile(f"/track/{lost_code}$"))
    expect(other.get_by_role("heading", level=1, name="Pungutan di loket")).to_be_visible()
    assert other.evaluate("document.documentElement.scrollWidth") <= 390
    other.goto(link)
    expect(other.get_by_role("heading", level=1, name=words("This link is no longer valid"))
           ).to_be_visible()
    expect(other).to_have_title(titled(words("This link is no longer valid")))


# --- c. the supervisor reviews an overdue case and records coaching -------------------------

def test_supervisor_reviews_an_overdue_case_and_records_coaching(app, browsing, org, shots):
    """A complaint filed 40 days ago, swept by the SLA timer, is on /staff/overdue with its
    delay and escalations (a fresh one is not); the supervisor gives an instruction,
    acknowledges the escalations, and records a coaching session (pembinaan) about it, with an
    attendance list, at /staff/supervision/new."""
    words = Words(app, "id")
    with app.app_context():
        late = file_complaint({**RAW, "title": "Antrean KTP-el sejak bulan lalu"},
                              at=utcnow() - timedelta(days=40)).complaint.tracking_code
        fresh = file_complaint({**RAW, "title": "Baru saja diajukan"}).complaint.tracking_code
        db.session.commit()
        fired = sweep()  # the timer fires the ladder: warning, overdue, seriously overdue
        assert fired.get("overdue") and fired.get("serious"), fired

    page = browsing.new_page()
    sign_in(page, words, SUPERVISOR)
    staff_menu(page, words).get_by_role("link", name=words("Overdue review")).click()
    expect(page).to_have_url(re.compile(r"/staff/overdue$"))
    late_cases = page.get_by_role("region", name=words("Late complaints"))
    row = late_cases.get_by_role("listitem").filter(has=page.get_by_role("link", name=late))
    verification = words._label(lambda wf: wf.sla["verification"].label)
    late_by = re.escape(words.plural("%(clock)s late by %(num)d working day",
                                     "%(clock)s late by %(num)d working days", 2, clock=verification)
                        ).replace("2", r"\d+")
    expect(row).to_contain_text(re.compile(late_by))
    expect(late_cases.get_by_role("link", name=fresh)).to_have_count(0)
    shots(page, "overdue-review")

    row.get_by_text(words("Give an instruction")).click()
    instruction = "Segera verifikasi dan hubungi pelapor hari ini."
    row.get_by_role("textbox").fill(instruction)
    row.get_by_role("button", name=words("Send the instruction")).click()
    expect(flash(page)).to_have_text(words("Instruction recorded."))
    expect(page).to_have_url(re.compile(r"/staff/overdue$"))
    acknowledge = re.compile("^" + re.escape(words("Acknowledge")))
    row.get_by_role("button", name=acknowledge).click()
    expect(flash(page)).to_have_text(words("Escalation acknowledged."))
    expect(row.get_by_role("button", name=acknowledge)).to_have_count(0)
    shots(page, "overdue-instructed-and-acknowledged")

    row.get_by_role("link", name=late).click()
    expect(page.locator("main")).to_contain_text(instruction)
    shots(page, "overdue-case")

    staff_menu(page, words).get_by_role("link", name=words("Supervision"), exact=True).click()
    page.get_by_role("link", name=words("New supervision record")).click()
    expect(page.get_by_role("heading", level=1, name=words("New supervision record"))
           ).to_be_visible()
    held_on = page.get_by_label(re.compile("^" + re.escape(words("Date"))))  # not "Due date"
    expect(held_on).to_have_value(datetime.now(JAKARTA).date().isoformat())  # today by default
    title = "Pembinaan pengelola pengaduan: verifikasi tepat waktu"
    page.get_by_label(words("Kind")).select_option(label=words("Coaching of complaint handlers"))
    page.get_by_label(words("Title")).fill(title)
    page.get_by_label("Dinas A (UNIT-A)").check()
    page.get_by_label(words("Participants")).fill(
        "Kepala Dinas A; petugas pengelola pengaduan (3 orang)")
    page.get_by_label(words("Findings")).fill("Verifikasi tertunda karena petugas merangkap loket.")
    page.get_by_label(words("Complaints reviewed")).fill(late)
    page.get_by_label(words("Action"), exact=True).first.fill("Jadwal piket verifikasi harian")
    page.get_by_label(words("Owner"), exact=True).first.fill("Sekretaris Dinas A")
    due = (datetime.now(JAKARTA).date() + timedelta(days=14)).isoformat()
    page.get_by_label(words("Due date"), exact=True).first.fill(due)
    page.get_by_label(words("Minutes, attendance lists, photos")).set_input_files(
        image_file("daftar-hadir.jpg", size=(300, 400)))
    shots(page, "coaching-form")
    page.get_by_role("button", name=words("Save"), exact=True).click()

    expect(flash(page)).to_have_text(words("Supervision record saved."))
    expect(page).to_have_url(re.compile(r"/staff/supervision/\d+$"))
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(words("Coaching of complaint handlers"))
    expect(facts.get_by_role("link", name=late)).to_be_visible()
    expect(page.get_by_text("daftar-hadir.jpg")).to_be_visible()
    expect(page.get_by_text("Jadwal piket verifikasi harian")).to_be_visible()
    shots(page, "coaching-recorded")


# --- d. the auditor exports an evidence pack and verifies it offline ------------------------

def run_verifier(script: Path, pack: Path, key: str) -> subprocess.CompletedProcess:
    """The verifier as an auditor runs it: plain Python, no site packages (-I -S)."""
    return subprocess.run([sys.executable, "-I", "-S", str(script), str(pack), "--key", key],
                          capture_output=True, text=True, timeout=60)


def test_auditor_downloads_an_evidence_pack_that_verifies_offline(app, browsing, org, shots,
                                                                  tmp_path):
    """The pack downloaded from /staff/evidence passes verify_pack.py (the repository's and
    the copy inside the pack) against the key published on that page; one changed byte
    fails it."""
    words = Words(app, "id")
    with app.app_context():
        complaint = file_complaint({**RAW, "title": "Pungutan di loket"}).complaint
        officer = Actor.staff(User.by_email(OFFICER))
        advance(complaint, "verify", officer, unit="UNIT-A", category="GENERAL",
                classification="pengaduan")
        advance(complaint, "follow_up", officer, response="Petugas loket sudah ditegur.")
        code = complaint.tracking_code
        db.session.commit()

    page = browsing.new_page()
    sign_in(page, words, AUDITOR)
    staff_menu(page, words).get_by_role("link", name=words("Evidence pack")).click()
    expect(page.get_by_role("heading", level=1, name=words("Evidence pack"))).to_be_visible()
    key = page.locator("main code").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", key), key
    today = datetime.now(JAKARTA).date()
    start = today - timedelta(days=30)
    page.get_by_label(words("From")).fill(start.isoformat())
    page.get_by_label(words("To"), exact=True).fill(today.isoformat())
    expect(page.get_by_label(words("Unit"))).to_have_value("")  # all units
    shots(page, "evidence-page")
    with page.expect_download() as download_info:
        page.get_by_role("button", name=words("Download evidence pack")).click()
    download = download_info.value
    assert download.failure() is None
    assert download.suggested_filename == f"bukti-semua-{start}-{today}.zip"
    pack = tmp_path / download.suggested_filename
    download.save_as(pack)

    with zipfile.ZipFile(pack) as archive:
        assert {"manifest.json", "audit/events.jsonl", "register.csv", "verify_pack.py"} <= set(
            archive.namelist())
        assert code in archive.read("register.csv").decode()
        bundled = tmp_path / "verify_pack.py"
        bundled.write_bytes(archive.read("verify_pack.py"))
    for script in (VERIFIER, bundled):
        result = run_verifier(script, pack, key)
        assert result.returncode == 0 and result.stdout.startswith("OK"), (script, result)

    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "register.csv":
                data = data.replace(code.encode(), code[::-1].encode())
            dst.writestr(item, data)
    result = run_verifier(VERIFIER, tampered, key)
    assert result.returncode == 1, result
    assert "FAIL" in result.stdout and "register.csv" in result.stdout, result.stdout
