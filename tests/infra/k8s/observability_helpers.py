"""Shared helpers for the monitoring tests: PromQL metric names, exported metrics, the CRD check."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from prometheus_client import Counter, Gauge, Histogram

from dhakacart_infra.plan.manifests import RECORDED_CRD_FACTS
from dhakacart_infra.plan.runner import REPO_ROOT

CRD_TOOL = REPO_ROOT / "tools" / "crd-schemas"
CHART_METRICS_FILE = Path(__file__).with_name("chart_metrics.yaml")


def vector_selectors(expr: str) -> list[Any]:
    """Every vector selector of a PromQL expression (parsed with a real PromQL parser)."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        elif isinstance(node, promql_parser.MatrixSelector):
            walk(node.vector_selector)
        elif isinstance(node, promql_parser.Call):
            for arg in node.args:
                walk(arg)
        elif isinstance(node, promql_parser.BinaryExpr):
            walk(node.lhs)
            walk(node.rhs)
        elif isinstance(node, promql_parser.AggregateExpr):
            walk(node.expr)
            if node.param is not None:
                walk(node.param)
        elif isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
            walk(node.expr)

    walk(promql_parser.parse(expr))
    return found


def metric_names(expr: str) -> set[str]:
    """Every metric a PromQL expression selects."""
    names: set[str] = set()
    for node in vector_selectors(expr):
        name = node.name or next((m.value for m in node.matchers.matchers if m.name == "__name__"), None)
        assert name, f"selector without a metric name in {expr!r}"
        names.add(name)
    return names


def shop_metric_names() -> set[str]:
    """The series names the shop exports, derived from its metric objects."""
    from dhakacart.probes import metrics

    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(f"{value._name}_total")
        elif isinstance(value, Histogram):
            names.update(f"{value._name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        elif isinstance(value, Gauge):
            names.add(value._name)
    return names


def chart_metric_names() -> set[str]:
    data = yaml.safe_load(CHART_METRICS_FILE.read_text())
    return {name for names in data.values() for name in names}


def known_metric_names() -> set[str]:
    return shop_metric_names() | chart_metric_names()


def validate_custom_resources(directory: Path) -> subprocess.CompletedProcess[str]:
    """Runs tools/crd-schemas/validate.mjs on every YAML file in `directory`; the kinds of
    RECORDED_CRD_FACTS (no npm package carries their schema) are checked against their recorded
    facts by tests/infra/k8s/test_k3s_upgrades.py instead."""
    if not (CRD_TOOL / "node_modules" / "@kubernetes-models").is_dir():
        raise AssertionError(
            f"{CRD_TOOL}/node_modules is missing: run make bootstrap (it runs `npm ci` there)"
        )
    return subprocess.run(
        ["node", str(CRD_TOOL / "validate.mjs"), str(directory),
         *[arg for kind in RECORDED_CRD_FACTS for arg in ("--checked-elsewhere", kind)]],
        capture_output=True, text=True, check=False, timeout=120,
    )


def write_objects(objects: list[dict[str, Any]], directory: Path) -> None:
    for index, obj in enumerate(objects):
        name = obj.get("metadata", {}).get("name", "unnamed")
        path = directory / f"{index:03d}-{obj['kind']}-{name}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=False))
