"""What every command of the ops tool shares: its context, error handling, stack options, prompts."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from .errors import OpsError, RefusedError
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


def ops_context() -> OpsContext:
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


def stack_identifiers(stack: str | None, region: str | None, **flags: str | None) -> StackIdentifiers:
    mapping = {
        "databaseInstanceId": flags.get("db_instance"),
        "snapshotExportBucket": flags.get("bucket"),
        "snapshotExportRoleArn": flags.get("role_arn"),
        "snapshotExportKmsKeyArn": flags.get("kms_key"),
        "region": region,
    }
    return StackIdentifiers(stack=stack, flags=mapping, reader=ops_context().read_outputs)


def aws_client(ids: StackIdentifiers, service: str = "rds") -> Any:
    return ops_context().aws(service, ids.get("region", required=False))


def confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not ops_context().is_tty():
        raise RefusedError(f"{question} needs confirmation, and there is no terminal to ask on; pass --yes")
    if not click.confirm(question, default=False):
        raise RefusedError("not confirmed; nothing was changed")


def created_by_or_login(value: str | None) -> str:
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
