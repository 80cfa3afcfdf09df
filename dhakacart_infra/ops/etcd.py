"""The cluster's etcd snapshots in the stack's S3 bucket: list them, newest first, and pick one.

K3s (configured by aws/user_data.py with `etcd-s3`) uploads every snapshot to
`s3://<bucket>/<folder>/<name>`, where <name> is `<base>-<node name>-<unix seconds>` with an optional
`.zip` when compressed: <base> is `etcd-snapshot` for the scheduled ones (K3s's default
`etcd-snapshot-name`) and `on-demand` for `k3s etcd-snapshot save`. Newer K3s releases also keep a
small metadata object per snapshot under `<folder>/.metadata/`, which is not a snapshot. Nothing
here prints or changes AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from . import TOOL_COMMAND
from .errors import NotFoundError, RefusedError
from .rds import error_code

SCHEDULED_PREFIX = "etcd-snapshot"
ON_DEMAND_PREFIX = "on-demand"
METADATA_FOLDER = ".metadata"
# <base>-<node>-<unix seconds>[.zip]; the node name may itself contain hyphens (ip-10-20-0-5).
_SNAPSHOT_NAME = re.compile(
    rf"^(?P<base>{re.escape(SCHEDULED_PREFIX)}|{re.escape(ON_DEMAND_PREFIX)}|[^-]+)"
    r"-(?P<node>.+)-(?P<epoch>\d{9,11})(?P<zip>\.zip)?$"
)


@dataclass(frozen=True)
class EtcdSnapshot:
    key: str
    """The object's full key, folder included (what `--cluster-reset-restore-path` takes)."""
    name: str
    node: str
    kind: str
    """"scheduled" (K3s's cron), "on-demand" (`k3s etcd-snapshot save`) or "unknown"."""
    taken: datetime
    """When K3s took it (the timestamp in its name), else when S3 stored it."""
    size: int
    compressed: bool


def parse_snapshot(key: str, size: int, last_modified: datetime) -> EtcdSnapshot:
    name = key.rsplit("/", 1)[-1]
    match = _SNAPSHOT_NAME.match(name)
    if match is None:
        return EtcdSnapshot(
            key, name, "?", "unknown", last_modified.astimezone(UTC), size, name.endswith(".zip")
        )
    base = match["base"]
    kind = "scheduled" if base == SCHEDULED_PREFIX else "on-demand" if base == ON_DEMAND_PREFIX else "unknown"
    return EtcdSnapshot(
        key=key,
        name=name,
        node=match["node"],
        kind=kind,
        taken=datetime.fromtimestamp(int(match["epoch"]), UTC),
        size=size,
        compressed=bool(match["zip"]),
    )


def folder_prefix(folder: str | None) -> str:
    folder = (folder or "").strip("/")
    return f"{folder}/" if folder else ""


def where(bucket: str, folder: str | None) -> str:
    return f"s3://{bucket}/{folder_prefix(folder)}"


def list_etcd_snapshots(s3: Any, bucket: str, folder: str | None) -> list[EtcdSnapshot]:
    """Every snapshot object directly in the folder, newest first; refuses an empty folder."""
    prefix = folder_prefix(folder)
    found: list[EtcdSnapshot] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents") or []:
                key = obj["Key"]
                rest = key[len(prefix) :]
                # Only the folder's own objects: not the metadata (.metadata/...), not sub-folders.
                if not rest or "/" in rest or rest.startswith("."):
                    continue
                found.append(parse_snapshot(key, int(obj.get("Size") or 0), obj["LastModified"]))
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            raise NotFoundError(
                f"the etcd snapshot bucket {bucket!r} does not exist in this account and region; check "
                "--etcd-bucket and --region (or deploy the stack, whose K3sCluster creates it)"
            ) from exc
        raise
    if not found:
        raise NotFoundError(
            f"no etcd snapshots in {where(bucket, folder)}: K3s has not uploaded any yet (it does on "
            "the stack's etcdSnapshotSchedule), or the servers cannot write there; take one now on a "
            "server with `sudo k3s etcd-snapshot save` and check `journalctl -u k3s | grep -i s3`"
        )
    return sorted(found, key=lambda s: (s.taken, s.key), reverse=True)


def choose_snapshot(
    snapshots: list[EtcdSnapshot], bucket: str, folder: str | None, wanted: str | None
) -> EtcdSnapshot:
    """The newest snapshot, or the one named (by name or full key), which must be in this folder."""
    if wanted is None:
        return snapshots[0]
    wanted = wanted.removeprefix(f"s3://{bucket}/")
    for snapshot in snapshots:
        if wanted in (snapshot.key, snapshot.name):
            return snapshot
    raise RefusedError(
        f"snapshot {wanted!r} is not one of this stack's etcd snapshots in {where(bucket, folder)}; "
        "a drill restores only its own cluster's snapshots (list them with "
        f"`{TOOL_COMMAND} etcd list`)"
    )
