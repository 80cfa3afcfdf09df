"""Identifiers from flags or `pulumi stack output --json`, and the selected stack's name."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from dhakacart_infra.names import StackOutput
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
        return {StackOutput.SNAPSHOT_EXPORT_BUCKET: "from-stack"}

    ids = StackIdentifiers(stack="dev", flags={StackOutput.DATABASE_INSTANCE_ID: "from-flag"}, reader=reader)
    assert ids.get(StackOutput.DATABASE_INSTANCE_ID) == "from-flag" and reads == []
    assert ids.get(StackOutput.SNAPSHOT_EXPORT_BUCKET) == "from-stack" and reads == ["dev"]
    with pytest.raises(
        MissingIdentifierError, match=f"no output '{StackOutput.SNAPSHOT_EXPORT_ROLE_ARN}'.*pass --role-arn"
    ):
        ids.get(StackOutput.SNAPSHOT_EXPORT_ROLE_ARN)
