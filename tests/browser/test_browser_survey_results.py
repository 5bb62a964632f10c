"""The SKM results on a phone (issue #18): a unit's supervisor opens a quarter's results on a
390 px screen in Indonesian, reads the IKM and the lowest element, plans an improvement action
for it from the form (the element comes prefilled), is refused when marking it done without
evidence (what was typed stays), then marks it done with its evidence. The page never scrolls
sideways and axe finds nothing serious or critical (WCAG 2.2 A/AA)."""
from __future__ import annotations

import pytest

from browser_support import BLOCKING_IMPACTS, PHONE, Words, axe_check, describe, expect, sign_in
from pengaduan.extensions import db
from pengaduan.models import Unit
from test_ikm import WORKED_TOTALS, _period, _store, rows_for

pytestmark = pytest.mark.browser

SUPERVISOR = "supervisor.a@example.id"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                              "wcag22a", "wcag22aa"]},
        "resultTypes": ["violations"]}


@pytest.fixture
def results_path(app, org) -> str:
    """UNIT-A's 2026-Q3 with the regulation's worked example (29 questionnaires)."""
    with app.app_context():
        survey = _period(Unit.by_code("UNIT-A"))
        _store(survey, rows_for(29, WORKED_TOTALS), "KTP-el")
        db.session.commit()
        return f"/staff/surveys/{survey.id}/results"


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def accessible(page) -> None:
    blocking = [v for v in axe_check(page, WCAG)["violations"] if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, describe(blocking)


def test_a_supervisor_follows_up_the_lowest_element_on_a_phone(app, browsing, results_path, shots):
    words = Words(app, "id")
    page = browsing.new_page(PHONE)
    sign_in(page, words, SUPERVISOR)
    page.goto(results_path)
    expect(page.get_by_test_id("ikm")).to_have_text("91,48")
    expect(page.get_by_test_id("mutu")).to_have_text("A")
    fits(page)
    accessible(page)
    shots(page, "results")

    page.get_by_role("link", name=words("Plan an improvement action")).first.click()
    element = page.get_by_label(words("Element to improve"))
    expect(element).to_have_value("U3")  # Waktu penyelesaian, the lowest
    page.get_by_label(words("Action")).fill("Tambah satu loket pada jam sibuk")
    page.get_by_label(words("Owner (who does it)")).fill("Kepala Seksi Pelayanan")
    page.get_by_role("button", name=words("Add the action")).click()
    expect(page.get_by_text(words("Improvement action added."))).to_be_visible()
    expect(page.get_by_test_id("lowest")).to_contain_text(words.plural(
        "%(num)d improvement action", "%(num)d improvement actions", 1))

    page.get_by_text(words("Mark done, drop or reopen")).click()
    form = page.locator("form.skm-update")
    form.get_by_label(words("Status")).select_option("done")
    form.get_by_role("button", name=words("Update")).click()
    expect(page.get_by_role("alert")).to_contain_text(words("say what shows the action was done"))
    fits(page)
    form = page.locator("form.skm-update")
    expect(form.get_by_label(words("Status"))).to_have_value("done")  # kept as chosen
    form.get_by_label(words("Evidence (required when done)")).fill("Foto loket baru, jadwal petugas")
    form.get_by_role("button", name=words("Update")).click()
    expect(page.get_by_text(words("Improvement action updated."))).to_be_visible()
    expect(page.get_by_test_id("follow-up-figures")).to_contain_text("100%")
    fits(page)
    accessible(page)
    shots(page, "done")
