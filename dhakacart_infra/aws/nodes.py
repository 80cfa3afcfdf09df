"""What every node of the cluster shares: the Ubuntu image, an instance role reached only through SSM,
and the instance settings (IMDSv2, encrypted gp3, no SSH key)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .iam import service_assume_role_policy

CANONICAL_OWNER_ID = "099720109477"
# The Ubuntu LTS release the nodes run: Canonical's server image for amd64 on gp3, newest build
# first (most_recent). The codename sits between "ubuntu-" and the version (26.04 is "resolute");
# matching it with `*` keeps the lookup right without spelling it. Move to the next LTS here (and
# in the docs) once K3s validates the pinned k3sVersion on it (26.04: v1.34.11, v1.35.8,
# v1.36.4 and later, k3s-io/k3s#14576).
UBUNTU_LTS_VERSION = "26.04"
UBUNTU_LTS_AMI_NAME = f"ubuntu/images/hvm-ssd-gp3/ubuntu-*-{UBUNTU_LTS_VERSION}-amd64-server-*"
SSM_MANAGED_INSTANCE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
# The node's own processes reach IMDSv2; a pod (one hop behind the node) never gets a token back,
# so no pod can take the node's role. Pods that call AWS have roles of their own (workload_role.py).
METADATA_HOP_LIMIT = 1


def ubuntu_ami(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The newest Canonical Ubuntu LTS image for amd64 (looked up at every `pulumi up`)."""
    return aws.ec2.get_ami_output(
        owners=[CANONICAL_OWNER_ID],
        most_recent=True,
        filters=[
            aws.ec2.GetAmiFilterArgs(name="name", values=[UBUNTU_LTS_AMI_NAME]),
            aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
            aws.ec2.GetAmiFilterArgs(name="architecture", values=["x86_64"]),
        ],
        opts=pulumi.InvokeOutputOptions(parent=parent),
    ).id


@dataclass(frozen=True)
class NodeRole:
    role: aws.iam.Role
    profile: aws.iam.InstanceProfile


def node_role(name: str, description: str, parent: pulumi.Resource) -> NodeRole:
    """An EC2 role with Session Manager (the only way in: no SSH) and nothing else yet."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-role",
        description=description,
        assume_role_policy=service_assume_role_policy("ec2.amazonaws.com"),
        opts=child,
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-ssm-core", role=role.name, policy_arn=SSM_MANAGED_INSTANCE_POLICY, opts=child
    )
    return NodeRole(role, aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child))


def metadata_options() -> dict[str, object]:
    return {
        "http_endpoint": "enabled",
        "http_tokens": "required",
        "http_put_response_hop_limit": METADATA_HOP_LIMIT,
    }
