"""`export SNAPSHOT_ID`: a snapshot to the stack's export bucket (the work is in export.py)."""

from __future__ import annotations

import json

import click

from ..names import StackOutput
from .cli_support import aws_client, ops_context, stack_options, timeout_option
from .export import plan_export, start_export, wait_export
from .stack import StackIdentifiers


@click.command("export")
@click.argument("snapshot_id")
@stack_options(
    StackOutput.SNAPSHOT_EXPORT_BUCKET,
    StackOutput.SNAPSHOT_EXPORT_ROLE_ARN,
    StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN,
)
@click.option("--prefix", default="exports", show_default=True, help="Key prefix inside the bucket.")
@timeout_option
@click.option("--dry-run", is_flag=True, help="Validate and show the export request, start nothing.")
def export(
    snapshot_id: str,
    ids: StackIdentifiers,
    prefix: str,
    timeout: float,
    dry_run: bool,
) -> None:
    """Export SNAPSHOT_ID to the stack's encrypted export bucket (Parquet) and wait for it."""
    # Read in this order, so that a missing one is reported like before: bucket, role, then key.
    bucket = ids.get(StackOutput.SNAPSHOT_EXPORT_BUCKET)
    role_arn = ids.get(StackOutput.SNAPSHOT_EXPORT_ROLE_ARN)
    kms_key_arn = ids.get(StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN)
    rds = aws_client(ids)
    plan = plan_export(
        rds,
        aws_client(ids, "s3"),
        snapshot_id=snapshot_id,
        bucket=bucket,
        role_arn=role_arn,
        kms_key_arn=kms_key_arn,
        prefix=prefix,
        now=ops_context().now(),
    )
    if dry_run:
        click.echo("dry run: checks passed; would call start_export_task with " + json.dumps(plan.request))
        return
    started = start_export(rds, plan)
    click.echo(f"export task {started['ExportTaskIdentifier']} started")
    task = wait_export(rds, started["ExportTaskIdentifier"], timeout=timeout, waiter=ops_context().waiter)
    click.echo(
        f"export {task['ExportTaskIdentifier']} COMPLETE: s3://{plan.request['S3BucketName']}/"
        f"{plan.request['S3Prefix']}/{task['ExportTaskIdentifier']}/"
    )
