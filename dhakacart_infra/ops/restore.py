"""Restores into a NEW instance shaped like the live one: from a snapshot or to a point in time.

Every refusal (unknown or unfinished snapshot, a time outside the window, an existing or invalid
target name, a snapshot under another key, an instance unlike the stack) happens before the first
call that changes AWS. Nothing here prints: the commands in restore_cli.py do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..names import StackOutput
from .errors import RefusedError, ValidationError
from .progress import Waiter, wait_until
from .rds import describe_instance, require_instance, require_snapshot, validate_instance_identifier

# How far LatestRestorableTime usually trails "now" (RDS ships transaction logs every 5 minutes).
LOG_SHIPPING_LAG = timedelta(minutes=5)
FAILED_INSTANCE_STATES = {
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
    "incompatible-network",
    "restore-error",
    "storage-full",
    "inaccessible-encryption-credentials",
}


def parse_restore_time(text: str) -> datetime:
    """An ISO-8601 time that names its timezone (RDS restores to an absolute instant)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError as exc:
        raise ValidationError(
            f"--time {text!r} is not an ISO-8601 time; write it like 2026-11-25T03:15:00+06:00 or ...Z"
        ) from exc
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"--time {text!r} has no timezone; add one (Z for UTC, +06:00 for Dhaka) so the instant is exact"
        )
    return value.astimezone(UTC)


@dataclass(frozen=True)
class RestoreWindow:
    earliest: datetime
    latest: datetime
    source: str  # "aws" when RDS reported it, "estimated" when derived from retention and creation time

    def contains(self, moment: datetime) -> bool:
        return self.earliest <= moment <= self.latest


def restorable_window(instance: dict[str, Any], now: datetime) -> RestoreWindow:
    retention = int(instance.get("BackupRetentionPeriod") or 0)
    if retention == 0:
        raise RefusedError(
            f"instance {instance['DBInstanceIdentifier']!r} has automated backups off "
            "(retention 0), so it has "
            "no point-in-time window; restore a snapshot instead (`restore snapshot ID`)"
        )
    earliest = instance.get("EarliestRestorableTime")
    latest = instance.get("LatestRestorableTime")
    if earliest and latest:
        return RestoreWindow(earliest.astimezone(UTC), latest.astimezone(UTC), "aws")
    created = instance.get("InstanceCreateTime") or now
    estimated_earliest = earliest or max(created, now - timedelta(days=retention))
    estimated_latest = latest or (now - LOG_SHIPPING_LAG)
    return RestoreWindow(estimated_earliest.astimezone(UTC), estimated_latest.astimezone(UTC), "estimated")


def restore_settings(source: dict[str, Any], *, restored_from: str, created_by: str) -> dict[str, Any]:
    """What the restored instance shares with the source: network, parameters, size, protection."""
    subnet_group = (source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
    if not subnet_group:
        raise ValidationError(
            f"instance {source['DBInstanceIdentifier']!r} has no DB subnet group; the restore "
            "must land in the "
            "stack's private subnets, so this is not the stack's database (check --db-instance)"
        )
    security_groups = [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups") or []]
    parameter_groups = [g["DBParameterGroupName"] for g in source.get("DBParameterGroups") or []]
    tags = [t for t in source.get("TagList") or [] if not t["Key"].startswith("aws:")]
    tags = [t for t in tags if t["Key"] not in ("restored-from", "created-by", "Name")]
    tags += [
        {"Key": "restored-from", "Value": restored_from[:256]},
        {"Key": "created-by", "Value": created_by[:256]},
    ]
    settings: dict[str, Any] = {
        "DBInstanceClass": source["DBInstanceClass"],
        "DBSubnetGroupName": subnet_group,
        "VpcSecurityGroupIds": security_groups,
        "MultiAZ": bool(source.get("MultiAZ")),
        "PubliclyAccessible": False,
        "CopyTagsToSnapshot": bool(source.get("CopyTagsToSnapshot")),
        "DeletionProtection": bool(source.get("DeletionProtection")),
        "Tags": tags,
    }
    if parameter_groups:
        settings["DBParameterGroupName"] = parameter_groups[0]
    if source.get("StorageType"):
        settings["StorageType"] = source["StorageType"]
    return settings


STACK_SHAPE_OUTPUTS: dict[StackOutput, str] = {
    StackOutput.DATABASE_SUBNET_GROUP: "subnet group",
    StackOutput.DATABASE_PARAMETER_GROUP: "parameter group",
    StackOutput.DATABASE_SECURITY_GROUP_ID: "security group",
    StackOutput.DATABASE_KMS_KEY_ARN: "KMS key",
}


def check_source_matches_stack(
    source: dict[str, Any], stack_outputs: Mapping[StackOutput, str | None]
) -> None:
    """Refuses when the instance to copy is not shaped like the stack says (wrong --db-instance,
    or drift made outside Pulumi): the restore would copy the wrong network or key."""
    actual = {
        StackOutput.DATABASE_SUBNET_GROUP: [(source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")],
        StackOutput.DATABASE_PARAMETER_GROUP: [
            g["DBParameterGroupName"] for g in source.get("DBParameterGroups") or []
        ],
        StackOutput.DATABASE_SECURITY_GROUP_ID: [
            g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups") or []
        ],
        StackOutput.DATABASE_KMS_KEY_ARN: [source.get("KmsKeyId")],
    }
    problems = [
        f"{label}: stack output {output} is {stack_outputs[output]!r}, the instance has {actual[output]!r}"
        for output, label in STACK_SHAPE_OUTPUTS.items()
        if stack_outputs.get(output) and stack_outputs[output] not in actual[output]
    ]
    if problems:
        raise RefusedError(
            f"instance {source['DBInstanceIdentifier']!r} does not match the stack ("
            + "; ".join(problems)
            + "); check --db-instance and --stack, or run `pulumi preview --diff` to find the drift"
        )


def _ensure_target_free(rds: Any, target: str, source_id: str) -> str:
    target = validate_instance_identifier(target)
    if target == source_id.lower():
        raise RefusedError(
            f"--target-name {target!r} is the live instance: a restore always goes to a new one"
        )
    if describe_instance(rds, target) is not None:
        raise RefusedError(f"an instance named {target!r} already exists; choose another --target-name")
    return target


def _same_encryption(source: dict[str, Any], encrypted: bool, kms_key: str | None, what: str) -> None:
    if bool(source.get("StorageEncrypted")) != encrypted or (encrypted and kms_key != source.get("KmsKeyId")):
        raise RefusedError(
            f"{what} is encrypted={encrypted} with key {kms_key!r} but the live instance is "
            f"encrypted={bool(source.get('StorageEncrypted'))} with {source.get('KmsKeyId')!r}; "
            "copy the snapshot to the stack's key first "
            f"(aws rds copy-db-snapshot --kms-key-id <{StackOutput.DATABASE_KMS_KEY_ARN}> ...)"
        )


@dataclass(frozen=True)
class RestorePlan:
    operation: str  # restore_db_instance_from_db_snapshot | restore_db_instance_to_point_in_time
    request: dict[str, Any]
    source: dict[str, Any]
    target: str


def plan_snapshot_restore(
    rds: Any,
    *,
    snapshot_id: str,
    source_instance_id: str,
    target: str,
    created_by: str,
    stack_outputs: Mapping[StackOutput, str | None] | None = None,
) -> RestorePlan:
    snapshot = require_snapshot(rds, snapshot_id)
    source = require_instance(rds, source_instance_id)
    check_source_matches_stack(source, stack_outputs or {})
    target = _ensure_target_free(rds, target, source_instance_id)
    _same_encryption(
        source, bool(snapshot.get("Encrypted")), snapshot.get("KmsKeyId"), f"snapshot {snapshot_id!r}"
    )
    request = {
        "DBInstanceIdentifier": target,
        "DBSnapshotIdentifier": snapshot_id,
        **restore_settings(source, restored_from=snapshot_id, created_by=created_by),
    }
    return RestorePlan("restore_db_instance_from_db_snapshot", request, source, target)


def plan_pitr_restore(
    rds: Any,
    *,
    source_instance_id: str,
    target: str,
    restore_time: datetime | None,
    now: datetime,
    created_by: str,
    stack_outputs: Mapping[StackOutput, str | None] | None = None,
) -> RestorePlan:
    source = require_instance(rds, source_instance_id)
    check_source_matches_stack(source, stack_outputs or {})
    target = _ensure_target_free(rds, target, source_instance_id)
    window = restorable_window(source, now)
    request: dict[str, Any] = {
        "SourceDBInstanceIdentifier": source["DBInstanceIdentifier"],
        "TargetDBInstanceIdentifier": target,
    }
    if restore_time is None:
        request["UseLatestRestorableTime"] = True
        label = f"{source_instance_id}@latest"
    else:
        if not window.contains(restore_time):
            raise RefusedError(
                f"--time {restore_time.isoformat()} is outside the restorable window "
                f"of {source_instance_id!r}: "
                f"{window.earliest.isoformat()} .. {window.latest.isoformat()} ({window.source}); "
                "pick a time "
                "inside it, or use --latest"
            )
        request["RestoreTime"] = restore_time
        label = f"{source_instance_id}@{restore_time:%Y-%m-%dT%H:%M:%SZ}"
    request.update(restore_settings(source, restored_from=label, created_by=created_by))
    return RestorePlan("restore_db_instance_to_point_in_time", request, source, target)


def start_restore(rds: Any, plan: RestorePlan) -> dict[str, Any]:
    return getattr(rds, plan.operation)(**plan.request)["DBInstance"]


def wait_available(rds: Any, instance_id: str, *, timeout: float, waiter: Waiter) -> dict[str, Any]:
    def poll() -> dict[str, Any]:
        return describe_instance(rds, instance_id) or {"DBInstanceStatus": "not-visible-yet"}

    return wait_until(
        f"restoring {instance_id}",
        poll,
        lambda i: (str(i.get("DBInstanceStatus")), None),
        done=lambda i: i.get("DBInstanceStatus") == "available",
        failed=lambda i: (
            f"instance is {i.get('DBInstanceStatus')!r}"
            if i.get("DBInstanceStatus") in FAILED_INSTANCE_STATES
            else None
        ),
        timeout=timeout,
        waiter=waiter,
    )


def compare_restored(source: dict[str, Any], restored: dict[str, Any]) -> list[str]:
    """What the restored instance does not share with the source (empty when all is as intended)."""

    def pick(i: dict[str, Any]) -> dict[str, Any]:
        return {
            "subnet group": (i.get("DBSubnetGroup") or {}).get("DBSubnetGroupName"),
            "security groups": sorted(g["VpcSecurityGroupId"] for g in i.get("VpcSecurityGroups") or []),
            "parameter group": [g["DBParameterGroupName"] for g in i.get("DBParameterGroups") or []][:1],
            "encryption": (bool(i.get("StorageEncrypted")), i.get("KmsKeyId")),
            "instance class": i.get("DBInstanceClass"),
            "multi-AZ": bool(i.get("MultiAZ")),
        }

    want, got = pick(source), pick(restored)
    problems = [f"{k}: live {want[k]!r}, restored {got[k]!r}" for k in want if want[k] != got[k]]
    if restored.get("PubliclyAccessible"):
        problems.append("the restored instance is publicly accessible")
    return problems
