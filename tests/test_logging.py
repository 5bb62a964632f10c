"""Log lines (README "Monitoring: metrics, logs and readiness"): with PENGADUAN_LOG_FORMAT=json
one JSON object a line carrying the request's id (taken from a well-formed X-Request-Id or
made, and answered in that header); and no PIN and no personal data in any line written
during a whole journey: filing with an identity, tracking, staff work to the close, a
forgotten PIN and a mail server taking every email."""
from __future__ import annotations

import io
import json
import logging
import re
import smtplib
from contextlib import contextmanager

import pytest

import pengaduan.jobs.outbox
import pengaduan.web.citizen as citizen_views
from pengaduan import logs
from test_citizen import browser, by_testid, file_and_read_receipt, get_page, new_browser, org, track  # noqa: F401
from test_pin_recovery import LINK, forgot, reset
from test_receipts import FakeSMTP
from test_staff import act, login

OFFICER = "officer.a@example.id"
IDENTITY = {"name": "Kartika Wulandari Sasmita", "nik": "3271046504870002", "email": "kartika.sasmita@example.id",
            "phone": "+62 813-9876-5432", "address": "Jl. Pajajaran Nomor 77, Bogor Tengah"}


@contextmanager
def captured(kind: str = "json"):
    """Every line the pengaduan loggers write at DEBUG and every other logger at INFO (the
    production level), formatted as the app's handler formats them."""
    stream = io.StringIO()
    handler = logs.make_handler(kind, stream)
    handler.setLevel(logging.DEBUG)
    root, ours = logging.getLogger(), logging.getLogger("pengaduan")
    levels = root.level, ours.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        ours.setLevel(levels[1])


def lines_of(stream) -> list[str]:
    return [line for line in stream.getvalue().splitlines() if line.strip()]


def variants(value: str) -> set[str]:
    """The value and the shapes it may be stored in (a phone's digits, lower case)."""
    digits = re.sub(r"\D", "", value)
    found = {value, value.lower()}
    if len(digits) >= 8:
        found |= {digits, digits[-9:], "0" + digits[2:] if digits.startswith("62") else digits}
    return found


class RefusingOnceSMTP(FakeSMTP):
    """A mail server that refuses the first message's recipient (its error names the address,
    as real servers' do), then takes everything."""

    refused = False

    def send_message(self, message):
        if not RefusingOnceSMTP.refused:
            RefusingOnceSMTP.refused = True
            recipient = message["To"]
            raise smtplib.SMTPRecipientsRefused({recipient: (550, f"5.1.1 <{recipient}> unknown".encode())})
        super().send_message(message)


@pytest.fixture
def json_logs(app):
    app.config["PENGADUAN_LOG_FORMAT"] = "json"
    with captured() as stream:
        yield stream


def test_a_whole_journey_logs_no_pin_and_no_personal_data(app, org, json_logs, monkeypatch):  # noqa: F811
    FakeSMTP.sent, RefusingOnceSMTP.refused = [], False
    monkeypatch.setattr(pengaduan.jobs.outbox.smtplib, "SMTP", RefusingOnceSMTP)
    monkeypatch.setattr(citizen_views, "FORGOT_PIN_SECONDS", 0)
    app.config.update(MAIL_SERVER="smtp.example.go.id", PENGADUAN_BASE_URL="https://pengaduan.example.go.id/lapor")

    citizen = new_browser(app)
    filed = file_and_read_receipt(citizen, **IDENTITY, privacy="confidential")
    assert track(new_browser(app), filed.code, filed.pin).status_code == 302
    assert track(new_browser(app), filed.code, filed.pin[:-1] + "0" if filed.pin[-1] != "0" else "1").status_code == 404

    officer = app.test_client()
    officer.set_cookie("lang", "en")
    assert login(officer, OFFICER).status_code == 302
    assert get_page(officer, f"/staff/complaints/{filed.code}")
    assert act(officer, filed.code, "verify", unit="UNIT-A", category="GENERAL",
               classification="pengaduan").status_code == 302
    assert act(officer, filed.code, "follow_up", response="KTP-el sudah dicetak.").status_code == 302
    assert act(officer, filed.code, "close", resolution="KTP-el diserahkan.").status_code == 302

    assert RefusingOnceSMTP.refused  # the receipt was refused, then retried by the worker:
    pengaduan.jobs.outbox_job(app)
    pengaduan.jobs.sweep_job(app)
    pengaduan.jobs.checkpoint_job(app)
    forgot(new_browser(app), filed.code)
    pengaduan.jobs.outbox_job(app)  # the worker sends the link
    phone = new_browser(app)
    link = FakeSMTP.sent[-1].get_body(("plain",)).get_content()
    done = reset(phone, LINK.search(link).group(1))
    new_pin = by_testid(get_page(phone, done.headers["Location"]).html, "tracking-pin")
    assert track(new_browser(app), filed.code, new_pin).status_code == 302
    assert FakeSMTP.sent, "mail was sent (and its sending logged)"

    lines = lines_of(json_logs)
    assert len(lines) > 20  # an access line a request at least
    entries = [json.loads(line) for line in lines]
    assert {"pengaduan.access", "pengaduan.jobs.outbox"} <= {e["logger"] for e in entries}
    assert any(e["logger"] == "pengaduan.jobs.outbox" and "refused" in e["message"] for e in entries)
    secrets = {filed.pin, filed.pin.replace("-", ""), new_pin, new_pin.replace("-", "")}
    for value in IDENTITY.values():
        secrets |= variants(value)
    for line in lines:
        for secret in secrets:
            assert secret not in line, (secret, line)
    # Access lines name the route, never the path with its tracking code.
    assert not any(filed.code in line for line in lines if '"pengaduan.access"' in line)


def test_json_lines_carry_the_request_id_and_the_exception(app, json_logs):
    """A well-formed X-Request-Id is kept, answered and in every line of its request; a
    malformed one is replaced; an exception's text is its own field."""
    log = logging.getLogger("pengaduan.test")

    @app.get("/_log_test")
    def _log_test():
        log.info("handling %s", "the test")
        try:
            raise ValueError("a broken thing")
        except ValueError:
            log.exception("it failed")
        return "ok"

    client = app.test_client()
    answered = client.get("/_log_test", headers={"X-Request-Id": "proxy-id-0123456789"})
    assert answered.headers["X-Request-Id"] == "proxy-id-0123456789"
    entries = [json.loads(line) for line in lines_of(json_logs)]
    mine = [e for e in entries if e["request_id"] == "proxy-id-0123456789"]
    handled, failed, access = mine
    assert set(handled) == {"time", "level", "logger", "message", "request_id"}
    assert (handled["level"], handled["logger"], handled["message"]) == ("INFO", "pengaduan.test", "handling the test")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", handled["time"])
    assert failed["level"] == "ERROR" and "ValueError: a broken thing" in failed["exception"]
    assert access["logger"] == "pengaduan.access" and access["endpoint"] == "_log_test"
    assert access["method"] == "GET" and access["status"] == 200 and access["duration_ms"] >= 0
    assert "path" not in access and "/_log_test" not in json.dumps(access)

    for bad in ("short", "x" * 65, "id with spaces 1234", "<script>alert(1)</script>"):
        answer = client.get("/healthz", headers={"X-Request-Id": bad})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"]), bad
    first, second = client.get("/healthz"), client.get("/healthz")
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    assert logs.current_request_id() is None  # cleared after each request


def test_an_unexpected_failure_is_logged_by_endpoint_not_by_path(app, json_logs):
    @app.get("/_fails/<code>")
    def _fails(code):
        raise RuntimeError("broken")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get("/_fails/ABCD-EFGH").status_code == 500
    failure = [json.loads(line) for line in lines_of(json_logs) if '"ERROR"' in line][-1]
    assert failure["message"] == "unexpected failure in _fails [GET]"
    assert "RuntimeError: broken" in failure["exception"] and "ABCD-EFGH" not in json.dumps(failure)


def test_a_text_line_ends_with_its_request_id(app):
    """The default format names the request as a suffix; a line outside a request has none."""
    @app.get("/_text_log")
    def _text_log():
        logging.getLogger("pengaduan.test").warning("inside")
        return "ok"

    with captured("text") as stream:
        app.test_client().get("/_text_log", headers={"X-Request-Id": "text-format-id-42"})
        logging.getLogger("pengaduan.test").warning("outside")
    lines = lines_of(stream)
    assert any(line.endswith("pengaduan.test: inside [request text-format-id-42]") for line in lines)
    assert lines[-1].endswith("pengaduan.test: outside")
    assert not any(line.startswith("{") for line in lines)  # and no access line in text format


def test_the_log_format_setting_is_checked(tmp_path):
    from pengaduan.config import load_config

    assert load_config(str(tmp_path), env={})["PENGADUAN_LOG_FORMAT"] == "text"
    assert load_config(str(tmp_path), env={"PENGADUAN_LOG_FORMAT": "JSON"})["PENGADUAN_LOG_FORMAT"] == "json"
    with pytest.raises(ValueError, match="PENGADUAN_LOG_FORMAT"):
        load_config(str(tmp_path), env={"PENGADUAN_LOG_FORMAT": "xml"})
