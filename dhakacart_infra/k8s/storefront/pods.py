"""The shop's pods: what every container of the shop runs with, and the two pod templates.

One definition of the security context, the probes, the rollout timing and the spread, shared by
the web and api Deployments and (where it applies) the migration Job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from ...names import SHOP_APP_NAME, SHOP_APP_PORT, SHOP_METRICS_PORT, SHOP_METRICS_PORT_NAME
from ..labels import selector_labels

APP_WORKDIR = "/app"
MIGRATE_COMMAND = ["flask", "--app", "dhakacart", "db", "upgrade"]

# Runs as this unprivileged uid/gid whatever USER the image declares (the restricted profile needs
# a numeric non-root user to be provable).
RUN_AS_USER = 10001

# Rollout without dropped requests: on termination the pod first leaves the Service endpoints
# while preStop sleeps (Traefik stops routing to it), then gunicorn gets SIGTERM and finishes
# in-flight requests within its graceful timeout (GUNICORN_GRACEFUL_TIMEOUT, set in the ConfigMap).
PRE_STOP_SLEEP_SECONDS = 10
GUNICORN_GRACEFUL_TIMEOUT_SECONDS = 30
TERMINATION_GRACE_PERIOD_SECONDS = PRE_STOP_SLEEP_SECONDS + GUNICORN_GRACEFUL_TIMEOUT_SECONDS + 5

# Read-only root filesystem: /tmp (gunicorn's worker heartbeat files, the Prometheus multiprocess
# directory) is a small emptyDir.
TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - a private emptyDir, not the host's /tmp


@dataclass(frozen=True)
class WorkloadSizing:
    """One workload's replica bounds and container resources (the stack keys `web` and `api`)."""

    min_replicas: int
    max_replicas: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class AppEnvironment:
    """How a container gets the shop's settings: the Secret's keys one by one, the ConfigMap whole."""

    env: list[dict[str, Any]]
    env_from: list[dict[str, Any]]


def resources(size: WorkloadSizing) -> dict:
    return {
        "requests": {"cpu": size.cpu_request, "memory": size.memory_request},
        "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit},
    }


def container_security_context(user: int = RUN_AS_USER) -> dict:
    """The restricted standard and more: no root, no privilege, nothing writable but volumes."""
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context(user: int = RUN_AS_USER) -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": user,
        "fsGroup": user,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def topology_spread(component: str, strict: bool) -> list[dict]:
    """Over nodes and zones. Strict (prod, where every zone has nodes): never one more pod in a zone
    or on a node than the skew allows, so a zone's or a node's loss takes at most its share; the
    cluster autoscaler adds a node where a pod would otherwise wait. Otherwise only preferred, so a
    one-node cluster still schedules every replica. Nodes whose taints the pod does not tolerate
    (prod's dedicated servers) are no domain at all: counted with their zero pods, they would hold
    every agent to one pod of each kind."""
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "DoNotSchedule" if strict else "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector_labels(SHOP_APP_NAME, component)},
            "matchLabelKeys": ["pod-template-hash"],
            "nodeTaintsPolicy": "Honor",
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def probe(path: str, period: int, failure_threshold: int, timeout: int = 3) -> dict:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failure_threshold,
    }


def _isolated(service_account: pulumi.Input[str]) -> dict:
    """What every shop pod shares: its token-less account, no service links, the restricted context."""
    return {
        "serviceAccountName": service_account,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(),
    }


def serving_pod_spec(
    component: str,
    image: str,
    size: WorkloadSizing,
    app_env: AppEnvironment,
    service_account: pulumi.Input[str],
    strict_spread: bool = False,
) -> dict:
    """The pod of the web or api Deployment."""
    return {
        **_isolated(service_account),
        "terminationGracePeriodSeconds": TERMINATION_GRACE_PERIOD_SECONDS,
        "topologySpreadConstraints": topology_spread(component, strict_spread),
        "containers": [
            {
                "name": component,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [
                    {"name": "http", "containerPort": SHOP_APP_PORT, "protocol": "TCP"},
                    {"name": SHOP_METRICS_PORT_NAME, "containerPort": SHOP_METRICS_PORT, "protocol": "TCP"},
                ],
                "env": app_env.env,
                "envFrom": app_env.env_from,
                "resources": resources(size),
                "securityContext": container_security_context(),
                # Startup allows up to 60 s for the first ready answer; readiness takes the pod
                # out of the Service within ~10 s of the database going away; liveness only
                # restarts a process that no longer answers at all.
                "startupProbe": probe("/readyz", period=2, failure_threshold=30),
                "readinessProbe": probe("/readyz", period=5, failure_threshold=2),
                "livenessProbe": probe("/healthz", period=10, failure_threshold=3),
                # The native sleep action (PodLifecycleSleepAction: beta and on by default since
                # Kubernetes 1.30, GA in 1.34), so the pause needs no shell or `sleep` in the image.
                "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
                "volumeMounts": [TMP_MOUNT],
            }
        ],
        "volumes": [TMP_VOLUME],
    }


def migration_pod_spec(
    name: str, image: str, size: WorkloadSizing, app_env: AppEnvironment, service_account: pulumi.Input[str]
) -> dict:
    """The pod of the migration Job: the same image and settings, Flask-Migrate instead of gunicorn."""
    return {
        "restartPolicy": "Never",
        **_isolated(service_account),
        "containers": [
            {
                "name": name,
                "image": image,
                # The image's entrypoint is gunicorn: run Flask-Migrate explicitly.
                "command": MIGRATE_COMMAND,
                "workingDir": APP_WORKDIR,
                "env": app_env.env,
                "envFrom": app_env.env_from,
                "resources": resources(size),
                "securityContext": container_security_context(),
                "volumeMounts": [TMP_MOUNT],
            }
        ],
        "volumes": [TMP_VOLUME],
    }
