"""Collecting the SKM (issue #18, items 1 and 2): a supervisor or admin opens a unit's survey
period, the public questionnaire takes one answer per device without anybody's identity,
officers type in paper questionnaires, and a closed complaint's tracking page invites its
complainant to the unit's survey."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from pages import Page
from pengaduan.errors import Forbidden, InvalidFields
from pengaduan.extensions import db
from pengaduan.models import AuditEvent, Complaint, SurveyPeriod, SurveyResponse, Unit, User
from pengaduan.policy import Actor
from pengaduan.services import advance, file_complaint
from pengaduan.services.inputs import local_today
from pengaduan.services.surveys import opening, periods, questionnaire
from test_citizen import VERIFY, rate_limits  # noqa: F401  (the fixture)
from test_staff import (ADMIN, AUDITOR, OFFICER_A, OFFICER_B, SUPERVISOR_A, browser, get_page,  # noqa: F401
                        org, signed_in, to_login, track)

FULL = {f"U{i}": "3" for i in range(1, 10)}


def this_quarter(app) -> str:
    with app.app_context():
        return periods.containing(local_today(None), "quarter").label


def open_survey(app, unit="UNIT-A", label=None, services=("KTP-el", "Kartu Keluarga"), population=100,
                by=SUPERVISOR_A) -> int:
    """A survey period opened through the service (committed); its id."""
    with app.app_context():
        label = label or periods.containing(local_today(None), "quarter").label
        survey = opening.open_period(Actor.staff(User.by_email(by)), Unit.by_code(unit), label,
                                     list(services), population)
        db.session.commit()
        return survey.id


def responses(app, period_id: int) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(select(SurveyResponse).where(SurveyResponse.period_id == period_id)
                                  .order_by(SurveyResponse.id)).all()
        return [{c.name: getattr(r, c.name) for c in SurveyResponse.__table__.columns} for r in rows]


def public_url(app, period_id: int) -> str:
    with app.app_context():
        survey = db.session.get(SurveyPeriod, period_id)
        return f"/skm/{survey.unit.code}/{survey.label}"


def answer(client, url: str, **fields):
    """Send the public questionnaire with the page's own token."""
    page = get_page(client, url)
    token = page.forms[url].values["csrf_token"]
    return client.post(url, data={"csrf_token": token, **fields})


# --- opening -----------------------------------------------------------------------------------

def test_a_supervisor_opens_a_period_with_the_questionnaire_as_it_stands(app, org):
    client = signed_in(app, SUPERVISOR_A)
    quarter = this_quarter(app)
    page = get_page(client, "/staff/surveys")
    form = page.forms["/staff/surveys/open"]
    assert form.values["period"] == quarter  # the running quarter is offered first
    response = client.post("/staff/surveys/open", data={
        "csrf_token": form.values["csrf_token"], "unit": "UNIT-A", "period": quarter,
        "service_types": "KTP-el\n\nKartu Keluarga\nKTP-el\n", "population": "1.000"})
    assert response.status_code == 302
    with app.app_context():
        survey = db.session.scalar(select(SurveyPeriod))
        assert (survey.unit.code, survey.label, survey.service_types, survey.population) == (
            "UNIT-A", quarter, ["KTP-el", "Kartu Keluarga"], 1000)
        assert survey.questionnaire["elements"]["U9"]["answers"]["id"][3] == "Dikelola dengan baik"
        assert survey.opened_by.email == SUPERVISOR_A
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey.opened")).one()
        assert json.loads(event.body)["payload"]["label"] == quarter
        period_id = survey.id
    assert response.headers["Location"] == f"/staff/surveys/{period_id}"
    html = get_page(client, f"/staff/surveys/{period_id}").html
    assert "of the 278 needed" in html  # Krejcie-Morgan for 1,000 users
    assert f"/skm/UNIT-A/{quarter}" in html
    assert f"/staff/surveys/{period_id}/poster" in html
    if "survey_results.report" in app.view_functions:
        assert f'href="/staff/surveys/{period_id}/results"' in html  # the IKM report


def test_the_questionnaire_keeps_the_files_order_of_options_once_stored(app, org):
    """PostgreSQL's JSONB sorts an object's keys: the profile's options must still be offered
    in the order the questionnaire file gives them."""
    period_id = open_survey(app)
    with app.app_context():
        wording = questionnaire.load()
        stored = db.session.get(SurveyPeriod, period_id).questionnaire
        for lang in ("id", "en"):
            shown = questionnaire.in_language(stored, lang)
            for name, question in questionnaire.in_language(wording, lang)["profile"].items():
                assert list(shown["profile"][name]["options"]) == list(question["options"])
            assert list(shown["elements"]) == [f"U{i}" for i in range(1, 10)]
        occupations = list(questionnaire.in_language(stored, "id")["profile"]["occupation"]["options"])
    assert occupations[0] == "pns" and occupations[-1] == "other"
    html = get_page(app.test_client(), public_url(app, period_id)).html
    assert html.index('value="pns"') < html.index('value="private"') < html.index('value="other"')


def test_a_refused_opening_keeps_what_was_typed(app, org):
    client = signed_in(app, SUPERVISOR_A)
    open_survey(app)
    token = get_page(client, "/staff/surveys").token
    response = client.post("/staff/surveys/open", data={
        "csrf_token": token, "unit": "UNIT-A", "period": this_quarter(app),
        "service_types": "Akta kelahiran", "population": "banyak"})
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert {"#period", "#population"} <= set(page.links)  # named in the error summary
    assert page.forms["/staff/surveys/open"].values["service_types"] == "Akta kelahiran"
    assert page.forms["/staff/surveys/open"].values["population"] == "banyak"


def test_the_service_refuses_a_bad_label_and_whoever_may_not_open(app, org):
    with app.app_context():
        unit = Unit.by_code("UNIT-A")
        with pytest.raises(InvalidFields) as caught:
            opening.open_period(Actor.staff(User.by_email(SUPERVISOR_A)), unit, "2026-Q5")
        assert set(caught.value.errors) == {"period"}
        for email in (OFFICER_A, AUDITOR):
            with pytest.raises(Forbidden):
                opening.open_period(Actor.staff(User.by_email(email)), unit, "2026-Q1")
        db.session.rollback()


def test_edit_close_and_reopen_are_audited(app, org):
    period_id = open_survey(app)
    client = signed_in(app, SUPERVISOR_A)
    url = f"/staff/surveys/{period_id}/edit"
    token = get_page(client, f"/staff/surveys/{period_id}").token
    assert client.post(url, data={"csrf_token": token, "service_types": "Akta\nKTP-el",
                                  "population": "10000"}).status_code == 302
    assert "of the 370 needed" in get_page(client, f"/staff/surveys/{period_id}").html
    assert client.post(url, data={"csrf_token": token, "action": "close"}).status_code == 302
    assert client.post(url, data={"csrf_token": token, "action": "reopen"}).status_code == 302
    with app.app_context():
        survey = db.session.get(SurveyPeriod, period_id)
        assert (survey.service_types, survey.population, survey.closed_at) == (["Akta", "KTP-el"], 10000, None)
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("survey.%"))
                                     .order_by(AuditEvent.seq)).all()
        assert actions == ["survey.opened", "survey.updated", "survey.closed", "survey.reopened"]


def test_a_period_overlapping_another_of_the_unit_is_refused(app, org):
    """A year over its quarters (or a quarter inside an open year) would count the quarters'
    questionnaires twice in the year's figures."""
    quarter = this_quarter(app)
    open_survey(app, label=quarter)
    with app.app_context():
        year = quarter[:4]
        supervisor = Actor.staff(User.by_email(SUPERVISOR_A))
        for label in (year, f"{year}-S2"):
            with pytest.raises(InvalidFields) as caught:
                opening.open_period(supervisor, Unit.by_code("UNIT-A"), label)
            with force_locale("en"):
                assert f"overlaps this unit's survey for {quarter}" in str(caught.value.errors["period"])
        db.session.rollback()
        # Another unit, and a quarter of its own year beside it, are not overlaps.
        assert opening.open_period(Actor.cli(), Unit.by_code("UNIT-B"), year).label == year
        db.session.rollback()
    client = signed_in(app, SUPERVISOR_A)
    token = get_page(client, "/staff/surveys").token
    refused = client.post("/staff/surveys/open", data={"csrf_token": token, "unit": "UNIT-A", "period": year,
                                                        "service_types": "KTP-el"})
    assert refused.status_code == 422 and f"overlaps this unit&#39;s survey for {quarter}" in \
        refused.get_data(as_text=True)


def test_open_for_prefers_the_shortest_period_taking_answers(app, org):
    """Periods opened before overlaps were refused: the shortest one takes the answers."""
    with app.app_context():
        today = local_today(None)
        year, quarter = str(today.year), periods.containing(today, "quarter").label
    year_id = open_survey(app, label=year)
    with app.app_context():
        period = periods.parse(quarter)
        legacy = SurveyPeriod(unit_id=Unit.by_code("UNIT-A").id, label=quarter, starts_on=period.start,
                              ends_on=period.end, service_types=[], questionnaire=questionnaire.load())
        db.session.add(legacy)
        db.session.commit()
        quarter_id = legacy.id
    with app.app_context():
        unit = Unit.by_code("UNIT-A")
        assert opening.open_for(unit, today).id == quarter_id
        opening.close_period(Actor.cli(), db.session.get(SurveyPeriod, quarter_id))
        assert opening.open_for(unit, today).id == year_id
        assert opening.open_for(unit, today.replace(year=today.year + 1)) is None
        assert opening.open_for(Unit.by_code("UNIT-B"), today) is None
        db.session.rollback()


# --- who may see what --------------------------------------------------------------------------

def test_staff_see_only_the_surveys_of_their_units(app, org):
    period_id = open_survey(app)
    anonymous = app.test_client()
    assert to_login(anonymous.get("/staff/surveys"))
    assert to_login(anonymous.get(f"/staff/surveys/{period_id}"))
    other = signed_in(app, OFFICER_B)
    for path in ("", "/poster", "/paper"):
        assert other.get(f"/staff/surveys/{period_id}{path}").status_code == 404
    token = get_page(other, "/staff/surveys").token
    assert other.post(f"/staff/surveys/{period_id}/edit", data={"csrf_token": token, "action": "close"}).status_code == 404
    assert f"/staff/surveys/{period_id}" not in get_page(other, "/staff/surveys").links
    assert "/staff/surveys/open" not in get_page(other, "/staff/surveys").forms  # officers do not open
    own = signed_in(app, OFFICER_A)
    assert f"/staff/surveys/{period_id}" in get_page(own, "/staff/surveys").links
    assert "/staff/surveys" in get_page(own, "/staff").links  # the staff menu
    # An officer types in paper but does not change or close the period.
    token = get_page(own, f"/staff/surveys/{period_id}").token
    assert own.post(f"/staff/surveys/{period_id}/edit", data={"csrf_token": token, "action": "close"}).status_code == 403
    auditor = signed_in(app, AUDITOR)
    assert get_page(auditor, f"/staff/surveys/{period_id}")
    assert auditor.get(f"/staff/surveys/{period_id}/paper").status_code == 403
    admin = signed_in(app, ADMIN)
    token = get_page(admin, "/staff/surveys").token
    assert admin.post("/staff/surveys/open", data={"csrf_token": token, "unit": "UNIT-B",
                                                   "period": this_quarter(app)}).status_code == 302


# --- the public questionnaire -------------------------------------------------------------------

def test_an_answer_is_stored_without_identity_and_thanked(app, org):
    period_id = open_survey(app)
    url = public_url(app, period_id)
    citizen = browser(app)
    page = get_page(citizen, url)
    assert all(f"U{i}" in page.ids for i in range(1, 10))  # each element's fieldset
    assert "Sangat sesuai" in page.html or "Very suitable" in page.html
    response = answer(citizen, url, **{**FULL, "U4": "4", "U9": ""}, sex="female", age_band="30_39",
                      service_type="KTP-el", suggestion="Tambah kursi antrean.")
    assert response.status_code == 302
    assert response.headers["Location"] == url + "/thanks"
    assert get_page(citizen, url + "/thanks")
    [row] = responses(app, period_id)
    assert (row["channel"], row["entered_by_id"], row["u4"], row["u9"], row["sex"], row["service_type"]) == (
        "web", None, 4, None, "female", "KTP-el")
    # Nothing that names or traces who answered: no address, no session, no user agent.
    assert set(row) == {"id", "period_id", "channel", "entered_by_id", "submitted_at", "service_type", "sex",
                        "age_band", "education", "occupation", "suggestion"} | {f"u{i}" for i in range(1, 10)}


def test_a_bad_score_is_refused_keeping_what_was_typed(app, org):
    period_id = open_survey(app)
    url = public_url(app, period_id)
    citizen = browser(app)
    response = answer(citizen, url, **{**FULL, "U3": "7"}, sex="male", suggestion="Lebih cepat.",
                      service_type="Paspor")
    assert response.status_code == 422
    page = Page(response.get_data(as_text=True))
    assert {"#U3", "#service_type"} <= set(page.links)  # the error summary names them
    values = page.forms[url].values
    assert (values["U1"], values["sex"], values["suggestion"]) == ("3", "male", "Lebih cepat.")
    assert "U3" not in values  # the bad score is not ticked
    none = answer(citizen, url)
    assert none.status_code == 422 and "#U1" in Page(none.get_data(as_text=True)).links
    assert responses(app, period_id) == []


def test_one_answer_per_device_and_period(app, org):
    period_id = open_survey(app)
    url = public_url(app, period_id)
    citizen = browser(app)
    assert answer(citizen, url, **FULL).status_code == 302
    again = citizen.get(url)
    assert again.status_code == 200 and 'data-testid="skm-already"' in again.get_data(as_text=True)
    token = get_page(citizen, "/login").token
    second = citizen.post(url, data={"csrf_token": token, **FULL})
    assert 'data-testid="skm-already"' in second.get_data(as_text=True)
    assert len(responses(app, period_id)) == 1
    # A forged cookie counts for nothing; another device answers.
    other = browser(app)
    other.set_cookie("skm_answered", "[1]", path="/skm")
    assert answer(other, url, **FULL).status_code == 302
    assert len(responses(app, period_id)) == 2


def test_sending_is_rate_limited_per_address(app, org, rate_limits, caplog):
    """Ten answers a minute from one address (a busy counter's wifi), then 429; each from a
    fresh browser, so the device cookie is not what stops them. The limit hit is not logged
    with the address, which would tie it to an anonymous survey."""
    period_id = open_survey(app)
    url = public_url(app, period_id)
    for _ in range(10):
        assert answer(browser(app), url, **FULL).status_code == 302
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    assert answer(browser(app), url, **FULL).status_code == 429
    assert "127.0.0.1" not in caplog.text and not [r for r in caplog.records if r.name == "flask-limiter"]
    assert len(responses(app, period_id)) == 10
    assert browser(app).get(url).status_code == 200  # reading is not limited


def test_a_closed_ended_or_future_period_says_so_and_stores_nothing(app, org):
    with app.app_context():
        today = local_today(None)
        earlier = periods.containing(periods.containing(today, "quarter").start - timedelta(days=1), "quarter")
    ended = open_survey(app, label=earlier.label)
    future = open_survey(app, label=f"{today.year + 1}-Q1")
    current = open_survey(app)
    with app.app_context():
        opening.close_period(Actor.cli(), db.session.get(SurveyPeriod, current))
        db.session.commit()
    citizen = browser(app)
    for period_id, words in ((ended, "ended on"), (future, "takes answers from"), (current, "is closed")):
        url = public_url(app, period_id)
        response = citizen.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and 'data-testid="skm-unavailable"' in html and words in html
        assert url not in Page(html).forms
        token = get_page(citizen, "/login").token
        assert citizen.post(url, data={"csrf_token": token, **FULL}).status_code == 409
        assert responses(app, period_id) == []
    assert citizen.get("/skm/UNIT-A/2026-Q9").status_code == 404
    assert citizen.get(f"/skm/NOPE/{this_quarter(app)}").status_code == 404
    assert citizen.get(f"/skm/UNIT-B/{this_quarter(app)}").status_code == 404
    assert "/skm/UNIT-A" not in get_page(citizen, "/skm").html  # nothing open now


def test_the_units_stable_address_leads_to_the_survey_open_now(app, org):
    """What the counter's poster prints: /skm/<unit> redirects to the period taking answers,
    or says that none does; the poster's QR code and address are that stable address."""
    citizen = browser(app)
    none = citizen.get("/skm/UNIT-A")
    assert none.status_code == 200 and 'data-testid="skm-none-open"' in none.get_data(as_text=True)
    assert citizen.get("/skm/NOPE").status_code == 404
    period_id = open_survey(app)
    moved = citizen.get("/skm/unit-a")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(public_url(app, period_id))
    poster = get_page(signed_in(app, SUPERVISOR_A), f"/staff/surveys/{period_id}/poster").html
    assert "/skm/UNIT-A<" in poster and public_url(app, period_id) not in poster


def test_the_public_list_names_units_with_an_open_survey(app, org):
    open_survey(app)
    citizen = browser(app)
    page = get_page(citizen, "/skm")
    assert f"/skm/UNIT-A/{this_quarter(app)}" in page.links
    assert "/skm" in get_page(citizen, "/").links  # the home page leads to it


# --- paper ---------------------------------------------------------------------------------------

def test_an_officer_types_in_paper_questionnaires_one_after_another(app, org):
    period_id = open_survey(app)
    url = f"/staff/surveys/{period_id}/paper"
    officer = signed_in(app, OFFICER_A)
    token = get_page(officer, url).token
    refused = officer.post(url, data={"csrf_token": token, **FULL, "U2": "0", "suggestion": "Loket kurang"})
    assert refused.status_code == 422
    page = Page(refused.get_data(as_text=True))
    assert "#U2" in page.links and page.forms[url].values["suggestion"] == "Loket kurang"
    saved = officer.post(url, data={"csrf_token": token, **FULL, "U2": "2", "education": "sma"})
    assert saved.status_code == 302 and saved.headers["Location"] == url
    after = get_page(officer, url)
    assert "1 paper questionnaire typed in so far" in after.html
    assert after.forms[url].values.get("U2") is None  # an empty form for the next sheet
    [row] = responses(app, period_id)
    with app.app_context():
        officer_id = User.by_email(OFFICER_A).id
    assert (row["channel"], row["entered_by_id"], row["u2"], row["education"]) == ("paper", officer_id, 2, "sma")
    # A closed period takes no more paper.
    with app.app_context():
        opening.close_period(Actor.cli(), db.session.get(SurveyPeriod, period_id))
        db.session.commit()
    assert officer.post(url, data={"csrf_token": token, **FULL}).status_code == 302
    assert len(responses(app, period_id)) == 1


# --- the tracking page ------------------------------------------------------------------------------

def test_the_tracking_page_invites_to_the_survey_only_once_closed(app, org):
    open_survey(app)
    with app.app_context():
        filed = file_complaint({"unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan",
                                "title": "Antrean panjang", "description": "Menunggu tiga jam.",
                                "privacy": "anonymous"}, actor=Actor.channel("web"))
        db.session.commit()
        code, pin = filed.complaint.tracking_code, filed.pin
    citizen = browser(app)
    assert track(citizen, code, pin).status_code == 302
    html = get_page(citizen, f"/track/{code}").html
    assert 'data-testid="skm-invite"' not in html
    with app.app_context():
        complaint = Complaint.by_code(code)
        officer = Actor.staff(User.by_email(OFFICER_A))
        advance(complaint, "verify", officer, **VERIFY)
        advance(complaint, "follow_up", officer, response="Loket ditambah.")
        advance(complaint, "close", officer, resolution="Loket ketiga dibuka.")
        db.session.commit()
    page = get_page(citizen, f"/track/{code}")
    assert 'data-testid="skm-invite"' in page.html
    link = next(link for link in page.links if link.startswith("/skm/"))
    assert link == f"/skm/UNIT-A/{this_quarter(app)}"  # nothing of the complaint in it
    assert 'rel="noreferrer"' in page.html
    answer(citizen, link, **FULL)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyResponse)) == 1


# --- the counter tablet (kiosk) -----------------------------------------------------------------

def kiosk_url(app, period_id: int, token_of_period: int | None = None) -> str:
    """The period's questionnaire with the counter tablet's token (of this period or another)."""
    from pengaduan.web.survey import kiosk_token
    with app.test_request_context():
        token = kiosk_token(db.session.get(SurveyPeriod, token_of_period or period_id))
    return f"{public_url(app, period_id)}?kiosk={token}"


def test_the_counter_tablet_takes_one_visitor_after_another(app, org):
    period_id = open_survey(app)
    url = kiosk_url(app, period_id)
    tablet = browser(app)
    first = answer(tablet, url, **FULL, sex="female")
    assert first.status_code == 302 and "skm_answered" not in first.headers.get("Set-Cookie", "")
    thanks = get_page(tablet, first.headers["Location"])
    assert url in thanks.links  # the big "next respondent" button, back to an empty kiosk form
    assert 'data-testid="skm-next"' in thanks.html
    assert answer(tablet, url, **FULL, sex="male").status_code == 302
    rows = responses(app, period_id)
    assert [(r["channel"], r["sex"], r["entered_by_id"]) for r in rows] == [("web", "female", None), ("web", "male", None)]
    # The plain thanks page has no such button; a device that answered without the token is
    # still refused, and the tablet's answers left it no cookie to refuse by.
    plain = public_url(app, period_id)
    assert 'data-testid="skm-next"' not in get_page(browser(app), plain + "/thanks").html
    assert 'data-testid="skm-already"' not in tablet.get(plain).get_data(as_text=True)


def test_a_token_for_another_period_or_a_forged_one_lifts_nothing(app, org):
    period_id = open_survey(app)
    other_id = open_survey(app, unit="UNIT-B", by=ADMIN)
    url = public_url(app, period_id)
    for bad in (kiosk_url(app, period_id, token_of_period=other_id), url + "?kiosk=forged", url + "?kiosk="):
        citizen = browser(app)
        page = get_page(citizen, bad)
        assert list(page.forms) == [url]  # the normal questionnaire, sent without the token
        sent = citizen.post(url, data={"csrf_token": page.forms[url].values["csrf_token"], **FULL})
        assert sent.status_code == 302 and sent.headers["Location"] == url + "/thanks"
        assert 'data-testid="skm-next"' not in citizen.get(url + "/thanks?" + bad.split("?")[1]).get_data(as_text=True)
        again = citizen.get(bad)
        assert again.status_code == 200 and 'data-testid="skm-already"' in again.get_data(as_text=True)
        token = get_page(citizen, "/login").token
        assert 'data-testid="skm-already"' in citizen.post(bad, data={"csrf_token": token, **FULL}).get_data(as_text=True)
    assert len(responses(app, period_id)) == 3 and responses(app, other_id) == []


def test_the_counter_tablet_has_a_busy_counters_rate_limit(app, org, rate_limits):
    period_id = open_survey(app)
    other_id = open_survey(app, unit="UNIT-B", by=ADMIN)
    tablet = browser(app)
    url = kiosk_url(app, period_id)
    for _ in range(12):  # past the public ten a minute
        assert answer(tablet, url, **FULL).status_code == 302
    assert len(responses(app, period_id)) == 12
    rate_limits.reset()
    # Another period's token gets the public limit.
    forged = kiosk_url(app, period_id, token_of_period=other_id)
    def send(client):
        token = get_page(client, forged).forms[public_url(app, period_id)].values["csrf_token"]
        return client.post(forged, data={"csrf_token": token, **FULL})
    for _ in range(10):
        assert send(browser(app)).status_code == 302
    assert send(browser(app)).status_code == 429


def test_the_kiosk_link_is_shown_to_who_opens_or_types_in_the_survey(app, org):
    period_id = open_survey(app)
    url = kiosk_url(app, period_id)
    for email, shown in ((SUPERVISOR_A, True), (OFFICER_A, True), (ADMIN, True), (AUDITOR, False)):
        page = get_page(signed_in(app, email), f"/staff/surveys/{period_id}")
        assert any(link.endswith(url) for link in page.links) is shown, email
        assert ('data-testid="kiosk"' in page.html) is shown, email
