"""Network: computed subnets per zone, DNS, routing, flow logs, and the two security groups."""

from __future__ import annotations

import ipaddress
import json

import pytest

from dhakacart_infra.aws.network import subnet_cidrs
from dhakacart_infra.plan.mocks import reveal

SG = "aws:ec2/securityGroup:SecurityGroup"


def _subnets(plan, tier):
    return [r for r in plan.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"].get("Tier") == tier]


@pytest.mark.parametrize(("cidr", "zones"), [("10.20.0.0/16", 2), ("10.30.0.0/16", 3), ("172.16.0.0/20", 3)])
def test_subnet_cidrs_are_computed_disjoint_and_inside_the_vpc(cidr, zones):
    public, private = subnet_cidrs(cidr, zones)
    assert len(public) == len(private) == zones
    nets = [ipaddress.ip_network(c) for c in public + private]
    vpc = ipaddress.ip_network(cidr)
    assert all(n.subnet_of(vpc) for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_a_third_zone_does_not_renumber_the_first_two():
    two, three = subnet_cidrs("10.20.0.0/16", 2), subnet_cidrs("10.20.0.0/16", 3)
    assert three[0][:2] == two[0] and three[1][:2] == two[1]


def test_vpc_has_dns_hostnames_and_the_configured_cidr(stack_plan):
    vpc = stack_plan.one("aws:ec2/vpc:Vpc")
    expected = {"dev": "10.20.0.0/16", "prod": "10.30.0.0/16"}[stack_plan.stack]
    assert vpc.inputs["cidrBlock"] == expected
    assert vpc.inputs["enableDnsHostnames"] is True and vpc.inputs["enableDnsSupport"] is True


def test_one_public_and_one_private_subnet_per_zone(stack_plan):
    zones = {"dev": 2, "prod": 3}[stack_plan.stack]
    public, private = _subnets(stack_plan, "public"), _subnets(stack_plan, "private")
    assert len(public) == len(private) == zones
    assert len({s.inputs["availabilityZone"] for s in public}) == zones
    assert {s.inputs["availabilityZone"] for s in public} == {s.inputs["availabilityZone"] for s in private}
    expected_public, expected_private = subnet_cidrs(
        stack_plan.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"], zones
    )
    assert sorted(s.inputs["cidrBlock"] for s in public) == sorted(expected_public)
    assert sorted(s.inputs["cidrBlock"] for s in private) == sorted(expected_private)
    assert all(s.inputs.get("mapPublicIpOnLaunch") is False for s in public + private)


def test_only_public_subnets_route_to_the_internet(stack_plan):
    igw = stack_plan.one("aws:ec2/internetGateway:InternetGateway")
    tables = {r.name: r for r in stack_plan.of_type("aws:ec2/routeTable:RouteTable")}
    public_rt, private_rt = tables["network-public-rt"], tables["network-private-rt"]
    assert public_rt.inputs["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": igw.id}]
    assert not private_rt.inputs.get("routes")
    assert stack_plan.of_type("aws:ec2/natGateway:NatGateway") == []
    subnet_ids = {s.id: s.inputs["tags"]["Tier"] for s in stack_plan.of_type("aws:ec2/subnet:Subnet")}
    for assoc in stack_plan.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        tier = subnet_ids[assoc.inputs["subnetId"]]
        assert assoc.inputs["routeTableId"] == (public_rt.id if tier == "public" else private_rt.id)


def test_flow_logs_go_to_an_encrypted_log_group_with_retention(stack_plan):
    flow = stack_plan.one("aws:ec2/flowLog:FlowLog")
    group = stack_plan.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    role = stack_plan.one("aws:iam/role:Role", "network-flow-logs-role")
    assert flow.inputs["vpcId"] == stack_plan.one("aws:ec2/vpc:Vpc").id
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestination"] == group.state["arn"]
    assert flow.inputs["iamRoleArn"] == role.state["arn"]
    assert group.inputs["retentionInDays"] == {"dev": 30, "prod": 90}[stack_plan.stack]
    key = next(k for k in stack_plan.of_type("aws:kms/key:Key") if k.name == "network-flow-logs-key")
    assert group.inputs["kmsKeyId"] == key.state["arn"] and key.inputs["enableKeyRotation"] is True
    statement = json.loads(key.inputs["policy"])["Statement"][1]
    assert statement["Principal"] == {"Service": "logs.ap-south-1.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        group.inputs["name"]
    )


def test_flow_log_role_may_only_write_its_own_log_group(stack_plan):
    role = stack_plan.one("aws:iam/role:Role", "network-flow-logs-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    policy = json.loads(
        stack_plan.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs-write").inputs["policy"]
    )
    arn = stack_plan.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").state["arn"]
    (statement,) = policy["Statement"]
    assert statement["Resource"] == [arn, f"{arn}:*"]
    assert all(action.startswith("logs:") and "*" not in action for action in statement["Action"])


def test_default_security_group_is_emptied(stack_plan):
    default = stack_plan.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default.inputs["ingress"] == [] and default.inputs["egress"] == []


def test_network_component_exposes_its_outputs(stack_plan):
    component = stack_plan.one("dhakacart:aws:Network")
    outputs = reveal(component.outputs)
    assert outputs["vpc_id"] == stack_plan.one("aws:ec2/vpc:Vpc").id
    assert set(outputs) >= {
        "vpc_id",
        "vpc_cidr",
        "public_subnet_ids",
        "private_subnet_ids",
        "availability_zones",
        "cluster_security_group_id",
        "load_balancer_security_group_id",
        "database_security_group_id",
        "private_subnet_cidrs",
    }
    zones = {"dev": 2, "prod": 3}[stack_plan.stack]
    assert len(outputs["private_subnet_ids"]) == len(outputs["availability_zones"]) == zones
    assert sorted(outputs["private_subnet_cidrs"]) == sorted(
        s.inputs["cidrBlock"] for s in _subnets(stack_plan, "private")
    )
