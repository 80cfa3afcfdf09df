"""`backup create | list | delete | prune`: manual RDS snapshots (the work is in backup.py)."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import click

from ..names import StackOutput
from .backup import create_snapshot, delete_snapshot, list_snapshots, prune_candidates, wait_snapshot
from .cli_support import (
    OpsGroup,
    aws_client,
    confirm,
    created_by_or_login,
    ops_context,
    stack_options,
    timeout_option,
)
from .errors import ValidationError
from .stack import StackIdentifiers

# The stack setting (dhakacart_infra/config.py) that StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS reports.
RETENTION_SETTING = "dbManualSnapshotRetentionDays"


@click.group(cls=OpsGroup)
def backup() -> None:
    """Manual RDS snapshots: create, list, delete, prune."""


@backup.command("create")
@stack_options(StackOutput.DATABASE_INSTANCE_ID)
@click.option("--reason", required=True, help="Why (stored as the snapshot's `reason` tag).")
@click.option("--created-by", metavar="WHO", help="Who (tag `created-by`; default: your login name).")
@click.option("--wait/--no-wait", default=False, help="Wait until the snapshot is available.")
@timeout_option
@click.option("--dry-run", is_flag=True, help="Show the request without sending it.")
def backup_create(
    ids: StackIdentifiers,
    reason: str,
    created_by: str | None,
    wait: bool,
    timeout: float,
    dry_run: bool,
) -> None:
    """Take a manual snapshot `<instance>-manual-<UTC timestamp>` tagged with stack, reason, created-by."""
    instance = ids.get(StackOutput.DATABASE_INSTANCE_ID)
    rds = aws_client(ids)
    result = create_snapshot(
        rds,
        instance,
        # The tag must name the real stack, also when it was chosen by `pulumi stack select`.
        stack=ids.stack or ops_context().selected_stack(),
        reason=reason,
        created_by=created_by_or_login(created_by),
        now=ops_context().now(),
        dry_run=dry_run,
    )
    if dry_run:
        click.echo("dry run: would call create_db_snapshot with " + json.dumps(result, default=str))
        return
    click.echo(f"snapshot {result['DBSnapshotIdentifier']} started ({result.get('Status')})")
    if wait:
        wait_snapshot(rds, result["DBSnapshotIdentifier"], timeout=timeout, waiter=ops_context().waiter)
        click.echo(f"snapshot {result['DBSnapshotIdentifier']} is available")


@backup.command("list")
@stack_options(StackOutput.DATABASE_INSTANCE_ID)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def backup_list(ids: StackIdentifiers, as_json: bool) -> None:
    """Automated and manual snapshots, newest first, with age and allocated size."""
    rows = list_snapshots(aws_client(ids), ids.get(StackOutput.DATABASE_INSTANCE_ID), ops_context().now())
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": r.snapshot_id,
                        "type": r.snapshot_type,
                        "status": r.status,
                        "created": r.created.isoformat() if r.created else None,
                        "age_seconds": int(r.age.total_seconds()) if r.age else None,
                        "size_gb": r.size_gb,
                        "managed_by_ops_tool": r.tool_managed,
                        "reason": r.reason,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    if not rows:
        click.echo("no snapshots")
        return
    width = max(len(r.snapshot_id) for r in rows)
    click.echo(
        f"{'SNAPSHOT':<{width}}  {'TYPE':<9}  {'STATUS':<10}  {'CREATED (UTC)':<16}  {'AGE':>7}  "
        f"{'SIZE':>6}  REASON"
    )
    for r in rows:
        created = f"{r.created.astimezone(UTC):%Y-%m-%d %H:%M}" if r.created else "-"
        click.echo(
            f"{r.snapshot_id:<{width}}  {r.snapshot_type:<9}  {r.status:<10}  {created:<16}  "
            f"{human_age(r.age):>7}  {r.size_gb:>4}GB  {r.reason}"
        )


@backup.command("delete")
@click.argument("snapshot_id")
@stack_options()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Check and show what would be deleted, delete nothing.")
def backup_delete(snapshot_id: str, ids: StackIdentifiers, yes: bool, dry_run: bool) -> None:
    """Delete one MANUAL snapshot (automated ones belong to RDS's retention and are refused)."""
    rds = aws_client(ids)
    snapshot = delete_snapshot(rds, snapshot_id, dry_run=True)
    if dry_run:
        click.echo(
            f"dry run: would delete manual snapshot {snapshot_id} "
            f"({snapshot.get('AllocatedStorage')} GB, {snapshot.get('SnapshotCreateTime')})"
        )
        return
    confirm(f"Delete manual snapshot {snapshot_id}?", yes)
    delete_snapshot(rds, snapshot_id, dry_run=False)
    click.echo(f"deleted {snapshot_id}")


@backup.command("prune")
@stack_options(StackOutput.DATABASE_INSTANCE_ID)
@click.option(
    "--keep-days",
    type=int,
    metavar="N",
    help=f"Keep manual snapshots younger than N days (default: stack output "
    f"{StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS}, from the stack's {RETENTION_SETTING}, unless "
    "--keep-last is given).",
)
@click.option("--keep-last", type=int, metavar="N", help="Keep the newest N manual snapshots.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted, delete nothing.")
def backup_prune(
    ids: StackIdentifiers,
    keep_days: int | None,
    keep_last: int | None,
    yes: bool,
    dry_run: bool,
) -> None:
    """Delete manual snapshots made by this tool beyond the retention (automated ones are never touched)."""
    if keep_days is None and keep_last is None:
        configured = ids.get(StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS, required=False)
        if configured is None:
            raise ValidationError(
                "say what to keep: --keep-days N, --keep-last N, or both (or deploy the stack, whose "
                f"output {StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS} comes from its {RETENTION_SETTING})"
            )
        keep_days = int(configured)
        click.echo(f"keeping {keep_days} days (the stack's {RETENTION_SETTING})")
    rds = aws_client(ids)
    rows = list_snapshots(rds, ids.get(StackOutput.DATABASE_INSTANCE_ID), ops_context().now())
    doomed = prune_candidates(rows, keep_days=keep_days, keep_last=keep_last)
    if not doomed:
        click.echo("nothing to prune")
        return
    for row in doomed:
        click.echo(
            f"{'would delete' if dry_run else 'to delete'}: {row.snapshot_id} "
            f"(age {human_age(row.age)}, {row.size_gb} GB)"
        )
    if dry_run:
        return
    confirm(f"Delete these {len(doomed)} manual snapshots?", yes)
    for row in doomed:
        delete_snapshot(rds, row.snapshot_id, dry_run=False)
        click.echo(f"deleted {row.snapshot_id}")


def human_age(age: timedelta | None) -> str:
    """An age as the table shows it: 3d04h, or 5h07m under a day."""
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{rest // 60:02d}m"
