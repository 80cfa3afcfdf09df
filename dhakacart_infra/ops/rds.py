"""RDS backups, restores and snapshot exports, on a boto3 RDS client.

Every function validates its inputs (and what AWS would only report half-way, or not at all)
before the first call that changes anything. Nothing here prints: the CLI does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from .errors import NotFoundError, RefusedError, ValidationError
from .progress import Waiter, wait_until

TOOL_TAG = ("managed-by", "dhakacart-ops")
# RDS names: a letter first, then letters, digits and single hyphens, no hyphen at the end.
_RDS_NAME = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*(?<!-)$")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_KMS_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:(?:key/(?:[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"
    r"|mrk-[0-9a-f]{32})|alias/[\w/-]+)$"
)
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


# ----------------------------------------------------------------------------------------- names


def validate_instance_identifier(name: str) -> str:
    """RDS's rules for a DB instance identifier; returns it lower-cased, as RDS stores it."""
    if not 1 <= len(name) <= 63 or not _RDS_NAME.match(name):
        raise ValidationError(
            f"{name!r} is not a valid RDS instance identifier: 1-63 letters, digits or hyphens, starting "
            "with a letter, no two hyphens in a row and no hyphen at the end (e.g. dhakacart-prod-restore-1)"
        )
    return name.lower()


def validate_bucket_name(name: str) -> str:
    if not _BUCKET_NAME.match(name) or ".." in name or re.match(r"^\d+\.\d+\.\d+\.\d+$", name):
        raise ValidationError(
            f"{name!r} is not a valid S3 bucket name: 3-63 lower-case letters, digits, dots or hyphens, "
            "starting and ending with a letter or digit (use the stack output snapshotExportBucket)"
        )
    return name


def validate_role_arn(arn: str) -> str:
    if not _ROLE_ARN.match(arn):
        raise ValidationError(
            f"{arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>); use the stack "
            "output snapshotExportRoleArn"
        )
    return arn


def validate_kms_key_arn(arn: str) -> str:
    if not _KMS_ARN.match(arn):
        raise ValidationError(
            f"{arn!r} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id> or :alias/<name>); "
            "use the stack output snapshotExportKmsKeyArn"
        )
    return arn


def manual_snapshot_id(instance_id: str, now: datetime) -> str:
    return f"{instance_id}-manual-{now.astimezone(UTC):%Y%m%d-%H%M%S}"


def export_task_id(snapshot_id: str, now: datetime) -> str:
    """Export task identifiers: a letter first, letters/digits/hyphens, at most 60 characters."""
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", snapshot_id.removeprefix("rds:")).strip("-")
    base = re.sub(r"-{2,}", "-", base) or "snapshot"
    if not base[0].isalpha():
        base = "s-" + base
    suffix = f"-export-{now.astimezone(UTC):%Y%m%d%H%M%S}"
    return base[: 60 - len(suffix)].rstrip("-") + suffix


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


# ------------------------------------------------------------------------------------- lookups


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_instance(rds: Any, instance_id: str) -> dict[str, Any] | None:
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    except ClientError as exc:
        if _code(exc) == "DBInstanceNotFound":
            return None
        raise
    return found[0] if found else None


def require_instance(rds: Any, instance_id: str) -> dict[str, Any]:
    instance = describe_instance(rds, instance_id)
    if instance is None:
        raise NotFoundError(
            f"no RDS instance {instance_id!r} in this account and region; check --db-instance and --region "
            "(or the stack output databaseInstanceId)"
        )
    return instance


def describe_snapshot(rds: Any, snapshot_id: str) -> dict[str, Any] | None:
    try:
        found = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"]
    except ClientError as exc:
        if _code(exc) == "DBSnapshotNotFound":
            return None
        raise
    return found[0] if found else None


def require_snapshot(rds: Any, snapshot_id: str, *, available: bool = True) -> dict[str, Any]:
    snapshot = describe_snapshot(rds, snapshot_id)
    if snapshot is None:
        raise NotFoundError(
            f"no DB snapshot {snapshot_id!r}; list them with `python -m dhakacart_infra.ops backup list`"
        )
    if available and snapshot.get("Status") != "available":
        raise RefusedError(
            f"snapshot {snapshot_id!r} is {snapshot.get('Status')!r}, not 'available'; wait for it to finish"
        )
    return snapshot


def tags_of(snapshot: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in snapshot.get("TagList") or []}


# ------------------------------------------------------------------------------------- backups


@dataclass(frozen=True)
class SnapshotRow:
    snapshot_id: str
    snapshot_type: str
    status: str
    created: datetime | None
    age: timedelta | None
    size_gb: int
    tool_managed: bool
    reason: str


def list_snapshots(rds: Any, instance_id: str, now: datetime) -> list[SnapshotRow]:
    """Automated and manual snapshots of the instance, newest first (in-progress ones on top)."""
    rows: list[SnapshotRow] = []
    for snapshot_type in ("automated", "manual"):
        pages = rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=instance_id, SnapshotType=snapshot_type
        )
        for page in pages:
            for snap in page["DBSnapshots"]:
                created = snap.get("SnapshotCreateTime")
                tags = tags_of(snap)
                rows.append(
                    SnapshotRow(
                        snapshot_id=snap["DBSnapshotIdentifier"],
                        snapshot_type=snap.get("SnapshotType", snapshot_type),
                        status=snap.get("Status", "?"),
                        created=created,
                        age=(now - created) if created else None,
                        size_gb=int(snap.get("AllocatedStorage") or 0),
                        tool_managed=tags.get(TOOL_TAG[0]) == TOOL_TAG[1],
                        reason=tags.get("reason", ""),
                    )
                )
    far_future = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: r.created or far_future, reverse=True)


def create_snapshot(
    rds: Any, instance_id: str, *, stack: str, reason: str, created_by: str, now: datetime, dry_run: bool
) -> dict[str, Any]:
    if not reason.strip():
        raise ValidationError("--reason is empty; say why (e.g. 'before schema migration 0042')")
    instance = require_instance(rds, instance_id)
    if instance.get("DBInstanceStatus") not in ("available", "backing-up", "storage-optimization"):
        raise RefusedError(
            f"instance {instance_id!r} is {instance.get('DBInstanceStatus')!r}; RDS can only "
            "snapshot an available instance"
        )
    snapshot_id = manual_snapshot_id(instance_id, now)
    tags = [
        {"Key": "stack", "Value": stack},
        {"Key": "reason", "Value": reason[:256]},
        {"Key": "created-by", "Value": created_by[:256]},
        {"Key": TOOL_TAG[0], "Value": TOOL_TAG[1]},
    ]
    request = {"DBSnapshotIdentifier": snapshot_id, "DBInstanceIdentifier": instance_id, "Tags": tags}
    if dry_run:
        return request
    return rds.create_db_snapshot(**request)["DBSnapshot"]


def delete_snapshot(rds: Any, snapshot_id: str, *, dry_run: bool) -> dict[str, Any]:
    snapshot = require_snapshot(rds, snapshot_id, available=False)
    if snapshot.get("SnapshotType") != "manual":
        raise RefusedError(
            f"{snapshot_id!r} is an {snapshot.get('SnapshotType')} snapshot: RDS owns it and deletes it "
            "when it "
            "leaves the backup retention window; change retention in the stack config, not here"
        )
    if not dry_run:
        rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot_id)
    return snapshot


def prune_candidates(
    rows: Sequence[SnapshotRow], *, keep_days: int | None, keep_last: int | None
) -> list[SnapshotRow]:
    """Manual snapshots this tool made that fall outside the retention; never automated ones.

    With both limits a snapshot goes only when it is neither among the newest `keep_last` nor
    younger than `keep_days`.
    """
    if keep_days is None and keep_last is None:
        raise ValidationError("say what to keep: --keep-days N, --keep-last N, or both")
    if (keep_days is not None and keep_days < 0) or (keep_last is not None and keep_last < 0):
        raise ValidationError("--keep-days and --keep-last must be 0 or more")
    ours = sorted(
        (r for r in rows if r.snapshot_type == "manual" and r.tool_managed and r.status == "available"),
        key=lambda r: r.created or datetime.max.replace(tzinfo=UTC),
        reverse=True,
    )
    doomed = []
    for index, row in enumerate(ours):
        protected_by_count = keep_last is not None and index < keep_last
        protected_by_age = keep_days is not None and (row.age is None or row.age < timedelta(days=keep_days))
        if not protected_by_count and not protected_by_age:
            doomed.append(row)
    return doomed


# ------------------------------------------------------------------------------------- restore


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


STACK_SHAPE_OUTPUTS = {
    "databaseSubnetGroup": "subnet group",
    "databaseParameterGroup": "parameter group",
    "databaseSecurityGroupId": "security group",
    "databaseKmsKeyArn": "KMS key",
}


def check_source_matches_stack(source: dict[str, Any], stack_outputs: dict[str, str | None]) -> None:
    """Refuses when the instance to copy is not shaped like the stack says (wrong --db-instance,
    or drift made outside Pulumi): the restore would copy the wrong network or key."""
    actual = {
        "databaseSubnetGroup": [(source.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")],
        "databaseParameterGroup": [g["DBParameterGroupName"] for g in source.get("DBParameterGroups") or []],
        "databaseSecurityGroupId": [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups") or []],
        "databaseKmsKeyArn": [source.get("KmsKeyId")],
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
            "copy the snapshot "
            "to the stack's key first (aws rds copy-db-snapshot --kms-key-id <databaseKmsKeyArn> ...)"
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
    stack_outputs: dict[str, str | None] | None = None,
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
    stack_outputs: dict[str, str | None] | None = None,
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


def cutover_steps(source: dict[str, Any], restored: dict[str, Any], stack: str | None) -> list[str]:
    """The honest cut-over: keep the endpoint name, swap instance identifiers, re-adopt in Pulumi.

    The app's DATABASE_URL holds the live instance's address, which RDS derives from the instance
    identifier. Renaming the restored instance to the live identifier therefore moves the app
    without touching its Secret, and the Pulumi resource is re-imported by that identifier.
    """
    live, new = source["DBInstanceIdentifier"], restored["DBInstanceIdentifier"]
    retired = f"{live}-retired"[:63]
    stack_flag = f" --stack {stack}" if stack else ""
    address = (restored.get("Endpoint") or {}).get("Address", "<endpoint>")
    return [
        f'Verify the restored data: psql "host={address} '
        "sslmode=require ...\" from inside the cluster (RUNBOOK.md, 'Restore drill').",
        "Note the replicas, then stop writes: "
        "kubectl -n dhakacart get deployment dhakacart-api dhakacart-web && "
        "kubectl -n dhakacart scale deployment dhakacart-api dhakacart-web --replicas=0",
        f"Retire the live instance's name: aws rds modify-db-instance --db-instance-identifier {live} "
        f"--new-db-instance-identifier {retired} --apply-immediately && "
        f"aws rds wait db-instance-available --db-instance-identifier {retired}",
        f"Give the restored instance the live name (the endpoint the app uses follows it): "
        f"aws rds modify-db-instance --db-instance-identifier {new} --new-db-instance-identifier {live} "
        f"--apply-immediately && aws rds wait db-instance-available --db-instance-identifier {live}",
        "Start the shop again with the replicas noted above: kubectl -n dhakacart scale deployment "
        "dhakacart-api dhakacart-web --replicas=<as before>, then run "
        "`python -m dhakacart_infra.ops smoke --url https://<shop host>`.",
        # The program creates the database through its own AWS provider (default tags): the import
        # must name that provider too, or the next preview sees a provider change.
        f"Re-adopt the instance in Pulumi (its state still points at the retired one): "
        f"pulumi stack{stack_flag} --show-urns | grep -E 'aws:rds/instance:Instance|pulumi:providers:aws' "
        "(the instance's URN, its parent's URN and the AWS provider's URN), then "
        f"pulumi state delete{stack_flag} '<the instance URN>' --force, then "
        f"pulumi import{stack_flag} aws:rds/instance:Instance <its logical name> {live} "
        "--parent 'parent=<its parent URN>' --provider 'aws=<the AWS provider URN>' "
        "--generate-code=false, then "
        f"pulumi preview{stack_flag} --diff must show no replacement of the database before any pulumi up.",
        f"Keep {retired} until the shop has run cleanly for a day; then take a final snapshot and delete it: "
        f"aws rds modify-db-instance --db-instance-identifier {retired} --no-deletion-protection "
        "--apply-immediately "
        f"&& aws rds delete-db-instance --db-instance-identifier {retired} "
        f"--final-db-snapshot-identifier {retired}-final",
    ]


# -------------------------------------------------------------------------------------- export


@dataclass(frozen=True)
class ExportPlan:
    request: dict[str, Any]
    snapshot: dict[str, Any]


def plan_export(
    rds: Any,
    s3: Any | None,
    *,
    snapshot_id: str,
    bucket: str,
    role_arn: str,
    kms_key_arn: str,
    prefix: str,
    now: datetime,
) -> ExportPlan:
    bucket = validate_bucket_name(bucket)
    role_arn = validate_role_arn(role_arn)
    kms_key_arn = validate_kms_key_arn(kms_key_arn)
    snapshot = require_snapshot(rds, snapshot_id)
    if s3 is not None:
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as exc:
            raise NotFoundError(
                f"bucket {bucket!r} cannot be reached ({_code(exc) or exc}); check the stack output "
                "snapshotExportBucket and your S3 permissions"
            ) from exc
    request = {
        "ExportTaskIdentifier": export_task_id(snapshot_id, now),
        "SourceArn": snapshot["DBSnapshotArn"],
        "S3BucketName": bucket,
        "S3Prefix": prefix.strip("/"),
        "IamRoleArn": role_arn,
        "KmsKeyId": kms_key_arn,
    }
    return ExportPlan(request, snapshot)


def start_export(rds: Any, plan: ExportPlan) -> dict[str, Any]:
    return rds.start_export_task(**plan.request)


def wait_export(rds: Any, task_id: str, *, timeout: float, waiter: Waiter) -> dict[str, Any]:
    def poll() -> dict[str, Any]:
        return rds.describe_export_tasks(ExportTaskIdentifier=task_id)["ExportTasks"][0]

    def status_of(task: dict[str, Any]) -> tuple[str, float | None]:
        return str(task.get("Status", "?")).upper(), task.get("PercentProgress")

    return wait_until(
        f"exporting to s3 ({task_id})",
        poll,
        status_of,
        done=lambda t: str(t.get("Status", "")).upper() == "COMPLETE",
        failed=lambda t: (
            f"{str(t.get('Status')).upper()}: {t.get('FailureCause') or 'no cause given'}"
            if str(t.get("Status", "")).upper() in ("FAILED", "CANCELED", "CANCELING")
            else None
        ),
        timeout=timeout,
        waiter=waiter,
    )


def human_age(age: timedelta | None) -> str:
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{rest // 60:02d}m"


def names(rows: Iterable[SnapshotRow]) -> list[str]:
    return [r.snapshot_id for r in rows]
