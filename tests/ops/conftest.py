"""Fixtures of the ops tests: moto in-process AWS with the stack's database shape and the ops CLI
wired to it, a fake clock, the live shop under gunicorn, and a TLS server with a private CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from dhakacart_infra.names import StackOutput
from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.cli_support import OpsContext
from dhakacart_infra.ops.progress import Waiter
from tests.support.live_shop import LiveShop, live_shop

REGION = "ap-south-1"
INSTANCE = "dhakacart-dev-db"


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def waiter(self, poll_interval: float) -> Waiter:
        """A Waiter that sleeps on this clock, so a wait of an hour takes no time."""
        return Waiter(sleep=self.sleep, clock=self, poll_interval=poll_interval)


class ScriptedRds:
    """An RDS client whose one instance, snapshot or export task walks through `states`, one per
    describe call, then stays at the last (moto's reach their final state at once). A state of None
    is "not visible yet", answered like RDS: with a NotFound error."""

    def __init__(self, states: list[dict[str, Any] | None]) -> None:
        self.states = states
        self.polls = 0

    def _next(self, not_found: str, operation: str) -> dict[str, Any]:
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        if state is None:
            raise ClientError({"Error": {"Code": not_found, "Message": "not found"}}, operation)
        return state

    def describe_db_instances(self, DBInstanceIdentifier: str) -> dict[str, Any]:
        state = self._next("DBInstanceNotFound", "DescribeDBInstances")
        return {"DBInstances": [{"DBInstanceIdentifier": DBInstanceIdentifier, **state}]}

    def describe_db_snapshots(self, DBSnapshotIdentifier: str) -> dict[str, Any]:
        state = self._next("DBSnapshotNotFound", "DescribeDBSnapshots")
        return {"DBSnapshots": [{"DBSnapshotIdentifier": DBSnapshotIdentifier, **state}]}

    def describe_export_tasks(self, ExportTaskIdentifier: str) -> dict[str, Any]:
        state = self._next("ExportTaskNotFound", "DescribeExportTasks")
        return {"ExportTasks": [{"ExportTaskIdentifier": ExportTaskIdentifier, **state}]}


@dataclass
class StackWorld:
    rds: Any
    s3: Any
    kms_key_arn: str
    export_key_arn: str
    subnet_group: str
    parameter_group: str
    security_group_id: str
    bucket: str
    role_arn: str
    clock: FakeClock = field(default_factory=FakeClock)
    tty: bool = False
    # What `pulumi stack --show-name` would print (the stack chosen with `pulumi stack select`).
    selected_stack: Callable[[], str] = lambda: "dev"
    extra_outputs: dict[str, Any] = field(default_factory=dict)

    def outputs(self) -> dict[str, Any]:
        return {
            StackOutput.DATABASE_INSTANCE_ID: INSTANCE,
            StackOutput.DATABASE_SUBNET_GROUP: self.subnet_group,
            StackOutput.DATABASE_PARAMETER_GROUP: self.parameter_group,
            StackOutput.DATABASE_SECURITY_GROUP_ID: self.security_group_id,
            StackOutput.DATABASE_KMS_KEY_ARN: self.kms_key_arn,
            StackOutput.SNAPSHOT_EXPORT_BUCKET: self.bucket,
            StackOutput.SNAPSHOT_EXPORT_ROLE_ARN: self.role_arn,
            StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN: self.export_key_arn,
            StackOutput.REGION: REGION,
            **self.extra_outputs,
        }

    def invoke(self, *args: str, now: datetime | None = None, input: str | None = None) -> Result:
        context = OpsContext(
            waiter=Waiter(sleep=self.clock.sleep, clock=self.clock, poll_interval=5),
            is_tty=lambda: self.tty,
            read_outputs=lambda stack: self.outputs(),
            selected_stack=self.selected_stack,
        )
        if now is not None:
            context.now = lambda: now
        return CliRunner().invoke(cli, list(args), obj=context, input=input, catch_exceptions=False)

    def take_snapshot(self, snapshot_id: str = f"{INSTANCE}-drill") -> str:
        """A manual snapshot of the live instance, made directly (not by the command under test)."""
        self.rds.create_db_snapshot(DBSnapshotIdentifier=snapshot_id, DBInstanceIdentifier=INSTANCE)
        return snapshot_id

    def manual_snapshot_ids(self) -> list[str]:
        snapshots = self.rds.describe_db_snapshots(DBInstanceIdentifier=INSTANCE, SnapshotType="manual")
        return sorted(s["DBSnapshotIdentifier"] for s in snapshots["DBSnapshots"])

    def instance(self, name: str) -> dict[str, Any] | None:
        found = self.rds.describe_db_instances()["DBInstances"]
        return next((i for i in found if i["DBInstanceIdentifier"] == name), None)

    def instance_count(self) -> int:
        return len(self.rds.describe_db_instances()["DBInstances"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackWorld]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"{REGION}{az}")[
                "Subnet"
            ]["SubnetId"]
            for n, az in ((10, "a"), (11, "b"))
        ]
        sg = ec2.create_security_group(GroupName="db", Description="database", VpcId=vpc)["GroupId"]
        kms = boto3.client("kms", region_name=REGION)
        key_arn = kms.create_key(Description="database")["KeyMetadata"]["Arn"]
        export_key_arn = kms.create_key(Description="exports")["KeyMetadata"]["Arn"]
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_subnet_group(
            DBSubnetGroupName="dhakacart-dev-db-subnets",
            DBSubnetGroupDescription="private",
            SubnetIds=subnets,
        )
        rds.create_db_parameter_group(
            DBParameterGroupName="dhakacart-dev-pg16", DBParameterGroupFamily="postgres16", Description="pg"
        )
        rds.create_db_instance(
            DBInstanceIdentifier=INSTANCE,
            DBInstanceClass="db.t4g.micro",
            Engine="postgres",
            EngineVersion="16.4",
            AllocatedStorage=20,
            MasterUsername="dhakacart",
            MasterUserPassword="not-a-real-password-1",
            DBSubnetGroupName="dhakacart-dev-db-subnets",
            DBParameterGroupName="dhakacart-dev-pg16",
            VpcSecurityGroupIds=[sg],
            StorageEncrypted=True,
            KmsKeyId=key_arn,
            BackupRetentionPeriod=7,
            MultiAZ=False,
            PubliclyAccessible=False,
            CopyTagsToSnapshot=True,
            DeletionProtection=True,
            Tags=[{"Key": "project", "Value": "dhakacart"}, {"Key": "stack", "Value": "dev"}],
        )
        s3 = boto3.client("s3", region_name=REGION)
        bucket = "dhakacart-dev-snapshot-exports-abc123"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield StackWorld(
            rds=rds,
            s3=s3,
            kms_key_arn=key_arn,
            export_key_arn=export_key_arn,
            subnet_group="dhakacart-dev-db-subnets",
            parameter_group="dhakacart-dev-pg16",
            security_group_id=sg,
            bucket=bucket,
            role_arn="arn:aws:iam::123456789012:role/dhakacart-dev-snapshot-export",
        )


@pytest.fixture(scope="module")
def shop() -> Iterator[LiveShop]:
    """The real shop, migrated and seeded, one per test module (a load run's orders stay in it)."""
    with live_shop() as running:
        yield running


# The TLS server's certificate expires then; the smoke tests read it back over a real handshake.
NOT_AFTER = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """An https server on 127.0.0.1 that answers 404, and the PEM file of its self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(NOT_AFTER)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert_file
    finally:
        server.shutdown()
        server.server_close()
