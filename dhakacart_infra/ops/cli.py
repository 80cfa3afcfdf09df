"""`python -m dhakacart_infra.ops`: backups, restores, exports, smoke and load tests."""

from __future__ import annotations

import click

from . import TOOL_COMMAND
from .backup_cli import backup
from .cli_support import OpsGroup
from .drill_cli import drill
from .etcd_cli import etcd
from .export_cli import export
from .load_cli import load
from .restore_cli import restore
from .smoke_cli import smoke


@click.group(cls=OpsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """DhakaCart operations: RDS backups, restores and exports; etcd snapshots; recovery drills; smoke
    and load tests of the shop.

    Identifiers (instance, bucket, role, key) come from `pulumi stack output --json` for --stack,
    or from flags when the Pulumi CLI is not at hand.
    """


# Each task brings its own command or group: a new task adds its `<task>_cli` command here.
TASK_COMMANDS: tuple[click.Command, ...] = (backup, restore, export, smoke, load, etcd, drill)
for task_command in TASK_COMMANDS:
    cli.add_command(task_command)


def main() -> None:
    cli(prog_name=TOOL_COMMAND)
