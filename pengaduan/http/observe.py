"""What every request leaves for monitoring: its id (from a well-formed `X-Request-Id`, or
made here; answered in the same header and attached to every log line written meanwhile), its
count and latency in /metrics under its Flask endpoint, and, with PENGADUAN_LOG_FORMAT=json,
one access line (method, endpoint, status, duration). Never the path or the query string:
tracking codes travel in them."""
from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, request

from .. import logs
from ..monitoring import metrics

access_log = logging.getLogger("pengaduan.access")
HEADER = "X-Request-Id"


def init_app(app: Flask) -> None:
    # First of all the before-request functions: one that answers early (a rate limit, a
    # refused token) is counted and carries the id too.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_end)
    app.teardown_request(_forget)
    # Flask's own line for an unexpected failure names the path ("Exception on /track/<code>"):
    # name the endpoint instead.
    app.log_exception = _log_exception


def _log_exception(exc_info) -> None:
    current_app.logger.error("unexpected failure in %s [%s]", request.endpoint or metrics.UNMATCHED,
                             request.method, exc_info=exc_info)


def _begin() -> None:
    g.request_id = logs.request_id_from(request.headers.get(HEADER))
    g.request_started = time.perf_counter()
    g.request_id_token = logs.bind_request_id(g.request_id)


def _end(response):
    request_id = g.get("request_id")
    if request_id is None:  # answered before _begin ran (cannot happen but for a broken app)
        return response
    response.headers[HEADER] = request_id
    seconds = time.perf_counter() - g.request_started
    endpoint = request.url_rule.endpoint if request.url_rule is not None else None
    try:
        metrics.observe_request(endpoint, request.method, response.status_code, seconds)
    except OSError:  # PROMETHEUS_MULTIPROC_DIR full or gone: the answer matters more than the count
        logging.getLogger(__name__).warning("could not count a request for /metrics", exc_info=True)
    if current_app.config.get("PENGADUAN_LOG_FORMAT") == "json":
        access_log.info("request", extra={"fields": {
            "method": request.method, "endpoint": endpoint or metrics.UNMATCHED,
            "status": response.status_code, "duration_ms": round(seconds * 1000, 1)}})
    return response


def _forget(_exc) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            logs.reset_request_id(token)
        except ValueError:  # set in another context (a streamed answer's): just clear it
            logs.bind_request_id(None)
