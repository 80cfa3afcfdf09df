"""What every RDS task of the ops tool shares: identifier rules, lookups that say what is missing, tags.

Nothing here changes AWS or prints: the task modules (backup, restore, export) build on these.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import ClientError

from ..names import StackOutput
from . import TOOL_COMMAND
from .errors import NotFoundError, RefusedError, ValidationError

TOOL_TAG = ("managed-by", "dhakacart-ops")
# RDS names: a letter first, then letters, digits and single hyphens, no hyphen at the end.
_RDS_NAME = re.compile(r"^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*(?<!-)$")


def validate_instance_identifier(name: str) -> str:
    """RDS's rules for a DB instance identifier; returns it lower-cased, as RDS stores it."""
    if not 1 <= len(name) <= 63 or not _RDS_NAME.match(name):
        raise ValidationError(
            f"{name!r} is not a valid RDS instance identifier: 1-63 letters, digits or hyphens, starting "
            "with a letter, no two hyphens in a row and no hyphen at the end (e.g. dhakacart-prod-restore-1)"
        )
    return name.lower()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def describe_instance(rds: Any, instance_id: str) -> dict[str, Any] | None:
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"]
    except ClientError as exc:
        if error_code(exc) == "DBInstanceNotFound":
            return None
        raise
    return found[0] if found else None


def require_instance(rds: Any, instance_id: str) -> dict[str, Any]:
    instance = describe_instance(rds, instance_id)
    if instance is None:
        raise NotFoundError(
            f"no RDS instance {instance_id!r} in this account and region; check --db-instance and --region "
            f"(or the stack output {StackOutput.DATABASE_INSTANCE_ID})"
        )
    return instance


def describe_snapshot(rds: Any, snapshot_id: str) -> dict[str, Any] | None:
    try:
        found = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"]
    except ClientError as exc:
        if error_code(exc) == "DBSnapshotNotFound":
            return None
        raise
    return found[0] if found else None


def require_snapshot(rds: Any, snapshot_id: str, *, available: bool = True) -> dict[str, Any]:
    snapshot = describe_snapshot(rds, snapshot_id)
    if snapshot is None:
        raise NotFoundError(f"no DB snapshot {snapshot_id!r}; list them with `{TOOL_COMMAND} backup list`")
    if available and snapshot.get("Status") != "available":
        raise RefusedError(
            f"snapshot {snapshot_id!r} is {snapshot.get('Status')!r}, not 'available'; wait for it to finish"
        )
    return snapshot


def tags_of(snapshot: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in snapshot.get("TagList") or []}
