"""Identifiers from flags or `pulumi stack output --json`, and the CLI's shape."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from click.testing import CliRunner

from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.cli_support import OpsContext
from dhakacart_infra.ops.errors import MissingIdentifierError, PulumiCliError
from dhakacart_infra.ops.stack import StackIdentifiers, read_stack_outputs, selected_stack_name


def completed(code: int, out: str = "", err: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, out, err)


def test_outputs_are_read_with_the_selected_stack() -> None:
    seen: list[list[str]] = []

    def runner(argv: list[str]) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        return completed(0, '{"databaseInstanceId": "dhakacart-prod-db"}')

    outputs = read_stack_outputs("prod", runner=runner, which=lambda _: "/usr/bin/pulumi")
    assert outputs == {"databaseInstanceId": "dhakacart-prod-db"}
    assert seen == [["/usr/bin/pulumi", "stack", "output", "--json", "--stack", "prod"]]


def test_the_selected_stack_name_comes_from_pulumi_stack_show_name() -> None:
    seen: list[list[str]] = []

    def runner(argv: list[str]) -> subprocess.CompletedProcess[str]:
        seen.append(argv)
        return completed(0, "prod\n")

    assert selected_stack_name(runner=runner, which=lambda _: "/usr/bin/pulumi") == "prod"
    assert seen == [["/usr/bin/pulumi", "stack", "--show-name"]]


def test_no_selected_stack_is_an_error_that_says_how_to_choose_one() -> None:
    with pytest.raises(PulumiCliError, match=r"no stack selected.*pass --stack NAME"):
        selected_stack_name(
            runner=lambda argv: completed(255, err="error: no stack selected"), which=lambda _: "pulumi"
        )
    with pytest.raises(PulumiCliError, match="pass --stack NAME"):
        selected_stack_name(runner=lambda argv: completed(0, ""), which=lambda _: "pulumi")


def test_a_missing_pulumi_cli_says_which_flags_to_pass() -> None:
    with pytest.raises(PulumiCliError, match=r"not on PATH.*--db-instance"):
        read_stack_outputs(None, which=lambda _: None)


def test_a_failing_pulumi_cli_is_reported_with_its_stderr() -> None:
    with pytest.raises(PulumiCliError, match="no stack named 'prod' found"):
        read_stack_outputs(
            "prod",
            runner=lambda argv: completed(255, err="error: no stack named 'prod' found"),
            which=lambda _: "pulumi",
        )


def test_flags_win_and_the_stack_is_only_read_when_needed() -> None:
    reads: list[str | None] = []

    def reader(stack: str | None) -> dict[str, Any]:
        reads.append(stack)
        return {"snapshotExportBucket": "from-stack"}

    ids = StackIdentifiers(stack="dev", flags={"databaseInstanceId": "from-flag"}, reader=reader)
    assert ids.get("databaseInstanceId") == "from-flag" and reads == []
    assert ids.get("snapshotExportBucket") == "from-stack" and reads == ["dev"]
    with pytest.raises(MissingIdentifierError, match="pass --role-arn"):
        ids.get("snapshotExportRoleArn")


def test_without_pulumi_and_without_flags_the_command_fails_clearly() -> None:
    def reader(stack: str | None) -> dict[str, Any]:
        raise PulumiCliError("the Pulumi CLI is not on PATH ... pass --db-instance")

    result = CliRunner().invoke(
        cli, ["backup", "list", "--region", "ap-south-1"], obj=OpsContext(read_outputs=reader)
    )
    assert result.exit_code == 1
    assert "Error: the Pulumi CLI is not on PATH" in result.output
    assert "Traceback" not in result.output


COMMANDS = [
    [],
    ["backup"],
    ["backup", "create"],
    ["backup", "list"],
    ["backup", "delete"],
    ["backup", "prune"],
    ["restore"],
    ["restore", "snapshot"],
    ["restore", "pitr"],
    ["export"],
    ["smoke"],
    ["load"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "root")
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["backup", "create"],
        ["backup", "delete"],
        ["backup", "prune"],
        ["restore", "snapshot"],
        ["restore", "pitr"],
        ["export"],
    ],
)
def test_every_changing_command_has_dry_run(command: list[str]) -> None:
    assert "--dry-run" in CliRunner().invoke(cli, [*command, "--help"]).output


@pytest.mark.parametrize("command", [["backup", "delete"], ["backup", "prune"]])
def test_destructive_commands_have_yes(command: list[str]) -> None:
    assert "--yes" in CliRunner().invoke(cli, [*command, "--help"]).output


def test_the_module_runs_as_a_program() -> None:
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "dhakacart_infra.ops", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "backup" in done.stdout and "python -m dhakacart_infra.ops" in done.stdout


def test_aws_errors_become_clear_messages_without_traceback() -> None:
    from botocore.exceptions import ClientError, NoCredentialsError

    def no_credentials(service: str, region: str | None) -> Any:
        raise NoCredentialsError()

    context = OpsContext(read_outputs=lambda stack: {"databaseInstanceId": "db"}, client=no_credentials)
    result = CliRunner().invoke(cli, ["backup", "list"], obj=context)
    assert result.exit_code == 1 and "cannot talk to AWS: Unable to locate credentials" in result.output

    class Denied:
        def get_paginator(self, name: str) -> Any:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DescribeDBSnapshots"
            )

    context = OpsContext(
        read_outputs=lambda stack: {"databaseInstanceId": "db"}, client=lambda s, r: Denied()
    )
    result = CliRunner().invoke(cli, ["backup", "list"], obj=context)
    assert (
        result.exit_code == 1
        and "AWS refused DescribeDBSnapshots: AccessDenied: not allowed" in result.output
    )
