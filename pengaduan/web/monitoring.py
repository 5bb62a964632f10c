"""What monitoring reads: /metrics (Prometheus, restricted) and /readyz (readiness).
`/healthz` (public.py) stays the liveness check: the process answers and the database too.

Neither takes part in the site's sessions, forms or rate limits: a scraper every 15 seconds
is no visitor, and no cookie is set on its answers.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, make_response, request

from ..extensions import csrf, limiter
from ..monitoring import metrics, probes

bp = Blueprint("monitoring", __name__)


@bp.record_once
def _started(state) -> None:
    probes.note_start(state.app)


@bp.get("/metrics")
@limiter.exempt
@csrf.exempt
def metrics_page():
    """The figures, to an allowed address or the token's holder; anyone else is told there is
    nothing here (404: the endpoint is not advertised)."""
    if not _monitoring_host():
        abort(404)
    response = make_response(metrics.exposition())
    response.headers["Content-Type"] = metrics.CONTENT_TYPE
    return response


@bp.get("/readyz")
@limiter.exempt
@csrf.exempt
def readyz():
    """200 `{"ready": true, ...}` when this node may take traffic and the worker runs; 503 with
    the reasons otherwise. The reasons, revisions and worker times only to those who may read
    /metrics; anyone else (a load balancer, the internet) gets `{"ready": ...}` alone, from a
    result a few seconds old at most."""
    if _monitoring_host():
        ready, body = probes.readiness()
    else:
        ready = probes.bare_readiness()
        body = {"ready": ready}
    return body, 200 if ready else 503


def _monitoring_host() -> bool:
    """Is the caller allowed to read /metrics (PENGADUAN_METRICS_ALLOW or the token)?"""
    config = current_app.config
    return metrics.may_read(request.remote_addr, request.headers.get("Authorization"),
                            config["PENGADUAN_METRICS_ALLOW"], config["PENGADUAN_METRICS_TOKEN"])
