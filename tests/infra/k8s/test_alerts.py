"""The shop's alert rules: the agreed names, complete annotations, PromQL that parses and names
metrics that really exist."""

from __future__ import annotations

import promql_parser
import pytest

from dhakacart_infra.k8s.alerts import ALERT_RULES
from dhakacart_infra.plan.mocks import reveal
from tests.infra.k8s.observability_helpers import known_metric_names, metric_names

EXPECTED = [
    "DhakaCartPodCpuNearLimit", "DhakaCartPodMemoryNearLimit", "DhakaCartPodRestarting",
    "DhakaCartDeploymentReplicasMismatch", "DhakaCartApiDown", "DhakaCartHighErrorRatio",
    "DhakaCartHighLatencyP95", "DhakaCartReadinessFailing", "DhakaCartCertificateExpiringSoon",
    "DhakaCartNodeDiskFilling",
    # A target whose series are absent or down: every alert fed by it would stay silent.
    "DhakaCartWebDown", "DhakaCartCertManagerMetricsDown", "DhakaCartKubeStateMetricsDown",
    "DhakaCartNodeExporterDown", "DhakaCartLokiDown", "DhakaCartAlloyDown",
]
BY_NAME = {rule["alert"]: rule for rule in ALERT_RULES}


def test_exactly_the_agreed_alerts():
    assert [rule["alert"] for rule in ALERT_RULES] == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_each_alert_has_severity_summary_description_and_runbook(name):
    rule = BY_NAME[name]
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"] and annotations["description"]
    assert annotations["runbook_url"] == f"docs/RUNBOOK.md#{name.lower()}"
    assert annotations["runbook_url"] in annotations["description"]
    assert rule["for"][-1] in "smh" and rule["for"][:-1].isdigit()


@pytest.mark.parametrize("name", EXPECTED)
def test_each_expression_parses_and_names_only_real_metrics(name):
    expr = BY_NAME[name]["expr"]
    promql_parser.parse(expr)
    names = metric_names(expr)
    assert names, f"{name} selects no metric"
    assert names <= known_metric_names(), f"{name} names unknown metrics: {names - known_metric_names()}"


def test_metric_name_check_catches_a_typo():
    assert metric_names("rate(dhakacart_http_request_total[5m])") - known_metric_names() == {
        "dhakacart_http_request_total"}
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(dhakacart_http_requests_total[5m])")


@pytest.mark.parametrize(("name", "threshold"), [
    ("DhakaCartHighErrorRatio", "> 0.01"), ("DhakaCartHighLatencyP95", "> 0.2"),
    ("DhakaCartCertificateExpiringSoon", "< 14 * 24 * 3600"),
])
def test_thresholds_match_the_objectives(name, threshold):
    assert BY_NAME[name]["expr"].endswith(threshold)


def test_shop_alerts_only_look_at_the_shop_namespace():
    for name in EXPECTED[:8]:
        assert 'namespace="dhakacart"' in BY_NAME[name]["expr"], name


def test_prometheus_rule_carries_every_alert(observability_plan):
    rule = observability_plan.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule")
    inputs = reveal(rule.inputs)
    assert inputs["metadata"]["namespace"] == "dhakacart"
    (group,) = inputs["spec"]["groups"]
    assert [r["alert"] for r in group["rules"]] == EXPECTED
    assert group["rules"] == ALERT_RULES


def test_every_runbook_link_lands_on_a_section_of_the_runbook():
    from dhakacart_infra.plan.runner import REPO_ROOT

    runbook = (REPO_ROOT / "docs" / "RUNBOOK.md").read_text()
    # GitHub's anchor for a heading "## DhakaCartApiDown" is "#dhakacartapidown".
    anchors = {line[3:].strip().lower() for line in runbook.splitlines() if line.startswith("## ")}
    for rule in ALERT_RULES:
        path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert path == "docs/RUNBOOK.md"
        assert anchor in anchors, f"docs/RUNBOOK.md has no '## {rule['alert']}' section"
