"""`export SNAPSHOT_ID`: a snapshot to the stack's export bucket (the work is in export.py)."""

from __future__ import annotations

import json

import click

from . import export as exports
from .cli_support import aws_client, ops_context, stack_identifiers, stack_options, timeout_option


@click.command("export")
@click.argument("snapshot_id")
@stack_options("snapshotExportBucket", "snapshotExportRoleArn", "snapshotExportKmsKeyArn")
@click.option("--prefix", default="exports", show_default=True, help="Key prefix inside the bucket.")
@timeout_option
@click.option("--dry-run", is_flag=True, help="Validate and show the export request, start nothing.")
def export(
    snapshot_id: str,
    stack: str | None,
    region: str | None,
    bucket: str | None,
    role_arn: str | None,
    kms_key: str | None,
    prefix: str,
    timeout: float,
    dry_run: bool,
) -> None:
    """Export SNAPSHOT_ID to the stack's encrypted export bucket (Parquet) and wait for it."""
    ids = stack_identifiers(stack, region, bucket=bucket, role_arn=role_arn, kms_key=kms_key)
    target = (
        ids.get("snapshotExportBucket"),
        ids.get("snapshotExportRoleArn"),
        ids.get("snapshotExportKmsKeyArn"),
    )
    rds = aws_client(ids)
    plan = exports.plan_export(
        rds,
        aws_client(ids, "s3"),
        snapshot_id=snapshot_id,
        bucket=target[0],
        role_arn=target[1],
        kms_key_arn=target[2],
        prefix=prefix,
        now=ops_context().now(),
    )
    if dry_run:
        click.echo("dry run: checks passed; would call start_export_task with " + json.dumps(plan.request))
        return
    started = exports.start_export(rds, plan)
    click.echo(f"export task {started['ExportTaskIdentifier']} started")
    task = exports.wait_export(
        rds, started["ExportTaskIdentifier"], timeout=timeout, waiter=ops_context().waiter
    )
    click.echo(
        f"export {task['ExportTaskIdentifier']} COMPLETE: s3://{plan.request['S3BucketName']}/"
        f"{plan.request['S3Prefix']}/{task['ExportTaskIdentifier']}/"
    )
