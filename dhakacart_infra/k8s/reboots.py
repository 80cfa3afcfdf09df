"""Kernel updates that need a reboot, coordinated by kured (kubereboot's official chart).

Ubuntu's unattended-upgrades installs security updates on every node and leaves
/var/run/reboot-required when one needs a reboot. kured, on every node, takes a cluster-wide lock
(one node at a time), drains the node through the eviction API (the PDBs decide), reboots it and
uncordons it; only inside the maintenance window, and never while one of the shop's suffering
alerts fires in Prometheus (SHOP_SUFFERING_ALERTS): then it waits and tries again next period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..names import KURED_NAMESPACE, MONITORING_NAMESPACE
from .alerts import SHOP_SUFFERING_ALERTS
from .helm import EVERY_NODE_TOLERATIONS, container_resources, helm_release
from .labels import pod_security_labels, recommended_labels
from .maintenance_window import MaintenanceWindow
from .network_policies import deny_instance_metadata

KURED_CHART = "kured"
KURED_CHART_VERSION = "6.1.0"
KURED_REPOSITORY = "https://kubereboot.github.io/charts"
RELEASE_NAME = "kured"
# kube-prometheus-stack's Prometheus Service (its chart facts list it) on its http-web port.
PROMETHEUS_URL = f"http://kube-prometheus-stack-prometheus.{MONITORING_NAMESPACE}.svc:9090"
CHECK_PERIOD = "10m"
DRAIN_TIMEOUT = "20m"
# A node that died while holding the lock must not stop every later reboot.
LOCK_TTL = "2h"


@dataclass
class RebootsArgs:
    window: MaintenanceWindow
    monitoring_crds: pulumi.Resource | None = None
    """The release that installs the ServiceMonitor CRD (Monitoring.release)."""


def blocking_alerts_regexp() -> str:
    return "^(" + "|".join(SHOP_SUFFERING_ALERTS) + ")$"


def kured_values(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "configuration": {
            **window.for_kured(),
            "period": CHECK_PERIOD,
            "concurrency": 1,
            "lockTtl": LOCK_TTL,
            "drainTimeout": DRAIN_TIMEOUT,
            "forceReboot": False,  # a drain the PDBs refuse means no reboot this time
            "prometheusUrl": PROMETHEUS_URL,
            "alertFilterRegexp": blocking_alerts_regexp(),
            "alertFilterMatchOnly": True,  # only these alerts block, not every warning
            "alertFiringOnly": True,  # pending alerts do not
            "annotateNodes": True,
        },
        # Every node needs its reboots, the dedicated servers included.
        "tolerations": EVERY_NODE_TOLERATIONS,
        "resources": container_resources("10m", "32Mi", "96Mi"),
        "metrics": {"create": True},
        "service": {"create": True},
    }


class Reboots(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: RebootsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Reboots", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = recommended_labels("kured", "reboots")
        # kured enters the host's PID namespace and runs privileged to reboot the node.
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": KURED_NAMESPACE,
                "labels": {**labels, **pod_security_labels(enforce="privileged")},
            },
            opts=child,
        )
        # kured needs the API server and Prometheus, never the node's instance role.
        policies = deny_instance_metadata(name, namespace.metadata["name"], labels, child)
        crds = [args.monitoring_crds] if args.monitoring_crds is not None else []
        self.release = helm_release(
            f"{name}-kured",
            release_name=RELEASE_NAME,
            chart=KURED_CHART,
            version=KURED_CHART_VERSION,
            repository=KURED_REPOSITORY,
            namespace=namespace.metadata["name"],
            values=kured_values(args.window),
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*crds, *policies]),
        )
        self.register_outputs({"chart_version": KURED_CHART_VERSION})
