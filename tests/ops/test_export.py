"""export SNAPSHOT: inputs validated before start_export_task; progress polled to COMPLETE/FAILED."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dhakacart_infra.ops.errors import RemoteFailureError, WaitTimeoutError
from dhakacart_infra.ops.export import wait_export
from dhakacart_infra.ops.progress import Waiter

from .conftest import INSTANCE, FakeClock, StackWorld


def snapshot(world: StackWorld) -> str:
    world.invoke("backup", "create", "--reason", "export")
    return world.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE, SnapshotType="manual")[
        "DBSnapshots"
    ][0]["DBSnapshotIdentifier"]


def tasks(world: StackWorld) -> list[dict[str, Any]]:
    return world.rds.describe_export_tasks()["ExportTasks"]


def test_export_uses_the_stack_bucket_role_and_key_and_waits_for_complete(world: StackWorld) -> None:
    snapshot_id = snapshot(world)
    result = world.invoke("export", snapshot_id, "--stack", "dev")
    assert result.exit_code == 0, result.output
    [task] = tasks(world)
    assert task["S3Bucket"] == world.bucket
    assert task["IamRoleArn"] == world.role_arn
    assert task["KmsKeyId"] == world.export_key_arn
    assert task["SourceArn"].endswith(f":snapshot:{snapshot_id}")
    assert task["S3Prefix"] == "exports"
    assert f"COMPLETE: s3://{world.bucket}/exports/{task['ExportTaskIdentifier']}/" in result.output


def test_export_of_an_automated_snapshot_gets_a_valid_task_id(world: StackWorld) -> None:
    automated = world.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE, SnapshotType="automated")
    snapshot_id = automated["DBSnapshots"][0]["DBSnapshotIdentifier"]
    assert snapshot_id.startswith("rds:")
    result = world.invoke("export", snapshot_id)
    assert result.exit_code == 0, result.output
    task_id = tasks(world)[0]["ExportTaskIdentifier"]
    assert len(task_id) <= 60 and task_id[0].isalpha() and ":" not in task_id


def test_export_dry_run_validates_and_starts_nothing(world: StackWorld) -> None:
    result = world.invoke("export", snapshot(world), "--dry-run")
    assert result.exit_code == 0
    assert json.loads(result.output.split(" with ", 1)[1])["S3BucketName"] == world.bucket
    assert tasks(world) == []


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--bucket", "Not_A_Bucket", "not a valid S3 bucket name"),
        ("--bucket", "192.168.1.1", "not a valid S3 bucket name"),
        ("--role-arn", "dhakacart-export-role", "not an IAM role ARN"),
        ("--role-arn", "arn:aws:iam::123:role/x", "not an IAM role ARN"),
        ("--kms-key", "alias/aws/rds-but-not-an-arn", "not a KMS key ARN"),
        ("--kms-key", "arn:aws:kms:ap-south-1:123456789012:key/not-a-uuid", "not a KMS key ARN"),
    ],
)
def test_export_refuses_malformed_identifiers_before_any_call(
    world: StackWorld, flag: str, value: str, message: str
) -> None:
    result = world.invoke("export", snapshot(world), flag, value)
    assert result.exit_code == 1 and message in result.output
    assert tasks(world) == []


def test_export_refuses_an_unknown_snapshot(world: StackWorld) -> None:
    result = world.invoke("export", "no-such-snapshot")
    assert result.exit_code == 1 and "no DB snapshot 'no-such-snapshot'" in result.output


def test_export_refuses_a_bucket_that_does_not_exist(world: StackWorld) -> None:
    result = world.invoke("export", snapshot(world), "--bucket", "dhakacart-no-such-bucket")
    assert result.exit_code == 1 and "cannot be reached" in result.output
    assert tasks(world) == []


class ScriptedRds:
    """An RDS client whose export task walks through given states (moto completes at once)."""

    def __init__(self, states: list[dict[str, Any]]) -> None:
        self.states = states
        self.polls = 0

    def describe_export_tasks(self, ExportTaskIdentifier: str) -> dict[str, Any]:
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return {"ExportTasks": [{"ExportTaskIdentifier": ExportTaskIdentifier, **state}]}


def test_wait_export_follows_progress_to_complete_without_real_sleeps() -> None:
    clock = FakeClock()
    rds = ScriptedRds(
        [
            {"Status": "STARTING"},
            {"Status": "IN_PROGRESS", "PercentProgress": 40},
            {"Status": "COMPLETE", "PercentProgress": 100},
        ]
    )
    task = wait_export(
        rds, "t1", timeout=600, waiter=Waiter(sleep=clock.sleep, clock=clock, poll_interval=30)
    )
    assert task["Status"] == "COMPLETE" and rds.polls == 3 and clock.sleeps == [30, 30]


def test_wait_export_reports_failure_with_its_cause() -> None:
    clock = FakeClock()
    rds = ScriptedRds([{"Status": "IN_PROGRESS"}, {"Status": "FAILED", "FailureCause": "S3 access denied"}])
    with pytest.raises(RemoteFailureError, match="FAILED: S3 access denied"):
        wait_export(rds, "t1", timeout=600, waiter=Waiter(sleep=clock.sleep, clock=clock, poll_interval=30))


def test_wait_export_gives_up_at_the_timeout() -> None:
    clock = FakeClock()
    rds = ScriptedRds([{"Status": "IN_PROGRESS", "PercentProgress": 10}])
    with pytest.raises(WaitTimeoutError, match="after 90s"):
        wait_export(rds, "t1", timeout=90, waiter=Waiter(sleep=clock.sleep, clock=clock, poll_interval=30))
    assert clock.now == 90
