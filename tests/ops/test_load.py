"""load: a short bounded Locust run against the live shop, and the threshold logic on its own."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.errors import OpsError
from dhakacart_infra.ops.load import LoadReport, evaluate, run_load
from dhakacart_infra.ops.progress import Waiter
from tests.support.live_shop import LiveShop, live_shop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shop() -> Iterator[LiveShop]:
    with live_shop() as running:
        yield running


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


# Runs in a child process: importing locust monkey-patches the interpreter with gevent.
WALK_EVERY_TASK_ONCE = """
import json, sys
import locust
from locust.env import Environment
from dhakacart_infra.ops.locust_runner import Shopper

Shopper.host = sys.argv[1]
env = Environment(user_classes=[Shopper], events=locust.events)
seen = []
env.events.request.add_listener(
    lambda request_type, name, response, exception, **_: seen.append(
        [request_type, name, getattr(response, "status_code", None)]
    )
)
user = Shopper(env)
user.on_start()
tasks = sorted({t.__name__ for t in Shopper.tasks})
for name in tasks:
    getattr(user, name)()
print(json.dumps({"tasks": tasks, "requests": seen}))
"""


def test_every_step_of_the_shopper_mix_works_against_the_shop(shop: LiveShop) -> None:
    """The short run above is random; this walks each task of the mix once, so browse, search,
    product pages, cart and checkout are each proven to succeed (the checkout places an order)."""
    done = subprocess.run(
        [sys.executable, "-c", WALK_EVERY_TASK_ONCE, shop.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    walk = json.loads(done.stdout.strip().splitlines()[-1])
    assert walk["tasks"] == [
        "add_to_cart",
        "browse_catalog",
        "checkout",
        "product_api",
        "product_page",
        "search",
    ]
    statuses = {(method, name): status for method, name, status in walk["requests"]}
    assert statuses == {
        ("POST", "/api/v1/auth/register"): 201,
        ("POST", "/api/v1/auth/login"): 200,
        ("GET", "/api/v1/products"): 200,
        ("GET", "/api/v1/products?q="): 200,
        ("GET", "/products/<slug>"): 200,
        ("GET", "/api/v1/products/<slug>"): 200,
        ("PUT", "/api/v1/cart/items/<id>"): 200,
        ("POST", "/api/v1/orders"): 201,
    }


def report(**overrides: float) -> LoadReport:
    values = {
        "requests": 10_000,
        "failures": 0,
        "rps": 150.0,
        "p50_ms": 20.0,
        "p95_ms": 120.0,
        "p99_ms": 300.0,
        "duration_s": 60.0,
        "users": 50,
    }
    values.update(overrides)
    return LoadReport.from_dict(values)


def test_thresholds_pass_within_limits() -> None:
    assert evaluate(report(), max_p95_ms=200, max_error_ratio=0.001) == []
    assert (
        evaluate(report(p95_ms=200, failures=10), max_p95_ms=200, max_error_ratio=0.001) == []
    )  # limits inclusive


def test_thresholds_fail_on_p95() -> None:
    assert evaluate(report(p95_ms=201), max_p95_ms=200, max_error_ratio=0.001) == ["p95 201 ms > 200 ms"]


def test_thresholds_fail_on_error_ratio() -> None:
    [verdict] = evaluate(report(failures=11), max_p95_ms=200, max_error_ratio=0.001)
    assert verdict.startswith("error ratio 0.1100%")


def test_thresholds_fail_when_nothing_was_measured() -> None:
    assert evaluate(report(requests=0), max_p95_ms=200, max_error_ratio=0.001) == [
        "no request completed (is the URL right and the shop up?)"
    ]


def test_rate_limited_answers_fail_the_run_with_their_cause() -> None:
    [ratio, limited] = evaluate(report(failures=40, rate_limited=40), max_p95_ms=200, max_error_ratio=0.001)
    assert ratio.startswith("error ratio")
    assert limited.startswith("40 responses were 429 (rate limited)") and "fewer --users" in limited
    assert "rate limited (429): 40" in report(failures=40, rate_limited=40).lines()[2]


def test_a_malformed_report_is_an_error() -> None:
    with pytest.raises(OpsError, match="malformed"):
        LoadReport.from_dict({"requests": 1})


def test_load_refuses_a_url_without_scheme() -> None:
    result = CliRunner().invoke(cli, ["load", "--url", "shop.example.com", "--duration", "1"])
    assert result.exit_code == 1 and "must start with http://" in result.output


def test_importing_the_ops_tool_does_not_monkey_patch_this_process() -> None:
    import socket

    import dhakacart_infra.ops.load  # noqa: F401

    assert "gevent" not in socket.socket.__module__


def fake_interpreter(tmp_path: Path, body: str) -> str:
    """An executable standing in for `python -m dhakacart_infra.ops.locust_runner ... --out FILE`."""
    script = tmp_path / "fake-python"
    script.write_text(
        f"#!{sys.executable}\n"
        + textwrap.dedent(
            """
            import json, sys, time
            out = sys.argv[sys.argv.index("--out") + 1]
            """
        )
        + textwrap.dedent(body)
    )
    script.chmod(0o755)
    return str(script)


REPORT = {
    "requests": 40,
    "failures": 0,
    "rps": 20.0,
    "p50_ms": 10.0,
    "p95_ms": 30.0,
    "p99_ms": 40.0,
    "duration_s": 2.0,
    "users": 3,
}


def test_the_load_run_shows_progress_with_elapsed_time_while_the_runner_works(tmp_path: Path) -> None:
    python = fake_interpreter(
        tmp_path, f"time.sleep(1.5)\nprint('locust says hello')\njson.dump({REPORT!r}, open(out, 'w'))\n"
    )
    screen = io.StringIO()
    waiter = Waiter(poll_interval=0.2, console=Console(file=screen, width=120, force_terminal=False))
    report = run_load("http://127.0.0.1:9", users=3, spawn_rate=3, duration=2, python=python, waiter=waiter)
    assert report.requests == 40 and report.users == 3
    shown = screen.getvalue()
    assert "load: 3 users for 2 s against http://127.0.0.1:9" in shown
    assert "0:00:0" in shown  # rich's elapsed-time column


def test_a_runner_that_outlives_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    python = fake_interpreter(
        tmp_path, f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)\n"
    )
    waiter = Waiter(poll_interval=0.2, console=Console(file=io.StringIO()))
    with pytest.raises(OpsError, match="did not stop within 2 s; it was stopped"):
        run_load(
            "http://127.0.0.1:9",
            users=1,
            spawn_rate=1,
            duration=1,
            python=python,
            extra_timeout=1,
            waiter=waiter,
        )
    assert not Path(f"/proc/{pid_file.read_text()}").exists()  # killed and reaped


def test_a_failing_runner_is_reported_with_the_end_of_its_output(tmp_path: Path) -> None:
    python = fake_interpreter(tmp_path, "print('ConnectionRefusedError: nobody home')\nsys.exit(3)\n")
    waiter = Waiter(poll_interval=0.2, console=Console(file=io.StringIO()))
    with pytest.raises(OpsError, match=r"(?s)failed \(exit 3\).*nobody home"):
        run_load("http://127.0.0.1:9", users=1, spawn_rate=1, duration=1, python=python, waiter=waiter)
