"""What every command shares: failures become one clear line and exit code 1, never a traceback."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from dhakacart_infra.names import StackOutput
from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.cli_support import OpsContext
from dhakacart_infra.ops.errors import PulumiCliError


def test_without_pulumi_and_without_flags_the_command_fails_clearly() -> None:
    def reader(stack: str | None) -> dict[str, Any]:
        raise PulumiCliError("the Pulumi CLI is not on PATH ... pass --db-instance")

    result = CliRunner().invoke(
        cli, ["backup", "list", "--region", "ap-south-1"], obj=OpsContext(read_outputs=reader)
    )
    assert result.exit_code == 1
    assert "Error: the Pulumi CLI is not on PATH" in result.output
    assert "Traceback" not in result.output


def test_aws_errors_become_clear_messages_without_traceback() -> None:
    from botocore.exceptions import ClientError, NoCredentialsError

    def no_credentials(service: str, region: str | None) -> Any:
        raise NoCredentialsError()

    context = OpsContext(
        read_outputs=lambda stack: {StackOutput.DATABASE_INSTANCE_ID: "db"}, client=no_credentials
    )
    result = CliRunner().invoke(cli, ["backup", "list"], obj=context)
    assert result.exit_code == 1 and "cannot talk to AWS: Unable to locate credentials" in result.output

    class Denied:
        def get_paginator(self, name: str) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DescribeDBSnapshots"
            )

    context = OpsContext(
        read_outputs=lambda stack: {StackOutput.DATABASE_INSTANCE_ID: "db"}, client=lambda s, r: Denied()
    )
    result = CliRunner().invoke(cli, ["backup", "list"], obj=context)
    assert (
        result.exit_code == 1
        and "AWS refused DescribeDBSnapshots: AccessDenied: not allowed" in result.output
    )
