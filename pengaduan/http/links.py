"""Absolute links to the site, built from PENGADUAN_BASE_URL and never from the request.

`Host` and `X-Forwarded-Host` are chosen by whoever sends the request: a link built from
them (Flask's `url_for(..., _external=True)`) would let anyone have the office email a
link to a site of their choosing. Every email and every absolute link uses this instead.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` on the configured site (values as for url_for)."""
    base = urlsplit(current_app.config["PENGADUAN_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/",
                                       url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def init_app(app: Flask) -> None:
    app.add_template_global(external_url)
