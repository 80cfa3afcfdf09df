"""Runs checkov in parallel and reads its JSON report.

checkov drops the checks in a config's skip-check list without a trace, so the real stacks are
scanned with every check (from a directory with no .checkov.yaml) and the skip list is applied
here: that shows which finding each skip hides, and a skip that hides nothing is stale. One run
from the repository root proves that checkov itself honours .checkov.yaml.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHECKOV = REPO / ".venv-scanners" / "bin" / "checkov"
CONFIG = REPO / ".checkov.yaml"


@dataclass
class CheckovReport:
    summary: dict[str, Any]
    failed: list[dict[str, Any]]
    passed: list[dict[str, Any]]
    skipped: list[dict[str, Any]]

    def resources(self) -> set[str]:
        return {c["resource"] for c in self.failed + self.passed + self.skipped}

    def failures(self, skips: frozenset[str] = frozenset()) -> list[str]:
        return [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in self.failed
                if c["check_id"] not in skips]


def skip_list() -> frozenset[str]:
    return frozenset(yaml.safe_load(CONFIG.read_text())["skip-check"])


def command(framework: str, target: Path, *, with_config: bool) -> list[str]:
    where = ["-d", str(target)] if target.is_dir() else ["-f", str(target)]
    config = ["--config-file", str(CONFIG)] if with_config else []
    return [str(CHECKOV), "--framework", framework, "--skip-download", *config, "--output", "json", *where]


def start(framework: str, target: Path, *, with_config: bool) -> subprocess.Popen[str]:
    """with_config: run from the repository root as a person would; else from the target's folder."""
    cwd = REPO if with_config else (target if target.is_dir() else target.parent)
    return subprocess.Popen(command(framework, target, with_config=with_config), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 900) -> CheckovReport:
    out, err = proc.communicate(timeout=timeout)
    # Exit 1 means "failed checks"; anything else non-zero is checkov itself failing.
    assert proc.returncode in (0, 1), f"checkov exited {proc.returncode}: {err[-2000:]}"
    data = json.loads(out)
    if isinstance(data, list):  # one report per framework; we run one framework per call
        assert len(data) == 1, data
        data = data[0]
    results = data.get("results", {})
    return CheckovReport(summary=data["summary"], failed=results.get("failed_checks", []),
                         passed=results.get("passed_checks", []), skipped=results.get("skipped_checks", []))
