"""Errors are answered in one place per surface, in the caller's language: the JSON API
follows Accept-Language for every error (401, 404, 409, 400, list parameters, 429, an
unknown address), `code` staying the same English word; a staff member's 404 never speaks of
a PIN; and a row of any versioned model changed by someone else since it was read (the
database's UPDATE finds another version) is a conflict wherever it is flushed: 409 in the
API, "changed by someone else" on a page, the form with what was typed where there is one."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from pengaduan.errors import ConcurrentChange
from pengaduan.extensions import csrf, db
from pengaduan.models import SupervisionRecord, User
from pengaduan.policy import Actor
from pengaduan.services.oversight import supervision as sv
from pengaduan.unit_of_work import run, transactional
from test_api import API, FILING, bearer, error_of, file, rate_limits, tokens  # noqa: F401 (fixtures)
from test_staff import signed_in
from test_supervision import INDEX, edit_form, error_summary

ID, EN = {"Accept-Language": "id"}, {"Accept-Language": "en"}


def both(send) -> tuple[dict, dict]:
    """The error of the same request asked in Indonesian and in English."""
    return error_of(send(ID)), error_of(send(EN))


def test_401_follows_accept_language(client, tokens):
    """No token, a malformed header, a token that is not valid: the same code, the message
    in the language asked."""
    cases = [
        (lambda h: client.get(f"{API}/complaints", headers=h),
         "Token bearer wajib disertakan.", "A bearer token is required."),
        (lambda h: client.get(f"{API}/complaints", headers={**h, "Authorization": "Basic x"}),
         "Gunakan 'Authorization: Bearer <token>'.", "Use 'Authorization: Bearer <token>'."),
        (lambda h: client.get(f"{API}/complaints", headers={**h, **bearer("wrong")}),
         "Token tidak sah.", "The token is not valid."),
        (lambda h: client.get(f"{API}/complaints/ABCD-EFGH", headers=h),
         "Kirim token bearer, atau PIN pengaduan di X-Tracking-Pin.",
         "Send a bearer token, or the complaint's PIN in X-Tracking-Pin."),
    ]
    for send, indonesian, english in cases:
        assert send(ID).status_code == 401
        in_id, in_en = both(send)
        assert (in_id["code"], in_en["code"]) == ("unauthorized", "unauthorized")
        assert (in_id["message"], in_en["message"]) == (indonesian, english)


def test_404_follows_accept_language_and_names_the_pin_only_to_a_complainant(client, tokens):
    """A wrong PIN speaks of code and PIN; a staff member who may not see a complaint is told
    there is no such complaint (she sent no PIN); an unknown address is a translated 404 too."""
    code, _ = file(client)
    citizen, staff = both(lambda h: client.get(f"{API}/complaints/{code}",
                                               headers={**h, "X-Tracking-Pin": "00000-00000"})), \
        both(lambda h: client.get(f"{API}/complaints/{code}", headers={**h, **bearer(tokens["officer_b"])}))
    assert citizen[0] == {"code": "not_found", "message": "Tidak ada pengaduan dengan kode pelacakan dan PIN ini."}
    assert citizen[1] == {"code": "not_found", "message": "No complaint has this tracking code and PIN."}
    assert staff[0] == {"code": "not_found", "message": "Pengaduan itu tidak ada."}
    assert staff[1] == {"code": "not_found", "message": "There is no such complaint."}
    transition = both(lambda h: client.post(f"{API}/complaints/{code}/transitions", json={"trigger": "verify"},
                                            headers={**h, **bearer(tokens["officer_b"])}))
    assert [e["message"] for e in transition] == ["Pengaduan itu tidak ada.", "There is no such complaint."]
    nowhere = both(lambda h: client.get(f"{API}/nothing", headers=h))
    assert nowhere[0] == {"code": "not_found", "message": "Tidak ada apa pun di alamat ini."}
    assert nowhere[1] == {"code": "not_found", "message": "There is nothing at this address."}


def test_the_staff_complaint_page_404_does_not_speak_of_a_pin(app, client, tokens):
    """Another unit's complaint is a plain 'page not found' for staff; only the citizen's
    tracking form speaks of the code and PIN."""
    code, _ = file(client)
    officer_b = signed_in(app, "officer.b@example.id")
    page = officer_b.get(f"/staff/complaints/{code}")
    assert page.status_code == 404
    body = page.get_data(as_text=True)
    assert "Page not found" in body and "PIN" not in body
    tracking = app.test_client()
    tracking.set_cookie("lang", "en")
    assert "PIN" in tracking.get("/track").get_data(as_text=True)


def test_409_conflict_and_trigger_not_allowed_follow_accept_language(client, tokens):
    """A stale version and a step the state does not offer: 409 with the stable codes."""
    code, pin = file(client)
    url, citizen = f"{API}/complaints/{code}/transitions", {"X-Tracking-Pin": pin}
    stale = both(lambda h: client.post(url, json={"trigger": "withdraw", "version": 99}, headers={**h, **citizen}))
    assert stale[0] == {"code": "conflict",
                        "message": "Data ini telah diubah orang lain sementara itu. Muat ulang lalu coba lagi."}
    assert stale[1] == {"code": "conflict",
                        "message": "Someone else changed this meanwhile. Load it again and retry."}
    refused = client.post(url, json={"trigger": "no_such_step"}, headers={**ID, **citizen})
    assert refused.status_code == 409
    in_id, in_en = both(lambda h: client.post(url, json={"trigger": "no_such_step"}, headers={**h, **citizen}))
    assert in_id["code"] == in_en["code"] == "trigger_not_allowed"
    assert in_id["message"] == "'no_such_step' tidak diizinkan pada status 'received'"
    assert in_en["message"] == "'no_such_step' is not allowed in state 'received'"
    assert in_id["allowed_triggers"] == in_en["allowed_triggers"] and "withdraw" in in_id["allowed_triggers"]


def test_400_and_list_parameters_follow_accept_language(client, tokens):
    """A body that is not a JSON object, and each refused list parameter, in the language asked."""
    not_json = both(lambda h: client.post(f"{API}/complaints", data="x", content_type="text/plain", headers=h))
    assert not_json[0] == {"code": "bad_request",
                           "message": "Kirim objek JSON dengan Content-Type: application/json."}
    assert not_json[1] == {"code": "bad_request",
                           "message": "Send a JSON object with Content-Type: application/json."}
    officer = bearer(tokens["officer_a"])
    for query, field, indonesian, english in (
            ("limit=many", "limit", "harus bilangan bulat", "must be a whole number"),
            ("limit=1000", "limit", "harus antara 1 dan 100", "must be between 1 and 100"),
            ("state=nope", "state", "status tidak dikenal", "unknown state"),
            ("overdue=maybe", "overdue", "harus true atau false", "must be true or false")):
        in_id, in_en = both(lambda h: client.get(f"{API}/complaints?{query}", headers={**h, **officer}))
        assert in_id["code"] == in_en["code"] == "invalid_fields"
        assert (in_id["fields"], in_en["fields"]) == ({field: indonesian}, {field: english})
        assert (in_id["message"], in_en["message"]) == (f"{field}: {indonesian}", f"{field}: {english}")


def test_429_follows_accept_language(client, tokens, rate_limits):
    """The filing after the limit is 429 with its stable code and a translated message."""
    for _ in range(10):
        assert client.post(f"{API}/complaints", json=FILING).status_code == 201
    in_id, in_en = both(lambda h: client.post(f"{API}/complaints", json=FILING, headers=h))
    assert in_id == {"code": "too_many_requests",
                     "message": "Terlalu banyak permintaan. Tunggu sebentar lalu coba lagi."}
    assert in_en == {"code": "too_many_requests", "message": "Too many requests. Wait a moment and try again."}


def test_405_is_translated_in_the_api(client, tokens):
    in_id, in_en = both(lambda h: client.delete(f"{API}/units", headers=h))
    assert in_id == {"code": "method_not_allowed", "message": "Metode ini tidak diizinkan di sini."}
    assert in_en == {"code": "method_not_allowed", "message": "This method is not allowed here."}


# --- a versioned model changed by someone else (not a complaint) --------------------------

@pytest.fixture
def record_id(app):
    """A supervision record (a versioned model) led by supervisor A of unit A."""
    from pengaduan.services import create_unit, create_user

    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_user("supervisor.a@example.id", "supervisor", name="Bambang Kepala",
                    password="correct horse battery", unit_codes=["UNIT-A"])
        db.session.commit()
        record = sv.record_supervision(Actor.staff(User.by_email("supervisor.a@example.id")), {
            "kind": "coaching", "held_on": sv.today(), "title": "Pembinaan petugas",
            "units": ["UNIT-A"], "actions": []})
        db.session.commit()
        return record.id


def someone_else_saves(record_id: int) -> None:
    """Another writer's change of the record, as the database sees it: its version moves on
    under the session's feet (the same transaction, so it works on SQLite's single writer
    too; the session still holds the version it read)."""
    with db.session.no_autoflush:  # a change this session holds stays unflushed, for its commit
        db.session.execute(text("UPDATE supervision_records SET version = version + 1, title = 'Judul lain' "
                                "WHERE id = :id"), {"id": record_id})


def test_a_stale_flush_in_a_service_is_a_concurrent_change(app, record_id):
    """The version check passes (the caller saw what the session read), but the UPDATE finds
    another version: ConcurrentChange, not StaleDataError, and nothing is saved."""
    with app.app_context():
        record = db.session.get(SupervisionRecord, record_id)
        someone_else_saves(record_id)
        actor = Actor.staff(User.by_email("supervisor.a@example.id"))
        with pytest.raises(ConcurrentChange):
            sv.update_supervision(record, actor, {"kind": "coaching", "held_on": sv.today().isoformat(),
                                                  "title": "Judul saya", "units": ["UNIT-A"]},
                                  expected_version=record.version)
        db.session.rollback()
        assert (db.session.get(SupervisionRecord, record_id).title, record.version) == ("Pembinaan petugas", 1)


def test_a_stale_commit_in_the_unit_of_work_is_a_concurrent_change(app, record_id):
    """A change left for the commit to flush: the boundary rolls back and raises ConcurrentChange."""
    with app.app_context():
        def work():
            db.session.get(SupervisionRecord, record_id).title = "Judul saya"
            someone_else_saves(record_id)

        with pytest.raises(ConcurrentChange):
            run(work)
        assert db.session.get(SupervisionRecord, record_id).title == "Pembinaan petugas"


def test_a_stale_edit_form_keeps_what_was_typed(app, record_id, monkeypatch):
    """Two supervisors who both passed the version check: the one whose UPDATE finds another
    version gets the form again (409) with her words and the conflict message."""
    supervisor = signed_in(app, "supervisor.a@example.id")
    form = edit_form(supervisor, record_id, title="Judul menurut Bambang", findings="Temuan Bambang")
    checked = sv._check

    def check_then_lose_the_race(*args, **kwargs):
        result = checked(*args, **kwargs)
        someone_else_saves(record_id)
        return result

    monkeypatch.setattr(sv, "_check", check_then_lose_the_race)
    response = supervisor.post(f"{INDEX}/{record_id}/edit", data=form)
    assert response.status_code == 409
    assert error_summary(response) == [
        "Someone else changed this record meanwhile. What you typed is kept; check and send it again."]
    assert "Temuan Bambang" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(SupervisionRecord, record_id).title == "Pembinaan petugas"


@pytest.mark.parametrize("path, language", [("/stale-change", "en"), ("/api/stale-change", "id")])
def test_a_stale_commit_is_answered_as_a_conflict_on_every_surface(app, record_id, path, language):
    """A view without a form of its own whose commit finds another version: a page saying
    someone else changed it (with a way to load it again), or the API's 409 in the language
    asked."""
    def stale_view():
        db.session.get(SupervisionRecord, record_id).title = "Judul saya"
        someone_else_saves(record_id)
        return "saved"

    csrf.exempt(stale_view)  # a test route: no form, no token
    app.add_url_rule(path, "stale_change", transactional(stale_view), methods=["POST"])
    client = app.test_client()
    client.set_cookie("lang", language)
    response = client.post(path, headers={"Accept-Language": language})
    assert response.status_code == 409
    if path.startswith("/api/"):
        assert error_of(response) == {
            "code": "conflict",
            "message": "Data ini telah diubah orang lain sementara itu. Muat ulang lalu coba lagi."}
    else:
        body = response.get_data(as_text=True)
        assert "Changed by someone else" in body and "Load the page again" in body
        assert "Someone else changed this meanwhile. Load it again and retry." in body
    with app.app_context():
        assert db.session.get(SupervisionRecord, record_id).title == "Pembinaan petugas"


@pytest.mark.parametrize("referrer, link", [
    ("http://localhost/staff/supervision?unit=UNIT-A", "/staff/supervision?unit=UNIT-A"),
    ("https://elsewhere.example/login?next=x", "/stale-change"),  # never a link off the site
    (None, "/stale-change"),
])
def test_the_conflict_page_links_back_within_the_site_only(app, record_id, referrer, link):
    """"Load the page again" returns to the page the form was sent from when that page is
    on this site; a foreign Referer never becomes a link."""
    def stale_view():
        db.session.get(SupervisionRecord, record_id).title = "Judul saya"
        someone_else_saves(record_id)
        return "saved"

    csrf.exempt(stale_view)  # a test route: no form, no token
    app.add_url_rule("/stale-change", "stale_change", transactional(stale_view), methods=["POST"])
    client = app.test_client()
    client.set_cookie("lang", "en")
    response = client.post("/stale-change", headers={"Referer": referrer} if referrer else {})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert f'<a href="{link}">Load the page again</a>' in body
    assert "elsewhere.example" not in body
