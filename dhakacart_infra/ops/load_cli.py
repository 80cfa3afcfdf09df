"""`load --url URL`: a Locust run against the shop, judged against p95 and error limits (see load.py)."""

from __future__ import annotations

import json

import click

from .errors import OpsError


@click.command("load")
@click.option("--url", required=True, help="The shop's base URL.")
@click.option("--users", type=click.IntRange(min=1), default=50, show_default=True, help="Concurrent users.")
@click.option(
    "--spawn-rate",
    type=click.FloatRange(min=0.1),
    default=10,
    show_default=True,
    help="Users started per second.",
)
@click.option(
    "--duration", type=click.IntRange(min=1), default=60, show_default=True, help="Seconds of load."
)
@click.option("--max-p95-ms", type=float, default=200, show_default=True, help="Fail above this p95 latency.")
@click.option(
    "--max-error-ratio", type=float, default=0.001, show_default=True, help="Fail above this error ratio."
)
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), help="Also write the report as JSON."
)
def load(
    url: str,
    users: int,
    spawn_rate: float,
    duration: int,
    max_p95_ms: float,
    max_error_ratio: float,
    report_path: str | None,
) -> None:
    """A weighted shopper mix with Locust (headless); reports RPS, p50/p95/p99 and the error ratio."""
    from .load import evaluate, run_load

    report = run_load(url, users=users, spawn_rate=spawn_rate, duration=duration)
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            json.dump(report.as_dict(), fh, indent=2)
    for line in report.lines():
        click.echo(line)
    verdicts = evaluate(report, max_p95_ms=max_p95_ms, max_error_ratio=max_error_ratio)
    if verdicts:
        raise OpsError("load test failed: " + "; ".join(verdicts))
    click.echo(f"load test passed (p95 <= {max_p95_ms:g} ms, error ratio <= {max_error_ratio:g})")
