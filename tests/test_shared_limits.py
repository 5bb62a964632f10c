"""Rate limits and PIN budgets shared by several web nodes through one Redis
(RATELIMIT_STORAGE_URI=redis://..., README: "Several web nodes"), with a real `redis-server`
(tests/redis_server.py) and two real app processes: a budget spent half on one node and half
on the other is spent, whichever node is asked next.

And what happens when Redis goes away: each node keeps answering and keeps counting in its own
memory with the same limits (Flask-Limiter's in-memory fallback, config.py), then goes back to
Redis once it answers again. The database plays no part here, so SQLite only.
"""
from __future__ import annotations

import time

import pytest

from live import Http, api_filing, make_org, procs  # noqa: F401
from redis_server import redis_server  # noqa: F401

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

SIX_DIGITS = "123456"  # a guess shaped like the PINs of old receipts: the per-code budget


def _wrong(pin: str) -> str:
    return pin[:-1] + ("0" if pin[-1] != "0" else "1")


def _look_up(node, code: str, pin: str, address: str | None = None) -> int:
    """GET /api/v1/complaints/<code> with a PIN, from `address` (a new one when None)."""
    return Http(node, address=address).get(f"/api/v1/complaints/{code}",
                                           headers={"X-Tracking-Pin": pin}).status_code


def _file_from(node, title: str, address: str) -> int:
    return Http(node, address=address).post("/api/v1/complaints", json=api_filing(title)).status_code


def _file(node, title: str) -> dict:
    response = Http(node).post("/api/v1/complaints", json=api_filing(title))
    assert response.status_code == 201, response.text[:500]
    return response.json()


def test_two_nodes_on_one_redis_share_the_limits_and_pin_budgets(app, procs, redis_server):
    """Ten wrong PINs, five through each node, spend the one budget: the eleventh is 429 on
    both nodes. Both budgets: a code's ten 6-digit guesses a day (from ten addresses), and an
    address's ten wrong PINs a minute (whatever the codes). Likewise the API's ten filings a
    minute from one address. The counters are in Redis."""
    redis_server.flush()
    make_org(app, token=False)
    one = procs.run_py("node-1", RATELIMIT_STORAGE_URI=redis_server.url)
    two = procs.run_py("node-2", RATELIMIT_STORAGE_URI=redis_server.url)
    nodes = (one, two)
    first, second = _file(one, "Jalan berlubang"), _file(two, "Lampu jalan mati")

    code = first["tracking_code"]
    per_code = [_look_up(nodes[i % 2], code, SIX_DIGITS) for i in range(10)]
    assert per_code == [404] * 10
    assert [_look_up(node, code, SIX_DIGITS) for node in nodes] == [429, 429]
    assert [_look_up(node, code, first["pin"]) for node in nodes] == [200, 200]  # the owner's PIN

    address, wrong = "10.200.0.1", _wrong(second["pin"])
    per_address = [_look_up(nodes[i % 2], second["tracking_code"], wrong, address) for i in range(10)]
    assert per_address == [404] * 10
    assert [_look_up(node, second["tracking_code"], wrong, address) for node in nodes] == [429, 429]
    assert _look_up(two, second["tracking_code"], wrong, "10.200.0.2") == 404  # another address

    filings = [_file_from(nodes[i % 2], f"Aduan {i}", "10.200.1.1") for i in range(10)]
    assert filings == [201] * 10
    assert [_file_from(node, "Aduan 10", "10.200.1.1") for node in nodes] == [429, 429]
    assert _file_from(two, "Aduan 11", "10.200.1.2") == 201  # another address files on

    assert any("tracking-pin" in key for key in redis_server.keys()), redis_server.keys()


def test_without_redis_each_node_limits_on_its_own_until_redis_is_back(app, procs, redis_server):
    """Redis killed: the node keeps filing complaints and answering PIN checks (no 500), and
    still refuses the eleventh wrong PIN from one address, counting in its own memory. Redis
    back on the same port: the node counts there again."""
    redis_server.flush()
    make_org(app, token=False)
    node = procs.run_py("node", RATELIMIT_STORAGE_URI=redis_server.url)
    filed = _file(node, "Sampah menumpuk")
    assert redis_server.keys(), "the filing's limit was counted in Redis"

    redis_server.stop()
    try:
        assert _file(node, "Saluran tersumbat")["tracking_code"]
        code, wrong = filed["tracking_code"], _wrong(filed["pin"])
        answers = [_look_up(node, code, wrong, "10.201.0.1") for _ in range(11)]
        assert answers == [404] * 10 + [429]
        assert _look_up(node, code, filed["pin"], "10.201.0.2") == 200
    finally:
        redis_server.start()
    assert "falling back to in-memory storage" in node.log()
    assert not redis_server.keys()  # a new, empty server

    # The node asks Redis again after a pause that doubles each time Redis is still away (1,
    # 2, 4, ... s, at most 32 s); from then on each wrong PIN (from an address of its own,
    # so that none is refused) is counted in Redis again.
    deadline = time.monotonic() + 120
    while not redis_server.keys():
        assert time.monotonic() < deadline, f"the node never went back to Redis:\n{node.tail()}"
        assert _look_up(node, code, wrong) == 404
        time.sleep(0.2)
    assert any("tracking-pin" in key for key in redis_server.keys())
