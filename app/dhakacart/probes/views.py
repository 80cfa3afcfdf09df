"""Operations endpoints: /healthz (alive), /readyz (can serve), /metrics (Prometheus)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, jsonify

from . import metrics, readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    # Liveness only: no database call, so a database outage never restarts healthy pods.
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    ready, report = readiness.check()
    response = jsonify({"status": "ready" if ready else "not_ready", "checks": report})
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def prometheus_metrics():
    # With METRICS_PORT set the gunicorn master serves the metrics on their own port, and this
    # path (reachable through the Ingress) must not expose them.
    if current_app.config["SETTINGS"].metrics_port:
        abort(404)
    payload, content_type = metrics.render()
    return Response(payload, content_type=content_type, headers={"Cache-Control": "no-store"})
