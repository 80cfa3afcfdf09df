"""Snapshot exports (Parquet) to the stack's encrypted S3 bucket, on boto3 RDS and S3 clients.

The bucket, role and key are checked before start_export_task. Nothing here prints: the command
in export_cli.py does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ..names import StackOutput
from .errors import NotFoundError, ValidationError
from .progress import Waiter, wait_until
from .rds import error_code, require_snapshot

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")  # S3 refuses bucket names shaped like one
_ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_KMS_ARN = re.compile(
    r"^arn:aws(?:-[a-z]+)*:kms:[a-z0-9-]+:\d{12}:(?:key/(?:[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"
    r"|mrk-[0-9a-f]{32})|alias/[\w/-]+)$"
)


def _validated(value: str, valid: bool, rule: str) -> str:
    if not valid:
        raise ValidationError(f"{value!r} is not {rule}")
    return value


def validate_bucket_name(name: str) -> str:
    return _validated(
        name,
        bool(_BUCKET_NAME.match(name)) and ".." not in name and not _IPV4_ADDRESS.match(name),
        "a valid S3 bucket name: 3-63 lower-case letters, digits, dots or hyphens, starting and ending "
        f"with a letter or digit (use the stack output {StackOutput.SNAPSHOT_EXPORT_BUCKET})",
    )


def validate_role_arn(arn: str) -> str:
    return _validated(
        arn,
        bool(_ROLE_ARN.match(arn)),
        "an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>); use the stack output "
        f"{StackOutput.SNAPSHOT_EXPORT_ROLE_ARN}",
    )


def validate_kms_key_arn(arn: str) -> str:
    return _validated(
        arn,
        bool(_KMS_ARN.match(arn)),
        "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id> or :alias/<name>); use the stack "
        f"output {StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN}",
    )


def export_task_id(snapshot_id: str, now: datetime) -> str:
    """Export task identifiers: a letter first, letters/digits/hyphens, at most 60 characters."""
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", snapshot_id.removeprefix("rds:")).strip("-")
    base = re.sub(r"-{2,}", "-", base) or "snapshot"
    if not base[0].isalpha():
        base = "s-" + base
    suffix = f"-export-{now.astimezone(UTC):%Y%m%d%H%M%S}"
    return base[: 60 - len(suffix)].rstrip("-") + suffix


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
                f"bucket {bucket!r} cannot be reached ({error_code(exc) or exc}); check the stack output "
                f"{StackOutput.SNAPSHOT_EXPORT_BUCKET} and your S3 permissions"
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
