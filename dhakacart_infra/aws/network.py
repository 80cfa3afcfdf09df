"""The VPC: public and private subnets per zone, flow logs, and the two security groups.

Public subnets hold the load balancer and the K3s nodes (each with a public address for its own
egress, but no inbound traffic except from the load balancer: security_groups.py); private
subnets hold only RDS, which needs no internet access. So there is no NAT gateway: one per zone
would cost more than the whole dev stack (README, "What it costs").
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from ..tags import with_name
from .encryption_key import EncryptionKey
from .iam import policy_document, service_assume_role_policy
from .security_groups import security_groups

SUBNET_SLOTS = 8  # 3 public + 3 private at most, rounded up to a power of two


def subnet_cidrs(vpc_cidr: str, zone_count: int) -> tuple[list[str], list[str]]:
    """(public, private) CIDRs: the VPC split in 8 equal blocks; public take the first blocks and
    private the second half, so adding a third zone later does not renumber existing subnets."""
    network = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(network.subnets(new_prefix=network.prefixlen + 3))
    half = SUBNET_SLOTS // 2
    return ([str(b) for b in blocks[:zone_count]], [str(b) for b in blocks[half : half + zone_count]])


@dataclass
class NetworkArgs:
    name_prefix: str
    vpc_cidr: str
    availability_zone_count: int
    admin_cidrs: list[str]
    flow_log_retention_days: int


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    availability_zones: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    private_subnet_cidrs: pulumi.Output[list[str]]
    cluster_security_group_id: pulumi.Output[str]
    load_balancer_security_group_id: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix

        zones = aws.get_availability_zones_output(
            state="available",
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).names.apply(lambda names: sorted(names)[: args.availability_zone_count])
        public_cidrs, private_cidrs = subnet_cidrs(args.vpc_cidr, args.availability_zone_count)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=with_name(f"{prefix}-vpc"),
            opts=child,
        )
        # The default security group would allow all traffic between its members: empty it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags=with_name(f"{prefix}-default-unused"),
            opts=child,
        )

        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=with_name(f"{prefix}-igw"), opts=child
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=with_name(f"{prefix}-public"),
            opts=child,
        )
        # No default route: the database subnets stay unreachable from, and cannot reach, the internet.
        private_rt = aws.ec2.RouteTable(
            f"{name}-private-rt", vpc_id=vpc.id, tags=with_name(f"{prefix}-private"), opts=child
        )

        public_subnets, private_subnets = [], []
        for index in range(args.availability_zone_count):
            zone = zones.apply(lambda names, i=index: names[i])
            public = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[index],
                availability_zone=zone,
                # Instances get a public address only when asked (the K3s server, then its EIP).
                map_public_ip_on_launch=False,
                tags=with_name(f"{prefix}-public-{index}", Tier="public"),
                opts=child,
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=with_name(f"{prefix}-private-{index}", Tier="private"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-rta", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta", subnet_id=private.id, route_table_id=private_rt.id, opts=child
            )
            public_subnets.append(public)
            private_subnets.append(private)

        self._flow_logs(name, prefix, vpc, args.flow_log_retention_days)

        groups = security_groups(name, prefix, vpc.id, args.admin_cidrs, self)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.availability_zones = zones
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.private_subnet_cidrs = pulumi.Output.all(*[s.cidr_block for s in private_subnets])
        self.cluster_security_group_id = groups.nodes.id
        self.load_balancer_security_group_id = groups.load_balancer.id
        self.database_security_group_id = groups.database.id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "availability_zones": self.availability_zones,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "private_subnet_cidrs": self.private_subnet_cidrs,
                "cluster_security_group_id": self.cluster_security_group_id,
                "load_balancer_security_group_id": self.load_balancer_security_group_id,
                "database_security_group_id": self.database_security_group_id,
            }
        )

    def _flow_logs(self, name: str, prefix: str, vpc: aws.ec2.Vpc, retention_days: int) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group_name = f"/vpc-flow-logs/{prefix}"
        key = EncryptionKey(
            f"{name}-flow-logs-key",
            description=f"{prefix}: encrypts the VPC flow log group",
            log_group_pattern=log_group_name,
            alias=f"{prefix}-flow-logs",
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=log_group_name,
            retention_in_days=retention_days,
            kms_key_id=key.arn,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=service_assume_role_policy("vpc-flow-logs.amazonaws.com"),
            description=f"{prefix}: lets VPC flow logs write to their log group",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-write",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: policy_document(
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        "Resource": [arn, f"{arn}:*"],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=with_name(f"{prefix}-flow-log"),
            opts=child,
        )
