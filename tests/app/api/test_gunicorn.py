"""The shop under gunicorn with several workers: metrics summed across workers on METRICS_PORT,
/metrics hidden on the app port, JSON request logs on stdout, and a clean exit on SIGTERM."""

from __future__ import annotations

import json
import signal

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.live_shop import free_port, live_shop

pytestmark = pytest.mark.slow


def _requests_total(text: str, route: str, status: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dhakacart_http_requests_total"
        and sample.labels.get("route") == route
        and sample.labels.get("status") == status
    )


def test_metrics_port_sums_every_workers_requests_and_sigterm_exits_cleanly():
    metrics_port = free_port()
    with live_shop(
        workers=3, seed=False, extra_env={"METRICS_PORT": str(metrics_port), "LOG_LEVEL": "INFO"}
    ) as shop:
        with requests.Session() as session:
            before = _requests_total(
                requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text,
                "/api/v1/categories",
                "200",
            )
            for _ in range(30):
                # A new connection each time so the requests spread over the workers.
                assert requests.get(shop.url("/api/v1/categories"), timeout=10).status_code == 200
            assert session.get(shop.url("/metrics"), timeout=10).status_code == 404
        scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert _requests_total(scraped.text, "/api/v1/categories", "200") - before == 30
        assert "dhakacart_http_requests_in_flight" in scraped.text

        shop.process.send_signal(signal.SIGTERM)
        assert shop.process.wait(timeout=60) == 0
        access_lines = [
            json.loads(line)
            for line in shop.logs().splitlines()
            if line.startswith("{") and '"logger": "dhakacart.access"' in line
        ]
        assert sum(1 for line in access_lines if line["route"] == "/api/v1/categories") == 30
        assert all(
            line["request_id"] and line["status"] == 200
            for line in access_lines
            if line["route"] == "/api/v1/categories"
        )
