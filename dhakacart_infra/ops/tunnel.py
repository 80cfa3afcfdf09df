"""A TCP path into the VPC's private subnets: an SSM port forward through one of the cluster's servers.

The database lives in private subnets whose security group admits only the cluster's nodes, so the
drill reaches a restored copy the way an operator would: `aws ssm start-session` with the
AWS-StartPortForwardingSessionToRemoteHost document on a server, forwarding a local port to the
copy's endpoint. It needs the AWS CLI v2 and the Session Manager plugin on PATH.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..names import SSM_PORT_FORWARD_DOCUMENT
from .errors import OpsError

PORT_FORWARD_DOCUMENT = SSM_PORT_FORWARD_DOCUMENT
READY_TIMEOUT_SECONDS = 60


def free_local_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_forward_command(
    server_id: str, region: str | None, host: str, port: int, local_port: int
) -> list[str]:
    parameters = {"host": [host], "portNumber": [str(port)], "localPortNumber": [str(local_port)]}
    command = ["aws", "ssm", "start-session", "--target", server_id, "--document-name", PORT_FORWARD_DOCUMENT]
    command += ["--parameters", json.dumps(parameters)]
    if region:
        command += ["--region", region]
    return command


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def ssm_port_forward(
    server_id: str,
    region: str | None,
    host: str,
    port: int,
    *,
    which: Callable[[str], str | None] = shutil.which,
    popen: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen,
    ready_timeout: float = READY_TIMEOUT_SECONDS,
) -> Iterator[tuple[str, int]]:
    """Yields ("127.0.0.1", local port) while the forward runs; stops the session afterwards."""
    for tool in ("aws", "session-manager-plugin"):
        if which(tool) is None:
            raise OpsError(
                f"`{tool}` is not on PATH: the drill reaches the private database through an SSM port "
                "forward (install the AWS CLI v2 and the Session Manager plugin), or run it from inside "
                "the VPC with --direct"
            )
    local_port = free_local_port()
    command = port_forward_command(server_id, region, host, port, local_port)
    process = popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + ready_timeout
        while not _listening(local_port):
            if process.poll() is not None:
                error = (process.stderr.read() if process.stderr else b"").decode(errors="replace")[-500:]
                raise OpsError(
                    f"the SSM port forward through {server_id} ended (exit {process.returncode}): "
                    f"{error.strip()}; check that the server is online in SSM and the credentials may "
                    "ssm:StartSession on it"
                )
            if time.monotonic() > deadline:
                raise OpsError(
                    f"the SSM port forward through {server_id} did not open within {ready_timeout:.0f}s"
                )
            time.sleep(0.5)
        yield "127.0.0.1", local_port
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@contextmanager
def direct(host: str, port: int) -> Iterator[tuple[str, int]]:
    """No tunnel: the caller already runs where the endpoint is reachable (inside the VPC)."""
    yield host, port
