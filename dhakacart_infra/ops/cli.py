"""`python -m dhakacart_infra.ops`: backups, restores, exports, smoke and load tests."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from . import rds as rdsops
from .errors import OpsError, RefusedError, ValidationError
from .progress import Waiter
from .stack import StackIdentifiers, read_stack_outputs, selected_stack_name


@dataclass
class OpsContext:
    """What the commands get from outside; tests replace the clock, sleep, TTY check and outputs."""

    waiter: Waiter = field(default_factory=Waiter)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    is_tty: Callable[[], bool] = lambda: sys.stdin.isatty()
    read_outputs: Callable[[str | None], dict[str, Any]] = read_stack_outputs
    selected_stack: Callable[[], str] = selected_stack_name
    client: Callable[[str, str | None], Any] | None = None

    def aws(self, service: str, region: str | None) -> Any:
        if self.client is not None:
            return self.client(service, region)
        import boto3  # imported here so that `--help` and smoke/load never pay for it

        return boto3.client(service, region_name=region)


class OpsGroup(click.Group):
    """Turns every OpsError into `error: <message>` and exit code 1, without a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OpsError as exc:
            raise click.ClickException(str(exc)) from exc
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise click.ClickException(
                f"AWS refused {exc.operation_name}: {error.get('Code')}: {error.get('Message')} "
                "(check the credentials' permissions, --region and the identifiers)"
            ) from exc
        except BotoCoreError as exc:
            raise click.ClickException(
                f"cannot talk to AWS: {exc} (set credentials with `aws configure` or AWS_PROFILE, "
                "and the region with --region)"
            ) from exc


def _ctx() -> OpsContext:
    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = OpsContext()
    return root.obj


def stack_options(*outputs: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--stack and --region, plus a flag for each stack output the command needs."""
    flags = {
        "databaseInstanceId": click.option(
            "--db-instance",
            "db_instance",
            metavar="ID",
            help="RDS instance identifier (default: stack output databaseInstanceId).",
        ),
        "snapshotExportBucket": click.option(
            "--bucket",
            metavar="NAME",
            help="S3 bucket for exports (default: stack output snapshotExportBucket).",
        ),
        "snapshotExportRoleArn": click.option(
            "--role-arn",
            metavar="ARN",
            help="IAM role RDS assumes to write the export (default: stack output snapshotExportRoleArn).",
        ),
        "snapshotExportKmsKeyArn": click.option(
            "--kms-key",
            metavar="ARN",
            help="KMS key ARN that encrypts the export (default: stack output snapshotExportKmsKeyArn).",
        ),
    }

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for output in reversed(outputs):
            fn = flags[output](fn)
        fn = click.option(
            "--region",
            metavar="REGION",
            help="AWS region (default: stack output region, else AWS_REGION / your AWS profile).",
        )(fn)
        fn = click.option(
            "--stack", metavar="STACK", help="Pulumi stack to read outputs from (default: selected)."
        )(fn)
        return fn

    return decorate


def _ids(stack: str | None, region: str | None, **flags: str | None) -> StackIdentifiers:
    mapping = {
        "databaseInstanceId": flags.get("db_instance"),
        "snapshotExportBucket": flags.get("bucket"),
        "snapshotExportRoleArn": flags.get("role_arn"),
        "snapshotExportKmsKeyArn": flags.get("kms_key"),
        "region": region,
    }
    return StackIdentifiers(stack=stack, flags=mapping, reader=_ctx().read_outputs)


def _client(ids: StackIdentifiers, service: str = "rds") -> Any:
    return _ctx().aws(service, ids.get("region", required=False))


def _stack_shape(ids: StackIdentifiers) -> dict[str, str | None]:
    """The stack's record of the database's network, parameters and key, when the stack is readable."""
    return {name: ids.get(name, required=False) for name in rdsops.STACK_SHAPE_OUTPUTS}


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not _ctx().is_tty():
        raise RefusedError(f"{question} needs confirmation, and there is no terminal to ask on; pass --yes")
    if not click.confirm(question, default=False):
        raise RefusedError("not confirmed; nothing was changed")


def _created_by(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=3600,
    show_default=True,
    help="Seconds to wait before giving up (the AWS operation itself goes on).",
)


@click.group(cls=OpsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """DhakaCart operations: RDS backups, restores and exports; smoke and load tests of the shop.

    Identifiers (instance, bucket, role, key) come from `pulumi stack output --json` for --stack,
    or from flags when the Pulumi CLI is not at hand.
    """


# ---------------------------------------------------------------------------------------- backup


@cli.group(cls=OpsGroup)
def backup() -> None:
    """Manual RDS snapshots: create, list, delete, prune."""


@backup.command("create")
@stack_options("databaseInstanceId")
@click.option("--reason", required=True, help="Why (stored as the snapshot's `reason` tag).")
@click.option("--created-by", metavar="WHO", help="Who (tag `created-by`; default: your login name).")
@click.option("--wait/--no-wait", default=False, help="Wait until the snapshot is available.")
@timeout_option
@click.option("--dry-run", is_flag=True, help="Show the request without sending it.")
def backup_create(
    stack: str | None,
    region: str | None,
    db_instance: str | None,
    reason: str,
    created_by: str | None,
    wait: bool,
    timeout: float,
    dry_run: bool,
) -> None:
    """Take a manual snapshot `<instance>-manual-<UTC timestamp>` tagged with stack, reason, created-by."""
    ids = _ids(stack, region, db_instance=db_instance)
    instance = ids.get("databaseInstanceId")
    rds = _client(ids)
    result = rdsops.create_snapshot(
        rds,
        instance,
        # The tag must name the real stack, also when it was chosen by `pulumi stack select`.
        stack=stack or _ctx().selected_stack(),
        reason=reason,
        created_by=_created_by(created_by),
        now=_ctx().now(),
        dry_run=dry_run,
    )
    if dry_run:
        click.echo("dry run: would call create_db_snapshot with " + json.dumps(result, default=str))
        return
    click.echo(f"snapshot {result['DBSnapshotIdentifier']} started ({result.get('Status')})")
    if wait:
        from .progress import wait_until

        wait_until(
            f"snapshot {result['DBSnapshotIdentifier']}",
            lambda: rdsops.require_snapshot(rds, result["DBSnapshotIdentifier"], available=False),
            lambda s: (str(s.get("Status")), s.get("PercentProgress")),
            done=lambda s: s.get("Status") == "available",
            failed=lambda s: f"snapshot is {s.get('Status')!r}" if s.get("Status") == "failed" else None,
            timeout=timeout,
            waiter=_ctx().waiter,
        )
        click.echo(f"snapshot {result['DBSnapshotIdentifier']} is available")


@backup.command("list")
@stack_options("databaseInstanceId")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def backup_list(stack: str | None, region: str | None, db_instance: str | None, as_json: bool) -> None:
    """Automated and manual snapshots, newest first, with age and allocated size."""
    ids = _ids(stack, region, db_instance=db_instance)
    rows = rdsops.list_snapshots(_client(ids), ids.get("databaseInstanceId"), _ctx().now())
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
            f"{rdsops.human_age(r.age):>7}  {r.size_gb:>4}GB  {r.reason}"
        )


@backup.command("delete")
@click.argument("snapshot_id")
@stack_options()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Check and show what would be deleted, delete nothing.")
def backup_delete(snapshot_id: str, stack: str | None, region: str | None, yes: bool, dry_run: bool) -> None:
    """Delete one MANUAL snapshot (automated ones belong to RDS's retention and are refused)."""
    ids = _ids(stack, region)
    rds = _client(ids)
    snapshot = rdsops.delete_snapshot(rds, snapshot_id, dry_run=True)
    if dry_run:
        click.echo(
            f"dry run: would delete manual snapshot {snapshot_id} "
            f"({snapshot.get('AllocatedStorage')} GB, {snapshot.get('SnapshotCreateTime')})"
        )
        return
    _confirm(f"Delete manual snapshot {snapshot_id}?", yes)
    rdsops.delete_snapshot(rds, snapshot_id, dry_run=False)
    click.echo(f"deleted {snapshot_id}")


@backup.command("prune")
@stack_options("databaseInstanceId")
@click.option(
    "--keep-days",
    type=int,
    metavar="N",
    help="Keep manual snapshots younger than N days (default: stack output manualSnapshotRetentionDays, "
    "from the stack's dbManualSnapshotRetentionDays, unless --keep-last is given).",
)
@click.option("--keep-last", type=int, metavar="N", help="Keep the newest N manual snapshots.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show what would be deleted, delete nothing.")
def backup_prune(
    stack: str | None,
    region: str | None,
    db_instance: str | None,
    keep_days: int | None,
    keep_last: int | None,
    yes: bool,
    dry_run: bool,
) -> None:
    """Delete manual snapshots made by this tool beyond the retention (automated ones are never touched)."""
    ids = _ids(stack, region, db_instance=db_instance)
    if keep_days is None and keep_last is None:
        configured = ids.get("manualSnapshotRetentionDays", required=False)
        if configured is None:
            raise ValidationError(
                "say what to keep: --keep-days N, --keep-last N, or both (or deploy the stack, whose "
                "output manualSnapshotRetentionDays comes from its dbManualSnapshotRetentionDays)"
            )
        keep_days = int(configured)
        click.echo(f"keeping {keep_days} days (the stack's dbManualSnapshotRetentionDays)")
    rds = _client(ids)
    rows = rdsops.list_snapshots(rds, ids.get("databaseInstanceId"), _ctx().now())
    doomed = rdsops.prune_candidates(rows, keep_days=keep_days, keep_last=keep_last)
    if not doomed:
        click.echo("nothing to prune")
        return
    for row in doomed:
        click.echo(
            f"{'would delete' if dry_run else 'to delete'}: {row.snapshot_id} "
            f"(age {rdsops.human_age(row.age)}, {row.size_gb} GB)"
        )
    if dry_run:
        return
    _confirm(f"Delete these {len(doomed)} manual snapshots?", yes)
    for row in doomed:
        rdsops.delete_snapshot(rds, row.snapshot_id, dry_run=False)
        click.echo(f"deleted {row.snapshot_id}")


# --------------------------------------------------------------------------------------- restore


@cli.group(cls=OpsGroup)
def restore() -> None:
    """Restore into a NEW instance (never over the live one) and print the cut-over steps."""


def _run_restore(
    plan: rdsops.RestorePlan, rds: Any, *, dry_run: bool, timeout: float, stack: str | None
) -> None:
    if dry_run:
        click.echo(
            f"dry run: checks passed; would call {plan.operation} with "
            + json.dumps(plan.request, default=str, sort_keys=True)
        )
        return
    rdsops.start_restore(rds, plan)
    click.echo(f"restore to {plan.target} started")
    restored = rdsops.wait_available(rds, plan.target, timeout=timeout, waiter=_ctx().waiter)
    endpoint = restored.get("Endpoint") or {}
    click.echo(
        f"restored instance {plan.target} is available at {endpoint.get('Address')}:{endpoint.get('Port')}"
    )
    problems = rdsops.compare_restored(plan.source, restored)
    if problems:
        raise OpsError(
            "the restored instance differs from the live one (fix before any cut-over): "
            + "; ".join(problems)
        )
    click.echo("it shares the live instance's subnet group, security groups, parameter group and encryption.")
    click.echo("Cut-over, only after the data is verified (docs/RUNBOOK.md, 'Restore drill'):")
    for number, step in enumerate(rdsops.cutover_steps(plan.source, restored, stack), start=1):
        click.echo(f"  {number}. {step}")


@restore.command("snapshot")
@click.argument("snapshot_id")
@stack_options("databaseInstanceId")
@click.option("--target-name", required=True, help="Identifier of the NEW instance (must not exist).")
@click.option("--created-by", metavar="WHO", help="Tag `created-by` (default: your login name).")
@timeout_option
@click.option("--dry-run", is_flag=True, help="Run every check and show the request, restore nothing.")
def restore_snapshot(
    snapshot_id: str,
    stack: str | None,
    region: str | None,
    db_instance: str | None,
    target_name: str,
    created_by: str | None,
    timeout: float,
    dry_run: bool,
) -> None:
    """Restore SNAPSHOT_ID into a new instance shaped like the live one (--db-instance)."""
    ids = _ids(stack, region, db_instance=db_instance)
    rds = _client(ids)
    plan = rdsops.plan_snapshot_restore(
        rds,
        snapshot_id=snapshot_id,
        source_instance_id=ids.get("databaseInstanceId"),
        target=target_name,
        created_by=_created_by(created_by),
        stack_outputs=_stack_shape(ids),
    )
    _run_restore(plan, rds, dry_run=dry_run, timeout=timeout, stack=stack)


@restore.command("pitr")
@stack_options("databaseInstanceId")
@click.option("--time", "restore_time", metavar="ISO-8601", help="Instant to restore to, with timezone.")
@click.option("--latest", is_flag=True, help="Restore to the latest restorable time.")
@click.option("--target-name", required=True, help="Identifier of the NEW instance (must not exist).")
@click.option("--created-by", metavar="WHO", help="Tag `created-by` (default: your login name).")
@timeout_option
@click.option("--dry-run", is_flag=True, help="Run every check and show the request, restore nothing.")
def restore_pitr(
    stack: str | None,
    region: str | None,
    db_instance: str | None,
    restore_time: str | None,
    latest: bool,
    target_name: str,
    created_by: str | None,
    timeout: float,
    dry_run: bool,
) -> None:
    """Point-in-time restore of the live instance into a new one (--time T | --latest)."""
    if bool(restore_time) == latest:
        raise click.UsageError("give exactly one of --time ISO-8601 or --latest")
    moment = rdsops.parse_restore_time(restore_time) if restore_time else None
    ids = _ids(stack, region, db_instance=db_instance)
    rds = _client(ids)
    plan = rdsops.plan_pitr_restore(
        rds,
        source_instance_id=ids.get("databaseInstanceId"),
        target=target_name,
        restore_time=moment,
        now=_ctx().now(),
        created_by=_created_by(created_by),
        stack_outputs=_stack_shape(ids),
    )
    _run_restore(plan, rds, dry_run=dry_run, timeout=timeout, stack=stack)


# ---------------------------------------------------------------------------------------- export


@cli.command("export")
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
    ids = _ids(stack, region, bucket=bucket, role_arn=role_arn, kms_key=kms_key)
    target = (
        ids.get("snapshotExportBucket"),
        ids.get("snapshotExportRoleArn"),
        ids.get("snapshotExportKmsKeyArn"),
    )
    rds = _client(ids)
    plan = rdsops.plan_export(
        rds,
        _client(ids, "s3"),
        snapshot_id=snapshot_id,
        bucket=target[0],
        role_arn=target[1],
        kms_key_arn=target[2],
        prefix=prefix,
        now=_ctx().now(),
    )
    if dry_run:
        click.echo("dry run: checks passed; would call start_export_task with " + json.dumps(plan.request))
        return
    started = rdsops.start_export(rds, plan)
    click.echo(f"export task {started['ExportTaskIdentifier']} started")
    task = rdsops.wait_export(rds, started["ExportTaskIdentifier"], timeout=timeout, waiter=_ctx().waiter)
    click.echo(
        f"export {task['ExportTaskIdentifier']} COMPLETE: s3://{plan.request['S3BucketName']}/"
        f"{plan.request['S3Prefix']}/{task['ExportTaskIdentifier']}/"
    )


# ---------------------------------------------------------------------------------- smoke / load


@cli.command("smoke")
@click.option("--url", required=True, help="The shop's base URL, e.g. https://shop.example.com")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=10, show_default=True, help="Seconds per request."
)
@click.option(
    "--min-cert-days",
    type=int,
    default=14,
    show_default=True,
    help="Fail when the TLS certificate expires in fewer days.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False),
    help="PEM file of root certificates to trust instead of the system's (dev: Let's Encrypt staging roots).",
)
def smoke(url: str, timeout: float, min_cert_days: int, ca_bundle: str | None) -> None:
    """Health, readiness, catalog, a product page, OpenAPI, security headers, TLS: one line each."""
    from .smoke import run_smoke

    if ca_bundle and not os.path.isfile(ca_bundle):
        raise ValidationError(
            f"--ca-bundle {ca_bundle!r} is not a file; give a PEM file of root certificates"
        )
    results = run_smoke(url, timeout=timeout, min_cert_days=min_cert_days, ca_bundle=ca_bundle)
    for result in results:
        click.echo(result.line())
    failed = [r for r in results if r.status == "FAIL"]
    if failed:
        raise OpsError(
            f"{len(failed)} of {len(results)} smoke checks failed: " + ", ".join(r.name for r in failed)
        )
    click.echo(f"all {len(results)} smoke checks passed")


@cli.command("load")
@click.option("--url", required=True, help="The shop's base URL.")
@click.option("--users", type=click.IntRange(min=1), default=50, show_default=True, help="Concurrent users.")
@click.option(
    "--spawn-rate",
    type=click.FloatRange(min=0.1),
    default=10,
    show_default=True,
    help="Users started per second.",
)
@click.option(
    "--duration", type=click.IntRange(min=1), default=60, show_default=True, help="Seconds of load."
)
@click.option("--max-p95-ms", type=float, default=200, show_default=True, help="Fail above this p95 latency.")
@click.option(
    "--max-error-ratio", type=float, default=0.001, show_default=True, help="Fail above this error ratio."
)
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), help="Also write the report as JSON."
)
def load(
    url: str,
    users: int,
    spawn_rate: float,
    duration: int,
    max_p95_ms: float,
    max_error_ratio: float,
    report_path: str | None,
) -> None:
    """A weighted shopper mix with Locust (headless); reports RPS, p50/p95/p99 and the error ratio."""
    from .load import evaluate, run_load

    report = run_load(url, users=users, spawn_rate=spawn_rate, duration=duration)
    if report_path:
        with open(report_path, "w", encoding="utf-8") as fh:
            json.dump(report.as_dict(), fh, indent=2)
    for line in report.lines():
        click.echo(line)
    verdicts = evaluate(report, max_p95_ms=max_p95_ms, max_error_ratio=max_error_ratio)
    if verdicts:
        raise OpsError("load test failed: " + "; ".join(verdicts))
    click.echo(f"load test passed (p95 <= {max_p95_ms:g} ms, error ratio <= {max_error_ratio:g})")


def main() -> None:
    cli(prog_name="python -m dhakacart_infra.ops")
