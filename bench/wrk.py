"""Run wrk (Debian's package, a C load generator that is not the bottleneck) and parse its summary."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

REPORT_SCRIPT = Path(__file__).with_name("report.lua")
MARKER = "WRK_JSON "


class WrkError(RuntimeError):
    """wrk failed to run or printed no result we can read."""


@dataclass(frozen=True)
class WrkResult:
    url: str
    connections: int
    threads: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    # wrk's own CPU time over the run's wall time and the machine's cores: how much of the
    # machine the load generator took from the server it measures.
    load_generator_cpu_share: float = 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict:
        return {**asdict(self), "failed": self.failed}


def parse(output: str, *, url: str, connections: int, threads: int, cpu_seconds: float = 0.0
          ) -> WrkResult:
    line = next((ln for ln in output.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise WrkError(f"wrk printed no summary for {url}; its output was:\n{output}")
    data = json.loads(line[len(MARKER) :])
    duration_s = data["duration_us"] / 1e6
    latency = data["latency_us"]
    return WrkResult(
        url=url,
        connections=connections,
        threads=threads,
        duration_s=round(duration_s, 2),
        requests=data["requests"],
        rps=round(data["requests"] / duration_s, 1),
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        max_ms=latency["max"] / 1000,
        errors=data["errors"],
        load_generator_cpu_share=round(cpu_seconds / duration_s / (os.cpu_count() or 1), 3),
    )


def run(url: str, *, connections: int = 64, threads: int = 2, seconds: int = 15) -> WrkResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkError("wrk is not installed: `apt-get install wrk` (scripts/bootstrap.sh does it)")
    command = [
        wrk,
        f"--connections={connections}",
        f"--threads={threads}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
        f"--script={REPORT_SCRIPT}",
        url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise WrkError(f"wrk failed ({completed.returncode}) for {url}:\n{completed.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return parse(completed.stdout, url=url, connections=connections, threads=threads, cpu_seconds=cpu)
