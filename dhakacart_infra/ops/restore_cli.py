"""`restore snapshot | pitr`: into a NEW instance, then the cut-over steps (the work is in restore.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from ..names import StackOutput
from .cli_support import OpsGroup, aws_client, created_by_or_login, ops_context, stack_options, timeout_option
from .cutover import cutover_steps
from .errors import OpsError
from .restore import (
    STACK_SHAPE_OUTPUTS,
    RestorePlan,
    compare_restored,
    parse_restore_time,
    plan_pitr_restore,
    plan_snapshot_restore,
    start_restore,
    wait_available,
)
from .stack import StackIdentifiers


def _stack_shape(ids: StackIdentifiers) -> dict[StackOutput, str | None]:
    """The stack's record of the database's network, parameters and key, when the stack is readable."""
    return {output: ids.get(output, required=False) for output in STACK_SHAPE_OUTPUTS}


def new_instance_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """What both restores take about the instance they create, and how they run."""
    options = [
        click.option("--target-name", required=True, help="Identifier of the NEW instance (must not exist)."),
        click.option("--created-by", metavar="WHO", help="Tag `created-by` (default: your login name)."),
        timeout_option,
        click.option(
            "--dry-run", is_flag=True, help="Run every check and show the request, restore nothing."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.group(cls=OpsGroup)
def restore() -> None:
    """Restore into a NEW instance (never over the live one) and print the cut-over steps."""


def _run_restore(plan: RestorePlan, rds: Any, *, dry_run: bool, timeout: float, stack: str | None) -> None:
    if dry_run:
        click.echo(
            f"dry run: checks passed; would call {plan.operation} with "
            + json.dumps(plan.request, default=str, sort_keys=True)
        )
        return
    start_restore(rds, plan)
    click.echo(f"restore to {plan.target} started")
    restored = wait_available(rds, plan.target, timeout=timeout, waiter=ops_context().waiter)
    endpoint = restored.get("Endpoint") or {}
    click.echo(
        f"restored instance {plan.target} is available at {endpoint.get('Address')}:{endpoint.get('Port')}"
    )
    problems = compare_restored(plan.source, restored)
    if problems:
        raise OpsError(
            "the restored instance differs from the live one (fix before any cut-over): "
            + "; ".join(problems)
        )
    click.echo("it shares the live instance's subnet group, security groups, parameter group and encryption.")
    click.echo("Cut-over, only after the data is verified (docs/RUNBOOK.md, 'Restore drill'):")
    for number, step in enumerate(cutover_steps(plan.source, restored, stack), start=1):
        click.echo(f"  {number}. {step}")


@restore.command("snapshot")
@click.argument("snapshot_id")
@stack_options(StackOutput.DATABASE_INSTANCE_ID)
@new_instance_options
def restore_snapshot(
    snapshot_id: str,
    ids: StackIdentifiers,
    target_name: str,
    created_by: str | None,
    timeout: float,
    dry_run: bool,
) -> None:
    """Restore SNAPSHOT_ID into a new instance shaped like the live one (--db-instance)."""
    rds = aws_client(ids)
    plan = plan_snapshot_restore(
        rds,
        snapshot_id=snapshot_id,
        source_instance_id=ids.get(StackOutput.DATABASE_INSTANCE_ID),
        target=target_name,
        created_by=created_by_or_login(created_by),
        stack_outputs=_stack_shape(ids),
    )
    _run_restore(plan, rds, dry_run=dry_run, timeout=timeout, stack=ids.stack)


@restore.command("pitr")
@stack_options(StackOutput.DATABASE_INSTANCE_ID)
@click.option("--time", "restore_time", metavar="ISO-8601", help="Instant to restore to, with timezone.")
@click.option("--latest", is_flag=True, help="Restore to the latest restorable time.")
@new_instance_options
def restore_pitr(
    ids: StackIdentifiers,
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
    moment = parse_restore_time(restore_time) if restore_time else None
    rds = aws_client(ids)
    plan = plan_pitr_restore(
        rds,
        source_instance_id=ids.get(StackOutput.DATABASE_INSTANCE_ID),
        target=target_name,
        restore_time=moment,
        now=ops_context().now(),
        created_by=created_by_or_login(created_by),
        stack_outputs=_stack_shape(ids),
    )
    _run_restore(plan, rds, dry_run=dry_run, timeout=timeout, stack=ids.stack)
