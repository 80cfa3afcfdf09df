"""What the EBS CSI driver needs from AWS: a key for the volumes, and the right to manage only this
cluster's volumes and snapshots.

The driver's controller (k8s/storage.py) acts with a role of its own, trusted for its ServiceAccount
alone (workload_role.py); no node's instance role can touch a volume. Its policy follows the
driver's example policy (docs/example-iam-policy.json of
kubernetes-sigs/aws-ebs-csi-driver) narrowed to this cluster: a volume or snapshot may be created
only carrying the cluster's tag (`aws:RequestTag`), and changed, attached, snapshotted or deleted
only when it carries it (`aws:ResourceTag`); volumes attach only to this stack's instances. The
driver puts the tag on everything it creates (`controller.extraVolumeTags`).

Every volume is encrypted with a customer-managed key of its own whose key policy lets the
controller's role use it through EC2 only (the grants EC2 needs to attach an encrypted volume).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ..names import EBS_CSI_CONTROLLER_SERVICE_ACCOUNT, EBS_CSI_NAMESPACE
from .encryption_key import EncryptionKey
from .iam import policy_document
from .workload_role import ServiceAccountRef, ServiceAccountTrust, WorkloadRole

# The tag the driver puts on every volume and snapshot it creates; its value is the cluster's name.
# (The driver reserves the kubernetes.io/ prefix for its own tags.)
CLUSTER_TAG_KEY = "dhakacart/cluster"


def cluster_volume_tags(cluster_name: str, standard_tags: Mapping[str, str]) -> dict[str, str]:
    """The tags of every volume the driver creates: the cluster's, and the stack's own (cost
    reports, and the console's search), except ManagedBy: the driver, not Pulumi, manages them."""
    tags = {k: v for k, v in standard_tags.items() if k in ("Project", "Environment", "Stack")}
    return {**tags, CLUSTER_TAG_KEY: cluster_name}


def ebs_csi_policy(
    *, partition: str, region: str, account_id: str, cluster_name: str, instance_tags: Mapping[str, str]
) -> str:
    """The controller's rights: read everything (the driver must find volumes and instances), change
    only this cluster's volumes and snapshots, attach them only to this stack's instances."""
    ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
    volumes, snapshots, instances = f"{ec2}:volume/*", f"{ec2}:snapshot/*", f"{ec2}:instance/*"
    ours = {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG_KEY}": cluster_name}}
    for_us = {"StringEquals": {f"aws:RequestTag/{CLUSTER_TAG_KEY}": cluster_name}}
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Describe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInstances",
                "ec2:DescribeSnapshots",
                "ec2:DescribeTags",
                "ec2:DescribeVolumes",
                "ec2:DescribeVolumesModifications",
                "ec2:DescribeVolumeStatus",
            ],
            "Resource": "*",
        },
        {
            "Sid": "CreateOnlyTaggedForThisCluster",
            "Effect": "Allow",
            "Action": "ec2:CreateVolume",
            "Resource": volumes,
            "Condition": for_us,
        },
        {
            "Sid": "RestoreOnlyThisClustersSnapshots",
            "Effect": "Allow",
            "Action": "ec2:CreateVolume",
            "Resource": snapshots,
            "Condition": ours,
        },
        {
            "Sid": "TagOnlyWhileCreating",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": [volumes, snapshots],
            "Condition": {"StringEquals": {"ec2:CreateAction": ["CreateVolume", "CreateSnapshot"]}},
        },
        {
            "Sid": "ManageOnlyThisClustersVolumes",
            "Effect": "Allow",
            "Action": [
                "ec2:AttachVolume",
                "ec2:DetachVolume",
                "ec2:ModifyVolume",
                "ec2:CreateSnapshot",
                "ec2:DeleteVolume",
                "ec2:DeleteTags",
            ],
            "Resource": volumes,
            "Condition": ours,
        },
        {
            "Sid": "AttachOnlyToThisStacksInstances",
            "Effect": "Allow",
            "Action": ["ec2:AttachVolume", "ec2:DetachVolume"],
            "Resource": instances,
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/{k}": v for k, v in sorted(instance_tags.items())}
            },
        },
        {
            "Sid": "SnapshotOnlyTaggedForThisCluster",
            "Effect": "Allow",
            "Action": "ec2:CreateSnapshot",
            "Resource": snapshots,
            "Condition": for_us,
        },
        {
            "Sid": "DeleteOnlyThisClustersSnapshots",
            "Effect": "Allow",
            "Action": ["ec2:DeleteSnapshot", "ec2:DeleteTags"],
            "Resource": snapshots,
            "Condition": ours,
        },
    ]
    return policy_document(*statements)


@dataclass
class VolumeAccessArgs:
    name_prefix: str
    cluster_name: str
    trust: ServiceAccountTrust
    """The cluster's issuer: the controller's role trusts its ServiceAccount (names.py) alone."""
    instance_tags: Mapping[str, str]
    """Tags every node of this stack carries (Project, Stack): volumes attach only to those."""


CONTROLLER_SERVICE_ACCOUNT = ServiceAccountRef(EBS_CSI_NAMESPACE, EBS_CSI_CONTROLLER_SERVICE_ACCOUNT)


class VolumeAccess(pulumi.ComponentResource):
    kms_key_arn: pulumi.Output[str]
    controller_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: VolumeAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:VolumeAccess", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition
        policy = pulumi.Output.all(partition, region, account).apply(
            lambda v: ebs_csi_policy(
                partition=v[0],
                region=v[1],
                account_id=v[2],
                cluster_name=args.cluster_name,
                instance_tags=args.instance_tags,
            )
        )
        controller = WorkloadRole(
            f"{name}-controller",
            args.trust.role_args(
                "ebs-csi-controller",
                CONTROLLER_SERVICE_ACCOUNT,
                "EBS CSI controller: this cluster's volumes and snapshots only",
                policy,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        key = EncryptionKey(
            f"{name}-key",
            description=f"{args.name_prefix}: encrypts the cluster's EBS volumes (EBS CSI driver)",
            ebs_users=[controller.role.arn],
            alias=f"{args.name_prefix}-ebs-volumes",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.kms_key_arn = key.arn
        self.controller_role_arn = controller.role_arn
        self.register_outputs(
            {"kms_key_arn": self.kms_key_arn, "controller_role_arn": self.controller_role_arn}
        )
