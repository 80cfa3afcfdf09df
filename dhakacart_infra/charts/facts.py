"""The recorded chart facts: where they live, how a release's values are fingerprinted, how to read them.

One JSON file per pinned chart version, `facts/<chart>-<version>.json`, written by `make charts` and
read by the offline checks:
  * `value_keys`: the tree of value keys the chart reads (value_keys.py);
  * `renders`: per "<stack>/<release>", what `helm template` made of the values the program sends
    for that stack: `values_sha256` (of those values), `tpl_values` (value paths the chart
    evaluates as templates), and the Services, ServiceMonitors and pod-making workloads it creates,
    reduced to the fields the checks use (never whole manifests).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..plan.manifests import plain
from ..plan.runner import PlanResult

FACTS_DIR = Path(__file__).with_name("facts")
RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
STACKS = ("dev", "prod")
RECORD_COMMAND = "make chart-sources charts CHARTS=build/charts"


def values_digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(plain(values), sort_keys=True).encode()).hexdigest()


def facts_path(chart: str, version: str, directory: Path = FACTS_DIR) -> Path:
    return directory / f"{chart}-{version}.json"


def render_key(stack: str, release: str) -> str:
    return f"{stack}/{release}"


@dataclass(frozen=True)
class DeclaredRelease:
    """A Helm release as the program declares it (from the recorded inputs of a plan)."""

    stack: str
    name: str
    chart: str
    version: str
    repository: str
    namespace: str
    values: dict[str, Any]

    @property
    def key(self) -> str:
        return render_key(self.stack, self.name)


def declared_releases(plan: PlanResult) -> list[DeclaredRelease]:
    found = []
    for record in plan.of_type(RELEASE_TYPE):
        inputs = record.revealed()
        found.append(DeclaredRelease(
            stack=plan.stack, name=inputs["name"], chart=inputs["chart"], version=inputs["version"],
            repository=(inputs.get("repositoryOpts") or {}).get("repo", ""),
            namespace=inputs["namespace"], values=plain(inputs.get("values") or {}),
        ))
    return found


def load_facts(chart: str, version: str, directory: Path = FACTS_DIR) -> dict[str, Any] | None:
    path = facts_path(chart, version, directory)
    return json.loads(path.read_text()) if path.is_file() else None


def write_facts(facts: dict[str, Any], directory: Path = FACTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = facts_path(facts["chart"], facts["version"], directory)
    path.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    return path


def dotted(path: list[Any]) -> str:
    """A value path for people: grafana."grafana.ini".server, ingress.hosts[0]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = f'"{part}"' if "." in part else part
            out += f".{text}" if out else text
    return out
