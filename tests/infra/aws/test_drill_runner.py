"""DrillRunnerPolicy: everything the drills call is granted, and nothing that changes AWS is granted
beyond what the drills create (drill names, drill tags, the etcd-drill role, the servers' SSM)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dhakacart_infra.names import DRILL_TAG, StackOutput
from dhakacart_infra.plan.runner import PlanResult

POLICY = "aws:iam/policy:Policy"
OPS = Path(__file__).resolve().parents[3] / "dhakacart_infra" / "ops"
# The AWS calls the drills make (boto3 name -> IAM action), and the module each one is made in.
DRILL_CALLS = {
    ("rds", "describe_db_instances"): ("rds:DescribeDBInstances", "rds.py"),
    ("rds", "describe_db_snapshots"): ("rds:DescribeDBSnapshots", "rds.py"),
    ("rds", "restore_db_instance_from_db_snapshot"): ("rds:RestoreDBInstanceFromDBSnapshot", "restore.py"),
    ("rds", "restore_db_instance_to_point_in_time"): ("rds:RestoreDBInstanceToPointInTime", "restore.py"),
    ("rds", "modify_db_instance"): ("rds:ModifyDBInstance", "drill_database.py"),
    ("rds", "delete_db_instance"): ("rds:DeleteDBInstance", "drill_database.py"),
    ("s3", "list_objects_v2"): ("s3:ListBucket", "etcd.py"),
    ("ec2", "run_instances"): ("ec2:RunInstances", "drill_etcd.py"),
    ("ec2", "describe_instances"): ("ec2:DescribeInstances", "drill_etcd.py"),
    ("ec2", "terminate_instances"): ("ec2:TerminateInstances", "drill_etcd.py"),
    ("ssm", "describe_instance_information"): ("ssm:DescribeInstanceInformation", "drill_etcd.py"),
    ("ssm", "send_command"): ("ssm:SendCommand", "drill_etcd.py"),
    ("ssm", "get_command_invocation"): ("ssm:GetCommandInvocation", "drill_etcd.py"),
    ("ssm", "start_session"): ("ssm:StartSession", "tunnel.py"),
    ("cloudwatch", "put_metric_data"): ("cloudwatch:PutMetricData", "drill.py"),
}


def statements(plan: PlanResult) -> list[dict[str, Any]]:
    component = plan.one("dhakacart:aws:DrillRunnerPolicy")
    [policy] = [r for r in plan.descendants_of(component) if r.type == POLICY]
    return json.loads(policy.revealed()["policy"])["Statement"]


def actions(statement: dict[str, Any]) -> list[str]:
    return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]


def resources(statement: dict[str, Any]) -> list[str]:
    return [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]


@pytest.mark.parametrize(("call", "grant"), list(DRILL_CALLS.items()), ids=lambda v: str(v))
def test_every_call_the_drills_make_is_granted(stack_plan: PlanResult, call, grant) -> None:
    (service, operation), (action, module) = call, grant
    source = (OPS / module).read_text()
    spelled = operation if service != "ssm" or operation != "start_session" else "start-session"
    assert re.search(rf"\b{re.escape(spelled)}\b", source), f"{module} no longer calls {operation}"
    assert any(action in actions(s) for s in statements(stack_plan)), action


def test_only_reads_and_the_drills_namespace_are_unscoped(stack_plan: PlanResult) -> None:
    for statement in statements(stack_plan):
        if "*" in resources(statement):
            reads = all(a.split(":")[1].startswith(("Describe", "Get")) for a in actions(statement))
            metric = actions(statement) == ["cloudwatch:PutMetricData"] and statement["Condition"] == {
                "StringEquals": {"cloudwatch:namespace": "DhakaCart/Drills"}
            }
            assert reads or metric, statement["Sid"]


def test_changes_deletes_and_commands_need_the_drill_tag(stack_plan: PlanResult) -> None:
    by_sid = {s["Sid"]: s for s in statements(stack_plan)}
    for sid, key in (
        ("ChangeAndDeleteOnlyDrillInstances", f"aws:ResourceTag/{DRILL_TAG}"),
        ("TerminateOnlyScratchServers", f"aws:ResourceTag/{DRILL_TAG}"),
        ("LaunchOnlyTaggedScratchServers", f"aws:RequestTag/{DRILL_TAG}"),
        ("CountOnScratchServers", f"ssm:resourceTag/{DRILL_TAG}"),
    ):
        assert key in by_sid[sid]["Condition"]["StringEquals"], sid
    # Tags only at launch: a running instance tagged as a drill afterwards would become terminable.
    assert by_sid["TagOnlyAtLaunch"]["Condition"] == {"StringEquals": {"ec2:CreateAction": "RunInstances"}}
    for statement in statements(stack_plan):
        if "ec2:CreateTags" in actions(statement):
            assert statement["Sid"] == "TagOnlyAtLaunch"
        for action in ("rds:DeleteDBInstance", "rds:ModifyDBInstance", "ec2:TerminateInstances"):
            if action in actions(statement):
                assert statement["Sid"] in by_sid and "Condition" in statement, (action, statement["Sid"])


def test_restores_and_deletes_only_touch_drill_names(stack_plan: PlanResult) -> None:
    by_sid = {s["Sid"]: s for s in statements(stack_plan)}
    assert resources(by_sid["ChangeAndDeleteOnlyDrillInstances"]) == [
        r for r in resources(by_sid["RestoreThisDatabaseIntoDrillNames"]) if r.endswith("-drill-*")
    ]
    assert resources(by_sid["TagOnlyDrillInstances"]) == resources(
        by_sid["ChangeAndDeleteOnlyDrillInstances"]
    )
    [drill_db] = resources(by_sid["ChangeAndDeleteOnlyDrillInstances"])
    assert drill_db.endswith(f":db:dhakacart-{stack_plan.stack}-postgres-drill-*")


def test_the_etcd_drill_role_is_the_only_one_passed_and_only_to_ec2(stack_plan: PlanResult) -> None:
    [passing] = [s for s in statements(stack_plan) if "iam:PassRole" in actions(s)]
    role = stack_plan.one("dhakacart:aws:EtcdDrillAccess")
    [drill_role] = [r for r in stack_plan.descendants_of(role) if r.type == "aws:iam/role:Role"]
    assert passing["Resource"] == drill_role.state["arn"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_port_forwards_only_through_the_servers(stack_plan: PlanResult) -> None:
    [session] = [s for s in statements(stack_plan) if "ssm:StartSession" in actions(s)]
    servers = stack_plan.outputs[StackOutput.SERVER_INSTANCE_IDS]
    instances = [r.rsplit("/", 1)[1] for r in resources(session) if ":instance/" in r]
    assert instances == list(servers)
    [document] = [r for r in resources(session) if ":document/" in r]
    assert document.endswith("document/AWS-StartPortForwardingSessionToRemoteHost")


def test_the_policy_fits_iams_size_limit(stack_plan: PlanResult) -> None:
    component = stack_plan.one("dhakacart:aws:DrillRunnerPolicy")
    [policy] = [r for r in stack_plan.descendants_of(component) if r.type == POLICY]
    compact = json.dumps(json.loads(policy.revealed()["policy"]), separators=(",", ":"))
    assert len(compact) <= 6144  # a managed policy's limit, whitespace excluded
    assert stack_plan.outputs[StackOutput.DRILL_RUNNER_POLICY_ARN] == policy.state["arn"]
