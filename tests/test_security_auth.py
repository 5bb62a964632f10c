"""Guessing and hijacking: tracking codes and PINs, staff passwords, sessions, and where a
sign-in sends the browser afterwards (README "Guessing is rate-limited", "five wrong
passwords lock an account for 15 minutes"; design.md section 5: a wrong PIN and an unknown
code get the same answer).

Already covered elsewhere and not repeated: the per-code PIN limit on /track and on the
API (test_citizen, test_api), the lock after five wrong passwords and the generic login
message (test_staff), session data dropped at sign-in, the dead cookie after sign-out, and
a first set of `next` values (test_staff), the cookie's Secure flag in the configuration
(test_app), the language switch's basic redirect check (test_app).
"""
from __future__ import annotations

import json
import random
import re
from collections import Counter
from datetime import timedelta
from urllib.parse import quote, urljoin, urlsplit

import pytest
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import Complaint, User, utcnow
from pengaduan.services.tracking import (ALPHABET, CODE_LENGTH, check_pin, hash_pin, new_pin,
                                         new_tracking_code)
from test_citizen import valid_form
from test_citizen import rate_limits  # noqa: F401  (the fixture)
from test_security_corpus import OFFICER_A, OFFICER_B, PASSWORD, browser, get_page
from test_security_corpus import scene  # noqa: F401  (the fixture)
from test_staff import login, login_error
from test_supervision import org  # noqa: F401  (the fixture)

WRONG = "not the password"


# --- 1. tracking codes and PINs --------------------------------------------------------------

def _hamming(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b))


def test_tracking_codes_are_long_random_and_unpredictable(app):
    """Codes are 8 symbols of a 32-symbol alphabet without look-alikes (40 bits), drawn
    from the system's CSPRNG: every symbol appears in every position, consecutive codes
    differ almost everywhere (not a counter), and reseeding Python's `random` does not
    repeat them."""
    assert len(set(ALPHABET)) == len(ALPHABET) == 32 and not set("ILOU") & set(ALPHABET)
    assert len(ALPHABET) ** CODE_LENGTH >= 2 ** 40
    with app.app_context():
        codes = [new_tracking_code() for _ in range(4000)]
        random.seed(7)
        first = [new_tracking_code() for _ in range(5)]
        random.seed(7)
        again = [new_tracking_code() for _ in range(5)]
    assert first != again
    raw = [c.replace("-", "") for c in codes]
    assert all(re.fullmatch(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", c) for c in codes)
    assert len(set(codes)) == len(codes)
    for position in range(CODE_LENGTH):
        counts = Counter(code[position] for code in raw)
        assert set(counts) == set(ALPHABET), position  # about 125 each
        assert max(counts.values()) < 250, position
    distances = [_hamming(a, b) for a, b in zip(raw, raw[1:])]
    assert sum(distances) / len(distances) > 7.0  # 7.75 for independent draws


def test_complaints_filed_in_a_row_get_unrelated_codes(app, scene):
    """Codes handed out one after another differ in most positions (no counter behind)."""
    codes = [c.replace("-", "") for c in (scene.a, scene.secret, scene.closed, scene.late, scene.b)]
    assert all(_hamming(a, b) >= 4 for a, b in zip(codes, codes[1:]))


def test_pins_are_six_random_digits(app):
    with app.app_context():
        pins = [new_pin() for _ in range(4000)]
        random.seed(7)
        first = [new_pin() for _ in range(5)]
        random.seed(7)
        again = [new_pin() for _ in range(5)]
    assert first != again
    assert all(re.fullmatch(r"\d{6}", pin) for pin in pins)
    assert len(set(pins)) > 3950  # 4000 draws from a million: a handful of repeats at most
    assert {pin[0] for pin in pins} == set("0123456789")  # zero-padded, full range


def _texts_in_database(app) -> list[str]:
    """Every text value of every column of every table (JSON columns as JSON)."""
    with app.app_context():
        texts = []
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)):
                texts += [v if isinstance(v, str) else json.dumps(v) for v in row
                          if isinstance(v, (str, dict, list))]
        return texts


def _holding(texts: list[str], pin: str) -> list[str]:
    """Texts with the PIN as a number of its own (not inside a longer number, a hash, or the
    fraction of a timestamp's seconds)."""
    pattern = re.compile(rf"(?<![0-9A-Za-z.]){pin}(?![0-9A-Za-z])")
    return [t for t in texts if pattern.search(t)]


def test_no_pin_is_stored_anywhere_in_plain_text(app, scene):
    """After filing on the web form (without email), through the API and through Open311,
    the PIN is in no column of any table; the stored hash is salted and keyed (the same PIN
    never gives the same hash, nor a plain SHA-256 of the PIN); the browser's session cookie
    (signed, readable by anyone holding it) carries the receipt's PIN only encrypted."""
    import hashlib

    client = browser(app)
    form = {**valid_form(), "email": "", "csrf_token": get_page(client, "/complaints/new").token}
    assert client.post("/complaints/new", data=form).status_code == 302
    html = client.get("/complaints/receipt").get_data(as_text=True)
    web_pin = re.search(r'data-testid="tracking-pin"[^>]*>\s*(\d{6})', html).group(1)
    cookie = client.get_cookie("session").value
    session = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    assert web_pin not in json.dumps(session)
    api_pin = browser(app).post("/api/v1/complaints", json={
        "unit": "UNIT-A", "title": "Jalan", "description": "Rusak", "privacy": "anonymous"}).get_json()["pin"]
    notice = browser(app).post("/open311/v2/requests.json", data={
        "api_key": scene.api_key, "service_code": "UNIT-A.GENERAL", "description": "Jalan rusak",
        "address_string": "Jl. Merdeka"}).get_json()[0]["service_notice"]
    open311_pin = re.search(r"PIN (\d{6})", notice).group(1)
    texts = _texts_in_database(app)
    pins = [web_pin, api_pin, open311_pin, scene.a_pin, scene.b_pin, scene.secret_pin]
    assert {pin: _holding(texts, pin) for pin in pins if _holding(texts, pin)} == {}
    with app.app_context():
        one, two = hash_pin("123456"), hash_pin("123456")
        assert one != two and check_pin(one, "123456") and check_pin(two, "123456")
        assert hashlib.sha256(b"123456").hexdigest() not in one
        stored = db.session.scalars(select(Complaint.pin_hash)).all()
    assert all(h.startswith("hmac-sha256$") for h in stored)



def _wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 10**6:06d}"


def test_unknown_codes_are_limited_like_existing_ones(app, scene, rate_limits):
    """Ten failed PINs for a code that does not exist are limited just like ten for one that
    does (each from an address of its own, so only the per-code limit counts): the 429 tells
    nothing about whether the code exists."""
    unknown = "ZZZZ-ZZZ9" if scene.b != "ZZZZ-ZZZ9" else "ZZZZ-ZZZ8"
    answers = {label: [_track_from(app, code, _wrong(scene.b_pin), f"10.{n}.0.{i + 1}") for i in range(11)]
               for n, (label, code) in enumerate((("existing", scene.b), ("unknown", unknown)))}
    assert answers["existing"] == answers["unknown"] == [404] * 10 + [429]


def _track_from(app, code: str, pin: str, address: str) -> int:
    client = browser(app)
    token = get_page(client, "/track").token
    return client.post("/track", data={"csrf_token": token, "code": code, "pin": pin},
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_one_code_gets_ten_wrong_pins_an_hour_in_all(app, scene, rate_limits):
    """After ten wrong PINs on /track, GET /api/v1/complaints/<code> and its transitions
    endpoint answer 429 too: one budget per code, not ten guesses per route."""
    pin = _wrong(scene.a_pin)
    web = [_track_from(app, scene.a, pin, f"10.9.0.{i}") for i in range(10)]
    assert web == [404] * 10
    client = browser(app)
    answers = [client.get(f"/api/v1/complaints/{scene.a}", headers={"X-Tracking-Pin": pin}).status_code,
               client.post(f"/api/v1/complaints/{scene.a}/transitions", headers={"X-Tracking-Pin": pin},
                           json={"trigger": "withdraw"}).status_code]
    assert answers == [429, 429]
    # The code's officers are not locked out: a bearer token checks no PIN.
    staff = client.get(f"/api/v1/complaints/{scene.a}", headers={"Authorization": f"Bearer {scene.tokens[OFFICER_A]}"})
    assert staff.status_code == 200


def test_an_expired_tracking_form_does_not_spend_the_codes_budget(app, scene, rate_limits):
    """A form whose token failed never compared the PIN: a page elsewhere that makes its
    visitors' browsers send such forms cannot lock a complainant out of her complaint."""
    for i in range(12):
        response = browser(app).post("/track", data={"csrf_token": "stale", "code": scene.a,
                                                    "pin": _wrong(scene.a_pin)},
                                     environ_base={"REMOTE_ADDR": f"10.8.0.{i}"})
        assert response.status_code == 404
    assert _track_from(app, scene.a, scene.a_pin, "10.8.1.1") == 302


# --- 2. staff passwords ------------------------------------------------------------------------

def _lock_state(app, email: str):
    with app.app_context():
        user = User.by_email(email)
        return user.failed_logins, user.locked_until


@pytest.mark.parametrize("spellings", [
    ["OFFICER.A@EXAMPLE.ID", "Officer.A@Example.Id", " officer.a@example.id ", "officer.a@EXAMPLE.id",
     "oFFICER.a@example.ID"],
], ids=["case-and-space"])
def test_lockout_counts_every_spelling_of_the_email_and_holds(app, org, spellings):
    """Five wrong passwords under five spellings of one email (case, spaces) lock the
    account; during the lock the right password, under any spelling and from a fresh
    browser, is refused and neither lifts nor extends the lock; once the lock has run out
    the right password signs in and the count starts again."""
    for spelling in spellings:
        assert login(browser(app), spelling, WRONG).status_code == 401
    _, locked_until = _lock_state(app, OFFICER_A)
    assert locked_until is not None and locked_until > utcnow() + timedelta(minutes=14)
    for spelling in spellings + [OFFICER_A]:
        client = browser(app)
        response = login(client, spelling, PASSWORD)
        assert response.status_code == 401 and "locked" in login_error(response), spelling
        assert client.get("/staff/queue").status_code == 302
    assert _lock_state(app, OFFICER_A)[1] == locked_until
    assert login(browser(app), OFFICER_B, PASSWORD).status_code == 302  # only that account
    with app.app_context():
        User.by_email(OFFICER_A).locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert login(browser(app), OFFICER_A, PASSWORD).status_code == 302
    assert _lock_state(app, OFFICER_A) == (0, None)


def _login_from(app, email: str, password: str, address: str) -> int:
    client = browser(app)
    token = get_page(client, "/login").token
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}).status_code


def test_sign_in_attempts_are_throttled_per_address(app, org, rate_limits):
    """Ten sign-ins a minute per address: the eleventh is 429 even when each tries another
    account (password spraying), while another address is not held up."""
    statuses = [_login_from(app, f"user{i}@example.id", WRONG, "10.1.1.1") for i in range(10)]
    assert statuses == [401] * 10
    assert _login_from(app, "user10@example.id", WRONG, "10.1.1.1") == 429
    assert _login_from(app, OFFICER_A, PASSWORD, "10.1.1.1") == 429  # the right one too
    assert _login_from(app, OFFICER_A, PASSWORD, "10.2.2.2") == 302


# --- 3. sessions -------------------------------------------------------------------------------

def test_signing_in_issues_a_new_session_and_the_old_one_stays_anonymous(app, org):
    """Session fixation: the cookie a browser held before signing in (as one planted by an
    attacker would be) is replaced at sign-in; replayed, it opens nothing; the CSRF token
    of before the sign-in no longer works."""
    client = browser(app)
    before_token = get_page(client, "/login").token
    planted = client.get_cookie("session").value
    assert login(client, OFFICER_A).status_code == 302
    after = client.get_cookie("session").value
    assert after != planted
    attacker = browser(app)
    attacker.set_cookie("session", planted)
    response = attacker.get("/staff/queue")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    with attacker.session_transaction() as session:
        assert "_user_id" not in session
    assert client.get("/staff/queue").status_code == 200
    stale = client.post("/account/password", data={"csrf_token": before_token, "current": PASSWORD,
                                                   "new": "kopi tubruk pagi hari", "confirm": "kopi tubruk pagi hari"})
    assert stale.status_code == 400


def test_session_cookie_flags(app, org):
    """The session cookie is HttpOnly and SameSite=Lax, on the whole site, Secure when the
    deployment says so; the language cookie is HttpOnly and SameSite=Lax; no other cookie
    (no remember-me) is ever set."""
    client = browser(app)
    response = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)
    signed = client.post("/login", data={"csrf_token": token, "email": OFFICER_A, "password": PASSWORD})
    cookies = signed.headers.getlist("Set-Cookie") + response.headers.getlist("Set-Cookie")
    assert cookies and all(c.startswith("session=") for c in cookies)
    for cookie in cookies:
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path"} <= flags and "samesite=lax" in cookie.lower()
        assert "domain" not in flags
    lang = client.get("/lang/en?next=/").headers.getlist("Set-Cookie")
    assert len(lang) == 1 and "HttpOnly" in lang[0] and "SameSite=Lax" in lang[0]
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = browser(app).get("/login").headers.get("Set-Cookie")
    assert "Secure" in secure


def test_pages_showing_a_secret_are_not_stored_by_caches(app, org):
    """The receipt shows the tracking code and PIN: like the identity reveal and the file
    downloads, it tells caches not to keep it (a shared computer, a proxy); so does every
    other page, while the stylesheet may be cached."""
    client = browser(app)
    form = {**valid_form(), "csrf_token": get_page(client, "/complaints/new").token}
    assert client.post("/complaints/new", data=form).status_code == 302
    receipt = client.get("/complaints/receipt")
    assert receipt.status_code == 200
    assert "no-store" in receipt.headers.get("Cache-Control", "")
    assert "no-store" in client.get("/").headers.get("Cache-Control", "")
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")


# --- 4. where a sign-in goes -------------------------------------------------------------------

OFF_SITE = ["https://evil.example", "//evil.example", "///evil.example", "////evil.example/x",
            "/\\evil.example", "\\/evil.example", "\\\\evil.example", "/\\/evil.example",
            "http:/evil.example", "http:evil.example", "https:evil.example", "HTTPS://evil.example",
            "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>", "%2F%2Fevil.example", "/%2F%2Fevil.example",
            "/%5Cevil.example", "/\tevil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n//evil.example",
            "//evil.example@127.0.0.1", "/@evil.example", "//127.0.0.1@evil.example",
            "\u3002evil.example", "//evil%E3%80%82example", "/%09/evil.example", "/%0d%0a/evil.example",
            " //evil.example", "//evil.example/%2e%2e", "https://localhost.evil.example/",
            "\x00//evil.example", "/\x00/evil.example"]


def _lands_on_site(location: str) -> bool:
    """Where a browser goes with this Location, from a page of this site: still this site.
    Browsers drop tabs and new lines and read a backslash as a slash."""
    cleaned = "".join(ch for ch in location if ch not in "\t\r\n").replace("\\", "/")
    target = urlsplit(urljoin("http://localhost/login", cleaned.strip()))
    return target.scheme in ("http", "https") and target.netloc == "localhost"


def test_no_next_address_sends_a_signed_in_browser_off_site(app, org):
    """After a successful sign-in the browser is sent to a page of this site, whatever
    `next` says (absolute, protocol-relative, backslashes, encoded, control characters,
    javascript: and data: addresses); the language switch is held to the same rule."""
    off_site = {}
    for target in OFF_SITE:
        if "\x00" in target:  # refused whole: no text may hold a NUL
            assert browser(app).get(f"/login?next={quote(target, safe='')}").status_code == 400
            continue
        response = login(browser(app), OFFICER_A, next_url=target)
        assert response.status_code == 302, target
        language = browser(app).get(f"/lang/en?next={quote(target, safe='')}")
        assert language.status_code == 302, target
        for where, location in (("login", response.headers["Location"]),
                                ("language", language.headers["Location"])):
            if not _lands_on_site(location):
                off_site[(where, target)] = location
    assert off_site == {}


@pytest.mark.parametrize("target", ["/staff/complaints/XXXX-XXXX", "/account/password?x=1#top",
                                    "/staff/queue?state=received&q=a%2Fb"])
def test_a_next_address_on_this_site_is_kept(app, org, target):
    response = login(browser(app), OFFICER_A, next_url=target)
    assert response.headers["Location"] == target
