"""Two-step verification and the admin's resets, as staff meet them in the browser.

Codes are computed with pyotp from the secret the enrolment page shows; the server's clock is
a fixed moment the tests move (no test depends on the wall clock or on the 30-second step it
happens to run in).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
from sqlalchemy import select

from pengaduan.extensions import db
from pengaduan.models import AuditEvent, RecoveryCode, SignInAttempt, User
from pengaduan.policy import Role, two_factor_roles
from pengaduan.services.administration import two_factor
from test_staff import PASSWORD, browser, get_page, location, login, login_error
from test_supervision import org  # noqa: F401  (the fixture: two units and their staff)

OFFICER, ADMIN, AUDITOR = "officer.a@example.id", "admin@example.id", "auditor@example.id"
NEW_PASSWORD = "kopi tubruk pagi hari"
START = datetime(2026, 12, 7, 9, 0, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now

    def code(self, secret: str, steps: int = 0) -> str:
        """The app's code at the server's time, `steps` 30-second steps later."""
        return pyotp.TOTP(secret).at(self.now + timedelta(seconds=30 * steps))


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(two_factor, "utcnow", clock)
    return clock


def send(client, url: str, page: str | None = None, **data):
    """Post a form with the CSRF token of the page it is on (`page`, or the url itself)."""
    token = get_page(client, page or url).token
    return client.post(url, data={"csrf_token": token, **data})


def enrol(client, clock) -> tuple[str, list[str]]:
    """Switch two-step verification on from the account pages; the secret and the codes."""
    page = client.get("/account/two-factor/enable").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    response = send(client, "/account/two-factor/enable", code=clock.code(secret), password=PASSWORD)
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})</code></li>", response.get_data(as_text=True))
    return secret, codes


def signed_in_with_two_step(app, clock, email=OFFICER) -> tuple:
    client = browser(app)
    assert location(login(client, email)) != "/login/code"
    secret, codes = enrol(client, clock)
    return client, secret, codes


def signed_in_home(response) -> bool:
    """The answer of a complete sign-in: off to the user's start page (not the sign-in or
    a duty page)."""
    return location(response) not in ("/login", "/login/code", "/account/password",
                                      "/account/two-factor/enable")


def second_step(client, code: str):
    return send(client, "/login/code", code=code)


def events(app, action: str) -> list[dict]:
    with app.app_context():
        return [json.loads(e.body) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def user(app, email: str) -> User:
    with app.app_context():
        found = User.by_email(email)
        db.session.expunge(found)
        return found


def test_enrolment_refuses_a_wrong_code_and_a_right_one_switches_it_on(app, org, clock):
    client = browser(app)
    login(client, OFFICER)
    page = client.get("/account/two-factor/enable").get_data(as_text=True)
    # The QR code is drawn in the page itself: no script but the site's own form helper.
    assert "<svg" in page and re.findall(r"<script[^>]*>", page) == [
        '<script src="/static/js/keep-typed.js" defer>']
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    wrong = str((int(clock.code(secret)) + 1) % 1_000_000).zfill(6)
    refused = send(client, "/account/two-factor/enable", code=wrong, password=PASSWORD)
    assert refused.status_code == 422, refused.get_data(as_text=True)[-3000:]
    assert secret in refused.get_data(as_text=True).replace(" ", "")  # the same secret: rescanning is not needed
    assert not user(app, OFFICER).two_factor_enabled

    someone = send(client, "/account/two-factor/enable", code=clock.code(secret), password="not mine at all")
    assert someone.status_code == 422 and not user(app, OFFICER).two_factor_enabled  # the password too

    response = send(client, "/account/two-factor/enable", code=clock.code(secret), password=PASSWORD)
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})</code></li>", response.get_data(as_text=True))
    assert len(set(codes)) == 10
    stored = user(app, OFFICER)
    assert stored.two_factor_enabled and stored.totp_enabled_at == START
    assert secret not in stored.totp_secret  # encrypted at rest
    with app.app_context():
        assert two_factor.unseal(stored.totp_secret) == secret
        hashes = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not any(code.replace("-", "") in h for h in hashes for code in codes)
    assert [e["payload"] for e in events(app, "user.two_factor_enabled")] == [{"email": OFFICER}]
    assert "On" in get_page(client, "/account").html


def test_sign_in_asks_for_the_code_and_the_half_signed_in_browser_opens_nothing(app, org, clock):
    _, secret, _ = signed_in_with_two_step(app, clock)
    clock.now += timedelta(minutes=1)
    client = browser(app)
    response = login(client, OFFICER)
    assert location(response) == "/login/code"
    with app.app_context():
        assert db.session.scalars(select(SignInAttempt.outcome).order_by(SignInAttempt.id.desc())).first() == "password_ok"
    # The right password alone: no staff page, no account page, no API.
    for url in ("/staff/queue", "/account", "/account/two-factor/enable", "/staff/notifications"):
        assert location(client.get(url)).startswith("/login"), url
    assert client.get("/api/v1/complaints").status_code == 401
    assert client.get("/admin/users").status_code in (302, 403)

    wrong = second_step(client, "000000" if clock.code(secret) != "000000" else "111111")
    assert wrong.status_code == 401 and "not right" in login_error(wrong)
    assert location(client.get("/staff/queue")).startswith("/login")

    response = second_step(client, clock.code(secret))
    assert signed_in_home(response)
    assert client.get("/staff/queue").status_code == 200
    assert user(app, OFFICER).last_login_at == clock.now


def test_a_code_is_accepted_once_and_one_step_of_drift_either_way(app, org, clock):
    _, secret, _ = signed_in_with_two_step(app, clock)  # the enrolment spent the current step
    client = browser(app)
    login(client, OFFICER)
    assert second_step(client, clock.code(secret)).status_code == 401  # used to enrol
    assert second_step(client, clock.code(secret, -1)).status_code == 401  # older still
    assert signed_in_home(second_step(client, clock.code(secret, +1)))  # a phone ahead

    again = browser(app)
    login(again, OFFICER)
    assert second_step(again, clock.code(secret, +1)).status_code == 401  # a replay
    clock.now += timedelta(minutes=5)
    assert second_step(again, clock.code(secret, -2)).status_code == 401  # beyond the drift
    assert signed_in_home(second_step(again, clock.code(secret, -1)))  # a phone behind


def test_wrong_codes_hold_the_second_step_back(app, org, clock):
    _, secret, _ = signed_in_with_two_step(app, clock)
    clock.now += timedelta(minutes=1)
    client = browser(app)
    login(client, OFFICER)
    right = clock.code(secret)
    wrong = str((int(right) + 7) % 1_000_000).zfill(6)
    for _ in range(two_factor.CODE_FAILURES):
        assert second_step(client, wrong).status_code == 401
    held = second_step(client, right)  # even the right code waits now
    assert held.status_code == 401 and "Too many wrong codes" in login_error(held)
    assert [e["payload"]["scope"] for e in events(app, "user.locked")] == ["code"]
    # From another address too: whoever is here already knows the password.
    other = app.test_client()
    other.set_cookie("lang", "en")
    login(other, OFFICER)
    response = other.post("/login/code", environ_base={"REMOTE_ADDR": "203.0.113.9"}, data={
        "csrf_token": get_page(other, "/login/code").token, "code": right})
    assert "Too many wrong codes" in login_error(response)

    clock.now += two_factor.CODE_WINDOW + timedelta(seconds=1)
    login(client, OFFICER)
    assert signed_in_home(second_step(client, clock.code(secret)))


def test_a_recovery_code_signs_in_once(app, org, clock):
    _, secret, codes = signed_in_with_two_step(app, clock)
    client = browser(app)
    login(client, OFFICER)
    response = second_step(client, codes[3].lower().replace("-", " "))  # typed loosely
    assert signed_in_home(response)
    assert "recovery code" in get_page(client, "/staff/queue").html
    assert events(app, "user.recovery_code_used")[0]["payload"] == {"email": OFFICER, "left": 9}

    again = browser(app)
    login(again, OFFICER)
    assert second_step(again, codes[3]).status_code == 401
    assert signed_in_home(second_step(again, codes[4]))


def test_disabling_needs_a_code_or_the_password(app, org, clock):
    client, secret, _ = signed_in_with_two_step(app, clock)
    refused = send(client, "/account/two-factor/disable", page="/account", proof="bukan sandinya")
    assert refused.status_code == 422 and "neither a current code" in refused.get_data(as_text=True)
    assert user(app, OFFICER).two_factor_enabled
    assert location(send(client, "/account/two-factor/disable", page="/account", proof=PASSWORD)) == "/account"
    assert not user(app, OFFICER).two_factor_enabled
    assert events(app, "user.two_factor_disabled")
    with app.app_context():
        assert db.session.scalars(select(RecoveryCode)).all() == []
    assert signed_in_home(login(browser(app), OFFICER))  # the password alone again


def test_new_recovery_codes_replace_the_old_ones(app, org, clock):
    client, secret, old = signed_in_with_two_step(app, clock)
    response = send(client, "/account/two-factor/recovery-codes", page="/account", code=clock.code(secret, 1))
    new = re.findall(r"<li><code>([0-9A-Z]{5}-[0-9A-Z]{5})</code></li>", response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    other = browser(app)
    login(other, OFFICER)
    assert second_step(other, old[0]).status_code == 401
    assert signed_in_home(second_step(other, new[0]))


@pytest.fixture
def required(app):
    """PENGADUAN_REQUIRE_2FA_ROLES=admin,auditor."""
    app.config["TWO_FACTOR_ROLES"] = two_factor_roles("admin,auditor")


def test_a_required_role_enrols_before_anything_else(app, org, clock, required):
    client = browser(app)
    assert signed_in_home(login(client, AUDITOR))
    for url in ("/staff/queue", "/account", "/staff/reports", "/account/password"):
        assert location(client.get(url)) == "/account/two-factor/enable", url
    admin = browser(app)
    login(admin, ADMIN)
    token = get_page(admin, "/account/two-factor/enable").token
    response = admin.post("/admin/units", data={"csrf_token": token, "code": "UNIT-C", "name": "Dinas C",
                                                "timezone": "Asia/Jakarta", "working_days": "12345"})
    assert location(response) == "/account/two-factor/enable"
    with app.app_context():
        from pengaduan.models import Unit
        assert Unit.by_code("UNIT-C") is None
    enrol(client, clock)
    assert client.get("/staff/queue").status_code == 200
    # Roles not named are not held; a role named that is no role at all stops the start.
    assert signed_in_home(login(browser(app), OFFICER))
    with pytest.raises(ValueError, match="boss"):
        two_factor_roles("admin, boss")
    assert two_factor_roles("") == frozenset() and two_factor_roles(" Admin ") == {Role.ADMIN}


def test_the_accounts_page_warns_while_admins_are_not_required_to_use_it(app, org, required):
    admin = browser(app)
    app.config["TWO_FACTOR_ROLES"] = frozenset()
    login(admin, ADMIN)
    page = get_page(admin, "/admin/users").html
    assert 'data-testid="two-factor-warning"' in page and "PENGADUAN_REQUIRE_2FA_ROLES" in page
    app.config["TWO_FACTOR_ROLES"] = two_factor_roles("admin,auditor")
    admin = browser(app)
    login(admin, ADMIN)
    assert location(admin.get("/admin/users")) == "/account/two-factor/enable"


def test_an_admin_resets_a_password(app, org, clock):
    victim = browser(app)
    login(victim, OFFICER)
    assert victim.get("/staff/queue").status_code == 200
    admin = browser(app)
    login(admin, ADMIN)
    officer_id = user(app, OFFICER).id
    page = get_page(admin, f"/admin/users/{officer_id}").html
    assert 'data-testid="reset-password"' in page  # behind a confirmation
    response = send(admin, f"/admin/users/{officer_id}/password", page=f"/admin/users/{officer_id}")
    assert response.status_code == 200 and response.headers["Cache-Control"].startswith("no-store")
    password = re.search(r'data-testid="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    with admin.session_transaction() as session:
        assert password not in json.dumps(dict(session), default=str)  # never through the cookie
    reset = events(app, "user.password_reset")
    assert reset[-1]["actor"].endswith(ADMIN) and reset[-1]["payload"] == {
        "email": OFFICER, "sessions_ended": True, "must_change": True}
    assert password not in json.dumps(reset)

    assert location(victim.get("/staff/queue")).startswith("/login")  # the old session ended
    assert login(browser(app), OFFICER).status_code == 401  # the old password no longer works
    client = browser(app)
    assert login(client, OFFICER, password=password).status_code == 302
    assert location(client.get("/staff/queue")) == "/account/password"
    same = send(client, "/account/password", current=password, new=password, confirm=password)
    assert same.status_code == 422
    changed = send(client, "/account/password", current=password, new=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert changed.status_code == 302
    assert client.get("/staff/queue").status_code == 200
    assert not user(app, OFFICER).password_change_required


def test_an_admin_resets_two_step_verification(app, org, clock):
    victim, secret, codes = signed_in_with_two_step(app, clock)
    admin = browser(app)
    login(admin, ADMIN)
    officer_id = user(app, OFFICER).id
    page = get_page(admin, f"/admin/users/{officer_id}").html
    assert 'data-testid="reset-two-factor"' in page
    response = send(admin, f"/admin/users/{officer_id}/two-factor", page=f"/admin/users/{officer_id}")
    assert location(response) == f"/admin/users/{officer_id}"
    reset = events(app, "user.two_factor_reset")
    assert reset[-1]["actor"].endswith(ADMIN) and reset[-1]["payload"] == {"email": OFFICER}
    assert not user(app, OFFICER).two_factor_enabled
    assert location(victim.get("/staff/queue")).startswith("/login")  # sessions ended
    assert signed_in_home(login(browser(app), OFFICER))  # the password alone


def test_a_reset_in_between_voids_the_half_signed_in_state(app, org, clock, runner):
    _, secret, _ = signed_in_with_two_step(app, clock)
    client = browser(app)
    login(client, OFFICER)
    result = runner.invoke(args=["users", "reset-two-factor", OFFICER])
    assert result.exit_code == 0 and "is off" in result.output
    assert events(app, "user.two_factor_reset")[-1]["actor"] == "cli"
    assert location(client.get("/login/code")) == "/login"


def test_bearer_tokens_are_not_affected(app, org, clock, required):
    """The API takes its own credential: an auditor who has not enrolled keeps using a token."""
    with app.app_context():
        from pengaduan.models import User as U
        from pengaduan.services import issue_token
        token = issue_token(U.by_email(AUDITOR))
        db.session.commit()
    client = app.test_client()
    response = client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
