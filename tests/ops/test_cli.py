"""The tool's shape: every command exists with --help; those that change things have --dry-run, --yes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from dhakacart_infra.ops.cli import cli

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
    ["etcd"],
    ["etcd", "list"],
    ["drill"],
    ["drill", "database"],
    ["drill", "etcd"],
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
        ["drill", "database"],
        ["drill", "etcd"],
    ],
)
def test_every_changing_command_has_dry_run(command: list[str]) -> None:
    assert "--dry-run" in CliRunner().invoke(cli, [*command, "--help"]).output


@pytest.mark.parametrize("command", [["backup", "delete"], ["backup", "prune"]])
def test_destructive_commands_have_yes(command: list[str]) -> None:
    assert "--yes" in CliRunner().invoke(cli, [*command, "--help"]).output


def test_the_module_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dhakacart_infra.ops", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "backup" in done.stdout and "python -m dhakacart_infra.ops" in done.stdout
