"""`drill database | etcd`: recovery drills that restore, check, measure and clean up (see drill*.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from ..names import StackOutput
from .cli_support import OpsGroup, aws_client, created_by_or_login, ops_context, stack_options, timeout_option
from .drill import DEFAULT_RECORD_DIR, DrillRecord, publish_success, write_record
from .drill_database import (
    DatabaseChecker,
    DrillDatabase,
    DrillFailedError,
    SqlDatabaseChecker,
    plan_database_drill,
    run_database_drill,
)
from .drill_etcd import DEFAULT_INSTANCE_TYPE, LAUNCH_OUTPUTS, SsmRunner, plan_etcd_drill, run_etcd_drill
from .errors import OpsError, ValidationError
from .etcd_cli import snapshot_location
from .restore import STACK_SHAPE_OUTPUTS, parse_restore_time
from .stack import StackIdentifiers
from .tunnel import direct, ssm_port_forward


@click.group(cls=OpsGroup)
def drill() -> None:
    """Recovery drills: restore a backup beside production, check it, time it, delete it."""


record_dir_option = click.option(
    "--record-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RECORD_DIR,
    show_default=True,
    help="Where the drill's JSON record goes (written on success and on failure).",
)


def _stack_name(ids: StackIdentifiers) -> str:
    """The stack's bare name (`org/project/prod` -> `prod`): what the program's alarms select on."""
    return (ids.stack or ops_context().selected_stack()).rsplit("/", 1)[-1]


def finish(record: DrillRecord, ids: StackIdentifiers, record_dir: Path) -> None:
    """Publishes a success, writes the record either way, and prints the summary."""
    publish_error: str | None = None
    if record.succeeded:
        try:
            publish_success(aws_client(ids, "cloudwatch"), record, ops_context().now)
        except (ClientError, BotoCoreError) as exc:
            publish_error = f"the drill succeeded but its metric was not published ({exc}); the drill alarm "
            publish_error += "will fire unless a later drill publishes one"
            record.error = publish_error
    path = write_record(record_dir, record)
    click.echo(f"record: {path}")
    for line in summary(record):
        click.echo(line)
    if publish_error:
        raise OpsError(publish_error)


def summary(record: DrillRecord) -> list[str]:
    lines = [f"drill {record.drill} ({record.stack}): {'SUCCEEDED' if record.succeeded else 'FAILED'}"]
    backup_time = record.backup_time.isoformat() if record.backup_time else "?"
    lines.append(f"  backup: {record.backup} (data up to {backup_time})")
    if record.data_loss_seconds is not None:
        lines.append(f"  data-loss window: {record.data_loss_seconds:.0f}s (backup time to drill start)")
    if record.recovery_seconds is not None:
        lines.append(f"  recovery time: {record.recovery_seconds:.0f}s (restore started to checked)")
    for key, value in record.checks.items():
        lines.append(f"  {key}: {json.dumps(value, sort_keys=True)}")
    created, deleted = ", ".join(record.created) or "nothing", ", ".join(record.cleaned_up) or "nothing"
    lines.append(f"  created: {created}; deleted: {deleted}")
    if record.error:
        lines.append(f"  error: {record.error}")
    return lines


def database_checker(ids: StackIdentifiers, use_direct: bool) -> DatabaseChecker:
    injected = ops_context().database_checker
    if injected is not None:
        return injected
    if use_direct:
        return SqlDatabaseChecker(reach=lambda db: direct(db.address, db.port))
    servers = ids.get_list(StackOutput.SERVER_INSTANCE_IDS)
    region = ids.get(StackOutput.REGION, required=False)

    def through_server(db: DrillDatabase) -> Any:
        return ssm_port_forward(servers[0], region, db.address, db.port)

    return SqlDatabaseChecker(reach=through_server)


@drill.command("database")
@stack_options(StackOutput.DATABASE_INSTANCE_ID, StackOutput.SERVER_INSTANCE_IDS)
@click.option(
    "--snapshot", "snapshot_id", metavar="ID", help="Snapshot to drill (default: the newest available)."
)
@click.option("--point-in-time", is_flag=True, help="Drill a point-in-time restore instead of a snapshot.")
@click.option(
    "--time", "restore_time", metavar="ISO-8601", help="With --point-in-time: the instant (default: latest)."
)
@click.option(
    "--target-name", help="Identifier of the temporary instance (default: <instance>-drill-<time>)."
)
@click.option("--created-by", metavar="WHO", help="Tag `created-by` (default: your login name).")
@click.option(
    "--direct",
    "use_direct",
    is_flag=True,
    help="Connect straight to the endpoint (run inside the VPC), no SSM forward.",
)
@timeout_option
@record_dir_option
@click.option("--dry-run", is_flag=True, help="Run every check and show the request, create nothing.")
def drill_database(
    ids: StackIdentifiers,
    snapshot_id: str | None,
    point_in_time: bool,
    restore_time: str | None,
    target_name: str | None,
    created_by: str | None,
    use_direct: bool,
    timeout: float,
    record_dir: Path,
    dry_run: bool,
) -> None:
    """Restore the newest backup into a temporary instance, check schema and rows, report, delete it."""
    if restore_time and not point_in_time:
        raise ValidationError("--time needs --point-in-time")
    moment = parse_restore_time(restore_time) if restore_time else None
    rds = aws_client(ids)
    stack = _stack_name(ids)
    plan = plan_database_drill(
        rds,
        instance_id=str(ids.get(StackOutput.DATABASE_INSTANCE_ID)),
        stack=stack,
        stack_shape={output: ids.get(output, required=False) for output in STACK_SHAPE_OUTPUTS},
        now=ops_context().now(),
        created_by=created_by_or_login(created_by),
        target=target_name,
        snapshot_id=snapshot_id,
        point_in_time=point_in_time,
        restore_time=moment,
    )
    if dry_run:
        click.echo(
            f"dry run: checks passed; would call {plan.restore.operation} with "
            + json.dumps(plan.restore.request, default=str, sort_keys=True)
            + f", check it, then delete {plan.restore.target} without a final snapshot"
        )
        return
    checker = database_checker(ids, use_direct)
    try:
        record = run_database_drill(
            rds,
            plan,
            checker,
            now=ops_context().now,
            waiter=ops_context().waiter,
            timeout=timeout,
            on_progress=click.echo,
        )
    except DrillFailedError as failed:
        finish(failed.record, ids, record_dir)
        raise
    finish(record, ids, record_dir)


@drill.command("etcd")
@stack_options(StackOutput.ETCD_SNAPSHOT_BUCKET, StackOutput.ETCD_SNAPSHOT_FOLDER)
@click.option("--snapshot", "snapshot_name", metavar="NAME", help="Snapshot to drill (default: the newest).")
@click.option(
    "--instance-type",
    default=DEFAULT_INSTANCE_TYPE,
    show_default=True,
    help="EC2 type of the scratch server (the restored API server needs about 2 GiB).",
)
@click.option("--created-by", metavar="WHO", help="Tag `created-by` (default: your login name).")
@timeout_option
@record_dir_option
@click.option("--dry-run", is_flag=True, help="Run every check and show the launch request, launch nothing.")
def drill_etcd(
    ids: StackIdentifiers,
    snapshot_name: str | None,
    instance_type: str,
    created_by: str | None,
    timeout: float,
    record_dir: Path,
    dry_run: bool,
) -> None:
    """Restore the newest etcd snapshot on a scratch server, count its objects, terminate it."""
    bucket, folder = snapshot_location(ids)
    region = ids.get(StackOutput.REGION, required=False)
    outputs = {output: ids.get(output, required=False) for output in LAUNCH_OUTPUTS}
    plan = plan_etcd_drill(
        aws_client(ids, "s3"),
        stack=_stack_name(ids),
        region=str(region or ""),
        bucket=bucket,
        folder=folder,
        outputs=outputs,
        now=ops_context().now(),
        created_by=created_by_or_login(created_by),
        snapshot_name=snapshot_name,
        instance_type=instance_type,
    )
    if dry_run:
        shown = {k: v for k, v in plan.request.items() if k != "UserData"}
        click.echo(
            f"dry run: checks passed; would restore {plan.settings.snapshot.key} on a scratch server: "
            f"run_instances {json.dumps(shown, default=str, sort_keys=True)}, then terminate it"
        )
        return
    waiter = ops_context().waiter
    runner = ops_context().etcd_runner or SsmRunner(aws_client(ids, "ssm"), waiter)
    try:
        record = run_etcd_drill(
            aws_client(ids, "ec2"),
            runner,
            plan,
            now=ops_context().now,
            waiter=waiter,
            timeout=timeout,
            on_progress=click.echo,
        )
    except DrillFailedError as failed:
        finish(failed.record, ids, record_dir)
        raise
    finish(record, ids, record_dir)
