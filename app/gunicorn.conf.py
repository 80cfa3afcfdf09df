"""gunicorn settings for the shop, all from the environment.

PORT (8000)               the app port
WEB_CONCURRENCY (2)       worker processes
GUNICORN_THREADS (4)      threads per worker (gthread)
GUNICORN_TIMEOUT (30)     seconds before a stuck worker is killed
GUNICORN_GRACEFUL_TIMEOUT (20)
                          on SIGTERM, seconds to finish in-flight requests; keep it below the pod's
                          terminationGracePeriodSeconds minus its preStop sleep
METRICS_PORT (unset)      when set, the master serves /metrics for all workers on this port
PROMETHEUS_MULTIPROC_DIR  where workers write metric samples (default /tmp/dhakacart-prometheus,
                          under /tmp so a read-only root filesystem works); start-up deletes only the
                          sample files a previous run left there
"""

from __future__ import annotations

import os
import re


def _int_env(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SystemExit(f"{name}={value} must be at least {minimum}")
    return value


# Must be set before prometheus_client is imported anywhere (it picks its storage at import time).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", "/tmp/dhakacart-prometheus")  # noqa: S108
MULTIPROC_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]

bind = f"0.0.0.0:{_int_env('PORT', 8000)}"
workers = _int_env("WEB_CONCURRENCY", 2)
worker_class = "gthread"
threads = _int_env("GUNICORN_THREADS", 4)
timeout = _int_env("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int_env("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5
max_requests = 2000  # recycle workers now and then so slow leaks cannot grow forever
max_requests_jitter = 200
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "dhakacart"


# The files prometheus_client's multiprocess mode writes: <type>_<pid>.db, gauges with their mode
# (prometheus_client/values.py). Nothing else in the directory is ours to delete.
SAMPLE_FILE = re.compile(
    r"(counter|histogram|summary"
    r"|gauge_(all|liveall|min|livemin|max|livemax|sum|livesum|mostrecent|livemostrecent))_\d+\.db"
)


def remove_stale_samples(directory: str) -> list[str]:
    """Delete the metric sample files a previous run left in `directory`; return their names.

    Only regular files whose names match SAMPLE_FILE go: the directory may be shared (an emptyDir
    mounted on /tmp, an operator's path) and anything else in it belongs to someone else.
    """
    os.makedirs(directory, exist_ok=True)
    removed = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if SAMPLE_FILE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def on_starting(server) -> None:
    # Samples from a previous run would be summed into this one's counters.
    removed = remove_stale_samples(MULTIPROC_DIR)
    if removed:
        server.log.info("removed %d stale metric sample files from %s", len(removed), MULTIPROC_DIR)


def when_ready(server) -> None:
    port = os.environ.get("METRICS_PORT", "").strip()
    if not port:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(_int_env("METRICS_PORT", 9102), addr="0.0.0.0", registry=registry)  # noqa: S104
    server.log.info("serving Prometheus metrics for all workers on :%s/metrics", port)


def child_exit(server, worker) -> None:
    # A dead worker's live gauges (in-flight requests) must stop counting.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
