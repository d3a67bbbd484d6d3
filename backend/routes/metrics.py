"""`GET /metrics`: the Prometheus exposition, summed over every gunicorn worker.

Protected by its own token, METRICS_TOKEN (not a tenant's secret): Prometheus sends it as
`Authorization: Bearer <token>` (its scrape config's `authorization: {credentials: ...}`).
Unset, /metrics answers 404: metrics are off.
"""

import hmac

from flask import Blueprint, Response, abort, current_app
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from backend.auth.credentials import presented_secret
from backend.logs import log_event

bp = Blueprint("metrics", __name__)


def _token_matches(expected):
    presented = presented_secret()
    # compare_digest on bytes: constant time whatever the characters.
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


@bp.get("/metrics")
def metrics():
    """Every metric family, as Prometheus' text format; 401 without the metrics token."""
    expected = current_app.config["METRICS_TOKEN"]
    if expected is None:
        abort(404, description="metrics are off: set METRICS_TOKEN")
    if not _token_matches(expected):
        log_event("METRICS_AUTH_REJECTED", level=30)
        abort(401, description="missing or invalid metrics token")
    folder = current_app.config["PROMETHEUS_MULTIPROC_DIR"]
    if folder is None:
        registry = REGISTRY  # one process (flask run, tests): its own values
    else:
        # Every worker's files, the exited ones' included: counters never go back.
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=folder)
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
