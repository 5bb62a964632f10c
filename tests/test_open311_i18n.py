"""Open311 answers speak the client's language: every error description, the
`service_notice` of a new request, `status_notes` and the service definition's texts follow
Accept-Language, Indonesian when the client names none; the error body keeps the spec's
shape (`[{"code", "description"}]`, `<errors><error>` in XML) and English stays word for
word what it was."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from test_open311 import BASE, key, post  # noqa: F401 (fixture)

EN, ID = {"Accept-Language": "en"}, {"Accept-Language": "id"}
LANGUAGES = [(EN, "en"), (ID, "id"), ({}, "id")]  # no header: Indonesian

# (what is sent, status, English, Indonesian); `fmt` is json or xml.
ERRORS = [
    ("get", "/services/NOPE.GENERAL.{fmt}", {}, 404,
     "unknown service_code 'NOPE.GENERAL'", "service_code 'NOPE.GENERAL' tidak dikenal"),
    ("post", None, {"api_key": None}, 403, "api_key is required", "api_key wajib disertakan"),
    ("post", None, {"api_key": "p311_wrong"}, 403, "api_key is not valid", "api_key tidak sah"),
    ("post", None, {"lat": "north"}, 400, "lat and long must be numbers", "lat dan long harus berupa angka"),
    ("post", None, {"lat": "200"}, 400, "lat and long are out of range", "lat dan long di luar rentang"),
    ("post", None, {"lat": None, "long": None}, 400,
     "a location is required: lat and long, address_string or address_id",
     "lokasi wajib diisi: lat dan long, address_string, atau address_id"),
    ("get", "/requests.{fmt}?start_date=yesterday", {}, 400,
     "start_date must be a W3C date-time, e.g. 2026-11-01T00:00:00+07:00",
     "start_date harus berupa tanggal-waktu W3C, misalnya 2026-11-01T00:00:00+07:00"),
    ("get", "/requests.{fmt}?end_date=2026-11-01", {}, 400,
     "end_date needs a timezone", "end_date harus memuat zona waktu"),
    ("get", "/requests.{fmt}?start_date=1800-01-01T00:00:00%2B00:00", {}, 400,
     "start_date must be between 1900-01-01 and 2999-12-31",
     "start_date harus antara 1900-01-01 dan 2999-12-31"),
    ("get", "/requests.{fmt}?start_date=2026-11-10T00:00:00Z&end_date=2026-11-01T00:00:00Z", {}, 400,
     "start_date is after end_date", "start_date lebih lambat daripada end_date"),
    ("get", "/requests.{fmt}?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", {}, 400,
     "the date range may span at most 90 days", "rentang tanggal paling panjang 90 hari"),
    ("get", "/requests.{fmt}?status=maybe", {}, 400,
     "status must be open or closed", "status harus open atau closed"),
    ("get", "/requests/NOPE-NOPE.{fmt}", {}, 404, "no such service request", "permintaan layanan itu tidak ada"),
    ("get", "/tokens/NOPE-NOPE.{fmt}", {}, 404, "no such token", "token itu tidak ada"),
]


def errors_of(response, fmt: str) -> list[dict]:
    """The spec's error body, read back from JSON or XML."""
    if fmt == "json":
        assert response.mimetype == "application/json"
        return response.get_json()
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "errors"
    return [{"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in root.findall("error")]


def send(client, key, method, path, fields, fmt, headers):  # noqa: F811 (key is a value here)
    if method == "post":
        data = {"api_key": key, "service_code": "UNIT-A.GENERAL", "lat": "-6.2", "long": "106.8",
                "description": "Jalan di depan kantor berlubang besar.", **fields}
        return client.post(f"{BASE}/requests.{fmt}", headers=headers,
                           data={k: v for k, v in data.items() if v is not None})
    return client.get(BASE + path.format(fmt=fmt), headers=headers)


def test_open311_error_is_a_domain_error():
    """Open311's refusals belong to the one hierarchy of errors, with their HTTP status."""
    from pengaduan.api.open311 import Open311Error
    from pengaduan.errors import DomainError

    error = Open311Error(404, "no such token")
    assert isinstance(error, DomainError) and (error.status, error.code) == (404, "not_found")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_open311_error_follows_accept_language(client, key, fmt):  # noqa: F811
    """Each refusal of the GeoReport API, in JSON and XML: the English text with `en`, the
    Indonesian one with `id` and with no Accept-Language at all; the status and the spec's
    body the same in every language."""
    for method, path, fields, status, english, indonesian in ERRORS:
        for headers, language in LANGUAGES:
            response = send(client, key, method, path, fields, fmt, headers)
            expected = english if language == "en" else indonesian
            assert response.status_code == status, (path or fields, headers)
            assert errors_of(response, fmt) == [{"code": status, "description": expected}], (path or fields, headers)


def test_an_unknown_format_is_refused_in_the_readers_language(client, key):  # noqa: F811
    """A format other than json or xml: a 404 in JSON (the URL names no format it may use)."""
    for headers, language in LANGUAGES:
        response = client.get(f"{BASE}/services.csv", headers=headers)
        assert response.status_code == 404
        assert response.get_json() == [{"code": 404, "description": {
            "en": "format must be json or xml", "id": "format harus json atau xml"}[language]}]


def test_service_notice_and_status_notes_follow_accept_language(client, key):  # noqa: F811
    """A new request's notice (with its code and PIN) and a request's status notes are in the
    language asked; Indonesian without Accept-Language."""
    for headers, language in LANGUAGES:
        answer = client.post(f"{BASE}/requests.json", headers=headers, data={
            "api_key": key, "service_code": "UNIT-A.GENERAL", "address_string": "Jalan Merdeka 1",
            "description": "Lampu jalan padam sejak seminggu."}).get_json()[0]
        code, notice = answer["service_request_id"], answer["service_notice"]
        start = {"en": f"Tracking code {code}, PIN ", "id": f"Kode lacak {code}, PIN "}[language]
        middle = {"en": ": keep this PIN to follow the complaint at http",
                  "id": ": simpan PIN ini untuk mengikuti pengaduan di http"}[language]
        assert notice.startswith(start) and middle in notice, notice
        for fmt in ("json", "xml"):
            got = client.get(f"{BASE}/requests/{code}.{fmt}", headers=headers)
            notes = got.get_json()[0]["status_notes"] if fmt == "json" else \
                ET.fromstring(got.data).findtext("request/status_notes")
            assert notes == {"en": "Received", "id": "Diterima"}[language]


def test_the_service_definition_and_discovery_follow_accept_language(client, key):  # noqa: F811
    """The attributes' descriptions and value names (with the consent text to show) and the
    discovery's key_service are in the language asked; codes and keys never change."""
    for headers, language in LANGUAGES:
        definition = client.get(f"{BASE}/services/UNIT-A.GENERAL.json", headers=headers).get_json()
        attributes = {a["code"]: a for a in definition["attributes"]}
        privacy, consent = attributes["privacy"], attributes["consent"]
        assert [v["key"] for v in privacy["values"]] == ["public", "anonymous", "confidential"]
        if language == "en":
            assert privacy["description"] == "How private the complaint is"
            assert [v["name"] for v in privacy["values"]] == ["Public", "Anonymous", "Confidential"]
            assert consent["description"].startswith("Consent to the processing of personal data")
            assert "I agree that my personal data is processed" in consent["description"]
        else:
            assert privacy["description"] == "Tingkat kerahasiaan pengaduan"
            assert [v["name"] for v in privacy["values"]] == ["Terbuka", "Anonim", "Rahasia"]
            assert consent["description"].startswith("Persetujuan pemrosesan data pribadi")
            assert "I agree" not in consent["description"]
        xml = ET.fromstring(client.get(f"{BASE}/services/UNIT-A.GENERAL.xml", headers=headers).data)
        assert xml.findtext("attributes/attribute/description") == privacy["description"]
        discovery = client.get(f"{BASE}/discovery.json", headers=headers).get_json()
        assert discovery["key_service"] == {
            "en": "flask --app run apikeys create NAME (ask the administrator)",
            "id": "flask --app run apikeys create NAME (mintalah kepada administrator)"}[language]
