"""Records the facts of every chart the program pins, for both stacks (`make charts CHARTS=<dir>`).

Runs on a developer machine: it needs the unpacked charts (`make chart-sources`, which is `helm
pull --untar` of each pinned chart) and helm (helm_binary.py). Each release the program declares is
rendered with the exact values it sends for that stack; facts files of charts no longer pinned are
removed, so the committed facts are exactly those of today's pins.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from ..plan.runner import load_stack_config, run_program
from .facts import FACTS_DIR, STACKS, DeclaredRelease, declared_releases, write_facts
from .helm_binary import HELM_VERSION, ensure_helm
from .render import documents, helm_template, render_facts, served_api_versions
from .value_keys import value_key_tree


class ChartNotFound(Exception):
    """The unpacked chart of a pinned version is not under the charts folder."""


def locate_chart(charts_dir: Path, chart: str, version: str) -> Path:
    """The directory under `charts_dir` (at most three levels down) holding that chart version."""
    for depth in ("*/Chart.yaml", "*/*/Chart.yaml", "*/*/*/Chart.yaml"):
        for chart_yaml in sorted(charts_dir.glob(depth)):
            if "charts" in chart_yaml.relative_to(charts_dir).parts[:-2]:
                continue  # a subchart of another chart
            meta = yaml.safe_load(chart_yaml.read_text()) or {}
            if meta.get("name") == chart and str(meta.get("version")) == version:
                return chart_yaml.parent
    raise ChartNotFound(f"no unpacked {chart} {version} under {charts_dir}: run "
                        f"`make chart-sources CHARTS={charts_dir}` (helm pull of every pinned chart)")


def kube_version(stack: str) -> str:
    _, config, _ = load_stack_config(stack)
    return config["dhakacart:k3sVersion"].split("+", 1)[0]


def record(charts_dir: Path, helm: Path, facts_dir: Path = FACTS_DIR) -> list[Path]:
    releases = [r for stack in STACKS for r in declared_releases(run_program(stack))]
    chart_dirs = {(r.chart, r.version): locate_chart(charts_dir, r.chart, r.version) for r in releases}
    api_versions: dict[str, list[str]] = {}
    for stack in STACKS:
        served: set[str] = set()
        for r in (r for r in releases if r.stack == stack):
            text = helm_template(helm, chart_dirs[(r.chart, r.version)], r, r.values, kube_version(stack), [],
                                 include_crds=True)
            served |= served_api_versions(documents(text))
        api_versions[stack] = sorted(served)
    written = []
    for (chart, version), chart_dir in sorted(chart_dirs.items()):
        renders: dict[str, Any] = {}
        for r in (r for r in releases if (r.chart, r.version) == (chart, version)):
            print(f"rendering {r.key} ({chart} {version})", file=sys.stderr)
            renders[r.key] = render_facts(helm, chart_dir, r, kube_version(r.stack), api_versions[r.stack])
        written.append(write_facts({"chart": chart, "version": version, "helm": HELM_VERSION,
                                    "value_keys": value_key_tree(chart_dir), "renders": renders}, facts_dir))
    for stale in set(facts_dir.glob("*.json")) - set(written):
        stale.unlink()
    return written


def pull(charts_dir: Path, helm: Path) -> list[Path]:
    """helm pull --untar of each pinned chart into <charts_dir>/<chart>-<version>/ (needs the chart
    repositories, so a developer machine, not CI)."""
    pinned: dict[tuple[str, str], DeclaredRelease] = {}
    for stack in STACKS:
        for r in declared_releases(run_program(stack)):
            pinned.setdefault((r.chart, r.version), r)
    pulled = []
    for (chart, version), r in sorted(pinned.items()):
        into = charts_dir / f"{chart}-{version}"
        if not (into / chart / "Chart.yaml").is_file():
            subprocess.run([str(helm), "pull", chart, "--repo", r.repository, "--version", version,  # noqa: S603
                            "--untar", "--untardir", str(into)], check=True, timeout=600)
        pulled.append(into / chart)
    return pulled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dhakacart_infra.charts", description=__doc__)
    parser.add_argument("command", choices=["record", "pull", "helm"])
    parser.add_argument("--charts", type=Path, help="folder of unpacked charts")
    parser.add_argument("--helm", type=Path, help="a helm binary to use instead of the pinned one")
    args = parser.parse_args(argv)
    helm = args.helm or ensure_helm()
    if args.command == "helm":
        print(helm)
        return 0
    if args.charts is None:
        parser.error("--charts DIR is required")
    try:
        paths = record(args.charts, helm) if args.command == "record" else pull(args.charts, helm)
    except ChartNotFound as error:
        print(error, file=sys.stderr)
        return 2
    for path in paths:
        print(path)
    return 0
