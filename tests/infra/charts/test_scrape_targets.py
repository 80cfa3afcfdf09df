"""Each target-down alert selects targets that really exist: the job and namespace labels in its
expression are those Prometheus gives the ServiceMonitor targets of the recorded renders (and of
the program's own ServiceMonitors), so an alert can never watch a job no chart creates."""

from __future__ import annotations

import promql_parser
import pytest

from dhakacart_infra.charts import check
from dhakacart_infra.k8s.alerts import ALERT_RULES, SCRAPE_TARGETS
from tests.infra.k8s.observability_helpers import vector_selectors

TARGET_LABELS = ("job", "namespace", "service")


def up_selectors(expr: str) -> list[dict[str, str]]:
    """The equality matchers of every `up` selector in a PromQL expression."""
    return [{m.name: m.value for m in node.matchers.matchers if m.op == promql_parser.MatchOp.Equal}
            for node in vector_selectors(expr) if node.name == "up"]


@pytest.fixture(scope="module")
def targets(stack_plan) -> list[check.ScrapeTarget]:
    return check.scrape_targets(check.stack_facts(stack_plan))


def _matches(selector: dict[str, str], target: check.ScrapeTarget) -> bool:
    return all(
        selector.get(label, getattr(target, label)) == getattr(target, label) for label in TARGET_LABELS
    )


@pytest.mark.parametrize("rule", [r for r in ALERT_RULES if "up{" in r["expr"]], ids=lambda r: r["alert"])
def test_every_up_selector_of_an_alert_matches_a_target_the_charts_create(rule, targets):
    selectors = up_selectors(rule["expr"])
    assert selectors
    for selector in selectors:
        assert set(selector) <= set(TARGET_LABELS) and {"namespace"} < set(selector)
        assert any(_matches(selector, t) for t in targets), (
            f"{rule['alert']}: no ServiceMonitor target has {selector}; targets: "
            f"{sorted({(t.job, t.namespace) for t in targets})}"
        )


def test_every_target_the_alerts_depend_on_has_a_down_alert():
    watched = {(job, namespace) for _, job, namespace, _, _ in SCRAPE_TARGETS}
    assert watched == {
        ("dhakacart-web", "dhakacart"),
        ("cert-manager", "cert-manager"),
        ("kube-state-metrics", "monitoring"),
        ("node-exporter", "monitoring-node-exporter"),
        ("monitoring/loki", "monitoring"),
        ("alloy", "monitoring"),
    }
    # The API's own alert (DhakaCartApiDown) watches it by its Service name.
    assert any(
        'service="dhakacart-api"' in r["expr"] and r["alert"] == "DhakaCartApiDown" for r in ALERT_RULES
    )


def test_a_job_no_chart_creates_matches_no_target(targets):
    (selector,) = up_selectors('absent(up{job="tcp-prometheus-servicemonitor", namespace="cert-manager"})')
    assert not any(_matches(selector, t) for t in targets)
