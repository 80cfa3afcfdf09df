"""Volumes that outlive nodes: the AWS EBS CSI driver (its official chart) and the StorageClasses.

Before, every volume was a directory on one node (K3s's local-path): a replaced node took
Prometheus's, Grafana's, Alertmanager's and dev's Loki's data with it, and the pod could only ever
run on that node again. An EBS volume is attached wherever its pod is scheduled in the volume's
zone and stays when the node goes.

* The controller (creates, attaches, resizes and deletes volumes through the EC2 API, with a role
  of its own that only its ServiceAccount can assume: aws/volumes.py) runs on the servers, beside
  the cluster autoscaler, in `ebs-csi`, which enforces `restricted`.
* The node plugin (formats and mounts the volumes on its node) must run privileged with the host's
  kubelet directories mounted, so the chart puts it (`node.namespaceOverride`) in `ebs-csi-node`,
  the only namespace besides node-exporter's that enforces `privileged`; it runs on every node and
  reads its instance and zone from its Node object (the metadata service is out of a pod's reach).
* Two classes, both gp3, encrypted with the platform's own key, bound when the pod is scheduled
  (WaitForFirstConsumer: the volume is made in the pod's zone) and expandable:
  `gp3` is the cluster's default and deletes a volume with its claim (nothing forgotten keeps
  costing); `gp3-retain` keeps the volume when its claim goes, and every volume of the platform's
  own data uses it (monitoring_values.py, logging.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..aws.workload_role import ROLE_ARN_ANNOTATION
from ..names import (
    AWS_IDENTITY_POD_LABEL,
    DATA_STORAGE_CLASS,
    DEFAULT_STORAGE_CLASS,
    EBS_CSI_CONTROLLER_SERVICE_ACCOUNT,
    EBS_CSI_NAMESPACE,
    EBS_CSI_NODE_NAMESPACE,
)
from .cluster_autoscaler import SERVER_NODE_SELECTOR, SERVER_TOLERATIONS
from .helm import container_resources, helm_release
from .labels import pod_security_labels, recommended_labels
from .logging import LOKI_CHART
from .monitoring_values import KUBE_PROMETHEUS_STACK_CHART

EBS_CSI_CHART = "aws-ebs-csi-driver"
EBS_CSI_CHART_VERSION = "2.64.0"
EBS_CSI_REPOSITORY = "https://kubernetes-sigs.github.io/aws-ebs-csi-driver"
RELEASE_NAME = "aws-ebs-csi-driver"
PROVISIONER = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
CONTROLLER_USER = 1000  # the chart's default non-root user of the controller pod
# The controller's sidecars, each with its own resources and container security context.
CONTROLLER_SIDECARS = ("provisioner", "attacher", "snapshotter", "resizer", "livenessProbe")

_RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class ChartClaim:
    """A volume a chart claims for the platform's data, and where its values size it and name its class."""

    what: str
    chart: str
    size: tuple[str, ...]
    storage_class: tuple[str, ...]
    workload: str | None = None
    """The rendered workload whose volumeClaimTemplates hold it (None: the chart makes a plain PVC)."""


_VCT = ("volumeClaimTemplate", "spec")
# Every PVC of the platform (one replica each): the cost report prices them, the tests hold each to
# DATA_STORAGE_CLASS and these to the claims the recorded charts really render.
PLATFORM_CLAIMS = (
    ChartClaim(
        "Prometheus",
        KUBE_PROMETHEUS_STACK_CHART,
        ("prometheus", "prometheusSpec", "storageSpec", *_VCT, "resources", "requests", "storage"),
        ("prometheus", "prometheusSpec", "storageSpec", *_VCT, "storageClassName"),
        "prometheus-kube-prometheus-stack",
    ),
    ChartClaim(
        "Alertmanager",
        KUBE_PROMETHEUS_STACK_CHART,
        ("alertmanager", "alertmanagerSpec", "storage", *_VCT, "resources", "requests", "storage"),
        ("alertmanager", "alertmanagerSpec", "storage", *_VCT, "storageClassName"),
        "alertmanager-kube-prometheus-stack",
    ),
    ChartClaim(
        "Grafana",
        KUBE_PROMETHEUS_STACK_CHART,
        ("grafana", "persistence", "size"),
        ("grafana", "persistence", "storageClassName"),
    ),
    ChartClaim(
        "Loki",
        LOKI_CHART,
        ("singleBinary", "persistence", "size"),
        ("singleBinary", "persistence", "storageClass"),
        "loki",
    ),
)


def value_at(values: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        values = values.get(part) if isinstance(values, Mapping) else None
    return values


@dataclass
class StorageArgs:
    region: str
    servers: int
    """How many servers run the controller: two replicas (leader election) when there are two."""
    volume_tags: Mapping[str, str]
    """The tags of every volume and snapshot the driver creates (aws/volumes.cluster_volume_tags):
    the servers' IAM policy lets it change only volumes that carry the cluster's tag."""
    kms_key_arn: pulumi.Input[str]
    """The key every volume is encrypted with (aws/volumes.VolumeAccess.kms_key_arn)."""
    controller_role_arn: pulumi.Input[str]
    """The controller's own role (aws/volumes.VolumeAccess.controller_role_arn)."""


def controller_replicas(servers: int) -> int:
    return 2 if servers >= 2 else 1


def ebs_csi_values(args: StorageArgs) -> dict[str, Any]:
    sidecar = {
        "resources": container_resources("10m", "32Mi", "128Mi"),
        "securityContext": _RESTRICTED_CONTAINER,
    }
    return {
        "controller": {
            "replicaCount": controller_replicas(args.servers),
            "region": args.region,
            "extraVolumeTags": dict(args.volume_tags),
            # The pod identity webhook gives the controller its role (and refuses to let it start
            # without one).
            "serviceAccount": {
                "name": EBS_CSI_CONTROLLER_SERVICE_ACCOUNT,
                "annotations": {ROLE_ARN_ANNOTATION: args.controller_role_arn},
            },
            "podLabels": AWS_IDENTITY_POD_LABEL,
            # On the servers, like the cluster autoscaler: never evicted by a scale-down.
            "nodeSelector": SERVER_NODE_SELECTOR,
            "tolerations": SERVER_TOLERATIONS,
            "resources": container_resources("10m", "48Mi", "256Mi"),
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": CONTROLLER_USER,
                "runAsGroup": CONTROLLER_USER,
                "fsGroup": CONTROLLER_USER,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containerSecurityContext": _RESTRICTED_CONTAINER,
        },
        "sidecars": {
            **{name: sidecar for name in CONTROLLER_SIDECARS},
            # Runs only in the node plugin's pod (privileged namespace), as the chart makes it.
            "nodeDriverRegistrar": {"resources": container_resources("10m", "16Mi", "64Mi")},
        },
        "node": {
            "namespaceOverride": EBS_CSI_NODE_NAMESPACE,
            # Every node, the dedicated servers' taint included: a volume can be mounted anywhere.
            "tolerateAllTaints": True,
            "priorityClassName": "system-node-critical",
            "resources": container_resources("10m", "40Mi", "256Mi"),
            "enableWindows": False,
            # The Node object, not the metadata service (hop limit 1): the nodes carry their EC2
            # provider ID and zone (aws/node_files/dhakacart-k3s-install.sh).
            "metadataSources": "kubernetes",
        },
        # The chart's `helm test` pod: not part of the platform.
        "helmTester": {"enabled": False},
    }


def storage_class_args(
    name: str, reclaim_policy: str, kms_key_arn: pulumi.Input[str], default: bool
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": recommended_labels("aws-ebs-csi-driver", "storage"),
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true" if default else "false"},
        },
        "provisioner": PROVISIONER,
        "parameters": {
            "type": "gp3",
            "encrypted": "true",
            "kmsKeyId": kms_key_arn,
            "csi.storage.k8s.io/fstype": "ext4",
        },
        "reclaim_policy": reclaim_policy,
        "volume_binding_mode": "WaitForFirstConsumer",
        "allow_volume_expansion": True,
    }


class Storage(pulumi.ComponentResource):
    release: k8s.helm.v3.Release
    data_storage_class: pulumi.Output[str]
    """The class every PVC of the platform's data uses; known once the driver is ready."""

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": EBS_CSI_NAMESPACE,
                "labels": {
                    **recommended_labels("aws-ebs-csi-driver", "storage"),
                    # The controller and its sidecars meet `restricted` (tests/infra/charts checks
                    # the recorded render).
                    **pod_security_labels(enforce="restricted"),
                },
            },
            opts=child,
        )
        self.node_namespace = k8s.core.v1.Namespace(
            f"{name}-node-namespace",
            metadata={
                "name": EBS_CSI_NODE_NAMESPACE,
                "labels": {
                    **recommended_labels("aws-ebs-csi-driver", "storage"),
                    # The node plugin formats and mounts block devices on the host: it runs
                    # privileged with the kubelet's directories and /dev mounted, which only
                    # `privileged` allows. It is the only workload here.
                    **pod_security_labels(enforce="privileged"),
                },
            },
            opts=child,
        )
        self.release = helm_release(
            f"{name}-release",
            release_name=RELEASE_NAME,
            chart=EBS_CSI_CHART,
            version=EBS_CSI_CHART_VERSION,
            repository=EBS_CSI_REPOSITORY,
            namespace=self.namespace.metadata["name"],
            values=ebs_csi_values(args),
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.node_namespace]),
        )
        # A class before its driver would leave claims pending: each waits for the release.
        after_driver = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        self.default_class = k8s.storage.v1.StorageClass(
            f"{name}-{DEFAULT_STORAGE_CLASS}",
            **storage_class_args(DEFAULT_STORAGE_CLASS, "Delete", args.kms_key_arn, default=True),
            opts=after_driver,
        )
        self.data_class = k8s.storage.v1.StorageClass(
            f"{name}-{DATA_STORAGE_CLASS}",
            **storage_class_args(DATA_STORAGE_CLASS, "Retain", args.kms_key_arn, default=False),
            opts=after_driver,
        )
        self.data_storage_class = self.data_class.metadata["name"]
        self.register_outputs(
            {
                "chart_version": EBS_CSI_CHART_VERSION,
                "default_storage_class": self.default_class.metadata["name"],
                "data_storage_class": self.data_storage_class,
            }
        )
