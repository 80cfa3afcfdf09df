"""Per-request observability: X-Request-ID, one JSON log line per request, Prometheus metrics."""

from __future__ import annotations

import json
import logging
import random
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request, session
from sqlalchemy import inspect

from .probes.metrics import HTTP_LATENCY, HTTP_REQUESTS, IN_FLIGHT

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("dhakacart.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line on stdout: what Loki/Alloy parse without regexes."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def new_request_id() -> str:
    """A random UUID4 as 32 hex digits, from the `random` module rather than os.urandom.

    A request id must be unique, not unpredictable (it authorises nothing), and os.urandom is a
    system call that is slow in some sandboxes and VMs. `random` reseeds itself in every forked
    gunicorn worker, so workers never repeat each other's sequence.
    """
    return uuid.UUID(int=random.getrandbits(128), version=4).hex


def _route_label() -> str:
    # The route template, never the raw path: raw paths would explode the label cardinality.
    if request.url_rule is not None:
        return request.url_rule.rule
    return "unmatched"


def _user_id(user: object) -> object:
    # The primary key from the identity map, never `user.id`: after a rollback (a database outage)
    # the instance is expired, and reading an attribute would query the database in the teardown,
    # turning the clean JSON 503 into gunicorn's HTML 500.
    identity = inspect(user).identity
    return identity[0] if identity else None


def register_observability(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_request_id()
        g.started_at = time.perf_counter()
        g.in_flight = True
        IN_FLIGHT.inc()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        return response

    @app.teardown_request
    def _record(exc: BaseException | None) -> None:
        if not g.get("in_flight"):
            return
        g.in_flight = False
        IN_FLIGHT.dec()
        elapsed = time.perf_counter() - g.started_at
        status = g.get("response_status", 500 if exc else 200)
        route = _route_label()
        HTTP_REQUESTS.labels(method=request.method, route=route, status=str(status)).inc()
        HTTP_LATENCY.labels(method=request.method, route=route).observe(elapsed)
        user = g.get("current_user")
        access_log.info(
            "request",
            extra={
                "fields": {
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "route": route,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "user_id": _user_id(user) if user is not None else session.get("user_id"),
                    "remote_addr": request.remote_addr,
                }
            },
        )

    @app.after_request
    def _remember_status(response: Response) -> Response:
        g.response_status = response.status_code
        return response
