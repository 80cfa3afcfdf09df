"""The database drill's way into the private subnets (an SSM port forward), and its SQL check's
failure that never shows the password."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from typing import Any

import pytest

from dhakacart_infra.ops.drill_database import DrillDatabase, SqlDatabaseChecker
from dhakacart_infra.ops.errors import OpsError
from dhakacart_infra.ops.tunnel import (
    PORT_FORWARD_DOCUMENT,
    direct,
    port_forward_command,
    ssm_port_forward,
)


def test_the_forward_is_the_documented_ssm_session_to_a_remote_host() -> None:
    command = port_forward_command("i-0abc", "ap-south-1", "drill.abc.rds.amazonaws.com", 5432, 15432)
    assert command[:6] == ["aws", "ssm", "start-session", "--target", "i-0abc", "--document-name"]
    assert command[6] == PORT_FORWARD_DOCUMENT == "AWS-StartPortForwardingSessionToRemoteHost"
    parameters = json.loads(command[command.index("--parameters") + 1])
    assert parameters == {
        "host": ["drill.abc.rds.amazonaws.com"],
        "portNumber": ["5432"],
        "localPortNumber": ["15432"],
    }
    assert command[-2:] == ["--region", "ap-south-1"]


def test_without_the_plugin_it_says_what_to_install() -> None:
    def which(tool: str) -> str | None:
        return None if tool == "session-manager-plugin" else f"/usr/bin/{tool}"

    with (
        pytest.raises(OpsError, match="Session Manager plugin"),
        ssm_port_forward("i-1", None, "h", 5432, which=which),
    ):
        pass


def test_the_forward_yields_a_local_port_once_it_listens_and_stops_the_session() -> None:
    started: list[subprocess.Popen[bytes]] = []

    def popen(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        # Stands in for `aws ssm start-session`: listens on the local port it was given.
        port = json.loads(command[command.index("--parameters") + 1])["localPortNumber"][0]
        server = (
            "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
            f"s.bind(('127.0.0.1',{port}));s.listen();time.sleep(60)"
        )
        process = subprocess.Popen([sys.executable, "-c", server], **kwargs)
        started.append(process)
        return process

    with ssm_port_forward("i-1", "ap-south-1", "h", 5432, which=lambda t: t, popen=popen) as (host, port):
        assert host == "127.0.0.1"
        with socket.create_connection((host, port), timeout=5):
            pass
    [process] = started
    assert process.poll() is not None  # the session ends with the check


def test_a_session_that_ends_at_once_is_reported_with_its_error() -> None:
    def popen(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        script = "import sys; sys.stderr.write('TargetNotConnected: i-1 is not connected'); sys.exit(254)"
        return subprocess.Popen([sys.executable, "-c", script], **kwargs)

    with (
        pytest.raises(OpsError, match="TargetNotConnected"),
        ssm_port_forward("i-1", None, "h", 5432, which=lambda t: t, popen=popen),
    ):
        pass


def test_a_failed_check_never_shows_the_password() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    database = DrillDatabase("drill-1", "127.0.0.1", closed_port, "dhakacart", "app", "s3cr3t-Pa55word-x")
    checker = SqlDatabaseChecker(reach=lambda db: direct(db.address, db.port), heads=lambda: ("0001",))
    with pytest.raises(OpsError) as failed:
        checker.check(database)
    assert "s3cr3t" not in str(failed.value) and failed.value.__cause__ is None
    assert "could not check the restored database drill-1" in str(failed.value)
    assert "s3cr3t" not in repr(database)
