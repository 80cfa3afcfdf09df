"""load.py: the thresholds, the report format, and the child process (a fake interpreter) it supervises."""

from __future__ import annotations

import io
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from dhakacart_infra.ops.errors import OpsError
from dhakacart_infra.ops.load import LoadReport, evaluate, run_load
from dhakacart_infra.ops.progress import Waiter


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
