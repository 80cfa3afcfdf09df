"""The cluster autoscaler (kubernetes/autoscaler's official chart, AWS provider): adds an agent when a
pod cannot be scheduled, and removes an idle one when its pods fit elsewhere, PodDisruptionBudgets
respected. It finds the agents' group by its tags (aws/agents.py) and may change only that group.
It runs on the servers (the control plane), so a scale-down never evicts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..aws.workload_role import ROLE_ARN_ANNOTATION
from ..names import AWS_IDENTITY_POD_LABEL, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
from ..names import CLUSTER_AUTOSCALER_NAMESPACE as NAMESPACE
from .helm import container_resources, helm_release
from .labels import pod_security_labels, recommended_labels

CLUSTER_AUTOSCALER_CHART = "cluster-autoscaler"
CLUSTER_AUTOSCALER_CHART_VERSION = "9.59.0"
AUTOSCALER_REPOSITORY = "https://kubernetes.github.io/autoscaler"
# The autoscaler's minor must match the cluster's (its chart's appVersion is 1.35.0; this is the
# newest 1.35 patch release).
CLUSTER_AUTOSCALER_IMAGE_TAG = "v1.35.2"
RELEASE_NAME = "cluster-autoscaler"
SERVER_NODE_SELECTOR = {"node-role.kubernetes.io/control-plane": "true"}
SERVER_TOLERATIONS = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
RUN_AS_USER = 65534


@dataclass
class ClusterAutoscalerArgs:
    cluster_name: str
    """The name in the agents' discovery tags (aws/agents.autoscaler_discovery_tags)."""
    region: str
    role_arn: pulumi.Input[str]
    """Its own role, the right to size the agents' group (aws/agents.K3sAgents.autoscaler_role_arn)."""
    monitoring_crds: pulumi.Resource | None = None
    """The release that installs the ServiceMonitor CRD (Monitoring.release)."""


def cluster_autoscaler_values(args: ClusterAutoscalerArgs) -> dict[str, Any]:
    return {
        "cloudProvider": "aws",
        "awsRegion": args.region,
        "autoDiscovery": {"clusterName": args.cluster_name},
        "image": {"tag": CLUSTER_AUTOSCALER_IMAGE_TAG},
        "extraArgs": {
            # The shop's pods keep /tmp in an emptyDir: with the default, no agent would ever go.
            "skip-nodes-with-local-storage": False,
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "scale-down-unneeded-time": "10m",
            "max-node-provision-time": "10m",
        },
        "nodeSelector": SERVER_NODE_SELECTOR,
        "tolerations": SERVER_TOLERATIONS,
        "resources": container_resources("50m", "128Mi", "384Mi"),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containerSecurityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "rbac": {
            "serviceAccount": {
                "name": CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
                "annotations": {ROLE_ARN_ANNOTATION: args.role_arn},
            }
        },
        "podLabels": AWS_IDENTITY_POD_LABEL,
        "serviceMonitor": {"enabled": True, "namespace": NAMESPACE, "selector": {}},
    }


class ClusterAutoscaler(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:k8s:ClusterAutoscaler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": NAMESPACE,
                "labels": {
                    **recommended_labels("cluster-autoscaler", "autoscaling"),
                    **pod_security_labels(enforce="restricted"),
                },
            },
            opts=child,
        )
        crds = [args.monitoring_crds] if args.monitoring_crds is not None else []
        self.release = helm_release(
            f"{name}-release",
            release_name=RELEASE_NAME,
            chart=CLUSTER_AUTOSCALER_CHART,
            version=CLUSTER_AUTOSCALER_CHART_VERSION,
            repository=AUTOSCALER_REPOSITORY,
            namespace=self.namespace.metadata["name"],
            values=cluster_autoscaler_values(args),
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, depends_on=crds),
        )
        self.register_outputs({"chart_version": CLUSTER_AUTOSCALER_CHART_VERSION})
