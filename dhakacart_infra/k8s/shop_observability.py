"""What the monitoring stack knows about the shop: its scrape targets, alert rules and dashboard.

Kept apart from the storefront on purpose: these objects depend on the shop (its namespace) and on
the Prometheus operator's CRDs, while nothing of the shop depends on them, so the shop deploys and
serves even when the monitoring stack is broken or absent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..names import API_COMPONENT, SHOP_APP_NAME, SHOP_METRICS_PORT_NAME, WEB_COMPONENT
from .alerts import ALERT_RULES
from .labels import recommended_labels
from .monitoring_values import DASHBOARD_LABEL

SHOP_COMPONENTS = (WEB_COMPONENT, API_COMPONENT)
DASHBOARD_FILE = Path(__file__).with_name("dashboards") / "shop.json"


@dataclass
class ShopObservabilityArgs:
    shop_namespace: pulumi.Input[str]
    """The shop's namespace (from the storefront, so these objects wait for it)."""
    monitoring_namespace: pulumi.Input[str]
    monitoring_crds: pulumi.Resource
    """The release that installs ServiceMonitor and PrometheusRule CRDs (Monitoring.release)."""


def service_monitor_spec() -> dict[str, Any]:
    """Both Services (web and api), their `metrics` port; targets keep the pod and Service names."""
    return {
        "selector": {"matchExpressions": [
            {"key": "app.kubernetes.io/name", "operator": "In", "values": [SHOP_APP_NAME]},
            {"key": "app.kubernetes.io/component", "operator": "In", "values": list(SHOP_COMPONENTS)},
        ]},
        "endpoints": [{
            "port": SHOP_METRICS_PORT_NAME,
            "path": "/metrics",
            "interval": "30s",
            "scrapeTimeout": "10s",
        }],
        "targetLabels": ["app.kubernetes.io/component"],
    }


def prometheus_rule_spec() -> dict[str, Any]:
    return {"groups": [{"name": "dhakacart.rules", "rules": ALERT_RULES}]}


def dashboard_json() -> str:
    text = DASHBOARD_FILE.read_text()
    json.loads(text)  # a broken file fails the deployment here, not silently in Grafana
    return text


class ShopObservability(pulumi.ComponentResource):
    """The shop's ServiceMonitor and PrometheusRule, and its Grafana dashboard ConfigMap."""

    def __init__(
        self, name: str, args: ShopObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:k8s:ShopObservability", name, None, opts)
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[args.monitoring_crds])
        labels = recommended_labels(SHOP_APP_NAME, "observability")

        self.service_monitor = k8s.apiextensions.CustomResource(
            f"{name}-servicemonitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata={"name": SHOP_APP_NAME, "namespace": args.shop_namespace, "labels": labels},
            spec=service_monitor_spec(),
            opts=after_crds,
        )
        self.prometheus_rule = k8s.apiextensions.CustomResource(
            f"{name}-prometheusrule",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata={"name": SHOP_APP_NAME, "namespace": args.shop_namespace, "labels": labels},
            spec=prometheus_rule_spec(),
            opts=after_crds,
        )
        # Grafana's sidecar loads every ConfigMap labelled grafana_dashboard=1.
        self.dashboard = k8s.core.v1.ConfigMap(
            f"{name}-dashboard",
            metadata={
                "name": "dhakacart-shop-dashboard",
                "namespace": args.monitoring_namespace,
                "labels": {**labels, DASHBOARD_LABEL: "1"},
            },
            data={"dhakacart-shop.json": dashboard_json()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({
            "service_monitor": self.service_monitor.metadata["name"],
            "prometheus_rule": self.prometheus_rule.metadata["name"],
            "dashboard": self.dashboard.metadata["name"],
        })
