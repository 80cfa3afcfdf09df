"""load as a command: a short bounded Locust run against the live shop, and a URL it refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.load import LoadReport
from tests.support.live_shop import LiveShop


@pytest.mark.slow
def test_a_short_load_run_reports_requests_latency_and_no_errors(shop: LiveShop, tmp_path: Path) -> None:
    report_file = tmp_path / "load.json"
    # Thresholds are not judged here (this machine's latency proves nothing): --max-p95-ms is
    # lifted so the exit code reflects errors only; evaluate() is tested on its own below.
    result = CliRunner().invoke(
        cli,
        [
            "load",
            "--url",
            shop.base_url,
            "--users",
            "5",
            "--spawn-rate",
            "5",
            "--duration",
            "10",
            "--max-p95-ms",
            "1000000",
            "--report",
            str(report_file),
        ],
    )
    report = LoadReport.from_dict(json.loads(report_file.read_text()))
    assert result.exit_code == 0, result.output
    assert report.requests > 0 and report.failures == 0, report.errors
    names = {e["name"] for e in report.endpoints}
    assert {"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/products"} <= names
    assert report.p50_ms <= report.p95_ms <= report.p99_ms
    assert report.rate_limited == 0  # counted by the runner (see the unit test below for non-zero)
    assert "req/s" in result.output and "p95" in result.output and "errors 0" in result.output


def test_load_refuses_a_url_without_scheme() -> None:
    result = CliRunner().invoke(cli, ["load", "--url", "shop.example.com", "--duration", "1"])
    assert result.exit_code == 1 and "must start with http://" in result.output
