"""The results of a survey period on the staff pages (/staff/surveys/<id>/results): the IKM
report as a page, CSV and PDF, the improvement actions that follow up its low elements (kept as
supervision actions, each change audited), and who may see or change what.

Requests run outside any pushed application context (as in test_staff.py): data is built and
checked in short `with app.app_context():` blocks."""
from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import AuditEvent, SupervisionAction, SupervisionRecord, SurveyPeriod, User
from pengaduan.policy import Actor
from pengaduan.services.oversight.reports import pdf_missing
from pengaduan.services.surveys import follow_up
from pengaduan.services.surveys.report import skm_report
from test_ikm import WORKED_TOTALS, _period, _store, rows_for
from test_staff import PASSWORD, get_page, signed_in, token_of

needs_pdf = pytest.mark.skipif(
    pdf_missing() is not None and os.environ.get("PENGADUAN_REQUIRE_PDF") != "1",
    reason=str(pdf_missing()))

OFFICER_A, OFFICER_B = "officer.a@example.id", "officer.b@example.id"
SUPERVISOR_A, SUPERVISOR_B, AUDITOR = "supervisor.a@example.id", "supervisor.b@example.id", "auditor@example.id"


@pytest.fixture
def survey(app):
    """UNIT-A's 2026-Q3: the worked example (29 questionnaires: 20 for KTP-el on the web, 9 for
    KK on paper), three suggestions and a profile; a supervisor of UNIT-B besides the small
    organisation's staff."""
    from organisation import organisation, seed_world
    from pengaduan.services import create_user

    with app.app_context():
        seed_world()
        create_user(SUPERVISOR_B, "supervisor", password=PASSWORD, unit_codes=["UNIT-B"])
        world = organisation()
        period = _period(world.unit_a)
        rows = rows_for(29, WORKED_TOTALS)
        _store(period, rows[:20], "KTP-el")
        _store(period, rows[20:], "KK", channel="paper")
        responses = period_responses(period)
        for i, response in enumerate(responses[:3]):
            response.suggestion = f"Saran nomor {i + 1}: antrean terlalu panjang"
            response.submitted_at = response.submitted_at + timedelta(minutes=i)
        responses[0].sex, responses[1].sex, responses[2].sex = "female", "female", "male"
        db.session.commit()
        return period.id


def period_responses(period):
    from pengaduan.models import SurveyResponse

    return db.session.scalars(select(SurveyResponse).where(SurveyResponse.period_id == period.id)
                              .order_by(SurveyResponse.id)).all()


def url(period_id, suffix=""):
    return f"/staff/surveys/{period_id}/results{suffix}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_the_report_page_shows_the_ikm_the_elements_and_how_it_was_computed(app, survey):
    client = signed_in(app, OFFICER_A)
    page = client.get(url(survey))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'data-testid="ikm">91.48<', html)
    assert re.search(r'data-testid="mutu">A<', html)
    assert re.search(r'data-testid="respondents">29<', html)
    words = text_of(html)
    assert "web 20 · paper 9" in words
    assert "U3 Completion time 100 29 3.45" in words  # code, name, total, answered, NRR
    lowest = text_of(re.search(r'data-testid="lowest">(.*?)</ol>', html, re.S).group(1))
    assert lowest.startswith("U3 Completion time : 3.45") and "U2" in lowest and "U5" in lowest
    steps = text_of(re.search(r'data-testid="steps">(.*?)</dl>', html, re.S).group(1))
    assert "955/29 = 32.931034…" in steps and "1/9 = 3.659003…" in steps and "91.475095… → 91.48" in steps
    grades = text_of(re.search(r'data-testid="grades">(.*?)</table>', html, re.S).group(1))
    assert "A 88.31 – 100.00 Very good 3.5324 – 4.0000" in grades
    assert "B 76.61 – 88.30 Good 3.0644 – 3.5320" in grades
    assert "<svg" in html and "NRR per element (1 to 4)" in html  # the chart, with its table
    assert "Saran nomor 3" in html and words.index("Saran nomor 3") < words.index("Saran nomor 1")
    # A suggestion is dated by its day only: the minute could match a respondent at the counter.
    listed = text_of(re.search(r'class="skm-suggestions">(.*?)</ul>', html, re.S).group(1))
    assert not re.search(r"\d\d:\d\d", listed) and "WIB" not in listed
    assert "KTP-el" in words and "KK" in words
    assert "All services 29 3.6590… 91.48 A Very good U3, U2, U5" in words
    assert "Female 2" in words and "Male 1" in words
    assert "Plan an improvement action" not in html  # officers read, supervisors follow up


def test_the_page_is_in_indonesian_by_default(app, survey):
    client = signed_in(app, OFFICER_A)
    client.set_cookie("lang", "id")
    html = client.get(url(survey)).get_data(as_text=True)
    assert "Waktu penyelesaian" in html and "91,48" in html and "Sangat baik" in html


def test_the_csv_has_the_figures_as_data(app, survey):
    client = signed_in(app, AUDITOR)
    response = client.get(url(survey, "?format=csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "skm-UNIT-A-2026-Q3.csv" in response.headers["Content-Disposition"]
    rows = {(r[0], r[1]): r[2] for r in csv.reader(io.StringIO(response.get_data(as_text=True)))}
    assert rows[("respondents", "total")] == "29" and rows[("respondents", "paper")] == "9"
    assert rows[("ikm", "ikm")] == "91.48" and rows[("ikm", "mutu")] == "A"
    assert rows[("ikm", "U4.nrr")] == "4.00" and rows[("ikm", "U3.answered")] == "29"
    assert rows[("ikm", "lowest")] == "U3 U2 U5"
    assert rows[("ikm.service.KK", "respondents")] == "9"
    assert rows[("profile.sex", "female")] == "2" and rows[("profile.sex", "not_stated")] == "26"


@needs_pdf
def test_the_pdf_is_a_document_to_sign(app, survey):
    from pypdf import PdfReader

    client = signed_in(app, SUPERVISOR_A)
    response = client.get(url(survey, ".pdf"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    same = client.get(url(survey, "?format=pdf"))  # the same document by either address
    assert same.status_code == 200 and same.mimetype == "application/pdf"
    assert same.headers["Content-Disposition"] == response.headers["Content-Disposition"]
    words = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages))
    assert "91.48" in words and "Prepared by" in words and "Completion time" in words


def test_a_supervisor_follows_up_a_low_element_until_done(app, survey):
    client = signed_in(app, SUPERVISOR_A)
    page = get_page(client, url(survey))
    form = page.forms[url(survey, "/actions")]
    assert form.values["element"] == "U3"  # the lowest, prefilled
    response = client.post(url(survey, "/actions"), data={
        "csrf_token": page.token, "element": "U3", "description": "Tambah loket antrean",
        "owner": "Kepala Seksi Pelayanan", "due_on": "2026-12-31"})
    assert response.status_code == 302
    with app.app_context():
        record = db.session.scalars(select(SupervisionRecord).where(SupervisionRecord.survey_period_id == survey)).one()
        assert record.kind == "skm_follow_up" and [u.code for u in record.units] == ["UNIT-A"]
        assert record.title.endswith("2026-Q3 — Dinas A")
        action = record.actions[0]
        assert (action.element, action.status, action.created_at is not None) == ("U3", "open", True)
        action_id, record_id = action.id, record.id
    # Done needs its evidence; the refused form keeps what was typed.
    refused = client.post(url(survey, f"/actions/{action_id}"), data={
        "csrf_token": page.token, "status": "done", "completed_on": "", "evidence": ""})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="action-%d-evidence"' % action_id in html and "say what shows the action was done" in html
    with app.app_context():
        day_set = follow_up.created_on(db.session.get(SupervisionAction, action_id),
                                       db.session.get(SurveyPeriod, survey))
    done = client.post(url(survey, f"/actions/{action_id}"), data={
        "csrf_token": page.token, "status": "done", "completed_on": day_set.isoformat(),
        "evidence": "Foto loket baru, SK Kepala Dinas"})
    assert done.status_code == 302
    second = client.post(url(survey, "/actions"), data={
        "csrf_token": page.token, "element": "U2", "description": "Sederhanakan alur", "owner": "Sekretaris"})
    assert second.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SupervisionRecord)
                                 .where(SupervisionRecord.survey_period_id == survey)) == 1
        result = skm_report(db.session.get(SurveyPeriod, survey), "en")
        assert result.follow_up.total == 2 and result.follow_up.counts["done"] == 1
        assert result.follow_up.share_done == 0.5 and result.follow_up.days == [0]
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("supervision.%"))
                                    .order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["supervision.recorded", "supervision.action_status",
                                              "supervision.action_added"]
        payload = json.loads(events[1].body)["payload"]
        assert payload["skm_actions"][0]["element"] == "U3"
        assert "Foto loket" not in events[1].body and "loket" not in events[0].body  # digests only
    html = client.get(url(survey)).get_data(as_text=True)
    figures = text_of(re.search(r'data-testid="follow-up-figures">(.*?)</ul>', html, re.S).group(1))
    assert figures.startswith("50% done: 1 of 2 actions 0.0 median days to done 0 longest")
    # The supervision record shows the new kind and links back to the report.
    record_page = client.get(f"/staff/supervision/{record_id}").get_data(as_text=True)
    assert "Follow-up of the SKM results" in record_page
    assert f'href="/staff/surveys/{survey}/results#follow-up"' in record_page
    # ...and its generic forms do not change these actions.
    refused = client.post(f"/staff/supervision/{record_id}/actions/{action_id}",
                          data={"csrf_token": page.token, "status": "open"})
    assert refused.status_code == 422


def test_an_action_needs_an_element_a_description_and_an_owner(app, survey):
    client = signed_in(app, SUPERVISOR_A)
    token = token_of(client)
    response = client.post(url(survey, "/actions"), data={
        "csrf_token": token, "element": "U0", "description": "Perbaiki ruang tunggu", "owner": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="Perbaiki ruang tunggu"' in html
    assert 'id="new-element-error"' in html and 'id="new-owner-error"' in html
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SupervisionRecord)) == 0


def test_who_may_see_and_follow_up(app, survey):
    assert signed_in(app, OFFICER_B).get(url(survey)).status_code == 404  # not their unit
    assert signed_in(app, SUPERVISOR_B).get(url(survey, "?format=csv")).status_code == 404
    assert signed_in(app, OFFICER_A).get(url(survey)).status_code == 200
    assert signed_in(app, AUDITOR).get(url(survey)).status_code == 200
    assert signed_in(app, "admin@example.id").get(url(survey)).status_code == 200
    assert app.test_client().get(url(survey)).status_code == 302  # to sign in
    assert signed_in(app, OFFICER_A).get(url(99999)).status_code == 404
    officer = signed_in(app, OFFICER_A)
    data = {"csrf_token": token_of(officer), "element": "U3", "description": "x", "owner": "y"}
    assert officer.post(url(survey, "/actions"), data=data).status_code == 403
    auditor = signed_in(app, AUDITOR)
    assert auditor.post(url(survey, "/actions"), data={**data, "csrf_token": token_of(auditor)}).status_code == 403
    other = signed_in(app, SUPERVISOR_B)
    assert other.post(url(survey, "/actions"), data={**data, "csrf_token": token_of(other)}).status_code == 404
    supervisor = signed_in(app, SUPERVISOR_A)
    assert supervisor.post(url(survey, "/actions"), data={**data, "csrf_token": "wrong"}).status_code in (400, 403)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(SupervisionAction)) == 0


def test_the_service_refuses_a_follow_up_from_someone_else(app, survey):
    with app.app_context():
        period = db.session.get(SurveyPeriod, survey)
        with pytest.raises(Exception) as refused:
            follow_up.add_action(period, Actor.staff(User.by_email(OFFICER_A)),
                                 {"element": "U1", "description": "x", "owner": "y"})
        assert type(refused.value).__name__ == "Forbidden"
        db.session.rollback()


def test_the_follow_up_record_keeps_its_kind_and_unit_on_the_supervision_pages(app, survey):
    """The generic supervision forms may change the record's words, not what ties it to the
    survey: no new record of that kind, no other kind or unit, no generic action."""
    from pengaduan.errors import InvalidFields
    from pengaduan.services.oversight import supervision as sv

    with app.app_context():
        supervisor = Actor.staff(User.by_email(SUPERVISOR_A))
        period = db.session.get(SurveyPeriod, survey)
        follow_up.add_action(period, supervisor, {"element": "U3", "description": "Loket", "owner": "Siti"})
        db.session.commit()
        record = follow_up.record_of(period)
        base = {"kind": "skm_follow_up", "held_on": record.held_on.isoformat(), "title": record.title,
                "units": ["UNIT-A"]}
        with pytest.raises(InvalidFields):
            sv.record_supervision(supervisor, {**base, "title": "Baru"})
        with pytest.raises(InvalidFields):
            sv.update_supervision(record, supervisor, {**base, "kind": "coaching"})
        with pytest.raises(InvalidFields):
            sv.add_actions(record, supervisor, [{"description": "x", "owner": "y", "due_on": ""}])
        with pytest.raises(InvalidFields):
            sv.set_action_status(record.actions[0], supervisor, "done")
        sv.update_supervision(record, supervisor, {**base, "findings": "Antrean panjang di loket 2"})
        db.session.commit()
        assert record.findings == "Antrean panjang di loket 2" and record.kind == "skm_follow_up"
