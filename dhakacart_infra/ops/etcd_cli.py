"""`etcd list`: the cluster's etcd snapshots in the stack's bucket (the work is in etcd.py)."""

from __future__ import annotations

import json
from datetime import UTC

import click

from ..names import StackOutput
from .backup_cli import human_age
from .cli_support import OpsGroup, aws_client, ops_context, stack_options
from .etcd import list_etcd_snapshots, where
from .stack import StackIdentifiers


@click.group(cls=OpsGroup)
def etcd() -> None:
    """The K3s cluster's etcd snapshots (restore them with docs/RUNBOOK.md, or rehearse with `drill etcd`)."""


def snapshot_location(ids: StackIdentifiers) -> tuple[str, str]:
    bucket = ids.get(StackOutput.ETCD_SNAPSHOT_BUCKET)
    folder = ids.get(StackOutput.ETCD_SNAPSHOT_FOLDER)
    return str(bucket), str(folder)


@etcd.command("list")
@stack_options(StackOutput.ETCD_SNAPSHOT_BUCKET, StackOutput.ETCD_SNAPSHOT_FOLDER)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def etcd_list(ids: StackIdentifiers, as_json: bool) -> None:
    """Snapshots K3s uploaded, newest first: name, node, time, size, scheduled or on-demand."""
    bucket, folder = snapshot_location(ids)
    snapshots = list_etcd_snapshots(aws_client(ids, "s3"), bucket, folder)
    now = ops_context().now()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "key": s.key,
                        "node": s.node,
                        "kind": s.kind,
                        "taken": s.taken.isoformat(),
                        "age_seconds": int((now - s.taken).total_seconds()),
                        "size_bytes": s.size,
                        "compressed": s.compressed,
                    }
                    for s in snapshots
                ],
                indent=2,
            )
        )
        return
    click.echo(f"{len(snapshots)} etcd snapshots in {where(bucket, folder)}")
    name_width = max(len(s.name) for s in snapshots)
    node_width = max(4, *(len(s.node) for s in snapshots))
    click.echo(
        f"{'NAME':<{name_width}}  {'NODE':<{node_width}}  {'KIND':<9}  {'TAKEN (UTC)':<16}  {'AGE':>7}  SIZE"
    )
    for s in snapshots:
        click.echo(
            f"{s.name:<{name_width}}  {s.node:<{node_width}}  {s.kind:<9}  "
            f"{s.taken.astimezone(UTC):%Y-%m-%d %H:%M}  {human_age(now - s.taken):>7}  {human_size(s.size)}"
        )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns
