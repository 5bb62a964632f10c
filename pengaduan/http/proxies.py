"""Whose X-Forwarded-* headers are believed (README "Several web nodes").

PENGADUAN_PROXY_COUNT says how many proxies stand in front of the app; PENGADUAN_TRUSTED_PROXIES
says which direct peers those proxies are (default: this machine, `127.0.0.1/8,::1`). A request
whose direct peer is listed is read through werkzeug's ProxyFix: its client address, scheme and
host are the forwarded ones. A request from any other peer is taken at its own address, its
X-Forwarded-* headers dropped: anyone on the LAN reaching a node's port directly cannot pose as
the monitoring host (/metrics) or as a new address each time (rate limits, PIN budgets).
"""
from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import address_in

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
                     "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


class TrustedProxies:
    """WSGI middleware: ProxyFix for requests from a trusted proxy, the bare request otherwise."""

    def __init__(self, app, count: int, trusted: str):
        self.app = app
        self.trusted = trusted
        self.fixed = ProxyFix(app, x_for=count, x_proto=count, x_host=count)

    def __call__(self, environ, start_response):
        if address_in(environ.get("REMOTE_ADDR"), self.trusted):
            return self.fixed(environ, start_response)
        for header in FORWARDED_HEADERS:
            environ.pop(header, None)
        return self.app(environ, start_response)
