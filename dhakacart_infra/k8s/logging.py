"""Logs: Loki (single binary) and Grafana Alloy shipping every pod's logs to it.

Loki runs as one pod (the chart's SingleBinary mode) with the compactor enforcing retention. In
dev its chunks and index live on an EBS volume (k8s/storage.py, kept when its claim goes); in
prod they live in an S3 bucket (aws/loki_bucket.py) that Loki reaches with the K3s node's
instance role through the instance metadata service, so no access key exists anywhere. The pod
still keeps a small volume for its write-ahead log and the compactor's working directory.

Alloy (Promtail reached end of life in March 2026) runs as a DaemonSet and reads its configuration
from alloy/config.alloy in this repository, byte for byte, through a ConfigMap this program makes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..aws.workload_role import ROLE_ARN_ANNOTATION
from ..errors import ComponentInputError
from ..names import AWS_IDENTITY_POD_LABEL, LOKI_SERVICE_ACCOUNT, MONITORING_NAMESPACE
from .helm import EVERY_NODE_TOLERATIONS, container_resources, helm_release
from .labels import recommended_labels
from .monitoring_values import STORAGE_CLASS

GRAFANA_REPOSITORY = "https://grafana.github.io/helm-charts"
LOKI_CHART = "loki"
LOKI_CHART_VERSION = "6.54.0"
ALLOY_CHART = "alloy"
ALLOY_CHART_VERSION = "1.4.0"
LOKI_RELEASE_NAME = "loki"
ALLOY_RELEASE_NAME = "alloy"

ALLOY_CONFIG_FILE = Path(__file__).with_name("alloy") / "config.alloy"
ALLOY_CONFIG_KEY = "config.alloy"
# The schema every stack starts with; a future schema change adds an entry, never edits this one.
LOKI_SCHEMA_FROM = "2025-01-01"


@dataclass
class LokiS3Storage:
    bucket_name: pulumi.Input[str]
    region: pulumi.Input[str]
    role_arn: pulumi.Input[str]
    """Loki's own role for the bucket (aws/loki_bucket.LokiBucket.role_arn)."""


@dataclass
class LoggingArgs:
    namespace: pulumi.Input[str]
    """The monitoring namespace (Monitoring.namespace_name)."""
    loki_retention_days: int
    """How long logs are kept, in whole days (Loki's retention is a multiple of its 24h index period)."""
    loki_storage_gb: int
    """Loki's volume: all data in dev, write-ahead log and compactor scratch in prod."""
    s3: LokiS3Storage | None = None
    """Prod: keep chunks and index in this bucket. None: on the volume."""
    storage_class: pulumi.Input[str] = STORAGE_CLASS
    """The class of Loki's volume (Storage.data_storage_class)."""
    monitoring_crds: pulumi.Resource | None = None
    """The release that installs the Prometheus operator's CRDs (Loki's and Alloy's charts create
    ServiceMonitors): Monitoring.release."""


def loki_gateway_url(namespace: str = MONITORING_NAMESPACE) -> str:
    """Loki's in-cluster entry point (the chart's nginx gateway), for Grafana and Alloy."""
    return f"http://{LOKI_RELEASE_NAME}-gateway.{namespace}.svc.cluster.local"


def loki_push_url(namespace: str = MONITORING_NAMESPACE) -> str:
    return f"{loki_gateway_url(namespace)}/loki/api/v1/push"


def alloy_config() -> str:
    return ALLOY_CONFIG_FILE.read_text()


# Merged by Helm into each chart default podSecurityContext (its user and group stay).
_RESTRICTED_SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}


def loki_values(args: LoggingArgs) -> dict[str, Any]:
    if args.loki_retention_days < 1 or args.loki_storage_gb < 1:
        raise ComponentInputError(
            f"Logging: loki_retention_days ({args.loki_retention_days}) and loki_storage_gb "
            f"({args.loki_storage_gb}) must be at least 1"
        )
    hours = args.loki_retention_days * 24
    store = "s3" if args.s3 else "filesystem"
    storage: dict[str, Any] = {"type": "filesystem"}
    if args.s3:
        storage = {
            "type": "s3",
            "bucketNames": {"chunks": args.s3.bucket_name, "ruler": args.s3.bucket_name,
                            "admin": args.s3.bucket_name},
            # No keys: the AWS SDK's default chain takes the web identity the pod identity webhook
            # injects (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE) for the ServiceAccount's role.
            "s3": {"region": args.s3.region, "s3ForcePathStyle": False, "insecure": False},
        }
    identity: dict[str, Any] = {}
    if args.s3:
        identity = {
            "serviceAccount": {
                "name": LOKI_SERVICE_ACCOUNT,
                "annotations": {ROLE_ARN_ANNOTATION: args.s3.role_arn},
            }
        }
    return {
        **identity,
        "deploymentMode": "SingleBinary",
        "loki": {
            # The chart's non-root user, plus the RuntimeDefault seccomp profile that the monitoring
            # namespace's restricted Pod Security level requires (the chart sets none).
            "podSecurityContext": _RESTRICTED_SECCOMP,
            "auth_enabled": False,  # one tenant; only in-cluster clients reach the gateway
            "commonConfig": {"replication_factor": 1},
            "schemaConfig": {"configs": [{
                "from": LOKI_SCHEMA_FROM, "store": "tsdb", "object_store": store, "schema": "v13",
                "index": {"prefix": "loki_index_", "period": "24h"},
            }]},
            "storage": storage,
            "compactor": {
                "retention_enabled": True,
                "delete_request_store": store,
                "compaction_interval": "10m",
                "retention_delete_delay": "2h",
            },
            "limits_config": {
                "retention_period": f"{hours}h",
                "reject_old_samples": True,
                "reject_old_samples_max_age": "168h",
                "max_query_lookback": f"{hours}h",
            },
        },
        "singleBinary": {
            "replicas": 1,
            # Keep the volume when the StatefulSet is deleted or replaced (the chart's default
            # deletes it, and in dev every stored log with it); docs/RUNBOOK.md says how to drop it.
            "persistence": {"enabled": True, "size": f"{args.loki_storage_gb}Gi",
                            "storageClass": args.storage_class,
                            "whenDeleted": "Retain", "whenScaled": "Retain"},
            "resources": container_resources("100m", "256Mi", "1Gi"),
            # Only the server pod calls S3, so only it gets the role's credentials (the gateway
            # shares the ServiceAccount but not the label, and is left alone by the webhook).
            **({"podLabels": AWS_IDENTITY_POD_LABEL} if args.s3 else {}),
        },
        # The other modes' targets stay at zero replicas in SingleBinary mode.
        "read": {"replicas": 0},
        "write": {"replicas": 0},
        "backend": {"replicas": 0},
        # memcached caches need more memory than the node should spend on one user's queries.
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        "gateway": {"enabled": True, "replicas": 1, "resources": container_resources("10m", "32Mi", "128Mi"),
                    "podSecurityContext": _RESTRICTED_SECCOMP},
        "lokiCanary": {"enabled": False},
        # The sidecar that loads ruler rules from labelled ConfigMaps: no Loki rules exist here, and it
        # would need a ClusterRole reading every Secret and ConfigMap in the cluster.
        "sidecar": {"rules": {"enabled": False}},
        "test": {"enabled": False},
        "monitoring": {"serviceMonitor": {"enabled": True}},
    }


def alloy_values(namespace: pulumi.Input[str], config_map_name: pulumi.Input[str]) -> dict[str, Any]:
    """The chart mounts the program's ConfigMap (`config_map_name`, key ALLOY_CONFIG_KEY) instead
    of making one: the chart passes configMap.content through Helm's tpl, which would evaluate the
    Go-template braces of config.alloy's stage.template at install time."""
    push_url = pulumi.Output.from_input(namespace).apply(loki_push_url)
    return {
        "controller": {"type": "daemonset", "tolerations": EVERY_NODE_TOLERATIONS},
        "alloy": {
            "configMap": {"create": False, "name": config_map_name, "key": ALLOY_CONFIG_KEY},
            "extraEnv": [
                {"name": "LOKI_PUSH_URL", "value": push_url},
                {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            ],
            # Logs come through the Kubernetes API, so no host paths are mounted and the pod runs
            # under the restricted Pod Security Standard as the image's unprivileged user.
            "mounts": {"varlog": False, "dockercontainers": False},
            "securityContext": {
                "runAsNonRoot": True, "runAsUser": 473, "runAsGroup": 473,
                "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "resources": container_resources("20m", "96Mi", "384Mi"),
        },
        # The ConfigMap is immutable: a changed config.alloy is a new ConfigMap, whose new name in
        # these values rolls the DaemonSet, so there is nothing for a reloader sidecar to watch.
        "configReloader": {"enabled": False},
        "serviceMonitor": {"enabled": True},
    }


class Logging(pulumi.ComponentResource):
    """Loki and Alloy in the monitoring namespace."""

    loki: k8s.helm.v3.Release
    alloy: k8s.helm.v3.Release

    def __init__(self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Logging", name, None, opts)
        namespace = pulumi.Output.from_input(args.namespace)
        crds = [args.monitoring_crds] if args.monitoring_crds is not None else []
        self.loki = helm_release(
            f"{name}-loki",
            release_name=LOKI_RELEASE_NAME,
            chart=LOKI_CHART,
            version=LOKI_CHART_VERSION,
            repository=GRAFANA_REPOSITORY,
            namespace=namespace,
            values=loki_values(args),
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, depends_on=crds),
        )
        # The configuration exactly as the file has it (never through the chart's tpl).
        self.alloy_config = k8s.core.v1.ConfigMap(
            f"{name}-alloy-config",
            metadata={"namespace": namespace, "labels": recommended_labels("alloy", "config")},
            immutable=True,
            data={ALLOY_CONFIG_KEY: alloy_config()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Alloy waits for Loki so its first pushes do not fail; the logs would be retried anyway.
        self.alloy = helm_release(
            f"{name}-alloy",
            release_name=ALLOY_RELEASE_NAME,
            chart=ALLOY_CHART,
            version=ALLOY_CHART_VERSION,
            repository=GRAFANA_REPOSITORY,
            namespace=namespace,
            values=alloy_values(namespace, self.alloy_config.metadata["name"]),
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.loki, *crds]),
        )
        self.loki_url = namespace.apply(loki_gateway_url)
        self.register_outputs({
            "loki_url": self.loki_url,
            "loki_chart_version": LOKI_CHART_VERSION,
            "alloy_chart_version": ALLOY_CHART_VERSION,
        })
