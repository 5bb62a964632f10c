"""Request bodies: only a multipart form (attachments) may be as large as MAX_CONTENT_LENGTH;
any other body is held to PENGADUAN_MAX_BODY_KB and refused with 413 before anything reads
it, on every URL, signed in or not, in the error shape of the surface asked. JSON is parsed
only by the views that take it (the API), and checked there for text no column can hold."""
from __future__ import annotations

import io
import json
import tracemalloc

import pytest

from pengaduan.extensions import db
from pengaduan.services import create_category, create_unit

MB = 1024 * 1024
# Twenty megabytes of JSON that a parser turns into millions of objects (a list of short
# strings): parsed, it would take hundreds of megabytes.
BIG_JSON = ("[" + ",".join(['"ab"'] * (20 * MB // 5)) + "]").encode()
URLS = ["/api/v1/complaints", "/api/v1/complaints/ABCD-1234/transitions", "/open311/v2/requests.json",
        "/open311/v2/requests.xml", "/track", "/login", "/complaints/new", "/staff/queue", "/",
        "/no/such/page"]


@pytest.fixture
def unit(app):
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_category("GENERAL", "Umum")
        db.session.commit()


def _post(client, url: str, body: bytes, content_type: str = "application/json", **kwargs):
    return client.post(url, input_stream=io.BytesIO(body), content_length=len(body),
                       content_type=content_type, **kwargs)


def test_a_20_mb_json_body_to_any_url_is_413_at_once_and_costs_no_memory(app):
    """To the API, Open311, public pages, staff pages and no page at all: 413 in the
    surface's shape, the body never read, and the process grows by less than 50 MB."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert len(BIG_JSON) > 20 * MB - 10 and app.config["MAX_CONTENT_LENGTH"] > len(BIG_JSON)
    client = app.test_client()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        answers = {url: _post(client, url, BIG_JSON) for url in URLS}
        grown = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert {url: r.status_code for url, r in answers.items() if r.status_code != 413} == {}
    assert grown < 50 * MB, f"grew by {grown / MB:.0f} MB"
    assert answers["/api/v1/complaints"].get_json()["error"]["code"] == "request_entity_too_large"
    assert answers["/open311/v2/requests.json"].get_json()[0]["code"] == 413
    xml = answers["/open311/v2/requests.xml"]
    assert xml.mimetype == "text/xml" and b"<code>413</code>" in xml.data
    assert answers["/track"].mimetype == "text/html" and b"<html" in answers["/track"].data
    page = answers["/track"].get_data(as_text=True)  # no file was sent: the page says so
    assert "Kiriman terlalu besar" in page and "berkas" not in page.lower()


def test_a_plain_form_or_any_other_body_is_held_to_the_small_limit(app, unit):
    """A url-encoded form, text or an undeclared type past PENGADUAN_MAX_BODY_KB is 413; a
    multipart form keeps the upload limit; the limit is configurable."""
    app.config["PENGADUAN_MAX_BODY_KB"] = 64
    client = app.test_client()
    over = b"a=" + b"x" * (64 * 1024)
    assert _post(client, "/track", over, "application/x-www-form-urlencoded").status_code == 413
    assert _post(client, "/api/v1/complaints", over, "text/plain").status_code == 413
    assert _post(client, "/api/v1/complaints", over, "").status_code == 413
    multipart = (b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nb\r\n--x\r\n"
                 b"Content-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n\r\n"
                 + b"x" * (200 * 1024) + b"\r\n--x--\r\n")
    # Past the small limit but within the upload limit: read, and refused only for its token.
    answer = _post(client, "/login", multipart, "multipart/form-data; boundary=x")
    assert answer.status_code == 400  # the missing CSRF token
    app.config["PENGADUAN_MAX_BODY_KB"] = 1024
    assert _post(client, "/login", over, "application/x-www-form-urlencoded").status_code == 400  # CSRF


def test_json_within_the_limit_is_parsed_where_it_is_taken(app, unit):
    """The API still reads a JSON body near the limit (refused for its fields, not its size)."""
    body = {"unit": "UNIT-A", "category": "GENERAL", "title": "Jalan", "privacy": "anonymous",
            "description": "d" * (900 * 1024)}
    answer = app.test_client().post("/api/v1/complaints", json=body)
    assert answer.status_code == 422 and "description" in answer.get_json()["error"]["fields"]


def test_json_text_no_column_can_hold_is_refused_on_filing(app, unit):
    """A NUL or a lone surrogate (JSON "\\ud800", no character at all) in a JSON filing,
    as a value or as a key, is a 400 naming the problem; nothing is stored."""
    from pengaduan.models import Complaint

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    for text, said in (("Jalan\x00rusak", "NUL"), ("\ud800", "surrogate"), ("ok\udfffok", "surrogate")):
        for body in ({"unit": "UNIT-A", "title": text, "description": "x", "privacy": "anonymous"},
                     {"unit": "UNIT-A", "title": "t", "description": "x", "privacy": "anonymous", text: 1}):
            raw = json.dumps(body).encode()  # ensure_ascii: the surrogate travels as \ud800
            answer = client.post("/api/v1/complaints", data=raw, content_type="application/json")
            assert answer.status_code == 400, answer.data
            assert said in answer.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.query(Complaint).count() == 0


def test_a_json_body_is_not_parsed_where_no_view_takes_it(app, unit):
    """A page that takes no JSON does not parse one (nor refuses the NUL inside it)."""
    answer = app.test_client().get("/", data='{"q": "A\\u0000"}', content_type="application/json")
    assert answer.status_code == 200


def test_a_json_body_sent_to_a_web_form_is_no_form_not_a_server_error(app, unit):
    """Web forms take form fields only: JSON (a list, a string, nested objects, deep nesting)
    sent to the tracking, complaint or sign-in form, even with a valid CSRF header, is an
    empty form, never a 500."""
    from test_staff import browser, get_page

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = browser(app)
    token = get_page(client, "/login").token
    for body in ("[1]", '"x"', '{"code": {"a": 1}, "pin": [1, 2]}', "[" * 5000 + "]" * 5000):
        for url in ("/track", "/complaints/new", "/login"):
            answer = client.post(url, data=body, content_type="application/json", headers={"X-CSRFToken": token})
            assert answer.status_code < 500, (url, body[:20])


def test_a_chunked_body_is_refused_on_any_url_and_a_small_one_goes_through(app, unit):
    """Without a declared length (chunked) the body is read up front, at most the limit and
    one byte, so any URL answers 413 to a larger one (Werkzeug alone would cut it at the
    limit and parse the rest); a body within the limit reaches the view whole."""
    app.config["PENGADUAN_MAX_BODY_KB"] = 64
    client = app.test_client()

    def chunked(url: str, body: bytes):
        return client.post(url, input_stream=io.BytesIO(body), content_type="application/json",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})

    big = json.dumps({"unit": "UNIT-A", "title": "t", "description": "y" * 70_000}).encode()
    for url in ("/", "/staff/queue", "/no/such/page", "/login", "/api/v1/complaints"):
        answer = chunked(url, big)
        assert answer.status_code == 413, url
    assert answer.get_json()["error"]["code"] == "request_entity_too_large"
    small = json.dumps({"unit": "UNIT-A", "category": "GENERAL", "title": "t", "privacy": "anonymous",
                        "description": "y" * 60_000}).encode()
    answer = chunked("/api/v1/complaints", small)  # parsed whole: refused for its text, not its size
    assert answer.status_code == 422 and "description" in answer.get_json()["error"]["fields"]


def test_a_filing_field_of_the_wrong_json_type_is_named_not_a_server_error(app, unit):
    """JSON can send a list or an object where a choice is expected: refused by name (422)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    for field in ("classification", "privacy"):
        for value in ([None], {"a": 1}, ["public"]):
            answer = client.post("/api/v1/complaints", json={
                "unit": "UNIT-A", "title": "t", "description": "d", "privacy": "anonymous", field: value})
            assert answer.status_code == 422 and field in answer.get_json()["error"]["fields"], (field, value)
