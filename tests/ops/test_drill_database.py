"""drill database: restores beside the live instance (moto), checks through an injected checker,
reports recovery time and data-loss window, publishes its metric, and always deletes what it made.
Refusals change nothing. The real SQL check runs against a database the shop's migrations built."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from dhakacart_infra.names import (
    DRILL_METRIC_NAMESPACE,
    DRILL_SUCCEEDED_METRIC,
    StackOutput,
)
from dhakacart_infra.ops.drill import DRILL_TAG, EXPIRES_TAG
from dhakacart_infra.ops.drill_database import (
    KEY_TABLES,
    PASSWORD_GRACE_SECONDS,
    DatabaseCheck,
    DrillDatabase,
    DrillFailedError,
    _set_fresh_password,
    check_database_url,
    migration_heads,
    newest_snapshot,
    plan_database_drill,
    run_database_drill,
)
from dhakacart_infra.ops.errors import OpsError, RefusedError
from dhakacart_infra.ops.progress import Waiter
from dhakacart_infra.ops.restore import STACK_SHAPE_OUTPUTS

from .conftest import INSTANCE, REGION, FakeClock, StackWorld

HEAD = ("0001_initial_schema",)
COUNTS = {"users": 3, "categories": 4, "products": 20, "orders": 7, "order_items": 11}


class FakeChecker:
    """Stands in for the SQL check (moto's endpoints run no PostgreSQL); sees the drill instance."""

    def __init__(self, world: StackWorld, current: tuple[str, ...] = HEAD, takes: float = 42.0, error=None):
        self.world, self.current, self.takes, self.error = world, current, takes, error
        self.seen: list[DrillDatabase] = []
        self.instances: list[dict[str, Any]] = []

    def check(self, database: DrillDatabase) -> DatabaseCheck:
        self.seen.append(database)
        self.instances.append(self.world.instance(database.instance_id))
        self.world.clock.sleep(self.takes)  # the check takes time on the drill's clock
        if self.error:
            raise self.error
        return DatabaseCheck(current_revisions=self.current, head_revisions=HEAD, row_counts=COUNTS)


def invoke(world: StackWorld, checker: FakeChecker | None, *args: str, now: datetime | None = None):
    from click.testing import CliRunner

    from dhakacart_infra.ops.cli import cli
    from dhakacart_infra.ops.cli_support import OpsContext

    context = OpsContext(
        waiter=Waiter(sleep=world.clock.sleep, clock=world.clock, poll_interval=5),
        is_tty=lambda: False,
        read_outputs=lambda stack: world.outputs(),
        selected_stack=world.selected_stack,
        database_checker=checker,
    )
    if now is not None:
        context.now = lambda: now
    return CliRunner().invoke(cli, ["drill", "database", *args], obj=context, catch_exceptions=False)


def snapshot_time(world: StackWorld, snapshot_id: str) -> datetime:
    return world.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0][
        "SnapshotCreateTime"
    ]


def metric_values(stack: str = "dev", drill: str = "database") -> list[float]:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    stats = cloudwatch.get_metric_statistics(
        Namespace=DRILL_METRIC_NAMESPACE,
        MetricName=DRILL_SUCCEEDED_METRIC,
        Dimensions=[{"Name": "Stack", "Value": stack}, {"Name": "Drill", "Value": drill}],
        StartTime=datetime.now(UTC) - timedelta(days=30),
        EndTime=datetime.now(UTC) + timedelta(days=30),
        Period=86400,
        Statistics=["Maximum"],
    )
    return [p["Maximum"] for p in stats["Datapoints"]]


def only_record(directory: Path) -> dict[str, Any]:
    [path] = list(directory.glob("*.json"))
    return json.loads(path.read_text())


def test_a_drill_restores_beside_the_live_instance_checks_reports_and_deletes(
    world: StackWorld, tmp_path: Path
) -> None:
    snapshot_id = world.take_snapshot()
    now = snapshot_time(world, snapshot_id) + timedelta(hours=2)
    checker = FakeChecker(world)
    result = invoke(world, checker, "--stack", "dev", "--record-dir", str(tmp_path), now=now)
    assert result.exit_code == 0, result.output

    [database] = checker.seen
    [during] = checker.instances
    assert database.instance_id.startswith(f"{INSTANCE}-drill-") and database.instance_id != INSTANCE
    assert len(database.password) >= 32 and database.password not in result.output
    assert during["DBSubnetGroup"]["DBSubnetGroupName"] == world.subnet_group
    assert [g["VpcSecurityGroupId"] for g in during["VpcSecurityGroups"]] == [world.security_group_id]
    assert [g["DBParameterGroupName"] for g in during["DBParameterGroups"]] == [world.parameter_group]
    assert during["StorageEncrypted"] is True and during["KmsKeyId"] == world.kms_key_arn
    # (moto ignores DeletionProtection=False on restore; the drill then lifts it before deleting)
    assert not during.get("PubliclyAccessible")
    tags = {t["Key"]: t["Value"] for t in during["TagList"]}
    assert tags[DRILL_TAG] == "database" and tags["restored-from"] == snapshot_id
    assert tags[EXPIRES_TAG] == (now + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert world.instance(database.instance_id) is None  # deleted
    assert world.instance(INSTANCE)["DBInstanceStatus"] == "available"  # the live one untouched
    assert world.manual_snapshot_ids() == [snapshot_id]  # no final snapshot left behind

    record = only_record(tmp_path)
    assert record["succeeded"] is True and record["backup"] == snapshot_id
    assert record["data_loss_seconds"] == 7200
    # moto applies the new password at once, so the drill waits out its grace; then the 42 s check
    assert record["recovery_seconds"] == PASSWORD_GRACE_SECONDS + 42
    assert record["checks"]["migrations_current"] is True and record["checks"]["row_counts"] == COUNTS
    assert record["created"] == record["cleaned_up"] == [f"rds:{database.instance_id}"]
    assert record["metric_published"] is True
    assert "data-loss window: 7200s" in result.output and "recovery time: 102s" in result.output
    assert metric_values() == [1.0]


def test_a_schema_behind_the_migrations_fails_the_drill_and_still_deletes(
    world: StackWorld, tmp_path: Path
) -> None:
    world.take_snapshot()
    checker = FakeChecker(world, current=())
    result = invoke(world, checker, "--record-dir", str(tmp_path))
    assert result.exit_code == 1 and "alembic current != head" in result.output
    [database] = checker.seen
    assert world.instance(database.instance_id) is None
    record = only_record(tmp_path)
    assert record["succeeded"] is False and record["cleaned_up"] == [f"rds:{database.instance_id}"]
    assert metric_values() == []


def test_a_check_that_cannot_connect_fails_the_drill_and_still_deletes(
    world: StackWorld, tmp_path: Path
) -> None:
    world.take_snapshot()
    checker = FakeChecker(world, error=OpsError("could not check the restored database"))
    result = invoke(world, checker, "--record-dir", str(tmp_path))
    assert result.exit_code == 1 and "Error: could not check the restored database" in result.output
    assert world.instance_count() == 1
    assert only_record(tmp_path)["error"] == "could not check the restored database"


def test_a_point_in_time_drill_measures_loss_from_the_restore_point(
    world: StackWorld, tmp_path: Path
) -> None:
    checker = FakeChecker(world)
    live = world.instance(INSTANCE)
    now = datetime.now(UTC)
    result = invoke(world, checker, "--point-in-time", "--record-dir", str(tmp_path), now=now)
    assert result.exit_code == 0, result.output
    record = only_record(tmp_path)
    latest = live.get("LatestRestorableTime") or now - timedelta(minutes=5)
    assert record["backup"] == f"{INSTANCE}@latest"
    assert record["data_loss_seconds"] == pytest.approx((now - latest).total_seconds(), abs=1)
    assert world.instance_count() == 1


def refused(world: StackWorld, *args: str, tmp_path: Path) -> str:
    checker = FakeChecker(world)
    result = invoke(world, checker, *args, "--record-dir", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert checker.seen == [] and world.instance_count() == 1 and not list(tmp_path.glob("*"))
    return result.output


def test_refuses_a_target_named_like_the_live_instance(world: StackWorld, tmp_path: Path) -> None:
    world.take_snapshot()
    output = refused(world, "--target-name", INSTANCE.upper(), tmp_path=tmp_path)
    assert "is the live instance" in output


def test_refuses_a_snapshot_of_another_instance(world: StackWorld, tmp_path: Path) -> None:
    other = world.instance(INSTANCE)
    world.rds.create_db_instance(
        DBInstanceIdentifier="someone-elses-db",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="x",
        MasterUserPassword="not-a-real-password-2",
        StorageEncrypted=True,
        KmsKeyId=other["KmsKeyId"],
    )
    world.rds.create_db_snapshot(DBSnapshotIdentifier="foreign", DBInstanceIdentifier="someone-elses-db")
    checker = FakeChecker(world)
    result = invoke(world, checker, "--snapshot", "foreign", "--record-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "belongs to instance 'someone-elses-db', not this stack's" in result.output
    assert checker.seen == [] and world.instance_count() == 2


def test_refuses_a_snapshot_tagged_for_another_stack(world: StackWorld, tmp_path: Path) -> None:
    world.rds.create_db_snapshot(
        DBSnapshotIdentifier="prod-copy",
        DBInstanceIdentifier=INSTANCE,
        Tags=[{"Key": "Stack", "Value": "prod"}],
    )
    output = refused(world, "--snapshot", "prod-copy", "--stack", "dev", tmp_path=tmp_path)
    assert "tagged for stack 'prod', not 'dev'" in output


@pytest.mark.parametrize("output", list(STACK_SHAPE_OUTPUTS), ids=str)
def test_refuses_without_the_stack_outputs_it_must_copy(
    world: StackWorld, tmp_path: Path, output: StackOutput
) -> None:
    world.take_snapshot()
    world.extra_outputs[output] = ""
    message = refused(world, tmp_path=tmp_path)
    assert f"the stack has no output {output}" in message


def test_refuses_when_the_stack_key_is_not_the_instances(world: StackWorld, tmp_path: Path) -> None:
    world.take_snapshot()
    world.extra_outputs[StackOutput.DATABASE_KMS_KEY_ARN] = world.export_key_arn
    assert "not the stack's database key" in refused(world, tmp_path=tmp_path)


def test_refuses_when_there_is_no_snapshot() -> None:
    class NoSnapshots:
        def get_paginator(self, name: str) -> Any:
            assert name == "describe_db_snapshots"
            return self

        def paginate(self, **kwargs: Any) -> list[dict[str, Any]]:
            return [{"DBSnapshots": []}]

    with pytest.raises(RefusedError, match="has no available snapshot to drill"):
        newest_snapshot(NoSnapshots(), INSTANCE, datetime.now(UTC))


def test_the_newest_available_snapshot_is_chosen(world: StackWorld) -> None:
    world.take_snapshot("older")
    world.take_snapshot("newer")
    newest = max(
        world.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE)["DBSnapshots"],
        key=lambda s: s["SnapshotCreateTime"],
    )
    assert (
        newest_snapshot(world.rds, INSTANCE, datetime.now(UTC))["DBSnapshotIdentifier"]
        == newest["DBSnapshotIdentifier"]
    )


def test_dry_run_checks_and_creates_nothing(world: StackWorld, tmp_path: Path) -> None:
    world.take_snapshot()
    checker = FakeChecker(world)
    result = invoke(world, checker, "--dry-run", "--record-dir", str(tmp_path))
    assert result.exit_code == 0 and "would call restore_db_instance_from_db_snapshot" in result.output
    assert '"DeletionProtection": false' in result.output and '"PubliclyAccessible": false' in result.output
    assert checker.seen == [] and world.instance_count() == 1


class StubbornDelete:
    """Moto's RDS, except that the first delete is refused as RDS refuses a busy instance."""

    def __init__(self, rds: Any, refusals: int) -> None:
        self.rds, self.refusals, self.deletes = rds, refusals, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rds, name)

    def delete_db_instance(self, **kwargs: Any) -> Any:
        self.deletes += 1
        if self.deletes <= self.refusals:
            raise ClientError(
                {"Error": {"Code": "InvalidDBInstanceState", "Message": "busy"}}, "DeleteDBInstance"
            )
        assert kwargs["SkipFinalSnapshot"] is True
        return self.rds.delete_db_instance(**kwargs)


def _plan(world: StackWorld):
    world.take_snapshot()
    shape = {o: world.outputs()[o] for o in STACK_SHAPE_OUTPUTS}
    return plan_database_drill(
        world.rds, instance_id=INSTANCE, stack="dev", stack_shape=shape, now=datetime.now(UTC), created_by="t"
    )


def test_cleanup_waits_out_a_busy_instance(world: StackWorld) -> None:
    rds = StubbornDelete(world.rds, refusals=2)
    clock = FakeClock()
    record = run_database_drill(
        rds,
        _plan(world),
        FakeChecker(world),
        now=lambda: datetime.now(UTC),
        waiter=clock.waiter(10),
        timeout=600,
    )
    # two busy refusals, then moto's refusal of a protected instance, which the drill lifts
    assert record.succeeded and rds.deletes == 4 and world.instance_count() == 1


def test_cleanup_that_never_succeeds_says_what_is_left_and_how_to_delete_it(world: StackWorld) -> None:
    rds = StubbornDelete(world.rds, refusals=1000)
    plan = _plan(world)
    with pytest.raises(DrillFailedError) as failed:
        run_database_drill(
            rds,
            plan,
            FakeChecker(world),
            now=lambda: datetime.now(UTC),
            waiter=FakeClock().waiter(10),
            timeout=60,
        )
    assert f"aws rds delete-db-instance --db-instance-identifier {plan.restore.target}" in str(failed.value)
    assert failed.value.record.succeeded is False and failed.value.record.cleaned_up == []


def test_the_key_tables_are_the_shops_tables() -> None:
    from dhakacart import models
    from dhakacart.extensions import db

    assert models  # imported for its tables
    assert set(KEY_TABLES) <= set(db.metadata.tables)


def test_the_real_check_reads_alembic_and_counts_rows_of_a_migrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shop.sqlite3'}"
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": "x" * 48,
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
    }
    flask = str(Path(sys.executable).parent / "flask")
    app_dir = Path(__file__).resolve().parents[2] / "app"
    for args in (["db", "upgrade"], ["seed"]):
        done = subprocess.run([flask, "--app", "dhakacart", *args], cwd=app_dir, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    heads = migration_heads()
    assert heads  # the shop has migrations
    check = check_database_url(url, heads)
    assert check.migrations_current and check.problems() == []
    assert set(check.row_counts) == set(KEY_TABLES) and check.row_counts["products"] > 0
    behind = check_database_url(url, ("9999_not_yet",))
    assert not behind.migrations_current and "alembic current != head" in behind.problems()[0]


class PasswordRds:
    """RDS after modify_db_instance(MasterUserPassword=...): still "available" with nothing pending
    for a moment, then resetting, then available again."""

    def __init__(self) -> None:
        self.states = [
            {"DBInstanceStatus": "available"},
            {"DBInstanceStatus": "available", "PendingModifiedValues": {"MasterUserPassword": "****"}},
            {"DBInstanceStatus": "resetting-master-credentials"},
            {"DBInstanceStatus": "available"},
        ]
        self.modified: dict[str, Any] = {}

    def modify_db_instance(self, **kwargs: Any) -> None:
        self.modified = kwargs

    def describe_db_instances(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"DBInstances": [{"DBInstanceIdentifier": DBInstanceIdentifier, **state}]}


def test_the_fresh_password_is_used_only_once_rds_has_applied_it() -> None:
    rds = PasswordRds()
    clock = FakeClock()
    password = _set_fresh_password(rds, "drill-1", timeout=600, waiter=clock.waiter(5))
    assert rds.modified == {
        "DBInstanceIdentifier": "drill-1",
        "MasterUserPassword": password,
        "ApplyImmediately": True,
    }
    assert len(password) >= 32 and rds.states == [
        {"DBInstanceStatus": "available"}
    ]  # polled through the reset
    assert clock.now == 15  # four polls, not the grace


def test_the_metric_names_the_bare_stack_the_alarms_select(world: StackWorld, tmp_path: Path) -> None:
    world.take_snapshot()
    result = invoke(world, FakeChecker(world), "--stack", "acme/dhakacart/dev", "--record-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert metric_values(stack="dev") == [1.0] and only_record(tmp_path)["stack"] == "dev"
