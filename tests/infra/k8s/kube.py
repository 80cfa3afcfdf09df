"""Small readers over recorded Kubernetes objects, shared by the component and whole-program tests."""

from __future__ import annotations

import math
from typing import Any

from dhakacart_infra.plan.mocks import RecordedResource
from dhakacart_infra.plan.runner import PlanResult

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
JOB = "kubernetes:batch/v1:Job"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
RELEASE = "kubernetes:helm.sh/v3:Release"


def named(plan: PlanResult, type_token: str, name: str) -> RecordedResource:
    """The object of a type whose metadata.name is `name`."""
    found = [r for r in plan.of_type(type_token) if (r.revealed().get("metadata") or {}).get("name") == name]
    assert len(found) == 1, f"expected one {type_token} named {name}, found {len(found)}"
    return found[0]


def deployment(plan: PlanResult, component: str) -> dict[str, Any]:
    return named(plan, DEPLOYMENT, f"dhakacart-{component}").revealed()


def pod_spec(plan: PlanResult, component: str) -> dict[str, Any]:
    return deployment(plan, component)["spec"]["template"]["spec"]


def container(plan: PlanResult, component: str) -> dict[str, Any]:
    containers = pod_spec(plan, component)["containers"]
    assert len(containers) == 1
    return containers[0]


def hpa(plan: PlanResult, component: str) -> dict[str, Any]:
    return named(plan, HPA, f"dhakacart-{component}").revealed()


def policies(plan: PlanResult, namespace: str = "dhakacart") -> dict[str, dict[str, Any]]:
    """The NetworkPolicies of one namespace (the shop's by default) by name: a policy only ever
    selects pods of its own namespace."""
    return {r.revealed()["metadata"]["name"]: r.revealed()["spec"] for r in plan.of_type(NETWORK_POLICY)
            if r.revealed()["metadata"].get("namespace") == namespace}


def replicas_after(seconds: int, start: int, maximum: int, scale_up: dict[str, Any]) -> int:
    """Where an HPA that always wants more can be after `seconds`, following the scale-up policies as
    the controller applies them (each period, the policy picked by selectPolicy)."""
    replicas = start
    periods = {int(p["periodSeconds"]) for p in scale_up["policies"]}
    for t in range(1, seconds + 1):
        allowed = []
        for policy in scale_up["policies"]:
            if t % int(policy["periodSeconds"]):
                continue
            if policy["type"] == "Percent":
                allowed.append(math.ceil(replicas * (1 + policy["value"] / 100)))
            else:
                allowed.append(replicas + int(policy["value"]))
        if allowed and periods:
            pick = max if scale_up.get("selectPolicy", "Max") == "Max" else min
            replicas = min(maximum, pick(allowed))
    return replicas
