"""Guessing and hijacking: tracking codes and PINs, staff passwords, sessions, and where a
sign-in sends the browser afterwards (README "Guessing is rate-limited", "Tracking PINs:
the design and its numbers", "Staff sign-in"; design.md section 5: a wrong PIN and an
unknown code get the same answer).

Already covered elsewhere and not repeated: the per-address PIN limit on /track and on the
API (test_citizen, test_api), the hold after five wrong passwords and the generic login
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
from argon2 import PasswordHasher
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import Complaint, SignInAttempt, User, utcnow
from pengaduan.services.administration.auth import email_digest
from pengaduan.services.complaints.tracking import (ALPHABET, CODE_LENGTH, PIN_LENGTH, check_pin, hash_pin,
                                         is_legacy_pin, new_pin, new_tracking_code)
from test_citizen import PIN_PATTERN, valid_form
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


def test_pins_are_ten_random_characters_in_two_groups(app):
    """New PINs: 10 characters of the code's alphabet (50 bits) in groups of five, every
    character equally likely at every position, never from Python's seeded `random`."""
    with app.app_context():
        pins = [new_pin() for _ in range(4000)]
        random.seed(7)
        first = [new_pin() for _ in range(5)]
        random.seed(7)
        again = [new_pin() for _ in range(5)]
    assert first != again
    assert all(re.fullmatch(rf"[{ALPHABET}]{{5}}-[{ALPHABET}]{{5}}", pin) for pin in pins)
    assert len(set(pins)) == len(pins)
    raw = [pin.replace("-", "") for pin in pins]
    for position in range(PIN_LENGTH):
        counts = Counter(pin[position] for pin in raw)
        assert set(counts) == set(ALPHABET), position  # about 125 each
        assert max(counts.values()) < 250, position


def test_pins_are_read_as_people_type_them(app):
    """Case, spaces, a missing dash and the look-alikes O, I, L do not matter; an old 6-digit
    PIN still opens its complaint."""
    with app.app_context():
        stored = hash_pin("7KQ2M-X9D41")
        for typed in ("7KQ2M-X9D41", "7kq2mx9d41", " 7KQ2M X9D4I ", "7KQ2M-X9D4L", "7kq2m—x9d41"):
            assert check_pin(stored, typed), typed
        assert not check_pin(stored, "7KQ2M-X9D42")
        legacy = hash_pin("012345")
        assert check_pin(legacy, "012345") and check_pin(legacy, " 012 345")
        assert not check_pin(legacy, "12345") and not check_pin(legacy, "012346")
    assert is_legacy_pin("012 345") and not is_legacy_pin("7KQ2M-X9D41") and not is_legacy_pin("01234")


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
    web_pin = re.search(rf'data-testid="tracking-pin"[^>]*>\s*({PIN_PATTERN})', html).group(1)
    cookie = client.get_cookie("session").value
    session = SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    assert web_pin not in json.dumps(session)
    api_pin = browser(app).post("/api/v1/complaints", json={
        "unit": "UNIT-A", "title": "Jalan", "description": "Rusak", "privacy": "anonymous"}).get_json()["pin"]
    notice = browser(app).post("/open311/v2/requests.json", data={
        "api_key": scene.api_key, "service_code": "UNIT-A.GENERAL", "description": "Jalan rusak",
        "address_string": "Jl. Merdeka"}).get_json()[0]["service_notice"]
    open311_pin = re.search(rf"PIN ({PIN_PATTERN})", notice).group(1)
    texts = _texts_in_database(app)
    pins = [web_pin, api_pin, open311_pin, scene.a_pin, scene.b_pin, scene.secret_pin]
    pins += [pin.replace("-", "") for pin in pins]  # nor as it is hashed
    assert {pin: _holding(texts, pin) for pin in pins if _holding(texts, pin)} == {}
    with app.app_context():
        one, two = hash_pin("123456"), hash_pin("123456")
        assert one != two and check_pin(one, "123456") and check_pin(two, "123456")
        assert hashlib.sha256(b"123456").hexdigest() not in one
        stored = db.session.scalars(select(Complaint.pin_hash)).all()
    assert all(h.startswith("hmac-sha256$") for h in stored)



OLD_SHAPED_GUESS = "123456"  # a guess at a 6-digit PIN, as receipts issued before carried


def _wrong(pin: str) -> str:
    """The PIN with its last character changed."""
    return pin[:-1] + ("0" if pin[-1] != "0" else "1")


def test_unknown_codes_are_limited_like_existing_ones(app, scene, rate_limits):
    """Ten failed 6-digit PINs for a code that does not exist are limited just like ten for
    one that does (each from an address of its own, so only the per-code limit counts): the
    429 tells nothing about whether the code exists."""
    unknown = "ZZZZ-ZZZ9" if scene.b != "ZZZZ-ZZZ9" else "ZZZZ-ZZZ8"
    answers = {label: [_track_from(app, code, OLD_SHAPED_GUESS, f"10.{n}.0.{i + 1}") for i in range(11)]
               for n, (label, code) in enumerate((("existing", scene.b), ("unknown", unknown)))}
    assert answers["existing"] == answers["unknown"] == [404] * 10 + [429]


def _track_from(app, code: str, pin: str, address: str, headers=None) -> int:
    client = browser(app)
    token = get_page(client, "/track").token
    return client.post("/track", data={"csrf_token": token, "code": code, "pin": pin},
                       headers=headers or {}, environ_base={"REMOTE_ADDR": address}).status_code


def _api_from(app, code: str, pin: str, address: str, headers=None) -> list[int]:
    client = browser(app)
    headers = {"X-Tracking-Pin": pin, **(headers or {})}
    env = {"REMOTE_ADDR": address}
    return [client.get(f"/api/v1/complaints/{code}", headers=headers, environ_base=env).status_code,
            client.post(f"/api/v1/complaints/{code}/transitions", headers=headers, environ_base=env,
                        json={"trigger": "nothing"}).status_code]


def test_one_code_gets_ten_wrong_six_digit_pins_a_day_in_all(app, scene, rate_limits):
    """After ten wrong 6-digit PINs on /track, GET /api/v1/complaints/<code> and its
    transitions endpoint answer 429 to 6-digit PINs too: one budget per code, not ten
    guesses per route. The owner's 10-character PIN and the officers' tokens still work."""
    web = [_track_from(app, scene.a, OLD_SHAPED_GUESS, f"10.9.0.{i}") for i in range(10)]
    assert web == [404] * 10
    assert _api_from(app, scene.a, OLD_SHAPED_GUESS, "10.9.1.1") == [429, 429]
    assert _track_from(app, scene.a, scene.a_pin, "10.9.2.1") == 302
    assert _api_from(app, scene.a, scene.a_pin, "10.9.2.2")[0] == 200
    staff = browser(app).get(f"/api/v1/complaints/{scene.a}",
                             headers={"Authorization": f"Bearer {scene.tokens[OFFICER_A]}"})
    assert staff.status_code == 200


def test_a_long_pin_in_another_place_does_not_hide_a_six_digit_guess(app, scene, rate_limits):
    """The budget looks at the PIN the route compares: a 10-character PIN in the API's
    header does not spare a 6-digit guess typed into the tracking form, nor the reverse."""
    decoy = {"X-Tracking-Pin": "ABCDE-FGHJK"}
    web = [_track_from(app, scene.b, OLD_SHAPED_GUESS, f"10.6.0.{i}", decoy) for i in range(11)]
    assert web == [404] * 10 + [429]
    client = browser(app)
    api = client.get(f"/api/v1/complaints/{scene.b}", data={"pin": "ABCDE-FGHJK"},
                     headers={"X-Tracking-Pin": OLD_SHAPED_GUESS}, environ_base={"REMOTE_ADDR": "10.6.1.1"})
    assert api.status_code == 429


@pytest.mark.parametrize("header", ["", " ", "x", "Bearer", "Bearer ", "Basic abc", "Bearer pgd_unknown"])
def test_an_authorization_header_that_proves_nothing_exempts_from_nothing(app, scene, rate_limits, header):
    """An empty, malformed or unknown Authorization header is 401 on the API whatever PIN
    comes with it (the right one included), and on /track it spares no limit."""
    with_header = {"Authorization": header}
    assert _api_from(app, scene.a, scene.a_pin, "10.7.0.1", with_header) == [401, 401]
    assert _api_from(app, scene.a, scene.a_pin, "10.7.0.2") == [200, 409]  # read; no such step
    web = [_track_from(app, scene.b, OLD_SHAPED_GUESS, f"10.7.1.{i}", with_header) for i in range(11)]
    assert web == [404] * 10 + [429]
    one_address = [_track_from(app, scene.a, _wrong(scene.a_pin), "10.7.2.1", with_header)
                   for _ in range(11)]
    assert one_address == [404] * 10 + [429]


def test_an_ipv6_subscriber_is_one_address_for_the_limits(app, scene, rate_limits):
    """Every address of one /64 shares one budget (a subscriber holds them all); the next
    /64 has its own."""
    answers = [_track_from(app, scene.a, _wrong(scene.a_pin), f"2001:db8:0:1::{i:x}") for i in range(11)]
    assert answers == [404] * 10 + [429]
    assert _track_from(app, scene.a, scene.a_pin, "2001:db8:0:2::1") == 302


def test_the_limits_keep_a_pin_out_of_reach_for_a_century(app):
    """The README's figures, from the limits in force: at the most the server lets 1,000
    addresses try, guessing one complaint's PIN takes over a hundred years on average, for
    the 10-character PINs and for the 6-digit ones of older receipts alike."""
    from limits import parse_many

    from pengaduan.http.throttle import LEGACY_PIN_FAILURES_PER_CODE, PIN_FAILURES_PER_ADDRESS

    def per_day(spec: str) -> float:
        return min(item.amount * 86400 / item.get_expiry() for item in parse_many(spec))

    year = 365.25
    from_addresses = 1000 * per_day(PIN_FAILURES_PER_ADDRESS)
    new_years = len(ALPHABET) ** PIN_LENGTH / 2 / from_addresses / year
    old_years = 10 ** 6 / 2 / min(from_addresses, per_day(LEGACY_PIN_FAILURES_PER_CODE)) / year
    assert new_years > 10 ** 7 and old_years > 100, (new_years, old_years)


def test_an_expired_tracking_form_does_not_spend_the_codes_budget(app, scene, rate_limits):
    """A form whose token failed never compared the PIN: a page elsewhere that makes its
    visitors' browsers send such forms cannot lock a complainant out of her complaint."""
    for i in range(12):
        response = browser(app).post("/track", data={"csrf_token": "stale", "code": scene.a,
                                                    "pin": OLD_SHAPED_GUESS},
                                     environ_base={"REMOTE_ADDR": f"10.8.0.{i}"})
        assert response.status_code == 404
    assert _track_from(app, scene.a, scene.a_pin, "10.8.1.1") == 302


# --- 2. staff passwords ------------------------------------------------------------------------

def _age_attempts(app, by: timedelta) -> None:
    """Move every recorded sign-in attempt back in time (instead of waiting)."""
    with app.app_context():
        for attempt in db.session.scalars(select(SignInAttempt)):
            attempt.attempted_at -= by
        db.session.commit()


@pytest.mark.parametrize("spellings", [
    ["OFFICER.A@EXAMPLE.ID", "Officer.A@Example.Id", " officer.a@example.id ", "officer.a@EXAMPLE.id",
     "oFFICER.a@example.ID"],
], ids=["case-and-space"])
def test_lockout_counts_every_spelling_of_the_email_and_holds(app, org, spellings):
    """Five wrong passwords under five spellings of one email (case, spaces) from one
    address hold the account back there; during the hold the right password, under any
    spelling and from a fresh browser at that address, is refused; once the failures are
    15 minutes old the right password signs in and the count starts again."""
    for spelling in spellings:
        assert login(browser(app), spelling, WRONG).status_code == 401
    for spelling in spellings + [OFFICER_A]:
        client = browser(app)
        response = login(client, spelling, PASSWORD)
        assert response.status_code == 401 and "locked" in login_error(response), spelling
        assert client.get("/staff/queue").status_code == 302
    assert login(browser(app), OFFICER_B, PASSWORD).status_code == 302  # only that account
    _age_attempts(app, timedelta(minutes=15))
    assert login(browser(app), OFFICER_A, PASSWORD).status_code == 302
    for _ in range(4):
        assert login(browser(app), OFFICER_A, WRONG).status_code == 401
    assert login(browser(app), OFFICER_A, PASSWORD).status_code == 302  # counted from the sign-in


class _CountingHasher(PasswordHasher):
    """The test hasher, counting how often a password is verified (the costly step)."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash, password):  # noqa: A002 - argon2's own parameter name
        self.verified += 1
        return super().verify(hash, password)


def test_a_locked_account_and_an_unknown_email_answer_alike(app, org, monkeypatch):
    """A locked real account and an email that names no account get the same words and take
    the same path: one password verification each (no shortcut that would answer faster),
    both before and after five failures from the same address."""
    hasher = _CountingHasher()
    monkeypatch.setattr("pengaduan.models.user._hasher", hasher)

    def answer(email, password):
        before = hasher.verified
        response = login(browser(app), email, password)
        return response.status_code, login_error(response), hasher.verified - before

    first_real, first_unknown = answer(OFFICER_A, WRONG), answer("nobody@example.id", WRONG)
    assert first_real == first_unknown and first_real[0] == 401 and first_real[2] == 1
    for _ in range(4):
        answer(OFFICER_A, WRONG), answer("nobody@example.id", WRONG)
    locked, unknown = answer(OFFICER_A, PASSWORD), answer("nobody@example.id", PASSWORD)
    assert locked == unknown
    assert locked[0] == 401 and "locked" in locked[1] and locked[2] == 1
    assert answer("someone.else@example.id", PASSWORD) == first_unknown  # a fresh email


def test_a_strangers_failures_do_not_lock_the_owner_out_elsewhere(app, org):
    """Twenty wrong passwords for an officer from address A hold back A only: the right
    password from address B signs in. The typed passwords are stored nowhere; the admin
    sees the attempts with their time, address and outcome on the account page."""
    guesses = [f"guess-{i}-Zq8" for i in range(20)]
    statuses = [_login_from(app, OFFICER_A, guess, "10.66.0.1") for guess in guesses]
    assert statuses == [401] * 20
    assert _login_from(app, OFFICER_A, PASSWORD, "10.66.0.1") == 401
    assert _login_from(app, OFFICER_A, PASSWORD, "10.77.0.2") == 302
    texts = _texts_in_database(app)
    assert [t for t in texts if any(guess in t for guess in guesses)] == []
    admin = browser(app)
    assert login(admin, "admin@example.id").status_code == 302
    with app.app_context():
        officer_id = User.by_email(OFFICER_A).id
    page = admin.get(f"/admin/users/{officer_id}").get_data(as_text=True)
    table = page[page.index('data-testid="sign-in-attempts"'):]
    assert table.count("10.66.0.1") == 21 and table.count("10.77.0.2") == 1
    assert "held back (too many failures)" in table and "signed in" in table
    assert "wrong password" in table and "guess-" not in page


def test_an_ipv6_subscriber_is_one_address_for_sign_in(app, org):
    """Failures from five addresses of one IPv6 /64 hold back that whole /64 (a subscriber
    holds them all), not the next /64."""
    for i in range(5):
        assert _login_from(app, OFFICER_A, WRONG, f"2001:db8:0:1::{i + 1:x}") == 401
    assert _login_from(app, OFFICER_A, PASSWORD, "2001:db8:0:1::99") == 401
    assert _login_from(app, OFFICER_A, PASSWORD, "2001:db8:0:2::1") == 302


def test_one_address_trying_many_accounts_is_held_back(app, org):
    """Thirty failures from one address within an hour, spread over many emails, hold that
    address back for every account (the right password too); other addresses are not."""
    for i in range(30):
        assert _login_from(app, f"user{i}@example.id", WRONG, "10.5.5.5") == 401
    assert _login_from(app, OFFICER_A, PASSWORD, "10.5.5.5") == 401
    assert _login_from(app, OFFICER_A, PASSWORD, "10.6.6.6") == 302
    _age_attempts(app, timedelta(hours=1))
    assert _login_from(app, OFFICER_A, PASSWORD, "10.5.5.5") == 302


def _failures(app, email: str, addresses: list[str], at) -> None:
    with app.app_context():
        digest = email_digest(email)
        db.session.add_all(SignInAttempt(attempted_at=at, email_digest=digest, address=address,
                                         outcome="failure") for address in addresses)
        db.session.commit()


def test_guessing_from_many_addresses_is_capped_per_account(app, org):
    """Fifty failures for one account in a day from fifty addresses: each of those addresses
    is held back even under its own limit, while an address without failures, and one the
    owner signed in from before, still let the owner in. A day later the cap has lapsed."""
    assert _login_from(app, OFFICER_A, PASSWORD, "10.3.0.1") == 302  # the owner's office
    _failures(app, OFFICER_A, ["10.3.0.1"], utcnow() - timedelta(minutes=30))
    _failures(app, OFFICER_A, [f"10.4.0.{i}" for i in range(49)], utcnow() - timedelta(minutes=30))
    assert _login_from(app, OFFICER_A, PASSWORD, "10.4.0.7") == 401
    assert _login_from(app, OFFICER_A, PASSWORD, "10.9.9.9") == 302  # no failures there
    assert _login_from(app, OFFICER_A, PASSWORD, "10.3.0.1") == 302  # signed in there before
    assert _login_from(app, OFFICER_B, PASSWORD, "10.4.0.7") == 302  # another account
    _age_attempts(app, timedelta(hours=24))
    assert _login_from(app, OFFICER_A, PASSWORD, "10.4.0.7") == 302


def test_sign_in_attempts_are_kept_thirty_days(app, org):
    """Attempts older than 30 days are deleted by the next sign-in."""
    _failures(app, OFFICER_A, ["10.1.2.3"], utcnow() - timedelta(days=31))
    _failures(app, OFFICER_A, ["10.1.2.4"], utcnow() - timedelta(days=29))
    assert _login_from(app, OFFICER_B, PASSWORD, "10.1.2.5") == 302
    with app.app_context():
        kept = db.session.scalars(select(SignInAttempt.address)).all()
    assert sorted(kept) == ["10.1.2.4", "10.1.2.5"]


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
