"""Open311 GeoReport v2 at /open311/v2/, read from the specification
(http://wiki.open311.org/GeoReport_v2): discovery, services, service definitions, requests
(GET and POST), single requests and tokens, in JSON and XML, with the spec's error shape.
Confidential complaints never appear in listings and no identity ever does."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import ApiKey, Complaint, utcnow
from pengaduan.services import create_category, create_unit, file_complaint
from pengaduan.services.administration.accounts import create_api_key

BASE = "/open311/v2"
PERSON = {"first_name": "Budi", "last_name": "Hartono", "email": "budi@example.id", "phone": "081234567890"}


@pytest.fixture
def key(app) -> str:
    with app.app_context():
        create_unit("UNIT-A", "Dinas A")
        create_unit("UNIT-B", "Dinas B")
        create_category("GENERAL", "Umum")
        create_category("ONLY-B", "Khusus B", unit_codes=["UNIT-B"])
        value = create_api_key("Portal kabupaten")
        db.session.commit()
    return value


def post(client, key, fmt="json", headers=None, **fields):
    data = {"api_key": key, "service_code": "UNIT-A.GENERAL", "lat": "-6.2", "long": "106.8",
            "description": "Jalan di depan kantor berlubang besar.", **PERSON,
            "attribute[consent]": "true", **fields}
    return client.post(f"{BASE}/requests.{fmt}", headers=headers,
                       data={k: v for k, v in data.items() if v is not None})


def test_discovery_and_services_in_both_formats(client, key):
    """Discovery names the endpoint and formats; services are unit.category pairs, the same
    in JSON and XML; a service definition lists its attributes."""
    discovery = client.get(f"{BASE}/discovery.json").get_json()
    assert discovery["endpoints"][0]["formats"] == ["application/json", "text/xml"]
    services = client.get(f"{BASE}/services.json").get_json()
    codes = sorted(s["service_code"] for s in services)
    assert codes == ["UNIT-A.GENERAL", "UNIT-B.GENERAL", "UNIT-B.ONLY-B"]
    assert all(s["metadata"] is True and s["type"] == "realtime" for s in services)
    xml = ET.fromstring(client.get(f"{BASE}/services.xml").data)
    assert xml.tag == "services" and sorted(e.findtext("service_code") for e in xml) == codes
    definition = client.get(f"{BASE}/services/UNIT-B.ONLY-B.json").get_json()
    assert definition["service_code"] == "UNIT-B.ONLY-B"
    assert [a["code"] for a in definition["attributes"]][:2] == ["privacy", "title"]
    xml = ET.fromstring(client.get(f"{BASE}/services/UNIT-B.ONLY-B.xml").data)
    assert xml.tag == "service_definition" and xml.find("attributes/attribute/code").text == "privacy"
    for missing in ("UNIT-A.ONLY-B", "NOPE.GENERAL", "UNIT-A"):
        response = client.get(f"{BASE}/services/{missing}.json")
        assert response.status_code == 404 and response.get_json()[0]["code"] == 404


def test_post_files_into_the_workflow_and_get_reads_it_back(app, client, key):
    """A POST with api_key, service_code, location and contact files a complaint (channel
    open311) and answers its id; GET reads it back, with the statutory due date, and never the
    complainant's identity."""
    response = post(client, key)
    assert response.status_code == 200
    answer = response.get_json()[0]
    code = answer["service_request_id"]
    assert code in answer["service_notice"] and "PIN" in answer["service_notice"]
    with app.app_context():
        complaint = Complaint.by_code(code)
        assert (complaint.channel, complaint.unit.code, complaint.complainant_name) == \
            ("open311", "UNIT-A", "Budi Hartono")
        due = complaint.stage_due_at
    got = client.get(f"{BASE}/requests/{code}.json").get_json()[0]
    assert (got["status"], got["service_code"]) == ("open", "UNIT-A.GENERAL")
    assert datetime.fromisoformat(got["expected_datetime"]) == due
    assert datetime.fromisoformat(got["requested_datetime"]).tzinfo is not None
    text = str(got) + client.get(f"{BASE}/requests/{code}.xml").get_data(as_text=True)
    assert not any(value in text for value in PERSON.values())
    xml = ET.fromstring(client.get(f"{BASE}/requests/{code}.xml").data)
    assert xml.tag == "service_requests" and xml.find("request/service_request_id").text == code
    assert client.get(f"{BASE}/tokens/{code}.json").get_json() == [{"service_request_id": code, "token": code}]


def test_post_errors_take_the_spec_shape(app, client, key):
    """No key or a revoked key: 403; unknown service: 404; no location or bad input: 400; in
    XML the same errors as <errors><error>. (English with Accept-Language: en.)"""
    english = {"Accept-Language": "en"}
    assert post(client, None, headers=english).get_json() == [{"code": 403, "description": "api_key is required"}]
    assert post(client, "p311_wrong").status_code == 403
    assert post(client, key, service_code="UNIT-A.ONLY-B").status_code == 404
    no_place = post(client, key, headers=english, lat=None, long=None)
    assert no_place.status_code == 400 and "location" in no_place.get_json()[0]["description"]
    empty = post(client, key, description="")
    assert empty.status_code == 400 and "description" in empty.get_json()[0]["description"]
    xml = ET.fromstring(post(client, key, fmt="xml", lat="200").data)
    assert xml.tag == "errors" and xml.findtext("error/code") == "400"
    with app.app_context():
        db.session.scalar(select(ApiKey)).revoked_at = utcnow()
        db.session.commit()
        assert db.session.scalar(select(Complaint.id)) is None  # nothing was filed
    assert post(client, key).status_code == 403


@pytest.mark.parametrize("contact", ["first_name", "last_name", "email", "phone", "attribute[nik]"])
def test_any_contact_field_needs_the_consent_attribute(app, client, key, contact):
    """The service definition offers attribute[consent]; a request with any contact field
    but without attribute[consent]=true is a 400 naming it, and one with it stores the time
    and the consent text's version. A request without any contact field needs none."""
    from pengaduan.services.complaints.intake import CONSENT_VERSION

    codes = [a["code"] for a in client.get(f"{BASE}/services/UNIT-A.GENERAL.json").get_json()["attributes"]]
    assert "consent" in codes
    value = {"first_name": "Budi", "last_name": "Hartono", "email": "budi@example.id",
             "phone": "081234567890", "attribute[nik]": "3201010101010001"}[contact]
    nobody = {name: None for name in PERSON}
    for consent in (None, "false"):
        refused = post(client, key, **{**nobody, contact: value, "attribute[consent]": consent})
        assert refused.status_code == 400
        assert "attribute[consent]" in refused.get_json()[0]["description"]
    agreed = post(client, key, **{**nobody, contact: value})
    silent = post(client, key, **{**nobody, "attribute[consent]": None})
    assert agreed.status_code == silent.status_code == 200
    with app.app_context():
        complaint = Complaint.by_code(agreed.get_json()[0]["service_request_id"])
        assert complaint.consent_version == CONSENT_VERSION and complaint.consent_at is not None
        assert Complaint.by_code(silent.get_json()[0]["service_request_id"]).consent_at is None


def test_what_the_form_promises_is_what_open311_publishes(app, client, key):
    """For each privacy mode, one rule (services.complaints.publication) says what is published, and
    both sides follow it: the complaint form and the home page explain each mode in that
    rule's words, and Open311 (the listing, requests/<id>, tokens/<token>, in JSON and XML)
    lists the complaint and shows its description and place exactly as the rule says,
    never the complainant's identity."""
    import html
    import re

    from pengaduan.services.complaints.publication import RULES

    filed = {}
    for mode in RULES:
        person = PERSON if mode != "anonymous" else {name: None for name in PERSON}
        answer = post(client, key, **person, **{
            "attribute[privacy]": mode, "description": f"Uraian rahasia-{mode} di loket",
            "lat": None, "long": None, "address_string": f"Jalan Tempat-{mode}"})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        filed[mode] = answer.get_json()[0]["service_request_id"]
    listing = client.get(f"{BASE}/requests.json").get_data(as_text=True)
    for mode, rule in RULES.items():
        code = filed[mode]
        bodies = [client.get(f"{BASE}/requests/{code}.{fmt}") for fmt in ("json", "xml")]
        bodies += [client.get(f"{BASE}/tokens/{code}.{fmt}") for fmt in ("json", "xml")]
        assert (code in listing) == rule.listed, mode
        assert {b.status_code for b in bodies} == ({200} if rule.listed else {404}), mode
        shown = listing + "".join(b.get_data(as_text=True) for b in bodies)
        assert (f"rahasia-{mode}" in shown) == rule.text, mode
        assert (f"Tempat-{mode}" in shown) == rule.text, mode
        assert [word for word in PERSON.values() if word in shown] == [], mode
    with app.test_request_context():
        promised = {mode: str(rule.explanation) for mode, rule in RULES.items()}
    form = client.get("/complaints/new").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    for mode in RULES:
        on_form = re.search(rf'id="privacy-{mode}-hint">(.*?)</p>', form, re.S).group(1)
        on_home = re.search(rf'data-privacy="{mode}"><strong>.*?</strong>: (.*?)</li>', home, re.S).group(1)
        assert html.unescape(on_form.strip()) == html.unescape(on_home.strip()) == promised[mode]
    with app.test_request_context("/?lang=en"):
        english = {mode: str(rule.explanation) for mode, rule in RULES.items()}
    assert "description of the complaint and the place of the incident are published" in english["public"]
    assert "never its text" in english["anonymous"] and "no public list" in english["confidential"]
    assert RULES["public"].text and not RULES["anonymous"].text and not RULES["confidential"].listed


def test_listing_filters_and_hides_confidential(app, client, key):
    """GET requests: the last 90 days by default, by service_code, status and ids; a range
    over 90 days or without timezone is refused; confidential complaints never appear."""
    public = post(client, key).get_json()[0]["service_request_id"]
    anonymous = post(client, key, **{"attribute[privacy]": "anonymous"}).get_json()[0]["service_request_id"]
    secret = post(client, key, **{"attribute[privacy]": "confidential"}).get_json()[0]["service_request_id"]
    with app.app_context():
        old = file_complaint({"unit": "UNIT-B", "category": "ONLY-B", "title": "Lama", "description": "Lama",
                              "name": "Siti", "consent": True}, at=utcnow() - timedelta(days=120)).complaint.tracking_code
        db.session.commit()
    listed = [r["service_request_id"] for r in client.get(f"{BASE}/requests.json").get_json()]
    assert sorted(listed) == sorted([public, anonymous])
    by_ids = client.get(f"{BASE}/requests.json?service_request_id={public},{secret},{old}").get_json()
    assert sorted(r["service_request_id"] for r in by_ids) == sorted([public, old])
    assert client.get(f"{BASE}/requests/{secret}.json").status_code == 404
    assert client.get(f"{BASE}/tokens/{secret}.json").status_code == 404
    assert client.get(f"{BASE}/requests.json?status=closed").get_json() == []
    assert client.get(f"{BASE}/requests.json?service_code=UNIT-B.ONLY-B").get_json() == []
    long_ago = (datetime.now(timezone.utc) - timedelta(days=200)).isoformat()
    assert client.get(f"{BASE}/requests.json", query_string={"start_date": long_ago}).status_code == 400
    assert client.get(f"{BASE}/requests.json?start_date=2026-01-01").status_code == 400
    assert client.get(f"{BASE}/requests.json?status=maybe").status_code == 400
    assert client.get(f"{BASE}/requests.csv").status_code == 404


@pytest.fixture
def live_server(app, key):
    """The app served over HTTP on a free local port (for a client that speaks HTTP)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}{BASE}"
    server.shutdown()
    thread.join()


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_independent_client_reads_services_and_requests(app, client, key, live_server, fmt):
    """The `georeport` package (written apart from this project) reads the services, a
    service definition, the request list and one request, in JSON and in XML."""
    from georeport import GeoReport

    code = post(client, key).get_json()[0]["service_request_id"]
    georeport = GeoReport(live_server, output_format=fmt)
    services = georeport.get_service_list()
    assert sorted(s["service_code"] for s in services) == ["UNIT-A.GENERAL", "UNIT-B.GENERAL", "UNIT-B.ONLY-B"]
    definition = georeport.get_service_definition("UNIT-A.GENERAL")
    assert definition["service_code"] == "UNIT-A.GENERAL"
    listed = georeport.get_service_requests(status="open")
    listed = listed if isinstance(listed, list) else [listed]  # XML: one request is not a list
    assert [r["service_request_id"] for r in listed] == [code]
    one = georeport.get_service_request(code)
    one = one[0] if isinstance(one, list) else one
    assert (one["service_request_id"], one["status"], one["service_code"]) == (code, "open", "UNIT-A.GENERAL")


OFF_THE_CALENDAR = [
    ("end_date", "0001-01-01T00:00:00+00:00"),  # 90 days earlier is before the calendar
    ("end_date", "0001-01-01T00:00:00+14:00"),  # in UTC, the day before year 1
    ("end_date", "9999-12-31T23:59:59-12:00"),  # in UTC, after year 9999
    ("start_date", "0001-01-01T00:00:00+14:00"),
    ("start_date", "9999-12-31T00:00:00+00:00"),
    ("end_date", "10000-01-01T00:00:00+00:00"),
    ("start_date", "2026-13-45T00:00:00+07:00"),
    ("end_date", "9" * 40),
]


def test_a_listing_date_off_the_calendar_is_a_400_in_the_specs_shape(app, client, key):
    """Dates at or past the calendar's ends (years 1 and 9999) or impossible are refused
    with a 400 saying which parameter and why, as Open311 errors are; never a 500."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for name, value in OFF_THE_CALENDAR:
        as_json = client.get(f"{BASE}/requests.json", query_string={name: value})
        assert as_json.status_code == 400, (name, value)
        assert as_json.get_json()[0]["code"] == 400 and name in as_json.get_json()[0]["description"]
        as_xml = client.get(f"{BASE}/requests.xml", query_string={name: value})
        error = ET.fromstring(as_xml.data).find("error")
        assert as_xml.status_code == 400 and error.findtext("code") == "400" and name in error.findtext("description")


def test_http_errors_under_open311_take_the_specs_shape(app, client, key):
    """A method not allowed, an unknown resource and a body too large answer as Open311
    errors do (JSON, or XML when the URL asks for it), not as an HTML page."""
    app.config["PENGADUAN_MAX_BODY_KB"] = 1
    assert client.delete(f"{BASE}/services.json").get_json()[0]["code"] == 405
    assert client.get(f"{BASE}/nothing.json").get_json()[0]["code"] == 404
    too_large = client.post(f"{BASE}/requests.xml", data={"api_key": key, "description": "x" * 2048})
    assert too_large.status_code == 413 and too_large.mimetype == "text/xml"
    assert ET.fromstring(too_large.data).find("error").findtext("code") == "413"
