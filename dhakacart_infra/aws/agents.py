"""The K3s agents: an Auto Scaling group across the zones, scaled by the cluster autoscaler.

Agents run the workloads (the servers only the control plane, in prod). They boot from a launch
template that follows the current Ubuntu LTS image; a changed template rolls the group by an
instance refresh that launches a replacement before it terminates one (healthy capacity never
drops below 100%). The cluster autoscaler finds the group by its tags and may change only this
group's size (with a role of its own, trusted for its ServiceAccount alone).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..names import CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT
from ..tags import with_name
from .iam import policy_document
from .nodes import metadata_options, node_role, ubuntu_ami
from .user_data import AgentSettings, agent_user_data
from .workload_role import ServiceAccountRef, ServiceAccountTrust, WorkloadRole

# Seconds a new agent has to boot, install K3s and pass its checks before the group judges it.
HEALTH_CHECK_GRACE_SECONDS = 300
INSTANCE_WARMUP_SECONDS = 300


@dataclass(frozen=True)
class AgentPoolSettings:
    """What the stack configuration decides about the agents (the k3sAgent* keys)."""

    instance_types: tuple[str, ...]
    min_size: int
    max_size: int
    volume_gb: int


def autoscaler_discovery_tags(cluster_name: str) -> dict[str, str]:
    """The tags the cluster autoscaler's auto-discovery looks for (`--node-group-auto-discovery`)."""
    return {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}


def autoscaler_policy(group_arn: str, cluster_name: str) -> str:
    """Read every group (the autoscaler must discover them), change only this one."""
    return policy_document(
        {
            "Sid": "DiscoverGroups",
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
            ],
        },
        {
            "Sid": "ScaleOnlyTheAgents",
            "Effect": "Allow",
            "Resource": group_arn,
            "Action": [
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ],
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
            },
        },
    )


@dataclass
class K3sAgentsArgs:
    name_prefix: str
    cluster_name: str
    region: str
    subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    settings: AgentPoolSettings
    k3s_version: pulumi.Input[str]
    """The release new agents install: the one the servers run, never one they do not run yet."""
    api_host: pulumi.Input[str]
    agent_token: pulumi.Input[str]
    ingress_target_group_arns: pulumi.Input[list[str]]
    trust: ServiceAccountTrust
    """The cluster's issuer: the cluster autoscaler's role (the right to scale this group) trusts
    its ServiceAccount (names.py) alone."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """The stack's standard tags: the AWS provider's default tags never reach an Auto Scaling group
    or the instances it launches, so the group carries them itself."""


class K3sAgents(pulumi.ComponentResource):
    group_name: pulumi.Output[str]
    group_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: K3sAgentsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:K3sAgents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix, pool = args.name_prefix, args.settings
        access = node_role(f"{name}", f"{prefix}: the K3s agents (SSM)", self)
        user_data = pulumi.Output.all(args.agent_token, args.api_host, args.k3s_version).apply(
            lambda v: base64.b64encode(
                agent_user_data(
                    AgentSettings(
                        k3s_version=v[2],
                        region=args.region,
                        agent_token=v[0],
                        api_host=v[1],
                    )
                ).encode()
            ).decode()
        )
        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            name_prefix=f"{prefix}-k3s-agent-",
            description=f"{prefix}: a K3s agent",
            update_default_version=True,
            image_id=ubuntu_ami(self),
            instance_type=pool.instance_types[0],
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=access.profile.arn),
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    # A public address for the node's own egress, no NAT gateway; nothing comes in but
                    # the load balancer's and the cluster's traffic (its security group).
                    associate_public_ip_address="true",
                    security_groups=[args.security_group_id],
                    delete_on_termination="true",
                )
            ],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**metadata_options()),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/sda1",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type="gp3",
                        volume_size=pool.volume_gb,
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            ebs_optimized="true",
            user_data=pulumi.Output.secret(user_data),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind,
                    tags=with_name(f"{prefix}-k3s-agent", Role="k3s-agent"),
                )
                for kind in ("instance", "volume")
            ],
            tags=with_name(f"{prefix}-k3s-agent"),
            opts=child,
        )
        tags = {
            **args.tags,
            "Name": f"{prefix}-k3s-agent",
            "Role": "k3s-agent",
            **autoscaler_discovery_tags(args.cluster_name),
        }
        group = aws.autoscaling.Group(
            f"{name}-group",
            name=f"{prefix}-k3s-agents",
            min_size=pool.min_size,
            max_size=pool.max_size,
            vpc_zone_identifiers=args.subnet_ids,
            mixed_instances_policy=aws.autoscaling.GroupMixedInstancesPolicyArgs(
                launch_template=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs(
                    launch_template_specification=aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs(
                        launch_template_id=template.id,
                        version="$Latest",
                    ),
                    overrides=[
                        aws.autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs(instance_type=t)
                        for t in pool.instance_types
                    ],
                ),
                instances_distribution=aws.autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs(
                    on_demand_base_capacity=0,
                    on_demand_percentage_above_base_capacity=100,
                    on_demand_allocation_strategy="prioritized",
                ),
            ),
            target_group_arns=args.ingress_target_group_arns,
            health_check_type="EC2",
            health_check_grace_period=HEALTH_CHECK_GRACE_SECONDS,
            capacity_rebalance=False,
            # A new template (image, K3s release, settings) rolls the group one node at a time, the
            # new node up before the old one goes; the cluster autoscaler owns the desired count.
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=100,
                    max_healthy_percentage=200,
                    instance_warmup=str(INSTANCE_WARMUP_SECONDS),
                    skip_matching=True,
                ),
            ),
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                for k, v in tags.items()
            ],
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]),
        )
        self.autoscaler_role = WorkloadRole(
            f"{name}-autoscaler",
            args.trust.role_args(
                "cluster-autoscaler",
                ServiceAccountRef(CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT),
                "Cluster autoscaler: the size of this cluster's agents' group, nothing else",
                group.arn.apply(lambda arn: autoscaler_policy(arn, args.cluster_name)),
            ),
            opts=child,
        )

        self.group_name = group.name
        self.group_arn = group.arn
        self.role_name = access.role.name
        self.autoscaler_role_arn = self.autoscaler_role.role_arn
        self.register_outputs(
            {
                "group_name": self.group_name,
                "group_arn": self.group_arn,
                "role_name": self.role_name,
                "autoscaler_role_arn": self.autoscaler_role_arn,
            }
        )
