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


def _load_gunicorn_config(monkeypatch: pytest.MonkeyPatch, multiproc_dir: str):
    """app/gunicorn.conf.py as a module (it reads PROMETHEUS_MULTIPROC_DIR when loaded)."""
    import importlib.util

    from tests.support.live_shop import APP_DIR

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", multiproc_dir)
    spec = importlib.util.spec_from_file_location("dhakacart_gunicorn_conf", APP_DIR / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stale_sample_cleanup_removes_only_prometheus_sample_files(tmp_path, monkeypatch):
    config = _load_gunicorn_config(monkeypatch, str(tmp_path))
    ours = ["counter_101.db", "histogram_101.db", "gauge_livesum_101.db", "gauge_all_7.db", "summary_3.db"]
    theirs = ["notes.txt", "counter.db", "counter_101.db.bak", "gauge_weird_101.db", "histogram_x.db"]
    for name in ours + theirs:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "counter_5.db").mkdir()  # a directory with a sample's name is not a sample file
    target = tmp_path / "notes.txt"
    (tmp_path / "counter_9.db").symlink_to(target)  # nor is a symlink (its target is someone's)

    removed = config.remove_stale_samples(str(tmp_path))

    assert sorted(removed) == sorted(ours)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([*theirs, "counter_5.db", "counter_9.db"])
    assert target.read_bytes() == b"x"


def test_start_keeps_unrelated_files_in_the_metrics_dir_and_drops_the_last_runs_samples(tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    unrelated = multiproc / "operator-notes.txt"
    unrelated.write_text("not a metric sample\n")
    nested = multiproc / "other-tool"
    nested.mkdir()
    (nested / "state.json").write_text("{}")
    metrics_port = free_port()
    env = {"METRICS_PORT": str(metrics_port), "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}

    def scrape() -> str:
        return requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text

    with live_shop(workers=2, seed=False, extra_env=env) as shop:
        for _ in range(7):
            assert requests.get(shop.url("/api/v1/categories"), timeout=10).status_code == 200
        assert _requests_total(scrape(), "/api/v1/categories", "200") == 7
    first_run_samples = {p.name for p in multiproc.glob("*.db")}
    assert first_run_samples, "the first run wrote no sample files"

    with live_shop(workers=2, seed=False, extra_env=env) as shop:
        assert unrelated.read_text() == "not a metric sample\n"
        assert (nested / "state.json").read_text() == "{}"
        assert requests.get(shop.url("/api/v1/categories"), timeout=10).status_code == 200
        # The first run's samples are gone: its 7 requests are not summed into this run's counter.
        assert _requests_total(scrape(), "/api/v1/categories", "200") == 1
