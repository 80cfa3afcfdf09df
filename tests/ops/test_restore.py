"""restore snapshot | pitr: every refusal happens before any call that changes AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dhakacart_infra.ops.cutover import cutover_steps
from dhakacart_infra.ops.errors import RefusedError, ValidationError
from dhakacart_infra.ops.rds import describe_instance
from dhakacart_infra.ops.restore import (
    LOG_SHIPPING_LAG,
    compare_restored,
    parse_restore_time,
    restorable_window,
    wait_available,
)

from .conftest import INSTANCE, StackWorld


def instance(world: StackWorld, name: str) -> dict[str, Any] | None:
    return describe_instance(world.rds, name)


def instance_count(world: StackWorld) -> int:
    return len(world.rds.describe_db_instances()["DBInstances"])


def take_snapshot(world: StackWorld) -> str:
    world.invoke("backup", "create", "--reason", "drill")
    snaps = world.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE, SnapshotType="manual")[
        "DBSnapshots"
    ]
    return snaps[0]["DBSnapshotIdentifier"]


def assert_shaped_like_the_live_instance(world: StackWorld, restored: dict[str, Any]) -> None:
    assert restored["DBSubnetGroup"]["DBSubnetGroupName"] == world.subnet_group
    assert [g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]] == [world.security_group_id]
    assert [g["DBParameterGroupName"] for g in restored["DBParameterGroups"]] == [world.parameter_group]
    assert restored["StorageEncrypted"] is True and restored["KmsKeyId"] == world.kms_key_arn
    assert restored["DBInstanceClass"] == "db.t4g.micro"
    assert restored["DeletionProtection"] is True and restored["CopyTagsToSnapshot"] is True
    assert not restored.get("PubliclyAccessible")


def test_snapshot_restore_creates_a_new_instance_like_the_live_one_and_prints_cutover(
    world: StackWorld,
) -> None:
    snapshot_id = take_snapshot(world)
    result = world.invoke(
        "restore", "snapshot", snapshot_id, "--target-name", "dhakacart-dev-restore-1", "--stack", "dev"
    )
    assert result.exit_code == 0, result.output
    restored = instance(world, "dhakacart-dev-restore-1")
    assert restored is not None
    assert_shaped_like_the_live_instance(world, restored)
    assert instance(world, INSTANCE)["DBInstanceStatus"] == "available"  # the live one is untouched
    assert restored["Endpoint"]["Address"] in result.output
    assert (
        f"--db-instance-identifier dhakacart-dev-restore-1 --new-db-instance-identifier {INSTANCE}"
        in result.output
    )
    assert "pulumi import --stack dev aws:rds/instance:Instance" in result.output
    tags = {t["Key"]: t["Value"] for t in restored["TagList"]}
    assert tags["restored-from"] == snapshot_id and tags["project"] == "dhakacart"


def test_snapshot_restore_refuses_an_unknown_snapshot(world: StackWorld) -> None:
    result = world.invoke("restore", "snapshot", "no-such-snap", "--target-name", "restore-1")
    assert result.exit_code == 1 and "no DB snapshot 'no-such-snap'" in result.output
    assert instance_count(world) == 1


def test_restore_refuses_a_target_name_that_exists(world: StackWorld) -> None:
    snapshot_id = take_snapshot(world)
    world.invoke("restore", "snapshot", snapshot_id, "--target-name", "taken-name")
    result = world.invoke("restore", "snapshot", snapshot_id, "--target-name", "taken-name")
    assert result.exit_code == 1 and "'taken-name' already exists" in result.output
    result = world.invoke("restore", "pitr", "--latest", "--target-name", "taken-name")
    assert result.exit_code == 1 and "already exists" in result.output
    assert instance_count(world) == 2


def test_restore_refuses_the_live_instance_as_target(world: StackWorld) -> None:
    result = world.invoke("restore", "pitr", "--latest", "--target-name", INSTANCE)
    assert result.exit_code == 1 and "is the live instance" in result.output


@pytest.mark.parametrize(
    "name", ["1starts-with-digit", "double--hyphen", "ends-with-hyphen-", "under_score", "x" * 64, ""]
)
def test_restore_refuses_invalid_rds_identifiers(world: StackWorld, name: str) -> None:
    result = world.invoke("restore", "pitr", "--latest", "--target-name", name)
    assert result.exit_code == 1 and "not a valid RDS instance identifier" in result.output
    assert instance_count(world) == 1


def test_snapshot_restore_refuses_a_snapshot_under_another_key(world: StackWorld) -> None:
    snapshot_id = take_snapshot(world)
    world.rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=snapshot_id,
        TargetDBSnapshotIdentifier="other-key-copy",
        KmsKeyId=world.export_key_arn,
    )
    result = world.invoke("restore", "snapshot", "other-key-copy", "--target-name", "restore-2")
    assert result.exit_code == 1 and "copy the snapshot" in result.output
    assert instance_count(world) == 1


def test_pitr_latest_restores_like_the_live_instance(world: StackWorld) -> None:
    result = world.invoke("restore", "pitr", "--latest", "--target-name", "dhakacart-dev-pitr")
    assert result.exit_code == 0, result.output
    assert_shaped_like_the_live_instance(world, instance(world, "dhakacart-dev-pitr"))


def test_pitr_time_inside_the_estimated_window_restores(world: StackWorld) -> None:
    # moto reports LatestRestorableTime (its "now") but not EarliestRestorableTime, so the tool
    # estimates the start from the creation time and the 7-day retention: the instance's creation.
    source = instance(world, INSTANCE)
    created = source["InstanceCreateTime"].astimezone(UTC)
    assert source.get("EarliestRestorableTime") is None
    moment = (created + (source["LatestRestorableTime"].astimezone(UTC) - created) / 2).isoformat()
    fake_now = created + timedelta(hours=1)
    dry = world.invoke(
        "restore", "pitr", "--time", moment, "--target-name", "pitr-2", "--dry-run", now=fake_now
    )
    assert dry.exit_code == 0, dry.output
    request = json.loads(dry.output.split(" with ", 1)[1])
    assert request["RestoreTime"].startswith(created.strftime("%Y-%m-%d"))
    assert request["DBSubnetGroupName"] == world.subnet_group and request["PubliclyAccessible"] is False
    assert instance_count(world) == 1  # dry run
    result = world.invoke("restore", "pitr", "--time", moment, "--target-name", "pitr-2", now=fake_now)
    assert result.exit_code == 0, result.output
    assert instance(world, "pitr-2") is not None


@pytest.mark.parametrize("offset", [timedelta(days=-1), timedelta(days=1)])
def test_pitr_refuses_a_time_outside_the_window(world: StackWorld, offset: timedelta) -> None:
    created = instance(world, INSTANCE)["InstanceCreateTime"].astimezone(UTC)
    moment = (created + offset).isoformat()
    result = world.invoke("restore", "pitr", "--time", moment, "--target-name", "pitr-3")
    assert result.exit_code == 1 and "outside the restorable window" in result.output
    assert instance_count(world) == 1


def test_pitr_refuses_a_time_without_timezone_and_needs_exactly_one_mode(world: StackWorld) -> None:
    result = world.invoke("restore", "pitr", "--time", "2026-11-25T03:00:00", "--target-name", "pitr-4")
    assert result.exit_code == 1 and "has no timezone" in result.output
    both = world.invoke("restore", "pitr", "--time", "2026-11-25T03:00:00Z", "--latest", "--target-name", "p")
    neither = world.invoke("restore", "pitr", "--target-name", "p")
    assert both.exit_code == neither.exit_code == 2 and "exactly one of --time" in neither.output


# ---- the window logic on both paths: what RDS reports, and the estimate when it does not


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_window_uses_the_times_rds_reports() -> None:
    source = {
        "DBInstanceIdentifier": "db",
        "BackupRetentionPeriod": 7,
        "EarliestRestorableTime": NOW - timedelta(days=3),
        "LatestRestorableTime": NOW - timedelta(minutes=2),
        "InstanceCreateTime": NOW - timedelta(days=30),
    }
    window = restorable_window(source, NOW)
    assert (window.earliest, window.latest, window.source) == (
        NOW - timedelta(days=3),
        NOW - timedelta(minutes=2),
        "aws",
    )
    assert not window.contains(NOW - timedelta(days=4))  # retention alone would have allowed it


def test_window_is_estimated_from_retention_and_creation_when_rds_is_silent() -> None:
    old = {
        "DBInstanceIdentifier": "db",
        "BackupRetentionPeriod": 7,
        "InstanceCreateTime": NOW - timedelta(days=30),
    }
    window = restorable_window(old, NOW)
    assert window.source == "estimated"
    assert window.earliest == NOW - timedelta(days=7)
    assert window.latest == NOW - LOG_SHIPPING_LAG
    young = {**old, "InstanceCreateTime": NOW - timedelta(hours=2)}
    assert restorable_window(young, NOW).earliest == NOW - timedelta(hours=2)


def test_window_refuses_an_instance_without_automated_backups() -> None:
    with pytest.raises(RefusedError, match="retention 0"):
        restorable_window({"DBInstanceIdentifier": "db", "BackupRetentionPeriod": 0}, NOW)


def test_restore_time_parsing_keeps_the_instant() -> None:
    assert parse_restore_time("2026-11-25T09:00:00+06:00") == datetime(2026, 11, 25, 3, tzinfo=UTC)
    assert parse_restore_time("2026-11-25T03:00:00Z") == datetime(2026, 11, 25, 3, tzinfo=UTC)
    with pytest.raises(ValidationError, match="not an ISO-8601 time"):
        parse_restore_time("yesterday")


def test_compare_restored_reports_every_difference() -> None:
    source = {
        "DBSubnetGroup": {"DBSubnetGroupName": "a"},
        "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1"}],
        "DBParameterGroups": [{"DBParameterGroupName": "pg"}],
        "StorageEncrypted": True,
        "KmsKeyId": "k1",
        "DBInstanceClass": "db.t4g.micro",
        "MultiAZ": True,
    }
    assert compare_restored(source, dict(source)) == []
    drifted = {**source, "KmsKeyId": "k2", "MultiAZ": False, "PubliclyAccessible": True}
    problems = compare_restored(source, drifted)
    assert len(problems) == 3 and any("encryption" in p for p in problems)


def test_restore_refuses_an_instance_that_does_not_match_the_stack(
    world: StackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {**world.outputs(), "databaseSecurityGroupId": "sg-0123456789abcdef0"}
    monkeypatch.setattr(world, "outputs", lambda: outputs)
    result = world.invoke("restore", "pitr", "--latest", "--target-name", "pitr-5")
    assert result.exit_code == 1
    assert "does not match the stack" in result.output and "sg-0123456789abcdef0" in result.output
    assert instance_count(world) == 1


def test_restore_uses_flags_alone_when_there_is_no_pulumi(
    world: StackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dhakacart_infra.ops.errors import PulumiCliError

    def no_pulumi() -> dict:
        raise PulumiCliError("the Pulumi CLI is not on PATH")

    monkeypatch.setattr(world, "outputs", no_pulumi)
    result = world.invoke(
        "restore",
        "pitr",
        "--latest",
        "--target-name",
        "pitr-6",
        "--db-instance",
        INSTANCE,
        "--region",
        "ap-south-1",
    )
    assert result.exit_code == 0, result.output
    assert instance(world, "pitr-6") is not None


class ScriptedInstances:
    """An RDS client whose new instance walks through given states (moto makes it available at once)."""

    def __init__(self, states: list[str | None]) -> None:
        self.states = states
        self.polls = 0

    def describe_db_instances(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        if state is None:  # not visible yet right after the restore call
            from botocore.exceptions import ClientError

            raise ClientError(
                {"Error": {"Code": "DBInstanceNotFound", "Message": "x"}}, "DescribeDBInstances"
            )
        return {"DBInstances": [{"DBInstanceIdentifier": DBInstanceIdentifier, "DBInstanceStatus": state}]}


def waiter(clock) -> Any:
    from dhakacart_infra.ops.progress import Waiter

    return Waiter(sleep=clock.sleep, clock=clock, poll_interval=30)


def test_wait_available_follows_the_instance_until_available() -> None:
    from .conftest import FakeClock

    clock = FakeClock()
    rds = ScriptedInstances([None, "creating", "backing-up", "available"])
    instance = wait_available(rds, "restore-1", timeout=3600, waiter=waiter(clock))
    assert instance["DBInstanceStatus"] == "available" and clock.sleeps == [30, 30, 30]


def test_wait_available_stops_on_a_failed_restore() -> None:
    from dhakacart_infra.ops.errors import RemoteFailureError

    from .conftest import FakeClock

    with pytest.raises(RemoteFailureError, match="incompatible-restore"):
        wait_available(
            ScriptedInstances(["creating", "incompatible-restore"]),
            "r",
            timeout=3600,
            waiter=waiter(FakeClock()),
        )


def test_wait_available_gives_up_at_the_timeout_and_says_it_goes_on() -> None:
    from dhakacart_infra.ops.errors import WaitTimeoutError

    from .conftest import FakeClock

    clock = FakeClock()
    with pytest.raises(WaitTimeoutError, match="it goes on in AWS"):
        wait_available(ScriptedInstances(["creating"]), "r", timeout=100, waiter=waiter(clock))
    assert clock.now == 100


def test_cutover_steps_name_the_instances_and_the_stack() -> None:
    source = {"DBInstanceIdentifier": "dhakacart-prod-db"}
    restored = {"DBInstanceIdentifier": "dhakacart-prod-restore", "Endpoint": {"Address": "restore.example"}}
    steps = "\n".join(cutover_steps(source, restored, "prod"))
    assert "host=restore.example" in steps
    assert (
        "--db-instance-identifier dhakacart-prod-db --new-db-instance-identifier dhakacart-prod-db-retired"
        in steps
    )
    assert (
        "--db-instance-identifier dhakacart-prod-restore --new-db-instance-identifier dhakacart-prod-db"
        in steps
    )
    assert "pulumi state delete --stack prod" in steps and "pulumi preview --stack prod --diff" in steps
    # The database is created through the program's explicit AWS provider: the import must name it.
    assert "--provider 'aws=<the AWS provider URN>'" in steps and "pulumi:providers:aws" in steps
