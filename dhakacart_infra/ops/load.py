"""`load --url URL`: the shopper mix under Locust, in a child process, judged against thresholds.

Locust monkey-patches the standard library with gevent as soon as it is imported. Running it in a
child process (`python -m dhakacart_infra.ops.locust_runner`) keeps the ops tool, and any test
process that imports it, free of that patching.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import OpsError, ValidationError, WaitTimeoutError
from .progress import Waiter, wait_until


@dataclass(frozen=True)
class LoadReport:
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    duration_s: float
    users: int
    rate_limited: int = 0  # responses 429: the shop throttled the load generator's address
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def error_ratio(self) -> float:
        return self.failures / self.requests if self.requests else 1.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        try:
            return cls(
                requests=int(data["requests"]),
                failures=int(data["failures"]),
                rps=float(data["rps"]),
                p50_ms=float(data["p50_ms"]),
                p95_ms=float(data["p95_ms"]),
                p99_ms=float(data["p99_ms"]),
                duration_s=float(data["duration_s"]),
                users=int(data["users"]),
                rate_limited=int(data.get("rate_limited", 0)),
                endpoints=list(data.get("endpoints", [])),
                errors=list(data.get("errors", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise OpsError(f"the load runner's report is incomplete or malformed: {exc!r}") from exc

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "error_ratio": self.error_ratio}

    def lines(self) -> list[str]:
        out = [
            f"users {self.users}, {self.duration_s:.0f} s: {self.requests} requests, {self.rps:.1f} req/s",
            f"latency p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, p99 {self.p99_ms:.0f} ms",
            f"errors {self.failures} ({self.error_ratio:.4%}), "
            f"of which rate limited (429): {self.rate_limited}",
        ]
        for ep in self.endpoints:
            out.append(
                f"  {ep['method']:<6} {ep['name']:<28} {ep['requests']:>7} req  {ep['failures']:>5} err  "
                f"p95 {ep['p95_ms']:>6.0f} ms"
            )
        for err in self.errors[:5]:
            out.append(f"  error x{err['occurrences']}: {err['method']} {err['name']}: {err['error']}")
        return out


def evaluate(report: LoadReport, *, max_p95_ms: float, max_error_ratio: float) -> list[str]:
    """Why the run fails its thresholds; empty when it passes."""
    verdicts = []
    if report.requests == 0:
        verdicts.append("no request completed (is the URL right and the shop up?)")
        return verdicts
    if report.p95_ms > max_p95_ms:
        verdicts.append(f"p95 {report.p95_ms:.0f} ms > {max_p95_ms:g} ms")
    if report.error_ratio > max_error_ratio:
        verdicts.append(f"error ratio {report.error_ratio:.4%} > {max_error_ratio:.4%}")
    if report.rate_limited:
        # Not a capacity result: every shopper comes from this machine's one address, and the shop
        # limits each address (300 requests a minute; register, login, refresh 10).
        verdicts.append(
            f"{report.rate_limited} responses were 429 (rate limited): the shop limits each client "
            "address and every simulated shopper shares this machine's; the errors measure the limiter, "
            "not capacity. Use fewer --users, or run from several addresses "
            "(docs/RUNBOOK.md, DhakaCartHighLatencyP95)"
        )
    return verdicts


def run_load(
    url: str,
    *,
    users: int,
    spawn_rate: float,
    duration: int,
    python: str = sys.executable,
    extra_timeout: float = 120,
    waiter: Waiter | None = None,
) -> LoadReport:
    """Runs the Locust child with a spinner, elapsed time and a bar over `duration`; kills it when it
    has not finished `extra_timeout` seconds after the load should have stopped."""
    if not url.startswith(("http://", "https://")):
        raise ValidationError(f"--url {url!r} must start with http:// or https://")
    waiter = waiter or Waiter(poll_interval=1.0)
    with tempfile.TemporaryDirectory(prefix="dhakacart-load-") as tmp:
        out = Path(tmp) / "report.json"
        argv = [
            python,
            "-m",
            "dhakacart_infra.ops.locust_runner",
            "--url",
            url,
            "--users",
            str(users),
            "--spawn-rate",
            str(spawn_rate),
            "--duration",
            str(duration),
            "--out",
            str(out),
        ]
        log_path = Path(tmp) / "runner.log"
        # A file, not a pipe: Locust may log more than a pipe holds while nobody reads it.
        with log_path.open("w+", encoding="utf-8") as log:
            child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[2]
            )
            start = waiter.clock()
            limit = duration + extra_timeout
            try:
                code = wait_until(
                    f"load: {users} users for {duration} s against {url}",
                    child.poll,
                    lambda c: (
                        "running" if c is None else f"exit {c}",
                        min(100.0, 100.0 * (waiter.clock() - start) / duration),
                    ),
                    done=lambda c: c is not None,
                    failed=lambda c: None,
                    timeout=limit,
                    waiter=waiter,
                )
            except WaitTimeoutError as exc:
                raise OpsError(f"the load run did not stop within {limit:.0f} s; it was stopped") from exc
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            if code != 0 or not out.exists():
                log.seek(0)
                tail = log.read().strip().splitlines()[-15:]
                raise OpsError(f"the load runner failed (exit {code}):\n" + "\n".join(tail))
        return LoadReport.from_dict(json.loads(out.read_text()))
