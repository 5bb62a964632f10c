"""The two WSGI apps bench/filing.py serves with gunicorn: pengaduan as deployed (rate limits
off: the benchmark is one client filing thousands of complaints), and the bare Flask floor."""
from __future__ import annotations

import os

from flask import Flask, jsonify, request

from common import make_app


def _pengaduan():
    return make_app(os.environ["BENCH_DATABASE_URL"], os.environ["BENCH_TMP"], RATELIMIT_ENABLED=False)


def _bare():
    """The least a Flask endpoint can do for the same request: parse the JSON, answer JSON."""
    bare = Flask("bare")

    @bare.post("/api/v1/complaints")
    def file():
        body = request.get_json()
        return jsonify(tracking_code="ABCD-EFGH", pin="123456", title=body["title"]), 201

    return bare


app = _bare() if os.environ.get("BENCH_APP") == "bare" else _pengaduan()
