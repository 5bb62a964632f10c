"""Request plumbing that the pages (web/) and the API (api/) share: what every request goes
through, whichever surface it reaches. A package of its own, below both, so that neither
imports the other.

params.py    what arrives in paths, query strings and bodies, checked before any view reads it
throttle.py  the limits on guessing a complaint's PIN, for the tracking form and the API alike
uow.py       what views need of the request's unit of work (checked uploads, rerender())
errors.py    every error answered once, in the shape of the surface that asked
security.py  browser security headers on every answer
links.py     absolute links from PENGADUAN_BASE_URL, never from the request
observe.py   each request's id, its count and latency for /metrics, its access log line
"""
from flask import Flask

from . import links, observe, params, security


def init_app(app: Flask) -> None:
    """What every request goes through. Call it before registering blueprints: their routes
    need the id converter."""
    params.init_app(app)
    links.init_app(app)
    security.init_app(app)
    observe.init_app(app)
