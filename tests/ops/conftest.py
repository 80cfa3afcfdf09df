"""moto in-process AWS with the stack's database shape, and the ops CLI wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from moto import mock_aws

from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.cli_support import OpsContext
from dhakacart_infra.ops.progress import Waiter

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
            "databaseInstanceId": INSTANCE,
            "databaseSubnetGroup": self.subnet_group,
            "databaseParameterGroup": self.parameter_group,
            "databaseSecurityGroupId": self.security_group_id,
            "databaseKmsKeyArn": self.kms_key_arn,
            "snapshotExportBucket": self.bucket,
            "snapshotExportRoleArn": self.role_arn,
            "snapshotExportKmsKeyArn": self.export_key_arn,
            "region": REGION,
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


def utcnow() -> datetime:
    return datetime.now(UTC)
