"""The ops tool: `python -m dhakacart_infra.ops` (backups, restores, exports, smoke and load tests,
etcd snapshots and recovery drills).

It replaces the old platform's db-backup.sh, integration-test.sh and load-test.sh.

Layout: each task is a module that does the work on boto3 clients and prints nothing (backup.py,
restore.py with cutover.py, export.py, smoke.py, load.py, etcd.py, drill.py with drill_database.py
and drill_etcd.py) next to a `<task>_cli.py` with its click commands (tunnel.py: the SSM port
forward the database drill checks through); rds.py holds what the RDS tasks share,
cli_support.py what the commands share (context, error handling, --stack and identifier flags,
prompts), and cli.py the root group, which adds each task's commands. A new task is `<task>.py`
+ `<task>_cli.py` + one entry in cli.TASK_COMMANDS.
"""

# How operators run the tool; messages that tell them what to run next use it.
TOOL_COMMAND = "python -m dhakacart_infra.ops"
