"""Whose X-Forwarded-* headers are believed (README "Several web nodes"): with
PENGADUAN_PROXY_COUNT=1 only a direct peer in PENGADUAN_TRUSTED_PROXIES forwards a client's
address. Anyone else reaching a node's port is taken at their own address: a forged
X-Forwarded-For opens no /metrics and buys no fresh rate-limit budget."""
from __future__ import annotations

import pytest

from pengaduan import configure_proxy
from pengaduan.config import load_config
from test_citizen import rate_limits  # noqa: F401  (the fixture)
from test_security_corpus import browser, get_page

STRANGER = "203.0.113.9"  # somewhere on the LAN, reaching a node's port directly


def behind_proxies(app, trusted: str | None = None):
    """`app` as create_app wires it with PENGADUAN_PROXY_COUNT=1 (and `trusted` proxies)."""
    app.config["PENGADUAN_PROXY_COUNT"] = 1
    if trusted is not None:
        app.config["PENGADUAN_TRUSTED_PROXIES"] = trusted
    configure_proxy(app)
    return app.test_client()


def metrics_from(client, peer: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": peer}).status_code


def test_a_forged_forwarded_for_from_an_untrusted_peer_opens_no_metrics(app):
    client = behind_proxies(app)  # the default: the loopback proxy is trusted
    assert metrics_from(client, STRANGER, "127.0.0.1") == 404
    assert metrics_from(client, STRANGER, "10.0.0.1, 127.0.0.1") == 404
    assert metrics_from(client, "127.0.0.1", STRANGER) == 404  # through nginx: the client counts
    assert metrics_from(client, "127.0.0.1", "127.0.0.1") == 200
    assert metrics_from(client, "127.0.0.1") == 200  # on the node itself, no proxy


def test_nginx_on_another_machine_is_trusted_once_listed(app):
    app.config["PENGADUAN_METRICS_ALLOW"] = "192.0.2.7"  # the monitoring host
    client = behind_proxies(app, trusted="10.0.0.5")  # nginx
    assert metrics_from(client, "10.0.0.5", "192.0.2.7") == 200  # scraped through nginx
    assert metrics_from(client, "10.0.0.5", STRANGER) == 404
    assert metrics_from(client, "10.0.0.5") == 404  # nginx's own address is not the allow-list's
    assert metrics_from(client, "192.0.2.7", STRANGER) == 200  # scraped directly: its own address
    assert metrics_from(client, STRANGER, "192.0.2.7") == 404
    assert metrics_from(client, "127.0.0.1", "192.0.2.7") == 404  # loopback no longer trusted


def test_headers_of_an_untrusted_peer_are_dropped(app):
    seen = {}

    @app.get("/_seen")
    def _seen():
        from flask import request
        seen.update(address=request.remote_addr, scheme=request.scheme, host=request.host,
                    forwarded=request.headers.get("X-Forwarded-For"))
        return ""

    client = behind_proxies(app)
    forged = {"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    client.get("/_seen", headers=forged, environ_base={"REMOTE_ADDR": STRANGER})
    assert seen == {"address": STRANGER, "scheme": "http", "host": "localhost", "forwarded": None}
    client.get("/_seen", headers=forged, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert seen["address"] == "127.0.0.1" and seen["scheme"] == "https" and seen["host"] == "evil.example"


def sign_ins(app, peer: str, forwarded: list[str]) -> list[int]:
    client = browser(app)
    token = get_page(client, "/login").token
    return [client.post("/login", data={"csrf_token": token, "email": "nobody@example.id", "password": "wrong"},
                        headers={"X-Forwarded-For": address},
                        environ_base={"REMOTE_ADDR": peer}).status_code
            for address in forwarded]


def test_a_forged_forwarded_for_buys_no_fresh_rate_limit(app, rate_limits):  # noqa: F811
    behind_proxies(app)
    rotating = [f"198.51.100.{i}" for i in range(1, 12)]
    assert sign_ins(app, STRANGER, rotating)[-1] == 429  # ten a minute from the stranger's address
    through_nginx = sign_ins(app, "127.0.0.1", rotating)
    assert 429 not in through_nginx  # eleven clients forwarded by the trusted proxy
    assert sign_ins(app, "127.0.0.1", ["198.51.100.1"] * 10)[-1] == 429  # one client, its own budget


@pytest.mark.parametrize("bad", ["nginx", "10.0.0.5/40", "10.0.0.5,,x"])
def test_the_trusted_proxies_setting_is_checked(tmp_path, bad):
    with pytest.raises(ValueError, match="PENGADUAN_TRUSTED_PROXIES"):
        load_config(str(tmp_path), env={"SECRET_KEY": "x", "PENGADUAN_TRUSTED_PROXIES": bad})
    default = load_config(str(tmp_path), env={"SECRET_KEY": "x"})
    assert default["PENGADUAN_TRUSTED_PROXIES"] == "127.0.0.1/8,::1"
