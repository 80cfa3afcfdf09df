"""One serving workload of the shop (web or api): Deployment, Service, autoscaler and disruption budget."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ...names import (
    SHOP_APP_NAME,
    SHOP_APP_PORT,
    SHOP_METRICS_PORT,
    SHOP_METRICS_PORT_NAME,
    shop_workload_name,
)
from ..labels import selector_labels
from .pods import AppEnvironment, WorkloadSizing, serving_pod_spec


def hpa_behavior() -> dict:
    """Scale up fast enough to go from the minimum to the maximum within a minute (every 15 s at
    least double, or add 4 pods, whichever is more); scale down gently after 5 quiet minutes."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15},
                {"type": "Pods", "value": 4, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Min",
            "policies": [
                {"type": "Percent", "value": 25, "periodSeconds": 60},
                {"type": "Pods", "value": 1, "periodSeconds": 60},
            ],
        },
    }


def _utilization(resource: str, percent: int) -> dict:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}},
    }


@dataclass(frozen=True)
class ServingWorkload:
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler
    disruption_budget: k8s.policy.v1.PodDisruptionBudget


def serving_workload(
    name: str,
    component: str,
    *,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    image: str,
    size: WorkloadSizing,
    app_env: AppEnvironment,
    service_account: pulumi.Input[str],
    autoscaling_targets: tuple[int, int],
    strict_spread: bool,
    after: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> ServingWorkload:
    """`name` is the Storefront's resource name; `after` is what the Deployment waits for (migrations)."""
    child = pulumi.ResourceOptions(parent=parent)
    workload = shop_workload_name(component)
    selector = selector_labels(SHOP_APP_NAME, component)
    metadata = {"name": workload, "namespace": namespace, "labels": labels}
    deployment = k8s.apps.v1.Deployment(
        f"{name}-{component}",
        metadata=metadata,
        spec={
            # No `replicas`: the HorizontalPodAutoscaler owns the count, and a value here would
            # reset it to the minimum on every `pulumi up`.
            "selector": {"matchLabels": selector},
            "revisionHistoryLimit": 5,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": labels},
                "spec": serving_pod_spec(component, image, size, app_env, service_account, strict_spread),
            },
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after),
    )
    service = k8s.core.v1.Service(
        f"{name}-{component}-service",
        metadata=metadata,
        spec={
            "type": "ClusterIP",
            "selector": selector,
            "ports": [
                {"name": "http", "port": SHOP_APP_PORT, "targetPort": "http", "protocol": "TCP"},
                {
                    "name": SHOP_METRICS_PORT_NAME,
                    "port": SHOP_METRICS_PORT,
                    "targetPort": SHOP_METRICS_PORT_NAME,
                    "protocol": "TCP",
                },
            ],
        },
        opts=child,
    )
    cpu_target, memory_target = autoscaling_targets
    autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"{name}-{component}-autoscaler",
        metadata=metadata,
        spec={
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": deployment.metadata["name"],
            },
            "minReplicas": size.min_replicas,
            "maxReplicas": size.max_replicas,
            "metrics": [_utilization("cpu", cpu_target), _utilization("memory", memory_target)],
            "behavior": hpa_behavior(),
        },
        opts=child,
    )
    # maxUnavailable rather than minAvailable: with one replica (dev) a drain can still proceed,
    # with more it never takes two down at once.
    disruption_budget = k8s.policy.v1.PodDisruptionBudget(
        f"{name}-{component}-pdb",
        metadata=metadata,
        spec={
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
        opts=child,
    )
    return ServingWorkload(deployment, service, autoscaler, disruption_budget)
