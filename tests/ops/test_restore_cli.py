"""restore snapshot | pitr as commands: every refusal happens before any call that changes AWS."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from typing import Any

import pytest

from dhakacart_infra.names import StackOutput
from dhakacart_infra.ops.errors import PulumiCliError

from .conftest import INSTANCE, StackWorld


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
    snapshot_id = world.take_snapshot()
    result = world.invoke(
        "restore", "snapshot", snapshot_id, "--target-name", "dhakacart-dev-restore-1", "--stack", "dev"
    )
    assert result.exit_code == 0, result.output
    restored = world.instance("dhakacart-dev-restore-1")
    assert restored is not None
    assert_shaped_like_the_live_instance(world, restored)
    assert world.instance(INSTANCE)["DBInstanceStatus"] == "available"  # the live one is untouched
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
    assert world.instance_count() == 1


def test_restore_refuses_a_target_name_that_exists(world: StackWorld) -> None:
    snapshot_id = world.take_snapshot()
    world.invoke("restore", "snapshot", snapshot_id, "--target-name", "taken-name")
    result = world.invoke("restore", "snapshot", snapshot_id, "--target-name", "taken-name")
    assert result.exit_code == 1 and "'taken-name' already exists" in result.output
    result = world.invoke("restore", "pitr", "--latest", "--target-name", "taken-name")
    assert result.exit_code == 1 and "already exists" in result.output
    assert world.instance_count() == 2


def test_restore_refuses_the_live_instance_as_target(world: StackWorld) -> None:
    result = world.invoke("restore", "pitr", "--latest", "--target-name", INSTANCE)
    assert result.exit_code == 1 and "is the live instance" in result.output


@pytest.mark.parametrize(
    "name", ["1starts-with-digit", "double--hyphen", "ends-with-hyphen-", "under_score", "x" * 64, ""]
)
def test_restore_refuses_invalid_rds_identifiers(world: StackWorld, name: str) -> None:
    result = world.invoke("restore", "pitr", "--latest", "--target-name", name)
    assert result.exit_code == 1 and "not a valid RDS instance identifier" in result.output
    assert world.instance_count() == 1


def test_snapshot_restore_refuses_a_snapshot_under_another_key(world: StackWorld) -> None:
    snapshot_id = world.take_snapshot()
    world.rds.copy_db_snapshot(
        SourceDBSnapshotIdentifier=snapshot_id,
        TargetDBSnapshotIdentifier="other-key-copy",
        KmsKeyId=world.export_key_arn,
    )
    result = world.invoke("restore", "snapshot", "other-key-copy", "--target-name", "restore-2")
    assert result.exit_code == 1 and "copy the snapshot" in result.output
    assert world.instance_count() == 1


def test_pitr_latest_restores_like_the_live_instance(world: StackWorld) -> None:
    result = world.invoke("restore", "pitr", "--latest", "--target-name", "dhakacart-dev-pitr")
    assert result.exit_code == 0, result.output
    assert_shaped_like_the_live_instance(world, world.instance("dhakacart-dev-pitr"))


def test_pitr_time_inside_the_estimated_window_restores(world: StackWorld) -> None:
    # moto reports LatestRestorableTime (its "now") but not EarliestRestorableTime, so the tool
    # estimates the start from the creation time and the 7-day retention: the instance's creation.
    source = world.instance(INSTANCE)
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
    assert world.instance_count() == 1  # dry run
    result = world.invoke("restore", "pitr", "--time", moment, "--target-name", "pitr-2", now=fake_now)
    assert result.exit_code == 0, result.output
    assert world.instance("pitr-2") is not None


@pytest.mark.parametrize("offset", [timedelta(days=-1), timedelta(days=1)])
def test_pitr_refuses_a_time_outside_the_window(world: StackWorld, offset: timedelta) -> None:
    created = world.instance(INSTANCE)["InstanceCreateTime"].astimezone(UTC)
    moment = (created + offset).isoformat()
    result = world.invoke("restore", "pitr", "--time", moment, "--target-name", "pitr-3")
    assert result.exit_code == 1 and "outside the restorable window" in result.output
    assert world.instance_count() == 1


def test_pitr_refuses_a_time_without_timezone_and_needs_exactly_one_mode(world: StackWorld) -> None:
    result = world.invoke("restore", "pitr", "--time", "2026-11-25T03:00:00", "--target-name", "pitr-4")
    assert result.exit_code == 1 and "has no timezone" in result.output
    both = world.invoke("restore", "pitr", "--time", "2026-11-25T03:00:00Z", "--latest", "--target-name", "p")
    neither = world.invoke("restore", "pitr", "--target-name", "p")
    assert both.exit_code == neither.exit_code == 2 and "exactly one of --time" in neither.output


def test_restore_refuses_an_instance_that_does_not_match_the_stack(
    world: StackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = {**world.outputs(), StackOutput.DATABASE_SECURITY_GROUP_ID: "sg-0123456789abcdef0"}
    monkeypatch.setattr(world, "outputs", lambda: outputs)
    result = world.invoke("restore", "pitr", "--latest", "--target-name", "pitr-5")
    assert result.exit_code == 1
    assert "does not match the stack" in result.output and "sg-0123456789abcdef0" in result.output
    assert world.instance_count() == 1


def test_restore_uses_flags_alone_when_there_is_no_pulumi(
    world: StackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    assert world.instance("pitr-6") is not None
