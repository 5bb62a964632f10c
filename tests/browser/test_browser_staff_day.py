"""A working day in the staff workspace, in Chromium, in Indonesian: the supervisor starts on
her home page, finds a complaint by a word of its title, opens it and gives the officer an
instruction; the officer's home lists that instruction, the search box opens the case from
its tracking code, he answers the complainant with a photo attached (which the complainant
then downloads with code and PIN) and marks the instruction done; the supervisor is told it
is done; both download the periodic report as a PDF ready to sign.

The PDF steps need WeasyPrint's system libraries (Pango); without them they are skipped
unless PENGADUAN_REQUIRE_PDF=1 (as in CI).
"""
from __future__ import annotations

import os
import re

import pytest

from browser_support import (OFFICER, PHONE, SUPERVISOR, Words, expect, flash, image_file,
                             sign_in, staff_menu, track_in_browser)
from pengaduan.extensions import db
from pengaduan.models import User
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.oversight.reports import pdf_missing

pytestmark = pytest.mark.browser

TITLE = "Jembatan gantung Pucangsawit berlubang"
RAW = {"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan", "title": TITLE,
       "description": "Papan lantai jembatan gantung lepas dua buah, anak sekolah melompatinya.",
       "privacy": "public", "name": "Sri Lestari", "email": "sri@example.id", "consent": True}
INSTRUCTION = "Kirim petugas ke jembatan hari ini dan kabari pelapor dengan foto."
RESPONSE = "Dua papan lantai sudah diganti pagi ini; fotonya kami lampirkan."


def download_report_pdf(page, words: Words) -> None:
    """From the staff menu to the report, then its PDF: a real PDF named after the period."""
    staff_menu(page, words).get_by_role("link", name=words("Reports")).click()
    expect(page).to_have_url(re.compile(r"/staff/reports"))
    missing = pdf_missing()
    if missing:
        if os.environ.get("PENGADUAN_REQUIRE_PDF") == "1":
            pytest.fail(f"PENGADUAN_REQUIRE_PDF=1 but {missing}", pytrace=False)
        return
    with page.expect_download() as caught:
        page.get_by_role("link", name=words("Download PDF (to sign)")).click()
    download = caught.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"


def test_the_supervisors_and_the_officers_day(app, browsing, org, shots):
    words = Words(app, "id")
    with app.app_context():
        filed = file_complaint(RAW)
        complaint = filed.complaint
        advance(complaint, "verify", Actor.staff(User.by_email(OFFICER)),
                unit="UNIT-A", category="GENERAL", classification="pengaduan")
        db.session.commit()
        code, pin = complaint.tracking_code, filed.pin

    # The supervisor: home, search by a word of the title, the case, an instruction.
    boss = browsing.new_page()
    sign_in(boss, words, SUPERVISOR)
    expect(boss).to_have_url(re.compile(r"/staff$"))
    expect(boss.get_by_role("heading", level=1, name=words("Home"))).to_be_visible()
    shots(boss, "supervisor-home")
    boss.get_by_role("search").get_by_role("searchbox").fill("Pucangsawit")
    boss.get_by_role("search").get_by_role("button").click()
    expect(boss).to_have_url(re.compile(r"/staff/search\?"))
    shots(boss, "supervisor-search")
    boss.locator("main").get_by_role("link", name=code).click()
    expect(boss.get_by_role("heading", level=1, name=TITLE)).to_be_visible()
    boss.locator(".case-steps").get_by_role("link", name=words("Give instruction")).click()
    boss.get_by_label(words("Instruction (recorded as internal supervision)")).fill(INSTRUCTION)
    boss.locator("#step-form").get_by_role("button", name=words("Give instruction")).click()
    expect(flash(boss)).to_have_text(words("Instruction recorded."))
    expect(boss.locator("main")).to_contain_text(INSTRUCTION)
    shots(boss, "supervisor-instructed")

    # The officer: the instruction on his home, the code in the search box opens the case.
    officer = browsing.new_page()
    sign_in(officer, words, OFFICER)
    expect(officer).to_have_url(re.compile(r"/staff$"))
    instructions = officer.locator("#instructions")
    expect(instructions).to_contain_text(code)
    expect(instructions).to_contain_text(INSTRUCTION)
    shots(officer, "officer-home")
    officer.get_by_role("search").get_by_role("searchbox").fill(code.lower().replace("-", ""))
    officer.get_by_role("search").get_by_role("button").click()
    expect(officer).to_have_url(re.compile(f"/staff/complaints/{code}$"))

    # One public step with a photo for the complainant.
    officer.locator(".case-steps").get_by_role("link", name=words.step("follow_up"),
                                               exact=True).click()
    form = officer.locator("#step-form")
    form.get_by_label(words("Response")).fill(RESPONSE)
    form.get_by_label(words("Photos or documents for the complainant")).set_input_files(
        image_file("papan-baru.jpg"))
    form.get_by_role("button", name=words.step("follow_up")).click()
    expect(flash(officer)).to_have_text(words("Step completed: %(step)s.",
                                              step=words.step("follow_up")))
    timeline = officer.locator("ol.entries")
    expect(timeline.get_by_role("link", name="papan-baru.jpg")).to_be_visible()
    shots(officer, "officer-answered-with-photo")

    # The instruction, done.
    officer.locator("main").get_by_role("button", name=words("Mark done")).click()
    expect(flash(officer)).to_have_text(words("Instruction marked done."))
    expect(officer.locator("main").get_by_role("button", name=words("Mark done"))).to_have_count(0)
    download_report_pdf(officer, words)

    # The complainant sees the answer and downloads its photo with code and PIN.
    citizen = browsing.new_page(PHONE)
    track_in_browser(citizen, words, code, pin)
    latest = citizen.get_by_test_id("office-latest")  # the office's words, first on her page
    expect(latest).to_contain_text(RESPONSE)
    photo = latest.get_by_role("link", name="papan-baru.jpg")
    answer = citizen.request.get(photo.get_attribute("href"))
    assert answer.ok and answer.headers["content-type"] == "image/jpeg"

    # The supervisor hears that it is done, and files the report.
    boss.goto("/staff/notifications")
    expect(boss.locator("main")).to_contain_text(code)
    shots(boss, "supervisor-told-done")
    download_report_pdf(boss, words)
