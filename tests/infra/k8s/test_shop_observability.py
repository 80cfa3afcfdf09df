"""The ServiceMonitor that scrapes the shop's metrics port on both Deployments' Services."""

from __future__ import annotations

from dhakacart_infra.plan.mocks import reveal
from tests.infra.k8s.observability import release


def test_service_monitor_selects_web_and_api_metrics_port(observability_plan):
    monitor = observability_plan.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
                                     "shop-observability-servicemonitor")
    inputs = reveal(monitor.inputs)
    assert inputs["metadata"]["namespace"] == "dhakacart"
    expressions = {e["key"]: set(e["values"]) for e in inputs["spec"]["selector"]["matchExpressions"]}
    assert expressions == {"app.kubernetes.io/name": {"dhakacart"},
                           "app.kubernetes.io/component": {"web", "api"}}
    (endpoint,) = inputs["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"


def test_shop_monitoring_objects_wait_for_the_operator_crds(observability_plan):
    kps = release(observability_plan, "kube-prometheus-stack")
    for type_ in ("ServiceMonitor", "PrometheusRule"):
        for r in observability_plan.of_type(f"kubernetes:monitoring.coreos.com/v1:{type_}"):
            assert observability_plan.waits_for(r, kps), r.name
