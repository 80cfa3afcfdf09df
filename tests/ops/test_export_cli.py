"""export SNAPSHOT_ID as a command: inputs validated before start_export_task, then waited for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import INSTANCE, StackWorld


def tasks(world: StackWorld) -> list[dict[str, Any]]:
    return world.rds.describe_export_tasks()["ExportTasks"]


def test_export_uses_the_stack_bucket_role_and_key_and_waits_for_complete(world: StackWorld) -> None:
    snapshot_id = world.take_snapshot()
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
    result = world.invoke("export", world.take_snapshot(), "--dry-run")
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
    result = world.invoke("export", world.take_snapshot(), flag, value)
    assert result.exit_code == 1 and message in result.output
    assert tasks(world) == []


def test_export_refuses_an_unknown_snapshot(world: StackWorld) -> None:
    result = world.invoke("export", "no-such-snapshot")
    assert result.exit_code == 1 and "no DB snapshot 'no-such-snapshot'" in result.output


def test_export_refuses_a_bucket_that_does_not_exist(world: StackWorld) -> None:
    result = world.invoke("export", world.take_snapshot(), "--bucket", "dhakacart-no-such-bucket")
    assert result.exit_code == 1 and "cannot be reached" in result.output
    assert tasks(world) == []
