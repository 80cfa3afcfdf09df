"""The etcd drill: restore the newest etcd snapshot on a scratch server, count what came back, terminate it.

The scratch server is an EC2 instance with the stack's etcd-drill identity (aws/etcd_drill.py: a
role that can only read the snapshots and the token, a security group that lets nothing in and only
HTTPS out). Its user data installs the cluster's pinned K3s and runs
`k3s server --cluster-reset --cluster-reset-restore-path=<snapshot> --etcd-s3 ...` against the
stack's bucket and folder, with the token read from its SSM parameter into K3s's config file (never
a command line), taints itself so no restored workload runs, and writes a marker when the API
answers. The drill then counts namespaces, deployments and all objects through SSM Run Command
(a `RemoteRunner`; tests inject their own) and, whatever happens, terminates the instance.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..names import ETCD_DRILL, SHOP_NAMESPACE, SSM_SHELL_DOCUMENT, StackOutput
from .drill import DRILL_FAILURES, DRILL_TAG, DrillFailedError, DrillRecord, drill_failure, drill_tags
from .errors import MissingIdentifierError, OpsError, RefusedError, RemoteFailureError, WaitTimeoutError
from .etcd import EtcdSnapshot, choose_snapshot, list_etcd_snapshots
from .progress import Waiter
from .rds import error_code

MARKER_DIR = "/var/lib/dhakacart-drill"
LOG_FILE = "/var/log/dhakacart-etcd-drill.log"
# The restored node carries this taint: nothing of the restored cluster is scheduled on it.
DRILL_TAINT = "dhakacart.io/etcd-drill=true:NoExecute"
DEFAULT_INSTANCE_TYPE = "t3.medium"
# What the scratch server needs from the stack (beyond the bucket and folder).
LAUNCH_OUTPUTS = (
    StackOutput.K3S_VERSION,
    StackOutput.K3S_AMI_ID,
    StackOutput.ETCD_DRILL_SUBNET_ID,
    StackOutput.ETCD_DRILL_SECURITY_GROUP_ID,
    StackOutput.ETCD_DRILL_INSTANCE_PROFILE,
    StackOutput.ETCD_DRILL_TOKEN_PARAMETER,
)
_PLAIN = re.compile(r"^[A-Za-z0-9._:/+=@-]+$")


@dataclass(frozen=True)
class ScratchSettings:
    region: str
    bucket: str
    folder: str
    snapshot: EtcdSnapshot
    k3s_version: str
    ami_id: str
    subnet_id: str
    security_group_id: str
    instance_profile: str
    token_parameter: str
    instance_type: str = DEFAULT_INSTANCE_TYPE


def _plain(name: str, value: str) -> str:
    if not _PLAIN.match(value):
        raise RefusedError(f"{name} {value!r} is not a plain word; refusing to put it into a shell script")
    return value


def scratch_user_data(s: ScratchSettings) -> str:
    """The scratch server's boot script: install K3s, restore the snapshot from S3, mark the result."""
    values = {
        "REGION": _plain("AWS region", s.region),
        "BUCKET": _plain("bucket", s.bucket),
        "FOLDER": _plain("folder", s.folder),
        "SNAPSHOT": _plain("snapshot", s.snapshot.name),
        "K3S_VERSION": _plain("k3s version", s.k3s_version),
        "TOKEN_PARAMETER": _plain("token parameter", s.token_parameter),
    }
    assignments = "\n".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
    return f"""#!/bin/bash
# dhakacart etcd restore drill: a scratch server, terminated by the drill when it is done.
set -euo pipefail
exec > >(tee -a {LOG_FILE}) 2>&1
{assignments}
install -d -m 0700 {MARKER_DIR}
trap 'echo "failed at line $LINENO" > {MARKER_DIR}/failed' ERR

for _ in $(seq 1 10); do snap install aws-cli --classic && break; sleep 10; done
umask 077
install -d -m 0700 /etc/rancher/k3s
TOKEN=$(/snap/bin/aws ssm get-parameter --region "$REGION" --name "$TOKEN_PARAMETER" --with-decryption \\
  --query Parameter.Value --output text)
# The token only in K3s's config file (mode 0600), never on a command line.
cat > /etc/rancher/k3s/config.yaml <<CONFIG
token: "$TOKEN"
secrets-encryption: true
write-kubeconfig-mode: "0600"
node-taint:
  - "{DRILL_TAINT}"
etcd-disable-snapshots: true
etcd-s3: true
etcd-s3-bucket: "$BUCKET"
etcd-s3-folder: "$FOLDER"
etcd-s3-region: "$REGION"
CONFIG
unset TOKEN

for _ in $(seq 1 10); do curl -sfL https://get.k3s.io -o /run/k3s-install.sh && break; sleep 10; done
INSTALL_K3S_SKIP_START=true INSTALL_K3S_VERSION="$K3S_VERSION" sh /run/k3s-install.sh server
date -u +%s > {MARKER_DIR}/restore-started
k3s server --cluster-reset --cluster-reset-restore-path="$SNAPSHOT" --etcd-s3 \\
  --etcd-s3-bucket="$BUCKET" --etcd-s3-folder="$FOLDER" --etcd-s3-region="$REGION"
systemctl start k3s
for _ in $(seq 1 120); do
  if k3s kubectl get --raw /readyz >/dev/null 2>&1; then break; fi
  sleep 5
done
k3s kubectl get --raw /readyz
date -u +%s > {MARKER_DIR}/restored
"""


def count_commands() -> list[str]:
    """What SSM runs on the scratch server once it says it restored: key=value lines."""
    return [
        "set -eu",
        f"if [ -f {MARKER_DIR}/failed ]; then echo state=failed; cat {MARKER_DIR}/failed; "
        f"tail -n 40 {LOG_FILE}; exit 4; fi",
        f"if [ ! -f {MARKER_DIR}/restored ]; then echo state=restoring; exit 3; fi",
        "echo state=restored",
        f"echo restore_started=$(cat {MARKER_DIR}/restore-started)",
        f"echo restored_at=$(cat {MARKER_DIR}/restored)",
        "echo namespaces=$(k3s kubectl get namespaces --no-headers | wc -l)",
        "echo deployments=$(k3s kubectl get deployments -A --no-headers | wc -l)",
        "echo objects=$(k3s kubectl get all -A --no-headers | wc -l)",
        f"echo shop_namespace=$(k3s kubectl get namespace {SHOP_NAMESPACE} --no-headers 2>/dev/null | wc -l)",
    ]


def parse_counts(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if re.match(r"^[a-z_]+=", line))


@dataclass(frozen=True)
class RemoteResult:
    status: str
    """"Success", "Failed", "Pending", ... as SSM reports the command invocation."""
    exit_code: int | None
    stdout: str


class RemoteRunner(Protocol):
    """Runs shell commands on an instance (the real one: SSM Run Command)."""

    def online(self, instance_id: str) -> bool: ...

    def run(self, instance_id: str, commands: list[str]) -> RemoteResult: ...


@dataclass
class SsmRunner:
    """SSM Run Command with AWS-RunShellScript; polls the invocation until it ends."""

    ssm: Any
    waiter: Waiter
    command_timeout: float = 300

    def online(self, instance_id: str) -> bool:
        found = self.ssm.describe_instance_information(
            Filters=[{"Key": "InstanceIds", "Values": [instance_id]}]
        ).get("InstanceInformationList", [])
        return any(i.get("PingStatus") == "Online" for i in found)

    def run(self, instance_id: str, commands: list[str]) -> RemoteResult:
        sent = self.ssm.send_command(
            InstanceIds=[instance_id],
            DocumentName=SSM_SHELL_DOCUMENT,
            Comment="dhakacart etcd drill: count the restored objects",
            Parameters={"commands": commands},
            TimeoutSeconds=60,
        )
        command_id = sent["Command"]["CommandId"]
        start = self.waiter.clock()
        while True:
            try:
                invocation = self.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
            except ClientError as exc:
                if error_code(exc) != "InvocationDoesNotExist":
                    raise
                invocation = {"Status": "Pending"}
            status = str(invocation.get("Status"))
            if status not in ("Pending", "InProgress", "Delayed"):
                code = invocation.get("ResponseCode")
                return RemoteResult(
                    status,
                    int(code) if code is not None else None,
                    invocation.get("StandardOutputContent", "") or "",
                )
            if self.waiter.clock() - start >= self.command_timeout:
                return RemoteResult("TimedOut", None, "")
            self.waiter.sleep(min(self.waiter.poll_interval, 5))


@dataclass(frozen=True)
class EtcdDrillPlan:
    settings: ScratchSettings
    request: dict[str, Any]
    stack: str


def _require(outputs: Mapping[StackOutput, str | None]) -> dict[StackOutput, str]:
    missing = [str(o) for o in LAUNCH_OUTPUTS if not outputs.get(o)]
    if missing:
        raise MissingIdentifierError(
            f"the stack has no output {', '.join(missing)}: the etcd drill launches its scratch server "
            "with the stack's etcd-drill role, security group and token parameter; deploy the stack "
            "(`pulumi up`, which creates EtcdDrillAccess) and check `pulumi stack output`"
        )
    return {o: str(outputs[o]) for o in LAUNCH_OUTPUTS}


def plan_etcd_drill(
    s3: Any,
    *,
    stack: str,
    region: str,
    bucket: str,
    folder: str,
    outputs: Mapping[StackOutput, str | None],
    now: datetime,
    created_by: str,
    snapshot_name: str | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
) -> EtcdDrillPlan:
    """Every check and the run_instances request; changes nothing."""
    given = _require(outputs)
    snapshots = list_etcd_snapshots(s3, bucket, folder)  # refuses an empty folder
    snapshot = choose_snapshot(snapshots, bucket, folder, snapshot_name)  # refuses another folder's
    settings = ScratchSettings(
        region=region,
        bucket=bucket,
        folder=folder,
        snapshot=snapshot,
        k3s_version=given[StackOutput.K3S_VERSION],
        ami_id=given[StackOutput.K3S_AMI_ID],
        subnet_id=given[StackOutput.ETCD_DRILL_SUBNET_ID],
        security_group_id=given[StackOutput.ETCD_DRILL_SECURITY_GROUP_ID],
        instance_profile=given[StackOutput.ETCD_DRILL_INSTANCE_PROFILE],
        token_parameter=given[StackOutput.ETCD_DRILL_TOKEN_PARAMETER],
        instance_type=instance_type,
    )
    tags = [*drill_tags(ETCD_DRILL, stack, now, created_by), {"Key": "Name", "Value": f"{stack}-etcd-drill"}]
    request = {
        "ImageId": settings.ami_id,
        "InstanceType": settings.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "IamInstanceProfile": {"Name": settings.instance_profile},
        "NetworkInterfaces": [
            {
                "DeviceIndex": 0,
                "SubnetId": settings.subnet_id,
                "Groups": [settings.security_group_id],
                # Egress without a NAT gateway, as the servers have; its group lets nothing in.
                "AssociatePublicIpAddress": True,
                "DeleteOnTermination": True,
            }
        ],
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 1,
        },
        "BlockDeviceMappings": [
            {"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "Encrypted": True}}
        ],
        "InstanceInitiatedShutdownBehavior": "terminate",
        "UserData": scratch_user_data(settings),
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": tags},
        ],
    }
    return EtcdDrillPlan(settings, request, stack)


def _terminate(ec2: Any, instance_id: str) -> None:
    """Terminates the scratch server, and only a drill-tagged one."""
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    instance = reservations[0]["Instances"][0] if reservations else {}
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags") or []}
    if tags.get(DRILL_TAG) != ETCD_DRILL:
        raise OpsError(f"refusing to terminate {instance_id}: it is not tagged {DRILL_TAG}={ETCD_DRILL}")
    ec2.terminate_instances(InstanceIds=[instance_id])


def run_etcd_drill(
    ec2: Any,
    runner: RemoteRunner,
    plan: EtcdDrillPlan,
    *,
    now: Callable[[], datetime],
    waiter: Waiter,
    timeout: float,
    on_progress: Callable[[str], None] = lambda _: None,
) -> DrillRecord:
    """Launches, restores, counts and always terminates; raises DrillFailedError after cleaning up."""
    snapshot = plan.settings.snapshot
    record = DrillRecord(
        drill=ETCD_DRILL, stack=plan.stack, started=now(), backup=snapshot.key, backup_time=snapshot.taken
    )
    record.data_loss_seconds = (record.started - snapshot.taken.astimezone(UTC)).total_seconds()
    instance_id: str | None = None
    start = waiter.clock()
    try:
        instance_id = ec2.run_instances(**plan.request)["Instances"][0]["InstanceId"]
        record.created.append(f"ec2:{instance_id}")
        on_progress(f"scratch server {instance_id} restoring {snapshot.name}")
        counts = _wait_for_counts(runner, instance_id, start=start, timeout=timeout, waiter=waiter)
        record.checks = {
            "namespaces": int(counts.get("namespaces", 0)),
            "deployments": int(counts.get("deployments", 0)),
            "objects": int(counts.get("objects", 0)),
            "shop_namespace_present": counts.get("shop_namespace", "0").strip() == "1",
        }
        problems = []
        if record.checks["namespaces"] < 1 or record.checks["objects"] < 1:
            problems.append("the restored cluster has no namespaces or objects")
        if not record.checks["shop_namespace_present"]:
            problems.append(f"the restored cluster has no namespace {SHOP_NAMESPACE!r}")
        if problems:
            raise RemoteFailureError("the etcd snapshot restored, but " + "; ".join(problems))
        record.recovery_seconds = waiter.clock() - start
        record.succeeded = True
    except DRILL_FAILURES as exc:
        raise drill_failure(exc, record) from exc
    finally:
        cleanup_error: Exception | None = None
        if instance_id is not None:
            try:
                _terminate(ec2, instance_id)
                record.cleaned_up.append(f"ec2:{instance_id}")
                on_progress(f"terminating {instance_id}")
            except (OpsError, ClientError, BotoCoreError) as exc:
                cleanup_error = exc
                hint = f"terminate it by hand: aws ec2 terminate-instances --instance-ids {instance_id}"
                record.error = (
                    f"{record.error + '; ' if record.error else ''}could not terminate ({exc}); {hint}"
                )
                record.succeeded = False
        record.finished = now()
        if cleanup_error is not None:
            raise DrillFailedError(record.error or "", record) from cleanup_error
    return record


def _wait_for_counts(
    runner: RemoteRunner, instance_id: str, *, start: float, timeout: float, waiter: Waiter
) -> dict[str, str]:
    last = "waiting for the instance to come online in SSM"
    while True:
        if runner.online(instance_id):
            result = runner.run(instance_id, count_commands())
            values = parse_counts(result.stdout)
            state = values.get("state")
            if state == "restored" and result.status == "Success":
                return values
            if state == "failed":
                raise RemoteFailureError(
                    f"the scratch server could not restore the snapshot: {result.stdout.strip()[-1500:]}"
                )
            last = f"restore {state or result.status}"
        elapsed = waiter.clock() - start
        if elapsed >= timeout:
            raise WaitTimeoutError(
                f"etcd restore on {instance_id}: still {last!r} after {elapsed:.0f}s "
                f"(--timeout {timeout:.0f}); its log is {LOG_FILE}"
            )
        waiter.sleep(waiter.poll_interval)
