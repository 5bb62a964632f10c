"""axe-core on the public pages, in Chromium, against WCAG 2.2 A and AA (target size
included) and axe's best practices: no violation of impact "moderate" or worse on the home
page, the lifecycle, the accessibility statement, the complaint form (empty and with its
validation errors), the receipt, the tracking page (empty and after a wrong PIN), the
complainant's view of her complaint, its withdrawal page and the pages that set a
forgotten PIN anew, whose buttons, menu links and tick boxes are also at
least 24 px each way and which do not scroll sideways at 360 px; none "serious" or
"critical" on the staff sign-in page.
axe.min.js comes with axe-playwright-python and is injected from disk (no CDN). Each page's
full axe result (every impact) and a screenshot are kept with the artifacts.
"""
from __future__ import annotations

import re

import pytest

from browser_support import (BLOCKING_IMPACTS, DESKTOP, OFFICER, PHONE, PUBLIC_IMPACTS, WCAG22_AA,
                             Words, axe_check, describe, expect, file_in_browser, track_in_browser)
from pengaduan.extensions import db
from pengaduan.models import Complaint, User
from pengaduan.policy import Actor
from pengaduan.services import advance
from pengaduan.services.complaints.pin_recovery import link_token

pytestmark = pytest.mark.browser


def home(page, words, app):
    page.goto("/")


def lifecycle(page, words, app):
    page.goto("/alur")


def accessibility_statement(page, words, app):
    page.goto("/aksesibilitas")


def complaint_form(page, words, app):
    page.goto("/complaints/new")


def complaint_form_with_errors(page, words, app):
    """Sent empty: the form comes back with its error summary and each field's message."""
    page.goto("/complaints/new")
    page.get_by_role("button", name=words("Send complaint")).click()
    expect(page.get_by_role("alert")).to_contain_text(words("Please correct the following"))
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()


def receipt(page, words, app):
    file_in_browser(page, words)


def track(page, words, app):
    page.goto("/track")


def track_not_found(page, words, app):
    track_in_browser(page, words, "ABCD-EFGH", "000000")
    expect(page.get_by_role("alert")).to_be_visible()


def citizen_view(page, words, app):
    """The complainant's page with the most on it: asked for information, so the timeline
    has the officer's message and the forms to answer (with a file input) and to withdraw."""
    code, _ = file_in_browser(page, words)
    with app.app_context():
        complaint = Complaint.by_code(code)
        advance(complaint, "request_info", Actor.staff(User.by_email(OFFICER)),
                message="Mohon lampirkan foto lokasi.")
        db.session.commit()
    page.get_by_role("link", name=words("Follow your complaint")).click()
    expect(page).to_have_url(re.compile(f"/track/{code}$"))
    expect(page.get_by_role("region", name=words.step("provide_info"), exact=True)).to_be_visible()


def withdraw(page, words, app):
    """The page that says what withdrawing means and asks for a reason."""
    code, _ = file_in_browser(page, words)
    page.goto(f"/track/{code}/withdraw")


def forgot_pin(page, words, app):
    page.goto("/track/forgot-pin")


def forgot_pin_sent(page, words, app):
    """The answer to the forgot-PIN form, the same for every well-formed code (a mail server
    is configured for the form to be offered; an unknown code sends nothing)."""
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=9)
    page.goto("/track/forgot-pin")
    page.get_by_label(words("Tracking code")).fill("ABCD-EFGH")
    page.get_by_role("button", name=words("Send me a link")).click()
    expect(page.get_by_role("heading", level=1, name=words("Check your email"))).to_be_visible()


def reset_pin(page, words, app):
    """The page an emailed link opens: what it will do, and a button to set the new PIN."""
    code, _ = file_in_browser(page, words)
    with app.app_context():
        token = link_token(Complaint.by_code(code))
    page.goto(f"/track/reset-pin?token={token}")


def new_pin(page, words, app):
    """The new PIN, shown once after the emailed link's button."""
    reset_pin(page, words, app)
    page.get_by_role("button", name=words("Make a new PIN")).click()
    expect(page.get_by_role("link", name=words("Back to your complaint"))).to_be_visible()


def reset_link_expired(page, words, app):
    page.goto("/track/reset-pin?token=expired")


def staff_login(page, words, app):
    page.goto("/login")  # the staff sign-in (there is no /staff/login)


PAGES = [  # (reach the page, device)
    pytest.param(home, PHONE, id="home"),
    pytest.param(lifecycle, PHONE, id="lifecycle"),
    pytest.param(accessibility_statement, PHONE, id="accessibility"),
    pytest.param(complaint_form, PHONE, id="complaint-form"),
    pytest.param(complaint_form_with_errors, PHONE, id="complaint-form-errors"),
    pytest.param(receipt, PHONE, id="receipt"),
    pytest.param(track, PHONE, id="track"),
    pytest.param(track_not_found, PHONE, id="track-not-found"),
    pytest.param(citizen_view, PHONE, id="citizen-view"),
    pytest.param(withdraw, PHONE, id="withdraw"),
    pytest.param(forgot_pin, PHONE, id="forgot-pin"),
    pytest.param(forgot_pin_sent, PHONE, id="forgot-pin-sent"),
    pytest.param(reset_pin, PHONE, id="reset-pin"),
    pytest.param(new_pin, PHONE, id="new-pin"),
    pytest.param(reset_link_expired, PHONE, id="reset-link-expired"),
    pytest.param(staff_login, DESKTOP, id="staff-login"),
]
STAFF_PAGES = {staff_login}  # held to serious and critical only
SMALL_TARGETS = """Array.from(document.querySelectorAll(
    'button, .button, .nav a, .lang-switch a, .lang-switch span, .pager a, input[type=checkbox], '
    + 'input[type=radio], input[type=file], .site-footer a'))
  .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
  .filter(([, r]) => r.width > 0 && (r.width < 24 || r.height < 24))
  .map(([html, r]) => `${html} ${r.width}x${r.height}`)"""


@pytest.mark.parametrize(("reach", "device"), PAGES)
def test_no_serious_accessibility_violations(app, browsing, org, shots, reach, device):
    words = Words(app, "id")
    page = browsing.new_page(device)
    reach(page, words, app)
    result = axe_check(page, WCAG22_AA)
    shots(page, reach.__name__)
    shots.write_json(f"{reach.__name__}-axe", {
        "url": page.url, "violations": result["violations"], "incomplete": result["incomplete"]})
    impacts = BLOCKING_IMPACTS if reach in STAFF_PAGES else PUBLIC_IMPACTS
    blocking = [v for v in result["violations"] if v["impact"] in impacts]
    assert not blocking, f"axe on {page.url}:\n{describe(blocking)}"
    if reach in STAFF_PAGES:
        return
    # axe's target-size accepts a small target with room around it; ours are 24 px themselves.
    small = page.evaluate(SMALL_TARGETS)
    assert not small, f"targets under 24 px on {page.url}:\n" + "\n".join(small)
    page.set_viewport_size({"width": 360, "height": 740})  # the narrowest phone served
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{page.url} scrolls sideways"


def test_axe_finds_a_known_violation(browser):
    """The checker itself: on markup with known critical faults axe names them, so a clean
    result above means a clean page and not a check that did not run."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content('<html lang="id"><head><title>t</title></head><body><main>'
                         '<img src="data:,"><input id="q"></main></body></html>')
        found = {v["id"]: v["impact"] for v in axe_check(page)["violations"]}
    finally:
        context.close()
    assert found.get("image-alt") == "critical" and found.get("label") == "critical", found
