"""backup create | list | delete | prune, run as commands against moto's RDS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dhakacart_infra.names import StackOutput
from dhakacart_infra.ops.rds import tags_of
from dhakacart_infra.ops.stack import selected_stack_name

from .conftest import INSTANCE, StackWorld


def test_create_names_the_snapshot_by_instance_and_utc_time_and_tags_it(world: StackWorld) -> None:
    now = datetime(2026, 11, 25, 3, 4, 5, tzinfo=UTC)
    result = world.invoke(
        "backup",
        "create",
        "--stack",
        "dev",
        "--reason",
        "before migration 0042",
        "--created-by",
        "rafiq",
        now=now,
    )
    assert result.exit_code == 0, result.output
    snapshot_id = f"{INSTANCE}-manual-20261125-030405"
    assert snapshot_id in result.output
    snap = world.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]
    assert tags_of(snap) == {
        "stack": "dev",
        "reason": "before migration 0042",
        "created-by": "rafiq",
        "managed-by": "dhakacart-ops",
    }


def test_create_without_stack_tags_the_stack_pulumi_has_selected(world: StackWorld) -> None:
    world.selected_stack = lambda: "prod-eu"
    result = world.invoke("backup", "create", "--reason", "drill")
    assert result.exit_code == 0, result.output
    [snapshot_id] = world.manual_snapshot_ids()
    snap = world.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]
    assert tags_of(snap)["stack"] == "prod-eu"


def test_create_without_stack_or_pulumi_cli_asks_for_stack_and_sends_nothing(world: StackWorld) -> None:
    world.selected_stack = lambda: selected_stack_name(which=lambda _: None)
    result = world.invoke("backup", "create", "--db-instance", INSTANCE, "--reason", "drill")
    assert result.exit_code == 1
    assert "the selected stack's name is unknown; pass --stack NAME" in result.output
    assert world.manual_snapshot_ids() == []


def test_create_dry_run_sends_nothing(world: StackWorld) -> None:
    result = world.invoke("backup", "create", "--reason", "drill", "--dry-run")
    assert result.exit_code == 0
    assert "dry run: would call create_db_snapshot" in result.output
    assert world.manual_snapshot_ids() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--db-instance", "nope", "--reason", "x"], "no RDS instance 'nope'"),
        (["create", "--reason", "  "], "--reason is empty"),
        (["delete", "no-such-snapshot", "--yes"], "no DB snapshot 'no-such-snapshot'"),
    ],
    ids=["unknown instance", "empty reason", "unknown snapshot"],
)
def test_bad_input_exits_1_saying_what_is_wrong_and_changes_nothing(
    world: StackWorld, args: list[str], message: str
) -> None:
    result = world.invoke("backup", *args)
    assert result.exit_code == 1 and message in result.output
    assert world.manual_snapshot_ids() == []


def test_list_shows_automated_and_manual_with_age_and_size_newest_first(world: StackWorld) -> None:
    world.invoke("backup", "create", "--reason", "first")
    result = world.invoke("backup", "list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert {r["type"] for r in rows} == {"automated", "manual"}
    assert all(r["size_gb"] == 20 and r["age_seconds"] is not None for r in rows)
    created = [r["created"] for r in rows]
    assert created == sorted(created, reverse=True)
    table = world.invoke("backup", "list")
    assert table.output.splitlines()[0].split() == [
        "SNAPSHOT",
        "TYPE",
        "STATUS",
        "CREATED",
        "(UTC)",
        "AGE",
        "SIZE",
        "REASON",
    ]
    assert "20GB" in table.output and "first" in table.output


def test_delete_refuses_an_automated_snapshot(world: StackWorld) -> None:
    automated = world.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE, SnapshotType="automated")
    snapshot_id = automated["DBSnapshots"][0]["DBSnapshotIdentifier"]
    result = world.invoke("backup", "delete", snapshot_id, "--yes")
    assert result.exit_code == 1
    assert "automated snapshot" in result.output and "RDS owns it" in result.output
    assert world.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"]


def test_delete_without_yes_and_without_a_terminal_is_refused(world: StackWorld) -> None:
    world.invoke("backup", "create", "--reason", "r")
    [snapshot_id] = world.manual_snapshot_ids()
    result = world.invoke("backup", "delete", snapshot_id)
    assert result.exit_code == 1
    assert "pass --yes" in result.output
    assert world.manual_snapshot_ids() == [snapshot_id]


def test_delete_asks_on_a_terminal_and_honours_no(world: StackWorld) -> None:
    world.invoke("backup", "create", "--reason", "r")
    [snapshot_id] = world.manual_snapshot_ids()
    world.tty = True
    result = world.invoke("backup", "delete", snapshot_id, input="n\n")
    assert result.exit_code == 1 and "not confirmed" in result.output
    assert world.manual_snapshot_ids() == [snapshot_id]
    result = world.invoke("backup", "delete", snapshot_id, input="y\n")
    assert result.exit_code == 0 and world.manual_snapshot_ids() == []


def test_delete_dry_run_keeps_the_snapshot(world: StackWorld) -> None:
    world.invoke("backup", "create", "--reason", "r")
    [snapshot_id] = world.manual_snapshot_ids()
    result = world.invoke("backup", "delete", snapshot_id, "--dry-run")
    assert result.exit_code == 0 and "would delete" in result.output
    assert world.manual_snapshot_ids() == [snapshot_id]


def test_create_wait_returns_once_the_snapshot_is_available(world: StackWorld) -> None:
    result = world.invoke("backup", "create", "--reason", "waited", "--wait", "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("is available")


def _make_manual_snapshots(world: StackWorld, count: int) -> list[str]:
    base = datetime.now(UTC) - timedelta(days=count)
    for day in range(count):
        world.invoke("backup", "create", "--reason", f"day {day}", now=base + timedelta(days=day))
    return world.manual_snapshot_ids()


def test_prune_keep_last_deletes_only_older_manual_snapshots_of_this_tool(world: StackWorld) -> None:
    made = _make_manual_snapshots(world, 4)
    world.rds.create_db_snapshot(DBSnapshotIdentifier="hand-made-final", DBInstanceIdentifier=INSTANCE)
    result = world.invoke("backup", "prune", "--keep-last", "2", "--yes")
    assert result.exit_code == 0, result.output
    assert world.manual_snapshot_ids() == sorted([*made[-2:], "hand-made-final"])
    automated = world.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE, SnapshotType="automated")
    assert len(automated["DBSnapshots"]) == 1


def test_prune_dry_run_lists_what_would_go_and_deletes_nothing(world: StackWorld) -> None:
    made = _make_manual_snapshots(world, 3)
    result = world.invoke("backup", "prune", "--keep-last", "1", "--dry-run")
    assert result.exit_code == 0
    assert [line.split()[2] for line in result.output.splitlines() if line.startswith("would delete")] == [
        made[1],
        made[0],
    ]
    assert world.manual_snapshot_ids() == made


def test_prune_without_yes_and_without_a_terminal_is_refused(world: StackWorld) -> None:
    made = _make_manual_snapshots(world, 2)
    result = world.invoke("backup", "prune", "--keep-last", "0")
    assert result.exit_code == 1 and "pass --yes" in result.output
    assert world.manual_snapshot_ids() == made


def test_prune_needs_a_retention(world: StackWorld) -> None:
    result = world.invoke("backup", "prune", "--yes")
    assert result.exit_code == 1 and "--keep-days N, --keep-last N" in result.output
    assert "dbManualSnapshotRetentionDays" in result.output


def test_prune_without_limits_keeps_the_stacks_configured_retention(world: StackWorld) -> None:
    made = _make_manual_snapshots(world, 2)  # moto records them as created now
    world.extra_outputs[StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS] = 3
    within = world.invoke("backup", "prune", "--yes", now=datetime.now(UTC) + timedelta(days=2))
    assert within.exit_code == 0, within.output
    assert "keeping 3 days (the stack's dbManualSnapshotRetentionDays)" in within.output
    assert "nothing to prune" in within.output and world.manual_snapshot_ids() == made
    beyond = world.invoke("backup", "prune", "--yes", now=datetime.now(UTC) + timedelta(days=4))
    assert beyond.exit_code == 0, beyond.output
    assert world.manual_snapshot_ids() == []


def test_prune_flags_win_over_the_configured_retention(world: StackWorld) -> None:
    made = _make_manual_snapshots(world, 3)
    world.extra_outputs[StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS] = 30
    result = world.invoke("backup", "prune", "--keep-last", "1", "--yes")
    assert result.exit_code == 0, result.output
    assert world.manual_snapshot_ids() == made[-1:]
