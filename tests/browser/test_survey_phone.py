"""The SKM questionnaire on a phone (issue #18): a respondent opens the survey from /skm on a
390 px screen, in Indonesian or English, sends it with a score missing-and-wrong, corrects it
from the error summary, is thanked, and a second try from the same phone is turned away.
The page never scrolls sideways, its answer targets are large, and axe finds nothing of impact
"moderate" or worse (WCAG 2.2 AA). Works with the page's script off as well. The staff's
period page, poster and paper entry fit the phone too."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from browser_support import (BLOCKING_IMPACTS, PHONE, PUBLIC_IMPACTS, WCAG22_AA, Words, axe_check,
                             describe, expect, sign_in)
from pengaduan.extensions import db
from pengaduan.models import SurveyResponse, Unit, User
from pengaduan.policy import Actor
from pengaduan.services.inputs import local_today
from pengaduan.services.surveys import opening, periods

pytestmark = pytest.mark.browser

SUPERVISOR, OFFICER = "supervisor.a@example.id", "officer.a@example.id"


@pytest.fixture
def survey(app, org) -> str:
    """This quarter's survey of UNIT-A, opened by its supervisor; its public path."""
    with app.app_context():
        label = periods.containing(local_today(None), "quarter").label
        opening.open_period(Actor.staff(User.by_email(SUPERVISOR)), Unit.by_code("UNIT-A"), label,
                            ["KTP-el", "Kartu Keluarga"], 500)
        db.session.commit()
    return f"/skm/UNIT-A/{label}"


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def stored(app) -> list[SurveyResponse]:
    with app.app_context():
        rows = db.session.scalars(select(SurveyResponse)).all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_a_respondent_fills_the_questionnaire_on_a_phone(app, survey, browsing, words, shots, script):
    page = browsing.new_page({**PHONE, "java_script_enabled": script})
    page.goto("/")
    if words.lang == "en":
        page.get_by_role("link", name="English", exact=True).first.click()
    page.get_by_role("link", name=words("Fill in the survey")).click()
    page.get_by_role("link", name="Dinas A").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dinas A")
    no_sideways_scroll(page)
    shots(page, "questionnaire")

    # Each element is a group named by its legend, with four answers as large radio targets.
    first = page.get_by_role("group", name=("U1 Persyaratan" if words.lang == "id" else "U1 Requirements"))
    expect(first.get_by_role("radio")).to_have_count(4)
    box = first.locator("label.skm-answer").first.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb's target across the screen

    # U1..U8 answered by tapping the label's words; U9 left out; the profile and a suggestion.
    for i in range(1, 9):
        page.locator(f"label[for=U{i}-{(i % 4) + 1}]").click()
    page.get_by_role("radio", name="KTP-el").check()
    page.get_by_role("radio", name=("Perempuan" if words.lang == "id" else "Female")).check()
    page.get_by_label(words("Suggestions for us")).fill("Antrean pagi terlalu panjang.")
    # A score outside 1..4, as a tampered page would send it, is refused and named.
    page.evaluate("document.getElementById('U3-4').value = '9'")
    page.get_by_role("button", name=words("Send my answers")).click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(words("must be a score from 1 to 4"))
    assert stored(app) == []
    # What was typed is kept.
    expect(page.get_by_label(words("Suggestions for us"))).to_have_value("Antrean pagi terlalu panjang.")
    expect(page.get_by_role("radio", name="KTP-el")).to_be_checked()
    expect(page.locator("#U1-2")).to_be_checked()
    no_sideways_scroll(page)
    shots(page, "refused")
    summary.get_by_role("link").first.click()
    page.locator("label[for=U3-3]").click()
    page.get_by_role("button", name=words("Send my answers")).click()
    expect(page.get_by_test_id("skm-thanks")).to_be_visible()
    shots(page, "thanks")

    [row] = stored(app)
    assert (row.channel, row.u1, row.u3, row.u9, row.service_type, row.sex) == ("web", 2, 3, None, "KTP-el", "female")
    assert row.suggestion == "Antrean pagi terlalu panjang."

    # The same phone again: thanked, nothing stored.
    page.goto(survey)
    expect(page.get_by_test_id("skm-already")).to_be_visible()
    assert len(stored(app)) == 1


def test_the_questionnaire_passes_axe_on_a_phone(app, survey, browsing, shots):
    page = browsing.new_page(PHONE)
    page.goto(survey)
    page.get_by_role("button").filter(has_text="Kirim").click()  # empty: the error summary shows
    expect(page.get_by_role("alert")).to_be_visible()
    result = axe_check(page, WCAG22_AA)
    shots.write_json("axe", result)
    bad = [v for v in result["violations"] if v["impact"] in PUBLIC_IMPACTS]
    assert not bad, describe(bad)
    no_sideways_scroll(page)


def test_the_staff_survey_pages_fit_a_phone(app, survey, browsing, shots):
    """The period's page, its poster and the paper entry: no sideways scrolling at 390 px and
    nothing serious for axe; an officer types in one sheet from the phone."""
    words = Words(app, "id")
    page = browsing.new_page(PHONE)
    sign_in(page, words, OFFICER)
    page.goto("/staff/surveys")
    page.get_by_test_id("survey-period-link").first.click()
    base = page.url.split("/staff/")[0]
    period_path = page.url[len(base):]
    for path in (period_path, period_path + "/poster", period_path + "/paper"):
        page.goto(path)
        no_sideways_scroll(page)
        blocking = [v for v in axe_check(page)["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, describe(blocking)
        shots(page, path.rsplit("/", 1)[-1])
    page.locator("label[for=U1-3]").click()
    page.get_by_role("button", name=words("Save and type in the next")).click()
    expect(page.get_by_test_id("paper-count")).to_contain_text("1")
    [row] = stored(app)
    assert row.channel == "paper" and row.u1 == 3
