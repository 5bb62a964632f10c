"""Journeys through the running app in a real browser (Chromium driven by Playwright): a
citizen files a complaint with a photo on a phone and tracks it; an officer takes it through
the workflow of workflows/perpres76.yaml while the complainant answers on the tracking page;
a supervisor reviews an overdue case and records a coaching session; an auditor downloads an
evidence pack and verifies it offline. The citizen and officer journeys run in Indonesian
(the default) and in English (chosen with the header's language switch).

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

from browser_support import (AUDITOR, DESCRIPTION, OFFICER, PHONE, SUPERVISOR, TITLE, Words,
                             choose_language, expect, file_in_browser, flash, image_file,
                             sign_in, staff_menu, track_in_browser)
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
RESOLUTION = "Lampu diganti; pelapor dikabari melalui halaman pelacakan."


def status_of(page):
    """Where a complaint page states its status: the staff case page's status panel, the
    facts list at the top of the tracking page (status, unit, outcome...)."""
    return page.locator(".case-status, dl.facts").first


# --- a. the citizen files on a phone and tracks ---------------------------------------------

def test_citizen_files_with_photo_on_a_phone_and_tracks_it(browsing, org, words, shots):
    """Filing with a photo on a 390-px phone, the receipt's code and PIN, then tracking on
    another phone: a wrong PIN is refused, the right one opens the complaint and its photo."""
    phone = browsing.new_page(PHONE)
    code, pin = file_in_browser(phone, words, shots, photo=image_file("lampu-mati.png"))
    expect(phone.get_by_text("budi@example.id")).to_be_visible()  # the receipt was emailed too
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling

    other_phone = browsing.new_page(PHONE)
    wrong = pin[:-1] + ("0" if pin[-1] != "0" else "1")
    track_in_browser(other_phone, words, code, wrong)
    expect(other_phone.get_by_role("alert")).to_have_text(
        words("We could not find a complaint with this tracking code and PIN."))
    expect(other_phone).to_have_url(re.compile(r"/track$"))
    expect(other_phone.get_by_label(words("PIN"))).to_have_value("")
    shots(other_phone, "track-wrong-pin")

    other_phone.get_by_label(words("PIN")).fill(pin)
    other_phone.get_by_role("button", name=words("Open my complaint")).click()
    expect(other_phone).to_have_url(re.compile(f"/track/{code}$"))
    expect(other_phone.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(status_of(other_phone)).to_contain_text(words.state("received"))
    photo = other_phone.get_by_role("link", name="lampu-mati.png")
    expect(photo).to_be_visible()
    answer = other_phone.request.get(photo.get_attribute("href"))
    assert answer.ok and answer.headers["content-type"] == "image/png"
    assert answer.body().startswith(b"\x89PNG")
    assert other_phone.evaluate("document.documentElement.scrollWidth") <= 390
    shots(other_phone, "tracked")


# --- b. the officer works it to closure while the citizen answers ---------------------------

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


def test_officer_takes_the_complaint_to_closure_while_the_citizen_answers(
        browsing, org, words, shots):
    """request_info -> (citizen) provide_info with a photo -> verify -> follow_up -> close,
    every step through its form on /staff/complaints/<code>; the complainant sees each public
    step on the tracking page (never the internal note), then rates the service."""
    citizen = browsing.new_page(PHONE)
    code, _pin = file_in_browser(citizen, words, photo=image_file("lampu-mati.png"))
    citizen.get_by_role("link", name=words("Follow your complaint")).click()
    expect(citizen).to_have_url(re.compile(f"/track/{code}$"))

    officer = browsing.new_page()
    officer.goto("/")
    choose_language(officer, words)
    sign_in(officer, words, OFFICER)
    expect(officer).to_have_url(re.compile(r"/staff$"))  # the officer's home
    expect(officer.locator("#new")).to_contain_text(code)
    staff_menu(officer, words).get_by_role("link", name=words("Complaint queue")).click()
    expect(officer).to_have_url(re.compile(r"/staff/queue$"))
    shots(officer, "officer-queue")
    officer.get_by_role("link", name=code).click()
    expect(officer.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    expect(officer.get_by_text(DESCRIPTION)).to_be_visible()
    shots(officer, "officer-received")

    # The file is incomplete: the officer asks, the clock stops.
    staff_step(officer, words, "request_info", texts={"Message": REQUEST})
    expect(status_of(officer)).to_contain_text(words.state("awaiting_info"))
    shots(officer, "officer-asked")

    # The complainant answers on the tracking page, with a photo.
    citizen.reload()
    expect(status_of(citizen)).to_contain_text(words.state("awaiting_info"))
    expect(citizen.get_by_text(REQUEST)).to_be_visible()
    shots(citizen, "citizen-asked")
    answer = citizen.get_by_role("region", name=words.step("provide_info"), exact=True)
    answer.get_by_label(words("Message")).fill(ANSWER)
    answer.get_by_label(words("Photos or documents")).set_input_files(image_file("tiang-pju.jpg"))
    answer.get_by_role("button", name=words.step("provide_info")).click()
    expect(flash(citizen)).to_have_text(words("Thank you. Your answer was recorded."))
    expect(status_of(citizen)).to_contain_text(words.state("received"))
    expect(citizen.get_by_role("link", name="tiang-pju.jpg")).to_be_visible()
    shots(citizen, "citizen-answered")

    # Verify and forward, follow up, close.
    officer.reload()
    expect(officer.get_by_text(ANSWER)).to_be_visible()
    staff_step(officer, words, "verify", selects={
        "Unit": "Dinas A", "Category": "Umum",
        "Classification": words.classification("pengaduan")}, texts={"Internal note": NOTE})
    expect(status_of(officer)).to_contain_text(words.state("verified"))
    shots(officer, "officer-verified")
    staff_step(officer, words, "follow_up", texts={"Response": RESPONSE})
    expect(status_of(officer)).to_contain_text(words.state("followed_up"))

    citizen.reload()
    expect(status_of(citizen)).to_contain_text(words.state("followed_up"))
    expect(citizen.get_by_text(RESPONSE)).to_be_visible()
    expect(citizen.get_by_text(NOTE)).to_have_count(0)  # internal notes stay internal
    for step in ("accept", "dispute"):  # what the complainant may do now
        expect(citizen.get_by_role("button", name=words.step(step))).to_be_visible()
    shots(citizen, "citizen-followed-up")

    staff_step(officer, words, "close", texts={"Resolution": RESOLUTION})
    expect(status_of(officer)).to_contain_text(words.state("closed"))
    expect(status_of(officer)).to_contain_text(words.closure("resolved"))
    expect(officer.get_by_role("button", name=words.step("close"))).to_have_count(0)
    shots(officer, "officer-closed")

    citizen.reload()
    expect(status_of(citizen)).to_contain_text(words.state("closed"))
    expect(status_of(citizen)).to_contain_text(words.closure("resolved"))
    expect(citizen.get_by_text(RESOLUTION)).to_be_visible()
    rating = citizen.get_by_role("region", name=words("Rate our service"))
    rating.get_by_role("radio", name="5", exact=True).check()
    rating.get_by_label(words("Comment")).fill("Cepat dan jelas, terima kasih.")
    rating.get_by_role("button", name=words("Send rating")).click()
    expect(flash(citizen)).to_have_text(words("Thank you for rating our service."))
    shots(citizen, "citizen-closed-and-rated")


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
