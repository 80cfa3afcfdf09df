"""Manual RDS snapshots: create, list, delete and choose what to prune, on a boto3 RDS client.

Inputs are checked before the first call that changes anything. Nothing here prints: the
commands in backup_cli.py do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import RefusedError, ValidationError
from .progress import Waiter, wait_until
from .rds import TOOL_TAG, require_instance, require_snapshot, tags_of


def manual_snapshot_id(instance_id: str, now: datetime) -> str:
    return f"{instance_id}-manual-{now.astimezone(UTC):%Y%m%d-%H%M%S}"


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


def wait_snapshot(rds: Any, snapshot_id: str, *, timeout: float, waiter: Waiter) -> dict[str, Any]:
    """Polls a new snapshot until RDS reports it available (or failed, or `timeout` passes)."""
    return wait_until(
        f"snapshot {snapshot_id}",
        lambda: require_snapshot(rds, snapshot_id, available=False),
        lambda s: (str(s.get("Status")), s.get("PercentProgress")),
        done=lambda s: s.get("Status") == "available",
        failed=lambda s: f"snapshot is {s.get('Status')!r}" if s.get("Status") == "failed" else None,
        timeout=timeout,
        waiter=waiter,
    )
