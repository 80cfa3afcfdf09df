"""The shop's Grafana dashboard: valid JSON, the agreed panels, queries that parse and name real
metrics, and a Loki panel that filters on labels Alloy really sets."""

from __future__ import annotations

import json
import re

import promql_parser
import pytest

from dhakacart_infra.k8s.monitoring_values import LOKI_DATASOURCE_UID, PROMETHEUS_DATASOURCE_UID
from dhakacart_infra.k8s.shop_observability import DASHBOARD_FILE
from tests.infra.k8s.observability_helpers import known_metric_names, metric_names

DASHBOARD = json.loads(DASHBOARD_FILE.read_text())
PANELS = DASHBOARD["panels"]
PROMETHEUS_TARGETS = [(p["title"], t["expr"]) for p in PANELS for t in p["targets"]
                      if t["datasource"]["type"] == "prometheus"]
ALLOY_LABELS = {"namespace", "pod", "container", "app", "component", "status_class", "route", "level"}


def test_dashboard_has_a_stable_uid_and_title():
    assert DASHBOARD["uid"] == "dhakacart-shop"
    assert DASHBOARD["title"] == "DhakaCart shop"
    assert len({p["id"] for p in PANELS}) == len(PANELS)


@pytest.mark.parametrize("metric", [
    "dhakacart_http_requests_total",                    # request rate, error ratio
    "dhakacart_http_request_duration_seconds_bucket",   # latency percentiles
    "dhakacart_orders_created_total",                   # orders per minute
    "kube_deployment_status_replicas_available",        # pods
    "kube_horizontalpodautoscaler_status_desired_replicas",  # HPA replicas
    "container_cpu_usage_seconds_total",                # CPU per pod
    "container_memory_working_set_bytes",               # memory per pod
])
def test_the_agreed_views_are_on_the_dashboard(metric):
    assert any(metric in metric_names(expr) for _, expr in PROMETHEUS_TARGETS)


def test_latency_shows_p50_p95_and_p99():
    quantiles = {m.group(1) for _, expr in PROMETHEUS_TARGETS
                 for m in re.finditer(r"histogram_quantile\((0\.\d+)", expr)}
    assert quantiles == {"0.5", "0.95", "0.99"}


@pytest.mark.parametrize(("title", "expr"), PROMETHEUS_TARGETS, ids=[t for t, _ in PROMETHEUS_TARGETS])
def test_every_prometheus_query_parses_and_names_real_metrics(title, expr):
    promql_parser.parse(expr)
    names = metric_names(expr)
    assert names and names <= known_metric_names(), f"{title}: unknown {names - known_metric_names()}"


def test_panels_use_the_provisioned_data_sources():
    uids = {(p["datasource"]["type"], p["datasource"]["uid"]) for p in PANELS}
    assert uids == {("prometheus", PROMETHEUS_DATASOURCE_UID), ("loki", LOKI_DATASOURCE_UID)}


def test_logs_panel_selects_shop_streams_by_labels_alloy_sets():
    (logs,) = [p for p in PANELS if p["type"] == "logs"]
    (target,) = logs["targets"]
    selector = target["expr"].split("|", 1)[0].strip()
    parsed = promql_parser.parse(selector)  # a LogQL stream selector is a PromQL label matcher set
    matchers = {m.name: m.value for m in parsed.matchers.matchers}
    assert matchers == {"namespace": "dhakacart"}
    assert set(matchers) <= ALLOY_LABELS


def test_dashboard_configmap_is_labelled_for_grafanas_sidecar(observability_plan):
    configmap = observability_plan.one("kubernetes:core/v1:ConfigMap", "shop-observability-dashboard")
    inputs = configmap.revealed()
    assert inputs["metadata"]["namespace"] == "monitoring"
    assert inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(inputs["data"]["dhakacart-shop.json"]) == DASHBOARD
