"""Minimal compliant resources the rule tests vary, and the check every good/bad case makes."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

from dhakacart_infra.policy.registry import POLICIES, POLICIES_BY_NAME
from dhakacart_infra.policy.stack_rules import StackResource

TAGS = {"project": "dhakacart", "environment": "dev", "stack": "dev", "managed-by": "pulumi"}
PROD_TAGS = {**TAGS, "environment": "prod", "stack": "prod"}


def container(**overrides: Any) -> dict[str, Any]:
    c = {
        "name": "web",
        "image": "ghcr.io/dhakacart/shop:1.4.2",
        "ports": [{"name": "http", "containerPort": 8000}],
        "env": [
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
            {"name": "LOG_LEVEL", "value": "info"},
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz/live", "port": "http"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    c.update(overrides)
    return c

def deployment(pod_overrides: dict[str, Any] | None = None, **container_overrides: Any) -> dict[str, Any]:
    pod = {
        "containers": [container(**container_overrides)],
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    pod.update(pod_overrides or {})
    return {
        "metadata": {"name": "dhakacart-web", "namespace": "dhakacart"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod}},
    }

def security_context(**changes: Any) -> dict[str, Any]:
    ctx = copy.deepcopy(container()["securityContext"])
    ctx.update(changes)
    return ctx


DEPLOYMENT = "kubernetes:apps/v1:Deployment"
RDS = "aws:rds/instance:Instance"
GOOD_RDS = {
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "multiAz": True,
    "deletionProtection": True,
    "backupRetentionPeriod": 7,
    "skipFinalSnapshot": False,
    "performanceInsightsEnabled": True,
    "tags": TAGS,
}
PROD_RDS = {**GOOD_RDS, "tags": PROD_TAGS}
WORKLOAD = StackResource(DEPLOYMENT, "web", "urn:web", deployment())

# The policies only production databases must pass.
PRODUCTION_DATABASE_POLICIES = {
    "aws-rds-multi-az-in-production",
    "aws-rds-deletion-protection-in-production",
    "aws-rds-backups-in-production",
    "aws-rds-performance-insights-in-production",
}

# (policy, resource type, stack, good props, bad props)
ResourceCase = tuple[str, str, str, dict[str, Any], dict[str, Any]]


def case_id(case: tuple) -> str:
    return f"{case[0]}-{case[1].rsplit(':', 1)[-1]}"


def assert_fires_on_bad_and_passes_good(case: ResourceCase) -> None:
    name, resource_type, stack, good, bad = case
    policy = POLICIES_BY_NAME[name]
    assert policy.judge(resource_type, good, stack) == []
    assert policy.judge(resource_type, bad, stack), f"{name} did not fire on {bad}"


def policies_defined_in(module: ModuleType) -> set[str]:
    """The policies whose rule function lives in `module`: those its test module must cover."""
    return {p.name for p in POLICIES if (p.check or p.stack_check).__module__ == module.__name__}
