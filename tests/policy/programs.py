"""Small Pulumi programs that violate policies, run under the plan's mocks (`run_program(program=...)`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def world_open_ssh() -> None:
    """A VPC without flow logs and a security group open to the world on port 22: two violations."""
    provider = aws.Provider(
        "aws",
        region="ap-south-1",
        default_tags={
            "tags": {"project": "dhakacart", "environment": "dev", "stack": "dev", "managed-by": "pulumi"}
        },
    )
    vpc = aws.ec2.Vpc("main", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(provider=provider))
    aws.ec2.SecurityGroup(
        "ssh",
        vpc_id=vpc.id,
        ingress=[{"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"]}],
        opts=pulumi.ResourceOptions(provider=provider),
    )
