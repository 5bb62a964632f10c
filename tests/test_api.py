"""JSON API v1 (design.md section 5): every operation for each kind of caller, the error
shapes and codes, and no identity where the web would not show it."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pengaduan.extensions import db, limiter
from pengaduan.models import ApiToken, AuditEvent, Complaint, User, utcnow
from pengaduan.policy import Actor
from pengaduan.services import create_category, create_unit, create_user, issue_token
from pengaduan.services.administration.accounts import revoke_tokens

API = "/api/v1"
PASSWORD = "correct horse battery"
FILING = {"title": "KTP-el belum jadi", "description": "Sudah tiga bulan menunggu.", "unit": "UNIT-A",
          "category": "GENERAL", "privacy": "public", "name": "Budi Hartono", "nik": "3201010101010001",
          "email": "budi@example.id", "phone": "081234567890", "consent": True}
VERIFY = {"trigger": "verify", "unit": "UNIT-A", "category": "GENERAL", "classification": "pengaduan"}
IDENTITY_VALUES = ("Budi Hartono", "3201010101010001", "budi@example.id", "081234567890")
STAFF = {"officer_a": ("officer.a@example.id", "officer", ["UNIT-A"]),
         "officer_b": ("officer.b@example.id", "officer", ["UNIT-B"]),
         "supervisor_a": ("supervisor.a@example.id", "supervisor", ["UNIT-A"]),
         "auditor": ("auditor@example.id", "auditor", []),
         "admin": ("admin@example.id", "admin", [])}


@pytest.fixture
def tokens(app) -> dict[str, str]:
    """Two units, a category, and a bearer token per staff role."""
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_category("GENERAL", "Umum")
        create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
        result = {}
        for name, (email, role, units) in STAFF.items():
            user, _ = create_user(email, role, password=PASSWORD, unit_codes=units)
            result[name] = issue_token(user)
        db.session.commit()
    return result


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def error_of(response) -> dict:
    assert response.is_json, response.data[:200]
    return response.get_json()["error"]


def file(client, **overrides) -> tuple[str, str]:
    response = client.post(f"{API}/complaints", json={**FILING, **overrides})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    return body["tracking_code"], body["pin"]


def test_units_lists_each_units_categories(client, tokens):
    """Anyone reads the units with the categories each offers."""
    units = {u["code"]: [c["code"] for c in u["categories"]] for u in client.get(f"{API}/units").get_json()}
    assert units == {"UNIT-A": ["GENERAL"], "UNIT-B": ["ONLY-B", "GENERAL"]} or \
        units == {"UNIT-A": ["GENERAL"], "UNIT-B": ["GENERAL", "ONLY-B"]}


def test_filing_answers_code_pin_and_deadline_and_enters_the_workflow(app, client, tokens):
    """201 with the tracking code, the PIN and the verification deadline; channel api."""
    response = client.post(f"{API}/complaints", json=FILING)
    body = response.get_json()
    assert response.status_code == 201
    assert set(body) == {"tracking_code", "pin", "state", "received_at", "late_filing", "due_at"}
    assert body["state"] == "received" and body["due_at"].endswith("+00:00")
    with app.app_context():
        complaint = Complaint.by_code(body["tracking_code"])
        assert (complaint.channel, complaint.complainant_nik) == ("api", FILING["nik"])
        assert db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()[-1] == "complaint.filed"


def test_filing_errors_name_the_fields(client, tokens):
    """Not JSON: 400; missing and invalid fields: 422 naming each one, in the language asked."""
    assert error_of(client.post(f"{API}/complaints", data="x", content_type="text/plain"))["code"] == "bad_request"
    response = client.post(f"{API}/complaints", json={"title": "", "unit": "NOPE", "nik": "12"},
                           headers={"Accept-Language": "en"})
    error = error_of(response)
    assert response.status_code == 422 and error["code"] == "invalid_fields"
    assert set(error["fields"]) >= {"title", "description", "unit", "nik", "name"}
    assert error["fields"]["nik"] == "must be 16 digits"


@pytest.mark.parametrize("field", ["name", "nik", "email", "phone", "address"])
def test_an_identity_needs_consent_which_is_stored_with_its_version(app, client, tokens, field):
    """Any one identity field without `consent: true` is a 422 naming `consent` (false and
    "no" are not consent); with it, the complaint keeps when and to which text version the
    complainant agreed. An anonymous filing with no identity needs none."""
    from pengaduan.services.complaints.intake import CONSENT_VERSION

    value = {"name": "Budi", "nik": "3201010101010001", "email": "budi@example.id",
             "phone": "081234567890", "address": "Jl. Merdeka 1"}[field]
    bare = {"unit": "UNIT-A", "title": "Jalan", "description": "Rusak.", "privacy": "anonymous"}
    for consent in ({}, {"consent": False}, {"consent": "no"}):
        response = client.post(f"{API}/complaints", json={**bare, field: value, **consent},
                               headers={"Accept-Language": "en"})
        assert response.status_code == 422 and set(error_of(response)["fields"]) == {"consent"}
    agreed = client.post(f"{API}/complaints", json={**bare, field: value, "consent": True})
    without_identity = client.post(f"{API}/complaints", json=bare)
    assert agreed.status_code == without_identity.status_code == 201
    with app.app_context():
        complaint = Complaint.by_code(agreed.get_json()["tracking_code"])
        assert complaint.consent_version == CONSENT_VERSION
        assert abs((utcnow() - complaint.consent_at).total_seconds()) < 600
        anonymous = Complaint.by_code(without_identity.get_json()["tracking_code"])
        assert (anonymous.consent_at, anonymous.consent_version) == (None, None)
    document = client.get(f"{API}/openapi.json").get_json()
    assert document["components"]["schemas"]["Filing"]["properties"]["consent"]["type"] == "boolean"


def test_citizen_reads_with_pin_and_wrong_pin_looks_like_unknown_code(client, tokens):
    """The PIN shows the public view without identity; a wrong PIN and an unknown code give
    the same 404; no credentials at all is 401."""
    code, pin = file(client)
    mine = client.get(f"{API}/complaints/{code}", headers={"X-Tracking-Pin": pin})
    body = mine.get_json()
    assert mine.status_code == 200 and body["tracking_code"] == code
    assert "identity" not in body and body["allowed_triggers"] == ["withdraw"]
    assert [entry["title"] for entry in body["timeline"]]
    wrong = client.get(f"{API}/complaints/{code}", headers={"X-Tracking-Pin": "000000"})
    unknown = client.get(f"{API}/complaints/ZZZZ-ZZZZ", headers={"X-Tracking-Pin": pin})
    assert wrong.status_code == unknown.status_code == 404
    assert error_of(wrong) == error_of(unknown)
    assert client.get(f"{API}/complaints/{code}").status_code == 401


@pytest.mark.parametrize("privacy", ["public", "anonymous", "confidential"])
def test_staff_see_identity_only_as_on_the_web(client, tokens, privacy):
    """The unit's officer sees a public complaint's identity; nobody sees a masked one; the
    auditor reads every unit but never the identity; another unit's officer gets 404. Her
    special needs are listed to staff as on the case page; her note on them is part of the
    identity."""
    code, _ = file(client, privacy=privacy, contact_needs=["sign_language"])
    officer = client.get(f"{API}/complaints/{code}", headers=bearer(tokens["officer_a"])).get_json()
    auditor = client.get(f"{API}/complaints/{code}", headers=bearer(tokens["auditor"])).get_json()
    if privacy == "public":
        assert officer["identity"]["nik"] == FILING["nik"]
    else:
        assert officer["identity"] is None
    assert officer["contact_needs"] == auditor["contact_needs"] == ["sign_language"]
    assert auditor["identity"] is None and auditor["allowed_triggers"] == []
    for body in (auditor, *([officer] if privacy != "public" else [])):
        assert not any(value in str(body) for value in IDENTITY_VALUES)
    assert client.get(f"{API}/complaints/{code}", headers=bearer(tokens["officer_b"])).status_code == 404
    assert client.get(f"{API}/complaints/{code}", headers=bearer(tokens["admin"])).status_code == 404


def test_bad_revoked_and_deactivated_tokens_are_refused(app, client, tokens):
    """401 for a malformed header, an unknown token, a revoked one and a deactivated user's;
    the last use of a good token is recorded."""
    code, _ = file(client)
    for header in ({"Authorization": "Basic abc"}, bearer("pgd_unknown")):
        assert error_of(client.get(f"{API}/complaints", headers=header))["code"] == "unauthorized"
    assert client.get(f"{API}/complaints", headers=bearer(tokens["officer_a"])).status_code == 200
    with app.app_context():
        user = User.by_email(STAFF["officer_a"][0])
        assert db.session.scalar(select(ApiToken.last_used_at).where(ApiToken.user_id == user.id))
        revoke_tokens(user, actor=Actor.cli("test"))
        User.by_email(STAFF["officer_b"][0]).active = False
        db.session.commit()
    assert client.get(f"{API}/complaints/{code}", headers=bearer(tokens["officer_a"])).status_code == 401
    assert client.get(f"{API}/complaints", headers=bearer(tokens["officer_b"])).status_code == 401


def test_staff_list_filters_pages_and_refuses_other_roles(client, tokens):
    """Officers list their units only, by state and unit, a page at a time with a cursor;
    bad parameters are 422; admins are 403; no token is 401."""
    codes = [file(client)[0] for _ in range(3)]
    other, _ = file(client, unit="UNIT-B", category="ONLY-B")
    headers = bearer(tokens["officer_a"])
    first = client.get(f"{API}/complaints?limit=2", headers=headers).get_json()
    second = client.get(f"{API}/complaints?limit=2&cursor={first['next_cursor']}", headers=headers).get_json()
    seen = [c["tracking_code"] for c in first["items"] + second["items"]]
    assert sorted(seen) == sorted(codes) and second["next_cursor"] is None
    assert not any("identity" in c for c in first["items"])
    auditor = client.get(f"{API}/complaints?unit=UNIT-B", headers=bearer(tokens["auditor"])).get_json()
    assert [c["tracking_code"] for c in auditor["items"]] == [other]
    assert client.get(f"{API}/complaints?state=verified", headers=headers).get_json()["items"] == []
    for query in ("limit=0", "limit=abc", "state=nope", "overdue=maybe"):
        response = client.get(f"{API}/complaints?{query}", headers=headers)
        assert response.status_code == 422, query
        assert set(error_of(response)["fields"]) & {"limit", "state", "overdue"}
    assert client.get(f"{API}/complaints", headers=bearer(tokens["admin"])).status_code == 403
    assert client.get(f"{API}/complaints").status_code == 401


def test_transitions_go_through_the_workflow_with_its_errors(app, client, tokens):
    """Staff verify (200), a step not allowed now is 409 with the allowed triggers, missing
    fields 422 named, a stale version 409 conflict, a role that may not fire it 403; the
    complainant withdraws with the PIN but cannot fire staff steps."""
    code, pin = file(client)
    url, officer = f"{API}/complaints/{code}/transitions", bearer(tokens["officer_a"])
    refused = client.post(url, headers=officer, json={"trigger": "close"})
    assert refused.status_code == 409 and error_of(refused)["allowed_triggers"] == ["verify", "request_info", "reject"]
    missing = client.post(url, headers=officer, json={"trigger": "verify"})
    assert missing.status_code == 422 and {"unit", "category", "classification"} <= set(error_of(missing)["fields"])
    stale = client.post(url, headers=officer, json={**VERIFY, "version": 99})
    assert stale.status_code == 409 and error_of(stale)["code"] == "conflict"
    done = client.post(url, headers=officer, json={**VERIFY, "version": 1})
    assert done.status_code == 200 and done.get_json()["state"] == "verified"
    assert client.post(url, headers=bearer(tokens["auditor"]), json={"trigger": "follow_up", "response": "x"}).status_code == 403
    citizen = {"X-Tracking-Pin": pin}
    assert client.post(url, headers=citizen, json={"trigger": "follow_up", "response": "x"}).status_code == 403
    assert client.post(url, headers={"X-Tracking-Pin": "000000"}, json={"trigger": "withdraw"}).status_code == 404
    assert client.post(url, headers=officer, json=["verify"]).status_code == 400
    assert client.post(url, headers=officer, json={}).status_code == 422
    withdrawn = client.post(url, headers=citizen, json={"trigger": "withdraw", "comment": "Sudah beres."})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["state"] == "closed"
    with app.app_context():
        assert Complaint.by_code(code).closure_reason == "withdrawn"


def test_events_are_for_staff_of_the_unit(client, tokens):
    """The timeline with internal steps for the unit's staff; 401 by PIN, 404 elsewhere."""
    code, pin = file(client)
    client.post(f"{API}/complaints/{code}/transitions", headers=bearer(tokens["officer_a"]), json=VERIFY)
    events = client.get(f"{API}/complaints/{code}/events", headers=bearer(tokens["supervisor_a"])).get_json()
    assert [(e["kind"], e["trigger"]) for e in events] == [("filed", "file"), ("transition", "verify")]
    assert client.get(f"{API}/complaints/{code}/events", headers={"X-Tracking-Pin": pin}).status_code == 401
    assert client.get(f"{API}/complaints/{code}/events", headers=bearer(tokens["officer_b"])).status_code == 404


def test_body_over_the_request_limit_is_413_in_json(app, client, tokens):
    """The request limit (every attachment at its size plus the form) holds for the API."""
    big = client.post(f"{API}/complaints", data="{" + " " * app.config["MAX_CONTENT_LENGTH"] + "}",
                      content_type="application/json")
    assert big.status_code == 413 and error_of(big)["code"] == "request_entity_too_large"


@pytest.fixture
def rate_limits(app):
    """Flask-Limiter on for this app (conftest creates apps with it off), before any request."""
    was = limiter.enabled
    app.config["RATELIMIT_ENABLED"] = True
    limiter.init_app(app)
    limiter.reset()
    yield limiter
    limiter.reset()
    limiter.enabled = was
    app.config["RATELIMIT_ENABLED"] = False


def test_filing_and_pin_guessing_are_rate_limited(client, tokens, rate_limits):
    """The eleventh filing in a minute is 429; the eleventh wrong PIN in a minute from one
    address is 429 in JSON, the right one included; the owner at another address gets in."""
    answers = [client.post(f"{API}/complaints", json=FILING) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [201] * 10 and answers[10].status_code == 429
    code, pin = answers[0].get_json()["tracking_code"], answers[0].get_json()["pin"]
    guesses = [client.get(f"{API}/complaints/{code}", headers={"X-Tracking-Pin": "00000-00000"},
                          environ_base={"REMOTE_ADDR": "198.51.100.1"}).status_code
               for _ in range(11)]
    assert guesses[:10] == [404] * 10 and guesses[10] == 429
    limited = client.get(f"{API}/complaints/{code}", headers={"X-Tracking-Pin": pin},
                         environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert limited.status_code == 429 and error_of(limited)["code"] == "too_many_requests"
    owner = client.get(f"{API}/complaints/{code}", headers={"X-Tracking-Pin": pin},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert owner.status_code == 200


def test_openapi_document_describes_every_route_and_its_page_renders(app, client):
    """Every API route is in the document (and nothing more), and /docs shows each one."""
    spec = client.get(f"{API}/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    routes = {(rule.rule.removeprefix(API).replace("<code>", "{code}"), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith(API)
              and rule.endpoint not in ("api_v1.openapi_json", "api_v1.docs")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes
    page = client.get(f"{API}/docs").get_data(as_text=True)
    assert all(f"{method} {path}" in page for path, method in documented)


def test_token_reads_stay_readers_while_others_write(app, tokens, monkeypatch):
    """Staff list complaints with their tokens (each request marks its token as used) while
    citizens file through the API from other threads: no request fails. On SQLite a read
    transaction that later writes fails when another writer committed in between, so the
    mark is written in a short transaction of its own, before the request's reads."""
    import threading
    from datetime import timedelta

    import pengaduan.api.auth as api_auth

    monkeypatch.setattr(api_auth, "TOUCH_EVERY", timedelta(0))  # every request marks its token
    failures, lock = [], threading.Lock()

    def run(work, rounds=15):
        client = app.test_client()
        for _ in range(rounds):
            response = work(client)
            if response.status_code not in (200, 201):
                with lock:
                    failures.append((response.status_code, response.get_data(as_text=True)[:200]))

    readers = [lambda c, t=tokens[name]: c.get(f"{API}/complaints", headers=bearer(t))
               for name in ("officer_a", "officer_b", "supervisor_a", "auditor")]
    writers = [lambda c: c.post(f"{API}/complaints", json=FILING)] * 2
    threads = [threading.Thread(target=run, args=(work,)) for work in readers + writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint)) == 30
        used = db.session.scalars(select(ApiToken).where(ApiToken.last_used_at.is_not(None))).all()
        assert len(used) == 4  # the readers'; the admin's token was not used
