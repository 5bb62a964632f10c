"""Headers that make every answer safer in a browser: no script but our own files (there is
none inline), no framing, no MIME sniffing, no referrer leaving the site, no cached page."""
from __future__ import annotations

from flask import Flask, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "font-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'",
    "form-action 'self'", "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        # Pages carry a tracking code and PIN, a complaint, a signed-in officer's queue or a
        # form token: no browser or proxy cache keeps them (a shared computer, an office
        # proxy). Only our own CSS, JS and images are cached, as Flask serves them.
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
