"""Every stack configuration key, declared once, as data.

A `Key` says what the value is (its kind: how it parses and why it is refused), what it is for,
an example for the `pulumi config set` fix, and its default in dev and in prod. Everything else
follows from this table: the reader (reader.py), the production and cross-key rules (rules.py, by
key name), the `Pulumi.yaml` declarations and comments and the configuration reference in
docs/CONFIGURATION.md (docs.py writes both; a test keeps them equal to this table).

Longer than the other modules on purpose: it is one table, one entry per key, read top to bottom
by section; splitting it would scatter what a reviewer compares side by side.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .instance_types import INSTANCE_MEMORY_GIB, MIN_K3S_MEMORY_GIB
from .k3s_releases import RELEASE_PATTERN, validated_reason
from .kinds import (
    Boolean,
    Choice,
    CidrList,
    InstanceTypeList,
    Integer,
    Kind,
    OneOfIntegers,
    Secret,
    Text,
    Workload,
)

ENVIRONMENTS = ("dev", "prod")
_DAY = "(mo|tu|we|th|fr|sa|su)"
DAYS = rf"{_DAY}(,{_DAY})*"
CLOCK = r"([01]\d|2[0-3]):[0-5]\d"
CLOCK_REASON = "is not a time of day like 02:00 (HH:MM, 24 hours)"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # no default: the stack file must set it
OPTIONAL: Any = None  # no default, and none needed


@dataclass(frozen=True)
class Key:
    name: str
    kind: Kind
    section: str
    description: str
    example: str | Callable[[str], str]
    """The value the fix suggests; for a list or object, "<path> <value>" (e.g. "web.minReplicas 3")."""
    dev: Any = OPTIONAL
    prod: Any = None
    """Default in prod; None means the same as dev (a key whose default differs says so)."""
    namespace: str = "dhakacart"
    why_required: str = "is required"

    @property
    def full_name(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def secret(self) -> bool:
        return isinstance(self.kind, Secret)

    @property
    def required(self) -> bool:
        return self.dev is REQUIRED

    def default(self, environment: str) -> Any:
        if environment == "prod" and self.prod is not None:
            return self.prod
        return None if self.dev is REQUIRED else self.dev

    @property
    def varies_by_environment(self) -> bool:
        return self.prod is not None and self.prod != self.dev

    def example_for(self, stack: str) -> str:
        return self.example(stack) if callable(self.example) else self.example


# --- value checks used by the table ----------------------------------------------------------


def _vpc_cidr(text: str) -> str | None:
    try:
        network = ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        return f"is not a valid IPv4 network CIDR ({exc})"
    if not 16 <= network.prefixlen <= 20:
        return (
            "needs a prefix between /16 and /20 (AWS allows /16 at most, "
            "and six subnets of at least /23 must fit)"
        )
    if not network.is_private:
        return "must be a private (RFC 1918) range"
    return None


def _instance_type(text: str) -> str | None:
    memory = INSTANCE_MEMORY_GIB.get(text)
    if memory is None:
        known = sorted(t for t, m in INSTANCE_MEMORY_GIB.items() if m >= MIN_K3S_MEMORY_GIB)
        return "is not a known x86_64 instance type; known: " + ", ".join(known)
    if memory < MIN_K3S_MEMORY_GIB:
        return (
            f"has {memory:g} GiB of memory; the K3s server with the shop, Traefik, cert-manager, "
            f"Prometheus and Loki needs at least {MIN_K3S_MEMORY_GIB} GiB (the old platform's "
            "t2.micro has 1 GiB and cannot run this stack)"
        )
    return None


SUPPORTED_POSTGRES_MAJORS = range(14, 18)


def _engine_version(text: str) -> str | None:
    match = re.fullmatch(r"(\d+)(\.\d+)?", text)
    if not match or int(match.group(1)) not in SUPPORTED_POSTGRES_MAJORS:
        return "must be a PostgreSQL version from 14 to 17, like 16.8"
    return None


RESERVED_DB_NAMES = frozenset({"rdsadmin", "rdsrepladmin", "rds_superuser", "public"})


def _identifier(text: str) -> str | None:
    if re.fullmatch(r"[a-z][a-z0-9_]{0,62}", text) and text not in RESERVED_DB_NAMES:
        return None
    return (
        "must start with a lower-case letter, use only a-z, 0-9 and _, be at most "
        "63 characters and not be an RDS reserved name"
    )


def _domain_name(text: str) -> str | None:
    labels = text.split(".")
    if (
        text == text.lower()
        and len(labels) >= 2
        and labels[-1]
        and not labels[-1].isdigit()
        and all(re.fullmatch(r"(?!-)[a-z0-9-]{1,63}(?<!-)", label) for label in labels)
    ):
        return None
    return "is not a lower-case DNS name like shop.dhakacart.com (leave it empty to use <ip>.sslip.io)"


def _image_reference(text: str) -> str | None:
    name, _, digest = text.partition("@")
    last_slash, colon = name.rfind("/"), name.rfind(":")
    tag = name[colon + 1 :] if colon > last_slash else ""
    valid = (
        (not digest or re.fullmatch(r"sha256:[a-f0-9]{64}", digest))
        and tag
        and tag != "latest"
        and re.fullmatch(r"[a-z0-9]+([._:/-][a-z0-9]+)*", name[:colon])
        and re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag)
    )
    return (
        None
        if valid
        else (
            "must be an image reference with an explicit version tag that is not "
            "`latest` (e.g. ghcr.io/dhakacart/shop:1.0.0), so every rollout is reproducible"
        )
    )


EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
EMAIL_REASON = "is not a valid e-mail address"
LOKI_RETENTION = re.compile(r"([1-9][0-9]*)(h|d|w)")
HOURS_PER_UNIT = {"h": 1, "d": 24, "w": 24 * 7}


def retention_days(text: str) -> int:
    """ "168h", "7d" or "1w" -> 7: whole days (Loki's retention is a multiple of its 24h index period)."""
    match = LOKI_RETENTION.fullmatch(text)
    if not match:
        raise ValueError(text)
    hours = int(match.group(1)) * HOURS_PER_UNIT[match.group(2)]
    if hours % 24:
        raise ValueError(text)
    return hours // 24


def _loki_retention(text: str) -> str | None:
    try:
        retention_days(text)
    except ValueError:
        return (
            "must be whole days, written in hours, days or weeks (Loki's retention is a multiple of "
            "its 24h index period), like 168h, 7d or 4w"
        )
    return None


# CloudWatch Logs accepts only these retention periods (days).
CLOUDWATCH_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

DEV_WEB = {
    "minReplicas": 2,
    "maxReplicas": 3,
    "cpuRequest": "50m",
    "memoryRequest": "128Mi",
    "cpuLimit": "250m",
    "memoryLimit": "256Mi",
}
PROD_WEB = {
    "minReplicas": 6,
    "maxReplicas": 12,
    "cpuRequest": "100m",
    "memoryRequest": "192Mi",
    "cpuLimit": "500m",
    "memoryLimit": "384Mi",
}
DEV_API = {
    "minReplicas": 2,
    "maxReplicas": 4,
    "cpuRequest": "100m",
    "memoryRequest": "192Mi",
    "cpuLimit": "500m",
    "memoryLimit": "384Mi",
}
PROD_API = {
    "minReplicas": 6,
    "maxReplicas": 15,
    "cpuRequest": "250m",
    "memoryRequest": "256Mi",
    "cpuLimit": "1",
    "memoryLimit": "512Mi",
}

# --- the table ---------------------------------------------------------------------------------

KEYS: tuple[Key, ...] = (
    # The stack
    Key(
        "environment",
        Choice(ENVIRONMENTS, reason="must be dev or prod (it decides the safety rules and the defaults)"),
        "stack",
        "dev or prod: decides the defaults below and the safety rules (prod forbids single-AZ, "
        "unprotected databases and an API open to 0.0.0.0/0).",
        lambda stack: "prod" if stack.startswith("prod") else "dev",
        dev=REQUIRED,
    ),
    Key(
        "region",
        Text(r"[a-z]{2}(-gov)?-[a-z]+-\d", "is not an AWS region name"),
        "stack",
        "AWS region of every resource (ap-south-1, Mumbai, is the nearest to Dhaka).",
        "ap-south-1",
        dev="ap-south-1",
        namespace="aws",
    ),
    # Network
    Key(
        "vpcCidr",
        Text(check=_vpc_cidr, samples=("10.20.0.0/16", "172.16.0.0/20")),
        "network",
        "Private IPv4 range of the VPC, prefix /16 to /20 (the subnets of every zone are carved from it).",
        "10.20.0.0/16",
        dev="10.20.0.0/16",
    ),
    Key(
        "availabilityZones",
        Integer(2, 3, " (RDS needs two zones; there are three in ap-south-1)"),
        "network",
        "Number of availability zones, 2 or 3; one public and one private subnet in each.",
        "3",
        dev=2,
        prod=3,
    ),
    Key(
        "adminCidrs",
        CidrList(),
        "network",
        "CIDRs allowed to reach the Kubernetes API on 6443, including where `pulumi up` runs. "
        "0.0.0.0/0 is rejected in prod.",
        "adminCidrs[0] 203.0.113.7/32",
        dev=REQUIRED,
        why_required="is required: the CIDRs allowed to reach the Kubernetes API (6443), including the "
        "machine that runs `pulumi up`",
    ),
    Key(
        "logRetentionDays",
        OneOfIntegers(CLOUDWATCH_RETENTION_DAYS, " (the periods CloudWatch Logs accepts)"),
        "network",
        "Days CloudWatch keeps the VPC flow logs and the database's logs.",
        "90",
        dev=30,
        prod=90,
    ),
    # K3s cluster
    Key(
        "k3sInstanceType",
        Text(check=_instance_type, samples=("t3.medium", "m7i.2xlarge")),
        "cluster",
        "EC2 type of the K3s servers, at least 4 GiB of memory (built-in table of x86_64 types).",
        "t3.medium",
        dev="t3.medium",
    ),
    Key(
        "k3sRootVolumeGb",
        Integer(20, 16384, " (container images and local volumes need room)"),
        "cluster",
        "Encrypted gp3 root volume of each K3s server in GiB.",
        "40",
        dev=40,
    ),
    Key(
        "k3sVersion",
        Text(
            RELEASE_PATTERN,
            "is not a pinned K3s release like v1.35.8+k3s1 (see https://github.com/k3s-io/k3s/releases)",
            check=validated_reason,
        ),
        "cluster",
        "Pinned K3s release (format v1.X.Y+k3sN), validated by K3s on the nodes' Ubuntu; changing it "
        "upgrades the running cluster node by node, one minor at a time, never back.",
        "v1.35.8+k3s1",
        dev="v1.35.8+k3s1",
    ),
    Key(
        "k3sTerminationProtection",
        Boolean(),
        "cluster",
        "EC2 termination protection on the K3s server; false is rejected in prod.",
        "true",
        dev=False,
        prod=True,
    ),
    Key(
        "k3sServers",
        Integer(1, 7, " (an odd number: etcd needs a majority)"),
        "cluster",
        "K3s servers (control plane and embedded etcd), one per zone in turn; odd; at least 3 in prod.",
        "3",
        dev=1,
        prod=3,
    ),
    Key(
        "k3sDedicatedServers",
        Boolean(),
        "cluster",
        "Taint the servers so they run the control plane only and workloads run on agents; false is "
        "rejected in prod (a busy shop must not starve etcd).",
        "true",
        dev=False,
        prod=True,
    ),
    Key(
        "k3sAgentInstanceTypes",
        InstanceTypeList(),
        "cluster",
        "EC2 types of the agents' Auto Scaling group, first preferred; all of one size (the cluster "
        "autoscaler plans with one shape per group).",
        "k3sAgentInstanceTypes[0] t3.medium",
        dev=["t3.medium"],
    ),
    Key(
        "k3sAgentMinSize",
        Integer(0, 100),
        "cluster",
        "Fewest agents; with zoneSpread strict, at least one per zone.",
        "3",
        dev=0,
        prod=3,
    ),
    Key(
        "k3sAgentMaxSize",
        Integer(1, 100),
        "cluster",
        "Most agents the cluster autoscaler may run; at least k3sAgentMinSize.",
        "8",
        dev=2,
        prod=8,
    ),
    Key(
        "k3sAgentVolumeGb",
        Integer(20, 16384, " (container images need room)"),
        "cluster",
        "Encrypted gp3 root volume of each agent in GiB.",
        "40",
        dev=40,
    ),
    Key(
        "etcdSnapshotSchedule",
        Text(r"\S+( \S+){4}", "is not a five-field cron schedule like '0 */6 * * *'"),
        "cluster",
        "When K3s snapshots etcd to the stack's S3 bucket (cron, UTC).",
        "0 */6 * * *",
        dev="0 */6 * * *",
    ),
    Key(
        "etcdSnapshotRetention",
        Integer(1, 1000),
        "cluster",
        "How many scheduled etcd snapshots K3s keeps (per server) before deleting the oldest.",
        "28",
        dev=8,
        prod=28,
    ),
    Key(
        "zoneSpread",
        Choice(("preferred", "strict")),
        "cluster",
        "How the shop's pods spread over zones and nodes: preferred (a small cluster still schedules "
        "every pod) or strict (never two more in one zone or node than in another; prod).",
        "strict",
        dev="preferred",
        prod="strict",
    ),
    Key(
        "maintenanceDays",
        Text(
            DAYS,
            "is not a comma-separated list of two-letter days like mo,tu,we,th,su",
            samples=("su", "mo,tu,we,th,fr,sa,su"),
        ),
        "cluster",
        "Days on which K3s upgrades and kernel reboots may run (mo,tu,we,th,fr,sa,su), in the window "
        "maintenanceStart to maintenanceEnd, Dhaka time.",
        "mo,tu,we,th,su",
        dev="mo,tu,we,th,fr,sa,su",
    ),
    Key(
        "maintenanceStart",
        Text(CLOCK, CLOCK_REASON, samples=("00:00", "04:59")),
        "cluster",
        "Start of the daily maintenance window (HH:MM, Asia/Dhaka): the shop's quietest hours.",
        "02:00",
        dev="02:00",
    ),
    Key(
        "maintenanceEnd",
        Text(CLOCK, CLOCK_REASON, samples=("02:01", "23:59")),
        "cluster",
        "End of the daily maintenance window (HH:MM, Asia/Dhaka), after maintenanceStart on the same day.",
        "05:00",
        dev="05:00",
    ),
    # Database
    Key(
        "dbEngineVersion",
        Text(check=_engine_version, samples=("14", "17.4")),
        "database",
        "RDS PostgreSQL engine version (major 14 to 17); the parameter group family follows the major.",
        "16.8",
        dev="16.8",
    ),
    Key(
        "dbInstanceClass",
        Text(r"db\.[a-z0-9]+\.[a-z0-9]+", "is not an RDS instance class like db.t4g.micro"),
        "database",
        "RDS instance class.",
        "db.t4g.micro",
        dev="db.t4g.micro",
        prod="db.t4g.medium",
    ),
    Key(
        "dbAllocatedStorageGb",
        Integer(20, 65535, " (gp3 starts at 20 GiB; the ceiling must fit above it)"),
        "database",
        "Initial gp3 storage in GiB.",
        "20",
        dev=20,
        prod=100,
    ),
    Key(
        "dbMaxAllocatedStorageGb",
        Integer(21, 65536),
        "database",
        "Storage autoscaling ceiling in GiB, above dbAllocatedStorageGb.",
        "100",
        dev=50,
        prod=500,
    ),
    Key(
        "dbMultiAz",
        Boolean(),
        "database",
        "A standby in a second zone; false is rejected in prod.",
        "true",
        dev=False,
        prod=True,
    ),
    Key(
        "dbBackupRetentionDays",
        Integer(7, 35, " (below 7 days point-in-time recovery is too short; RDS allows at most 35)"),
        "database",
        "Days of automated backups (point-in-time recovery).",
        "7",
        dev=7,
        prod=14,
    ),
    Key(
        "dbManualSnapshotRetentionDays",
        Integer(1, 3650, " (days `ops backup prune` keeps the manual snapshots it made)"),
        "database",
        "Days `python -m dhakacart_infra.ops backup prune` keeps the manual snapshots it made "
        "(stack output manualSnapshotRetentionDays).",
        "30",
        dev=14,
        prod=90,
    ),
    Key(
        "dbDeletionProtection",
        Boolean(),
        "database",
        "RDS deletion protection; false is rejected in prod.",
        "true",
        dev=False,
        prod=True,
    ),
    Key(
        "dbFinalSnapshot",
        Boolean(),
        "database",
        "Take a final snapshot and keep the automated backups when the instance is deleted; false is "
        "rejected in prod.",
        "true",
        dev=False,
        prod=True,
    ),
    Key(
        "dbApplyImmediately",
        Boolean(),
        "database",
        "Apply instance changes at once; false waits for the weekly maintenance window.",
        "false",
        dev=True,
        prod=False,
    ),
    Key(
        "dbKeyDeletionWindowDays",
        Integer(7, 30, " (the window AWS KMS allows)"),
        "database",
        "Days a deleted database encryption key can still be recovered.",
        "30",
        dev=7,
        prod=30,
    ),
    Key(
        "dbName",
        Text(check=_identifier, samples=("dhakacart",)),
        "database",
        "Name of the shop's database.",
        "dhakacart",
        dev="dhakacart",
    ),
    Key(
        "dbUsername",
        Text(check=_identifier, samples=("dhakacart_app",)),
        "database",
        "Master user of the database (its password is generated and kept as a Pulumi secret).",
        "dhakacart_app",
        dev="dhakacart_app",
    ),
    Key(
        "snapshotExportExpiryDays",
        Integer(1, 3650),
        "database",
        "Days an export (`ops export`) stays in its bucket before S3 deletes it.",
        "365",
        dev=30,
        prod=365,
    ),
    Key(
        "snapshotExportForceDestroy",
        Boolean(),
        "database",
        "Whether `pulumi destroy` may delete the export bucket while it still holds exports.",
        "false",
        dev=True,
        prod=False,
    ),
    # The shop
    Key(
        "domainName",
        Text(check=_domain_name, samples=("shop.dhakacart.example",)),
        "shop",
        "DNS name of the shop (its A record pointing at clusterPublicIp). Empty: <ip with dashes>.sslip.io.",
        "shop.dhakacart.com",
        dev="",
    ),
    Key(
        "acmeEmail",
        Text(EMAIL, EMAIL_REASON),
        "shop",
        "E-mail Let's Encrypt uses for certificate notices.",
        "ops@dhakacart.example",
        dev=REQUIRED,
    ),
    Key(
        "tlsIssuer",
        Choice(
            ("letsencrypt-staging", "letsencrypt-production"),
            why=" (staging: untrusted certificates, generous rate limits)",
        ),
        "shop",
        "The ClusterIssuer that signs the shop's and Grafana's certificates; staging is rejected in prod.",
        "letsencrypt-production",
        dev="letsencrypt-staging",
        prod="letsencrypt-production",
    ),
    Key(
        "appImage",
        Text(check=_image_reference, samples=("ghcr.io/dhakacart/shop:1.0.0",)),
        "shop",
        "The shop's container image with an explicit version tag that is not latest.",
        "ghcr.io/dhakacart/shop:1.0.0",
        dev=REQUIRED,
    ),
    Key(
        "web",
        Workload("web"),
        "shop",
        "Storefront pods: {minReplicas, maxReplicas, cpuRequest, memoryRequest, cpuLimit, memoryLimit}; "
        "fields left out keep their default; minReplicas below 2 is rejected in prod.",
        "web.minReplicas 3",
        dev=DEV_WEB,
        prod=PROD_WEB,
    ),
    Key(
        "api",
        Workload("api"),
        "shop",
        "API pods, the same fields as web.",
        "api.minReplicas 3",
        dev=DEV_API,
        prod=PROD_API,
    ),
    # Monitoring and logs
    Key(
        "prometheusRetention",
        Text(r"[1-9]\d*(ms|s|m|h|d|w|y)", "is not a Prometheus duration like 15d"),
        "monitoring",
        "How long Prometheus keeps metrics (a Prometheus duration).",
        "15d",
        dev="7d",
        prod="15d",
    ),
    Key(
        "prometheusStorageGb",
        Integer(5, 16384),
        "monitoring",
        "Prometheus volume in GiB.",
        "50",
        dev=10,
        prod=50,
    ),
    Key(
        "lokiRetention",
        Text(check=_loki_retention, samples=("24h", "7d", "4w")),
        "monitoring",
        "How long Loki keeps logs: whole days, in hours, days or weeks.",
        "168h",
        dev="168h",
        prod="720h",
    ),
    Key(
        "lokiStorageGb",
        Integer(5, 16384),
        "monitoring",
        "Loki's volume in GiB: all logs with filesystem storage, its write-ahead log with s3.",
        "20",
        dev=10,
        prod=20,
    ),
    Key(
        "lokiStorage",
        Choice(("filesystem", "s3")),
        "monitoring",
        "Where Loki keeps chunks and index: its volume, or a private S3 bucket of the stack.",
        "s3",
        dev="filesystem",
        prod="s3",
    ),
    # Alerts
    Key(
        "alertSlackWebhookUrl",
        Secret(),
        "alerts",
        "Slack incoming-webhook URL for alerts (secret).",
        "<Slack webhook URL>",
    ),
    Key(
        "alertEmailTo",
        Text(EMAIL, EMAIL_REASON),
        "alerts",
        "Address that receives alert e-mails; needs alertSmtpSmarthost and alertSmtpFrom.",
        "oncall@dhakacart.example",
        dev="",
    ),
    Key(
        "alertSmtpSmarthost",
        Text(r"[A-Za-z0-9.-]+:\d{1,5}", "must be host:port, like email-smtp.ap-south-1.amazonaws.com:587"),
        "alerts",
        "SMTP server as host:port (required with alertEmailTo).",
        "email-smtp.ap-south-1.amazonaws.com:587",
        dev="",
    ),
    Key(
        "alertSmtpFrom",
        Text(EMAIL, EMAIL_REASON),
        "alerts",
        "Sender address of alert e-mails (required with alertEmailTo).",
        "alerts@dhakacart.example",
        dev="",
    ),
    Key(
        "alertSmtpUsername",
        Text(),
        "alerts",
        "SMTP login when it is not alertSmtpFrom (Amazon SES: the SMTP user name of its SMTP credentials).",
        "<SMTP user name>",
        dev="",
    ),
    Key(
        "alertSmtpPassword",
        Secret(),
        "alerts",
        "SMTP password, with alertEmailTo (secret).",
        "<SMTP password>",
    ),
    # Recovery drills (issue 15)
    Key(
        "drillMaxAgeDays",
        Integer(
            0,
            7,
            " (0 turns the alarms off; a CloudWatch alarm with a one-day period looks back at most 7 days)",
        ),
        "drills",
        "Days without a successful recovery drill (`ops drill database`, `ops drill etcd`) before its "
        "CloudWatch alarm notifies the drill topic; 0: no drill alarms (dev).",
        "7",
        dev=0,
        prod=7,
    ),
)

KEYS_BY_NAME: dict[str, Key] = {key.name: key for key in KEYS}
SECTIONS = {
    "stack": "The stack",
    "network": "Network",
    "cluster": "K3s cluster",
    "database": "Database",
    "shop": "The shop",
    "monitoring": "Monitoring and logs",
    "alerts": "Alerts",
    "drills": "Recovery drills",
}
