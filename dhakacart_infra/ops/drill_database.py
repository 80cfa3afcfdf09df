"""The database drill: restore the newest backup into a temporary instance, check it, delete it.

The temporary instance sits beside the live one (its subnet group, security group, parameter group
and KMS key, never publicly accessible), is tagged as a drill with an expiry, and gets a fresh
random master password that only this process knows (nothing of the live instance's secret is
needed or shown). Once it is available the drill checks the shop's schema (alembic's current
revision is the migrations' head) and counts the rows of the key tables, through a
`DatabaseChecker` (the real one reaches the private endpoint through an SSM port forward via a
cluster server; tests inject their own). Whatever happens, the instance is deleted without a final
snapshot. Every refusal (a target named like the live instance, a snapshot of another instance or
stack, a missing KMS key or output) happens before the first call that changes AWS.

One file for the whole drill on purpose (over 400 lines): refusals, plan, restore, check and
cleanup read top to bottom in the order they run, which is how the drill is reviewed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from ..names import DATABASE_DRILL, POSTGRES_PORT, StackOutput
from . import TOOL_COMMAND
from .backup import list_snapshots
from .drill import DRILL_FAILURES, DRILL_TAG, DrillFailedError, DrillRecord, drill_failure, drill_tags
from .errors import MissingIdentifierError, OpsError, RefusedError
from .progress import Waiter, wait_until
from .rds import describe_instance, error_code, require_snapshot, tags_of
from .restore import (
    STACK_SHAPE_OUTPUTS,
    RestorePlan,
    plan_pitr_restore,
    plan_snapshot_restore,
    restorable_window,
    start_restore,
    wait_available,
)

# The shop's tables whose rows the drill counts (app/dhakacart/models.py; a test keeps them real).
KEY_TABLES = ("users", "categories", "products", "orders", "order_items")
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "app/dhakacart/migrations"
# The tags stack tags may come under: the provider's default tags, or `ops backup create`'s.
STACK_TAG_KEYS = ("Stack", "stack")


@dataclass(frozen=True)
class DrillDatabase:
    """How to reach the restored copy (the password exists only in this process)."""

    instance_id: str
    address: str
    port: int
    db_name: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class DatabaseCheck:
    current_revisions: tuple[str, ...]
    head_revisions: tuple[str, ...]
    row_counts: Mapping[str, int]

    @property
    def migrations_current(self) -> bool:
        return bool(self.head_revisions) and set(self.current_revisions) == set(self.head_revisions)

    def problems(self) -> list[str]:
        if self.migrations_current:
            return []
        return [
            f"schema at {sorted(self.current_revisions) or 'no revision'}, the migrations' head is "
            f"{sorted(self.head_revisions)} (alembic current != head: the backup predates a migration "
            "or was never migrated)"
        ]


class DatabaseChecker(Protocol):
    """Checks the restored copy; the real one connects with SQLAlchemy, tests inject their own."""

    def check(self, database: DrillDatabase) -> DatabaseCheck: ...


def migration_heads(directory: Path = MIGRATIONS_DIR) -> tuple[str, ...]:
    """The head revisions of the shop's migrations, as `alembic heads` reports them."""
    try:
        from alembic.script import ScriptDirectory
    except ImportError as exc:  # the ops tool's own requirements do not include the app's
        raise OpsError(
            "the database drill needs alembic, SQLAlchemy and psycopg to check the restored schema; "
            "install them with `.venv/bin/pip install -r app/requirements.txt`"
        ) from exc
    return tuple(sorted(ScriptDirectory(str(directory)).get_heads()))


def check_database_url(
    url: str, heads: tuple[str, ...], tables: tuple[str, ...] = KEY_TABLES
) -> DatabaseCheck:
    """Alembic's current revision and the row count of each key table, read over `url`."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, func, select, table

    engine = create_engine(url, pool_pre_ping=False)
    try:
        with engine.connect() as connection:
            current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
            counts = {
                name: int(connection.execute(select(func.count()).select_from(table(name))).scalar_one())
                for name in tables
            }
    finally:
        engine.dispose()
    return DatabaseCheck(current_revisions=current, head_revisions=heads, row_counts=counts)


def postgres_url(database: DrillDatabase, host: str, port: int) -> str:
    return (
        f"postgresql+psycopg://{quote(database.username, safe='')}:{quote(database.password, safe='')}"
        f"@{host}:{int(port)}/{quote(database.db_name, safe='')}?sslmode=require&connect_timeout=15"
    )


Reach = Callable[[DrillDatabase], AbstractContextManager[tuple[str, int]]]
"""Opens a way to the restored copy's endpoint and yields the (host, port) to connect to."""


@dataclass
class SqlDatabaseChecker:
    """The real check: PostgreSQL over TLS, reached through `reach` (an SSM port forward or direct)."""

    reach: Reach
    heads: Callable[[], tuple[str, ...]] = migration_heads

    def check(self, database: DrillDatabase) -> DatabaseCheck:
        heads = self.heads()
        with self.reach(database) as (host, port):
            try:
                return check_database_url(postgres_url(database, host, port), heads)
            except Exception as exc:  # SQLAlchemy's errors carry the URL: never let the password out
                raise OpsError(
                    f"could not check the restored database {database.instance_id}: {type(exc).__name__} "
                    "(is the drill instance reachable from the tunnel's server? its security group must "
                    "admit the cluster's nodes on 5432)"
                ) from None


@dataclass(frozen=True)
class DatabaseDrillPlan:
    restore: RestorePlan
    backup: str
    backup_time: datetime
    stack: str


def _require_stack_shape(stack_shape: Mapping[StackOutput, str | None]) -> None:
    missing = [str(output) for output in STACK_SHAPE_OUTPUTS if not stack_shape.get(output)]
    if missing:
        raise MissingIdentifierError(
            f"the stack has no output {', '.join(missing)}: a drill must copy the live instance's network, "
            "parameters and KMS key exactly, so it needs them from the stack; deploy the stack "
            "(`pulumi up`) and check `pulumi stack output`"
        )


def _snapshot_stack(snapshot: dict[str, Any]) -> str | None:
    tags = tags_of(snapshot)
    return next((tags[k] for k in STACK_TAG_KEYS if tags.get(k)), None)


def _check_snapshot_is_ours(snapshot: dict[str, Any], instance_id: str, stack: str, kms_key: str) -> None:
    snapshot_id = snapshot["DBSnapshotIdentifier"]
    owner = snapshot.get("DBInstanceIdentifier")
    if owner != instance_id:
        raise RefusedError(
            f"snapshot {snapshot_id!r} belongs to instance {owner!r}, not this stack's {instance_id!r}; "
            f"a drill restores only its own database's backups (list them: `{TOOL_COMMAND} backup list`)"
        )
    tagged = _snapshot_stack(snapshot)
    if tagged is not None and tagged != stack:
        raise RefusedError(
            f"snapshot {snapshot_id!r} is tagged for stack {tagged!r}, not {stack!r}; pass --stack {tagged} "
            "to drill that stack"
        )
    if snapshot.get("KmsKeyId") != kms_key:
        raise RefusedError(
            f"snapshot {snapshot_id!r} is encrypted with {snapshot.get('KmsKeyId')!r}, not the stack's "
            f"database key {kms_key!r} (stack output {StackOutput.DATABASE_KMS_KEY_ARN}); the drill "
            "must prove the stack's own key restores its backups"
        )


def newest_snapshot(rds: Any, instance_id: str, now: datetime) -> dict[str, Any]:
    available = [r for r in list_snapshots(rds, instance_id, now) if r.status == "available" and r.created]
    if not available:
        raise RefusedError(
            f"instance {instance_id!r} has no available snapshot to drill; take one with "
            f"`{TOOL_COMMAND} backup create --reason drill --wait` or drill --point-in-time"
        )
    return require_snapshot(rds, available[0].snapshot_id)


def drill_identifier(instance_id: str, now: datetime) -> str:
    suffix = f"-drill-{now.astimezone(UTC):%m%d%H%M%S}"
    return f"{instance_id[: 63 - len(suffix)].rstrip('-')}{suffix}"


def _as_drill(request: dict[str, Any], tags: list[dict[str, str]]) -> dict[str, Any]:
    """The restore request, made a throw-away: deletable, single-AZ, no backups, tagged as a drill."""
    # Pulumi does not manage the copy: the live instance's ManagedBy tag would say it does.
    drill_keys = {t["Key"] for t in tags} | {"ManagedBy"}
    kept = [t for t in request.get("Tags") or [] if t["Key"] not in drill_keys]
    return {
        **request,
        "Tags": [*kept, *tags],
        "DeletionProtection": False,
        "MultiAZ": False,
        "BackupRetentionPeriod": 0,
        "CopyTagsToSnapshot": False,
        "PubliclyAccessible": False,
    }


def plan_database_drill(
    rds: Any,
    *,
    instance_id: str,
    stack: str,
    stack_shape: Mapping[StackOutput, str | None],
    now: datetime,
    created_by: str,
    target: str | None = None,
    snapshot_id: str | None = None,
    point_in_time: bool = False,
    restore_time: datetime | None = None,
) -> DatabaseDrillPlan:
    """Every check, and the request that would create the drill instance; changes nothing."""
    _require_stack_shape(stack_shape)
    kms_key = str(stack_shape[StackOutput.DATABASE_KMS_KEY_ARN])
    target = target or drill_identifier(instance_id, now)
    tags = drill_tags(DATABASE_DRILL, stack, now, created_by)
    if point_in_time:
        if snapshot_id:
            raise RefusedError("give --snapshot or --point-in-time, not both")
        plan = plan_pitr_restore(
            rds,
            source_instance_id=instance_id,
            target=target,
            restore_time=restore_time,
            now=now,
            created_by=created_by,
            stack_outputs=stack_shape,
        )
        if plan.source.get("KmsKeyId") != kms_key:  # check_source_matches_stack compares it too
            raise RefusedError(f"instance {instance_id!r} is not encrypted with the stack's key {kms_key!r}")
        backup_time = restore_time or restorable_window(plan.source, now).latest
        backup = plan.request.get("SourceDBInstanceIdentifier", instance_id) + (
            f"@{backup_time:%Y-%m-%dT%H:%M:%SZ}" if restore_time else "@latest"
        )
    else:
        snapshot = (
            require_snapshot(rds, snapshot_id) if snapshot_id else newest_snapshot(rds, instance_id, now)
        )
        _check_snapshot_is_ours(snapshot, instance_id, stack, kms_key)
        plan = plan_snapshot_restore(
            rds,
            snapshot_id=snapshot["DBSnapshotIdentifier"],
            source_instance_id=instance_id,
            target=target,
            created_by=created_by,
            stack_outputs=stack_shape,
        )
        backup, backup_time = snapshot["DBSnapshotIdentifier"], snapshot["SnapshotCreateTime"]
    request = _as_drill(plan.request, tags)
    drill_plan = RestorePlan(plan.operation, request, plan.source, plan.target)
    return DatabaseDrillPlan(drill_plan, backup, backup_time.astimezone(UTC), stack)


def differences(source: dict[str, Any], restored: dict[str, Any]) -> list[str]:
    """What the drill instance does not share with the live one among the settings it must share."""

    def pick(i: dict[str, Any]) -> dict[str, Any]:
        return {
            "subnet group": (i.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
            "security groups": sorted(g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups") or []),
            "parameter group": [g["DBParameterGroupName"] for g in i.get("DBParameterGroups") or []][:1],
            "encryption": (bool(i.get("StorageEncrypted")), i.get("KmsKeyId")),
        }

    want, got = pick(source), pick(restored)
    problems = [f"{k}: live {want[k]!r}, drill {got[k]!r}" for k in want if want[k] != got[k]]
    if restored.get("PubliclyAccessible"):
        problems.append("the drill instance is publicly accessible")
    return problems


PASSWORD_GRACE_SECONDS = 60


def _set_fresh_password(rds: Any, instance_id: str, *, timeout: float, waiter: Waiter) -> str:
    """A random master password for the drill instance only: the live one's is never needed."""
    password = secrets.token_urlsafe(32)
    rds.modify_db_instance(
        DBInstanceIdentifier=instance_id, MasterUserPassword=password, ApplyImmediately=True
    )

    # RDS may still answer "available" with nothing pending for a moment after the call: the
    # password counts as applied once the change was seen (pending or resetting), or after a grace.
    start = waiter.clock()
    seen = {"change": False}

    def poll() -> dict[str, Any]:
        instance = describe_instance(rds, instance_id) or {"DBInstanceStatus": "not-visible"}
        pending = "MasterUserPassword" in (instance.get("PendingModifiedValues") or {})
        if pending or instance.get("DBInstanceStatus") != "available":
            seen["change"] = True
        return {**instance, "_pending": pending}

    def applied(instance: dict[str, Any]) -> bool:
        settled = instance.get("DBInstanceStatus") == "available" and not instance["_pending"]
        return settled and (seen["change"] or waiter.clock() - start >= PASSWORD_GRACE_SECONDS)

    wait_until(
        f"new password on {instance_id}",
        poll,
        lambda i: (str(i.get("DBInstanceStatus")), None),
        done=applied,
        failed=lambda i: None,
        timeout=timeout,
        waiter=waiter,
    )
    return password


DELETABLE_RETRY_CODES = {"InvalidDBInstanceState", "InvalidDBInstanceStateFault"}


def _unprotect_if_drill(rds: Any, instance_id: str) -> bool:
    """Turns deletion protection off on a drill instance (never on anything not tagged as one)."""
    instance = describe_instance(rds, instance_id)
    if instance is None or not instance.get("DeletionProtection"):
        return False
    if tags_of(instance).get(DRILL_TAG) != DATABASE_DRILL:
        return False
    rds.modify_db_instance(DBInstanceIdentifier=instance_id, DeletionProtection=False, ApplyImmediately=True)
    return True


def delete_drill_instance(rds: Any, instance_id: str, *, timeout: float, waiter: Waiter) -> None:
    """Deletes the drill instance, no final snapshot; retries while RDS says it is busy.

    The restore asks for no deletion protection, but should the instance have it anyway (a copied
    setting), the drill removes it from its own, drill-tagged instance first."""
    start = waiter.clock()
    while True:
        try:
            rds.delete_db_instance(
                DBInstanceIdentifier=instance_id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
            )
            return
        except ClientError as exc:
            code = error_code(exc)
            if code == "DBInstanceNotFound":
                return
            if code == "InvalidParameterCombination" and _unprotect_if_drill(rds, instance_id):
                continue
            if code not in DELETABLE_RETRY_CODES or waiter.clock() - start >= timeout:
                raise OpsError(
                    f"could not delete the drill instance {instance_id} ({code}); delete it by hand: "
                    f"aws rds delete-db-instance --db-instance-identifier {instance_id} "
                    "--skip-final-snapshot --delete-automated-backups"
                ) from exc
            waiter.sleep(waiter.poll_interval)


def run_database_drill(
    rds: Any,
    plan: DatabaseDrillPlan,
    checker: DatabaseChecker,
    *,
    now: Callable[[], datetime],
    waiter: Waiter,
    timeout: float,
    on_progress: Callable[[str], None] = lambda _: None,
) -> DrillRecord:
    """Creates, checks and always deletes the drill instance; the record says what happened.

    Raises (after cleaning up) when the restore, the wait or a check fails; the record passed to
    the caller through the exception's `record` attribute still says what was done.
    """
    record = DrillRecord(
        drill=DATABASE_DRILL,
        stack=plan.stack,
        started=now(),
        backup=plan.backup,
        backup_time=plan.backup_time,
    )
    record.data_loss_seconds = (record.started - plan.backup_time).total_seconds()
    target = plan.restore.target
    clock_start = waiter.clock()
    try:
        start_restore(rds, plan.restore)
        record.created.append(f"rds:{target}")
        on_progress(f"restoring {plan.backup} into {target}")
        restored = wait_available(rds, target, timeout=timeout, waiter=waiter)
        problems = differences(plan.restore.source, restored)
        if problems:
            raise RefusedError("the drill instance is not shaped like the live one: " + "; ".join(problems))
        on_progress(f"{target} is available; setting a fresh master password for the check")
        password = _set_fresh_password(rds, target, timeout=timeout, waiter=waiter)
        endpoint = restored.get("Endpoint") or {}
        database = DrillDatabase(
            instance_id=target,
            address=str(endpoint.get("Address")),
            port=int(endpoint.get("Port") or POSTGRES_PORT),
            db_name=str(restored.get("DBName") or plan.restore.source.get("DBName") or "postgres"),
            username=str(restored.get("MasterUsername") or plan.restore.source.get("MasterUsername")),
            password=password,
        )
        result = checker.check(database)
        record.checks = {
            "alembic_current": list(result.current_revisions),
            "alembic_head": list(result.head_revisions),
            "migrations_current": result.migrations_current,
            "row_counts": dict(result.row_counts),
        }
        problems = result.problems()
        if problems:
            raise RemoteCheckError("the restored database failed its check: " + "; ".join(problems))
        record.recovery_seconds = waiter.clock() - clock_start
        record.succeeded = True
    except DRILL_FAILURES as exc:
        raise drill_failure(exc, record) from exc
    finally:
        cleanup_error: Exception | None = None
        if record.created:
            try:
                delete_drill_instance(rds, target, timeout=timeout, waiter=waiter)
                record.cleaned_up.append(f"rds:{target}")
                on_progress(f"deleting {target} (no final snapshot)")
            except (OpsError, ClientError, BotoCoreError) as cleanup:
                cleanup_error = cleanup
                manual = (
                    f"delete it by hand: aws rds delete-db-instance --db-instance-identifier {target} "
                    "--skip-final-snapshot --delete-automated-backups"
                )
                reason = str(cleanup) if isinstance(cleanup, OpsError) else f"{cleanup}; {manual}"
                record.error = f"{record.error + '; ' if record.error else ''}{reason}"
                record.succeeded = False
        record.finished = now()
        if cleanup_error is not None:
            raise DrillFailedError(record.error or str(cleanup_error), record) from cleanup_error
    return record


class RemoteCheckError(OpsError):
    """The restored copy came up but is not what the shop needs (schema behind, tables missing)."""
