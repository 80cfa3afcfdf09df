"""What every command of the ops tool shares: its context, error handling, stack options, prompts."""

from __future__ import annotations

import functools
import getpass
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from botocore.exceptions import BotoCoreError, ClientError

from ..names import StackOutput
from .errors import OpsError, RefusedError
from .progress import Waiter
from .stack import OUTPUT_FLAGS, StackIdentifiers, read_stack_outputs, selected_stack_name


@dataclass
class OpsContext:
    """What the commands get from outside; tests replace the clock, sleep, TTY check and outputs."""

    waiter: Waiter = field(default_factory=Waiter)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    is_tty: Callable[[], bool] = lambda: sys.stdin.isatty()
    read_outputs: Callable[[str | None], dict[str, Any]] = read_stack_outputs
    selected_stack: Callable[[], str] = selected_stack_name
    client: Callable[[str, str | None], Any] | None = None
    # The drills' steps that need more than AWS's API (tests inject their own): a DatabaseChecker
    # (drill_database.py) and an etcd drill's remote runner (drill_etcd.py); None means the real one.
    database_checker: Any = None
    etcd_runner: Any = None

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


@dataclass(frozen=True)
class IdentifierOption:
    """How the flag that stands in for a stack output reads in --help (its name: stack.OUTPUT_FLAGS)."""

    metavar: str
    meaning: str
    otherwise: str = ""  # where the value comes from when neither the flag nor the stack gives it


IDENTIFIER_OPTIONS: dict[StackOutput, IdentifierOption] = {
    StackOutput.REGION: IdentifierOption("REGION", "AWS region", ", else AWS_REGION / your AWS profile"),
    StackOutput.DATABASE_INSTANCE_ID: IdentifierOption("ID", "RDS instance identifier"),
    StackOutput.SNAPSHOT_EXPORT_BUCKET: IdentifierOption("NAME", "S3 bucket for exports"),
    StackOutput.SNAPSHOT_EXPORT_ROLE_ARN: IdentifierOption("ARN", "IAM role RDS assumes to write the export"),
    StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN: IdentifierOption("ARN", "KMS key ARN that encrypts the export"),
    StackOutput.ETCD_SNAPSHOT_BUCKET: IdentifierOption("NAME", "S3 bucket of the cluster's etcd snapshots"),
    StackOutput.ETCD_SNAPSHOT_FOLDER: IdentifierOption("FOLDER", "folder of the etcd snapshots in it"),
    StackOutput.SERVER_INSTANCE_IDS: IdentifierOption("IDS", "K3s server instance ids, comma-separated"),
}


def _parameter_name(output: StackOutput) -> str:
    return OUTPUT_FLAGS[output].removeprefix("--").replace("-", "_")


def _identifier_option(output: StackOutput) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    option = IDENTIFIER_OPTIONS[output]
    return click.option(
        OUTPUT_FLAGS[output],
        _parameter_name(output),
        metavar=option.metavar,
        help=f"{option.meaning} (default: stack output {output}{option.otherwise}).",
    )


def stack_options(*outputs: StackOutput) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--stack and --region, plus a flag for each stack output the command needs.

    The command receives them as one `ids: StackIdentifiers` (a flag wins over the stack output).
    """
    flagged = (StackOutput.REGION, *outputs)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def with_identifiers(*args: Any, stack: str | None, **params: Any) -> Any:
            flags = {output: params.pop(_parameter_name(output)) for output in flagged}
            ids = StackIdentifiers(stack=stack, flags=flags, reader=ops_context().read_outputs)
            return command(*args, ids=ids, **params)

        decorated: Callable[..., Any] = with_identifiers
        for output in reversed(flagged):
            decorated = _identifier_option(output)(decorated)
        return click.option(
            "--stack", metavar="STACK", help="Pulumi stack to read outputs from (default: selected)."
        )(decorated)

    return decorate


def aws_client(ids: StackIdentifiers, service: str = "rds") -> Any:
    return ops_context().aws(service, ids.get(StackOutput.REGION, required=False))


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
