"""EtcdDrillAccess: the scratch server's identity reads the snapshots and the token and nothing else,
its security group lets nothing in and only HTTPS out, and the token stays a secret."""

from __future__ import annotations

import json

import pytest

from dhakacart_infra.aws.etcd_drill import token_parameter_name
from dhakacart_infra.names import StackOutput
from dhakacart_infra.plan.mocks import is_secret
from dhakacart_infra.plan.runner import PlanResult

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def scratch(plan: PlanResult, type_token: str):
    component = plan.one("dhakacart:aws:EtcdDrillAccess")
    return [r for r in plan.descendants_of(component) if r.type == type_token]


def test_the_role_only_reads_the_snapshot_folder_and_the_token(stack_plan: PlanResult) -> None:
    [policy] = scratch(stack_plan, ROLE_POLICY)
    statements = {s["Sid"]: s for s in json.loads(policy.revealed()["policy"])["Statement"]}
    assert set(statements) == {
        "ListSnapshots",
        "ReadSnapshots",
        "DecryptSnapshotsAndToken",
        "ReadClusterToken",
    }
    assert statements["ReadSnapshots"]["Action"] == "s3:GetObject"
    assert statements["ReadSnapshots"]["Resource"].endswith("/etcd-snapshots/*")
    assert statements["DecryptSnapshotsAndToken"]["Action"] == "kms:Decrypt"
    assert statements["ReadClusterToken"]["Action"] == "ssm:GetParameter"
    actions = [
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if a.startswith(("s3:Put", "s3:Delete", "autoscaling", "ec2"))]
    for statement in statements.values():
        assert "*" not in statement["Resource"].split(":::")[-1].split("/")[0]


def test_the_scratch_security_group_lets_nothing_in_and_only_https_out(stack_plan: PlanResult) -> None:
    assert scratch(stack_plan, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") == []
    [egress] = [
        r.revealed() for r in scratch(stack_plan, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    ]
    assert (egress["ipProtocol"], egress["fromPort"], egress["toPort"]) == ("tcp", 443, 443)
    [group] = scratch(stack_plan, "aws:ec2/securityGroup:SecurityGroup")
    assert not group.revealed().get("ingress") and not group.revealed().get("egress")


def test_the_token_is_a_secure_string_under_the_snapshots_key(stack_plan: PlanResult) -> None:
    [parameter] = scratch(stack_plan, "aws:ssm/parameter:Parameter")
    assert parameter.revealed()["type"] == "SecureString"
    assert is_secret(parameter.inputs["value"])
    cluster = stack_plan.one("dhakacart:aws:K3sCluster")
    snapshot_keys = [
        r.state["arn"] for r in stack_plan.descendants_of(cluster) if r.type == "aws:kms/key:Key"
    ]
    assert parameter.revealed()["keyId"] in snapshot_keys
    stack = stack_plan.outputs[StackOutput.ENVIRONMENT]
    assert parameter.revealed()["name"] == token_parameter_name(f"dhakacart-{stack}")


@pytest.mark.parametrize(
    "output",
    [
        StackOutput.K3S_VERSION,
        StackOutput.K3S_AMI_ID,
        StackOutput.ETCD_DRILL_SUBNET_ID,
        StackOutput.ETCD_DRILL_SECURITY_GROUP_ID,
        StackOutput.ETCD_DRILL_INSTANCE_PROFILE,
        StackOutput.ETCD_DRILL_TOKEN_PARAMETER,
    ],
    ids=str,
)
def test_the_stack_exports_what_the_drill_launches_with(stack_plan: PlanResult, output: StackOutput) -> None:
    value = stack_plan.outputs[output]
    assert value and not is_secret(value)
