"""drill etcd: a scratch server (moto's EC2) restores the newest snapshot of this stack's folder,
the counts come back through a runner (SSM in real life, injected here), the server is always
terminated, and refusals launch nothing."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner

from dhakacart_infra.names import StackOutput
from dhakacart_infra.ops.cli import cli
from dhakacart_infra.ops.cli_support import OpsContext
from dhakacart_infra.ops.drill_etcd import (
    DRILL_TAINT,
    RemoteResult,
    SsmRunner,
    count_commands,
    parse_counts,
)
from dhakacart_infra.ops.progress import Waiter

from .conftest import REGION, FakeClock, StackWorld

ETCD_BUCKET = "dhakacart-dev-etcd-abc123"
FOLDER = "etcd-snapshots"
T0 = 1_795_000_000
NOW = datetime.fromtimestamp(T0 + 3 * 3600, UTC)
RESTORED = (
    "state=restored\nrestore_started=1795000100\nrestored_at=1795000400\n"
    "namespaces=9\ndeployments=14\nobjects=120\nshop_namespace=1\n"
)


class FakeRunner:
    """Online after two polls; the restore finishes after `restoring` more runs; then `final`."""

    def __init__(self, clock: FakeClock, restoring: int = 2, final: str = RESTORED, status: str = "Success"):
        self.clock, self.restoring, self.final, self.status = clock, restoring, final, status
        self.polls = 0
        self.runs: list[tuple[str, list[str]]] = []
        self.seen: list[dict[str, Any]] = []  # the scratch server while it runs

    def online(self, instance_id: str) -> bool:
        self.polls += 1
        if self.polls == 1:
            self.seen = [i for i in instances() if i["InstanceId"] == instance_id]
        return self.polls > 2

    def run(self, instance_id: str, commands: list[str]) -> RemoteResult:
        self.runs.append((instance_id, commands))
        self.clock.sleep(30)  # a command takes time
        if len(self.runs) <= self.restoring:
            return RemoteResult("Failed", 3, "state=restoring\n")
        return RemoteResult(self.status, 0 if self.status == "Success" else 4, self.final)


@pytest.fixture
def etcd_world(world: StackWorld) -> StackWorld:
    world.s3.create_bucket(Bucket=ETCD_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ec2 = boto3.client("ec2", region_name=REGION)
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    iam = boto3.client("iam", region_name=REGION)
    iam.create_instance_profile(InstanceProfileName="dhakacart-dev-etcd-drill")
    world.extra_outputs.update(
        {
            StackOutput.ETCD_SNAPSHOT_BUCKET: ETCD_BUCKET,
            StackOutput.ETCD_SNAPSHOT_FOLDER: FOLDER,
            StackOutput.K3S_VERSION: "v1.35.8+k3s1",
            StackOutput.K3S_AMI_ID: ami,
            StackOutput.ETCD_DRILL_SUBNET_ID: subnet,
            StackOutput.ETCD_DRILL_SECURITY_GROUP_ID: world.security_group_id,
            StackOutput.ETCD_DRILL_INSTANCE_PROFILE: "dhakacart-dev-etcd-drill",
            StackOutput.ETCD_DRILL_TOKEN_PARAMETER: "/dhakacart/dev/k3s/etcd-drill-token",
        }
    )
    return world


def put(world: StackWorld, key: str) -> None:
    world.s3.put_object(Bucket=ETCD_BUCKET, Key=key, Body=b"etcd")


def invoke(world: StackWorld, runner: FakeRunner | None, *args: str):
    context = OpsContext(
        waiter=Waiter(sleep=world.clock.sleep, clock=world.clock, poll_interval=20),
        is_tty=lambda: False,
        read_outputs=lambda stack: world.outputs(),
        selected_stack=world.selected_stack,
        etcd_runner=runner,
    )
    context.now = lambda: NOW
    return CliRunner().invoke(cli, ["drill", "etcd", *args], obj=context, catch_exceptions=False)


def instances() -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]


def user_data(instance_id: str) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    value = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")["UserData"]["Value"]
    return base64.b64decode(value).decode()


def test_the_newest_snapshot_is_restored_on_a_scratch_server_counted_and_terminated(
    etcd_world: StackWorld, tmp_path: Path
) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0 - 3600}")
    put(etcd_world, f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0}")
    runner = FakeRunner(etcd_world.clock)
    result = invoke(etcd_world, runner, "--stack", "dev", "--record-dir", str(tmp_path))
    assert result.exit_code == 0, result.output

    [instance] = instances()
    assert instance["State"]["Name"] == "terminated"
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags["dhakacart-drill"] == "etcd" and tags["drill-expires-at"]
    [running] = runner.seen
    assert running["IamInstanceProfile"]["Arn"].endswith("/dhakacart-dev-etcd-drill")
    assert running["MetadataOptions"]["HttpTokens"] == "required"
    [interface] = running["NetworkInterfaces"]
    assert [g["GroupId"] for g in interface["Groups"]] == [etcd_world.security_group_id]
    script = user_data(instance["InstanceId"])
    assert f"SNAPSHOT=etcd-snapshot-ip-10-20-0-5-{T0}\n" in script
    assert 'k3s server --cluster-reset --cluster-reset-restore-path="$SNAPSHOT" --etcd-s3' in script
    assert '--etcd-s3-bucket="$BUCKET" --etcd-s3-folder="$FOLDER"' in script
    assert f"BUCKET={ETCD_BUCKET}\n" in script and "K3S_VERSION=v1.35.8+k3s1" in script
    assert "etcd-disable-snapshots: true" in script  # the scratch server never writes the real folder
    assert DRILL_TAINT in script  # nothing restored runs on it
    assert "--with-decryption" in script and 'token: "$TOKEN"' in script  # token from SSM, into a 0600 file
    assert all(cmd == count_commands() for _, cmd in runner.runs)

    [path] = list(tmp_path.glob("*.json"))
    record = json.loads(path.read_text())
    assert record["succeeded"] is True and record["backup"] == f"{FOLDER}/etcd-snapshot-ip-10-20-0-5-{T0}"
    assert record["data_loss_seconds"] == 3 * 3600
    assert record["checks"] == {
        "namespaces": 9,
        "deployments": 14,
        "objects": 120,
        "shop_namespace_present": True,
    }
    # two offline polls (20 s each), two runs still restoring (30 s + 20 s each), one that counts (30 s)
    assert record["recovery_seconds"] == 20 + 20 + 2 * (30 + 20) + 30
    assert record["metric_published"] is True
    assert "objects" in result.output and "SUCCEEDED" in result.output


def test_a_restore_that_failed_on_the_server_fails_the_drill_and_terminates(
    etcd_world: StackWorld, tmp_path: Path
) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    runner = FakeRunner(etcd_world.clock, final="state=failed\nfailed at line 30\n", status="Failed")
    result = invoke(etcd_world, runner, "--record-dir", str(tmp_path))
    assert result.exit_code == 1 and "could not restore the snapshot" in result.output
    [instance] = instances()
    assert instance["State"]["Name"] == "terminated"
    record = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert record["succeeded"] is False and record["metric_published"] is False


def test_a_restored_cluster_without_the_shop_fails_the_drill(etcd_world: StackWorld, tmp_path: Path) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    final = RESTORED.replace("shop_namespace=1", "shop_namespace=0")
    result = invoke(etcd_world, FakeRunner(etcd_world.clock, final=final), "--record-dir", str(tmp_path))
    assert result.exit_code == 1 and "has no namespace 'dhakacart'" in result.output
    assert instances()[0]["State"]["Name"] == "terminated"


def test_a_restore_that_never_finishes_times_out_and_terminates(
    etcd_world: StackWorld, tmp_path: Path
) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    runner = FakeRunner(etcd_world.clock, restoring=10_000)
    result = invoke(etcd_world, runner, "--timeout", "600", "--record-dir", str(tmp_path))
    assert result.exit_code == 1 and "still 'restore restoring'" in result.output
    assert instances()[0]["State"]["Name"] == "terminated"


def refused(world: StackWorld, tmp_path: Path, *args: str) -> str:
    runner = FakeRunner(world.clock)
    result = invoke(world, runner, *args, "--record-dir", str(tmp_path))
    assert result.exit_code == 1, result.output
    assert instances() == [] and runner.runs == [] and not list(tmp_path.glob("*"))
    return result.output


def test_refuses_a_snapshot_that_is_not_in_this_stacks_folder(etcd_world: StackWorld, tmp_path: Path) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    put(etcd_world, f"other-cluster/etcd-snapshot-b-{T0}")
    output = refused(etcd_world, tmp_path, "--snapshot", f"other-cluster/etcd-snapshot-b-{T0}")
    assert "is not one of this stack's etcd snapshots" in output


def test_refuses_when_there_are_no_snapshots(etcd_world: StackWorld, tmp_path: Path) -> None:
    assert "no etcd snapshots in" in refused(etcd_world, tmp_path)


def test_refuses_without_the_etcd_drill_outputs(etcd_world: StackWorld, tmp_path: Path) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    etcd_world.extra_outputs[StackOutput.ETCD_DRILL_INSTANCE_PROFILE] = ""
    assert f"no output {StackOutput.ETCD_DRILL_INSTANCE_PROFILE}" in refused(etcd_world, tmp_path)


def test_dry_run_launches_nothing(etcd_world: StackWorld, tmp_path: Path) -> None:
    put(etcd_world, f"{FOLDER}/etcd-snapshot-a-{T0}")
    result = invoke(etcd_world, FakeRunner(etcd_world.clock), "--dry-run")
    assert result.exit_code == 0 and "would restore etcd-snapshots/etcd-snapshot-a-" in result.output
    assert '"HttpTokens": "required"' in result.output and instances() == []


def test_the_counts_are_read_from_key_value_lines() -> None:
    assert parse_counts("noise\nstate=restored\nobjects=5\n") == {"state": "restored", "objects": "5"}


class ScriptedSsm:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses, self.sent = statuses, []

    def send_command(self, **kwargs: Any) -> dict[str, Any]:
        self.sent.append(kwargs)
        return {"Command": {"CommandId": "c-1"}}

    def get_command_invocation(self, CommandId: str, InstanceId: str) -> dict[str, Any]:
        status = self.statuses.pop(0)
        if status == "missing":
            raise ClientError({"Error": {"Code": "InvocationDoesNotExist"}}, "GetCommandInvocation")
        return {"Status": status, "ResponseCode": 0, "StandardOutputContent": "state=restored\n"}


def test_the_ssm_runner_polls_the_invocation_until_it_ends() -> None:
    ssm = ScriptedSsm(["missing", "Pending", "InProgress", "Success"])
    clock = FakeClock()
    result = SsmRunner(ssm, clock.waiter(5)).run("i-1", ["echo state=restored"])
    assert result == RemoteResult("Success", 0, "state=restored\n")
    assert ssm.sent[0]["DocumentName"] == "AWS-RunShellScript"
    assert ssm.sent[0]["Parameters"] == {"commands": ["echo state=restored"]} and len(clock.sleeps) == 3


def test_the_ssm_runner_sends_through_moto(etcd_world: StackWorld) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    ami = etcd_world.outputs()[StackOutput.K3S_AMI_ID]
    instance_id = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ssm = boto3.client("ssm", region_name=REGION)
    result = SsmRunner(ssm, FakeClock().waiter(5)).run(instance_id, ["echo state=restored"])
    assert result.status == "Success"  # moto runs nothing, but accepts and reports the command
