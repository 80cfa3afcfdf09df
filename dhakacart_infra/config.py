"""The typed, validated view of `pulumi config` for one stack.

`load_config()` reads every key once, checks all of them, and either returns a frozen `StackConfig`
or raises one `ConfigError` listing every problem (key, bad value, why, and the `pulumi config set`
command that fixes it). `__main__.py` calls it before declaring any resource, so a bad value fails
`pulumi preview` before anything is planned.

Defaults that differ between dev and prod live in `ENVIRONMENT_DEFAULTS`; defaults that do not are
in `COMMON_DEFAULTS`. `Pulumi.yaml` documents both (a test keeps them in step).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from .errors import REDACTED, ConfigError, ConfigProblem
from .tags import standard_tags

ENVIRONMENTS = ("dev", "prod")
DEFAULT_REGION = "ap-south-1"

# Memory (GiB) of the x86_64 instance types that can host the K3s server. A built-in table rather
# than `aws.ec2.get_instance_type`: validation must finish, synchronously and offline, before any
# resource is declared, and it must give the same clear ConfigError in `pulumi preview`, in the
# offline plan and in tests. An invoke would need AWS credentials and would only answer inside an
# Output, after resources were already being planned. Graviton (t4g, m7g...) types are left out on
# purpose: the AMI lookup is for amd64 Ubuntu. Add a row here to allow another type.
INSTANCE_MEMORY_GIB: dict[str, float] = {
    "t2.nano": 0.5,
    "t2.micro": 1,
    "t2.small": 2,
    "t2.medium": 4,
    "t2.large": 8,
    "t2.xlarge": 16,
    "t2.2xlarge": 32,
    "t3.nano": 0.5,
    "t3.micro": 1,
    "t3.small": 2,
    "t3.medium": 4,
    "t3.large": 8,
    "t3.xlarge": 16,
    "t3.2xlarge": 32,
    "t3a.nano": 0.5,
    "t3a.micro": 1,
    "t3a.small": 2,
    "t3a.medium": 4,
    "t3a.large": 8,
    "t3a.xlarge": 16,
    "t3a.2xlarge": 32,
    "m5.large": 8,
    "m5.xlarge": 16,
    "m5.2xlarge": 32,
    "m5a.large": 8,
    "m5a.xlarge": 16,
    "m6i.large": 8,
    "m6i.xlarge": 16,
    "m6i.2xlarge": 32,
    "m6a.large": 8,
    "m6a.xlarge": 16,
    "m7i.large": 8,
    "m7i.xlarge": 16,
    "m7i.2xlarge": 32,
    "c5.large": 4,
    "c5.xlarge": 8,
    "c5.2xlarge": 16,
    "c6i.large": 4,
    "c6i.xlarge": 8,
    "c6i.2xlarge": 16,
    "c7i.large": 4,
    "c7i.xlarge": 8,
    "c7i.2xlarge": 16,
    "r5.large": 16,
    "r5.xlarge": 32,
    "r6i.large": 16,
    "r6i.xlarge": 32,
}
MIN_K3S_MEMORY_GIB = 4

K3S_VERSION_PATTERN = re.compile(r"^v1\.\d+\.\d+\+k3s\d+$")
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
IDENTIFIER_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
DB_INSTANCE_CLASS_PATTERN = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
DB_ENGINE_VERSION_PATTERN = re.compile(r"^(\d+)(\.\d+)?$")
SUPPORTED_POSTGRES_MAJORS = range(14, 18)
PROMETHEUS_DURATION_PATTERN = re.compile(r"^[1-9]\d*(ms|s|m|h|d|w|y)$")
LOKI_RETENTION_PATTERN = re.compile(r"^([1-9]\d*)h$")
CPU_PATTERN = re.compile(r"^(\d+(\.\d+)?)(m?)$")
MEMORY_PATTERN = re.compile(r"^(\d+)(Ki|Mi|Gi)$")
IMAGE_TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_REPOSITORY_PATTERN = re.compile(r"^[a-z0-9]+([._:/-][a-z0-9]+)*$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
SMARTHOST_PATTERN = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")
RESERVED_DB_USERNAMES = frozenset({"rdsadmin", "rdsrepladmin", "rds_superuser", "public"})

WORKLOAD_KEYS = ("minReplicas", "maxReplicas", "cpuRequest", "memoryRequest", "cpuLimit", "memoryLimit")

COMMON_DEFAULTS: dict[str, Any] = {
    "vpcCidr": "10.20.0.0/16",
    "availabilityZones": 2,
    "k3sVersion": "v1.35.8+k3s1",
    "dbEngineVersion": "16.8",
    "dbName": "dhakacart",
    "dbUsername": "dhakacart_app",
    "domainName": "",
}

ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "k3sInstanceType": "t3.medium",
        "k3sRootVolumeGb": 40,
        "dbInstanceClass": "db.t4g.micro",
        "dbAllocatedStorageGb": 20,
        "dbMaxAllocatedStorageGb": 50,
        "dbMultiAz": False,
        "dbBackupRetentionDays": 7,
        "dbManualSnapshotRetentionDays": 14,
        "dbDeletionProtection": False,
        "prometheusRetention": "7d",
        "prometheusStorageGb": 10,
        "lokiRetention": "168h",
        "lokiStorageGb": 10,
        "web": {
            "minReplicas": 2,
            "maxReplicas": 3,
            "cpuRequest": "50m",
            "memoryRequest": "128Mi",
            "cpuLimit": "250m",
            "memoryLimit": "256Mi",
        },
        "api": {
            "minReplicas": 2,
            "maxReplicas": 4,
            "cpuRequest": "100m",
            "memoryRequest": "192Mi",
            "cpuLimit": "500m",
            "memoryLimit": "384Mi",
        },
    },
    "prod": {
        "k3sInstanceType": "t3.xlarge",
        "k3sRootVolumeGb": 80,
        "dbInstanceClass": "db.t4g.medium",
        "dbAllocatedStorageGb": 100,
        "dbMaxAllocatedStorageGb": 500,
        "dbMultiAz": True,
        "dbBackupRetentionDays": 14,
        "dbManualSnapshotRetentionDays": 90,
        "dbDeletionProtection": True,
        "prometheusRetention": "15d",
        "prometheusStorageGb": 50,
        "lokiRetention": "720h",
        "lokiStorageGb": 20,
        "web": {
            "minReplicas": 3,
            "maxReplicas": 8,
            "cpuRequest": "100m",
            "memoryRequest": "192Mi",
            "cpuLimit": "500m",
            "memoryLimit": "384Mi",
        },
        "api": {
            "minReplicas": 3,
            "maxReplicas": 10,
            "cpuRequest": "250m",
            "memoryRequest": "256Mi",
            "cpuLimit": "1",
            "memoryLimit": "512Mi",
        },
    },
}

# Keys whose values are secrets: read with get_secret, never with get.
SECRET_KEYS = ("alertSlackWebhookUrl", "alertSmtpPassword")
REQUIRED_KEYS = ("environment", "acmeEmail", "appImage", "adminCidrs")
OPTIONAL_KEYS = ("alertEmailTo", "alertSmtpSmarthost", "alertSmtpFrom", "alertSmtpUsername", *SECRET_KEYS)


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str
    availability_zone_count: int
    admin_cidrs: tuple[str, ...]


@dataclass(frozen=True)
class ClusterConfig:
    instance_type: str
    instance_memory_gib: float
    root_volume_gb: int
    k3s_version: str
    termination_protection: bool


@dataclass(frozen=True)
class DatabaseConfig:
    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    db_name: str
    username: str
    final_snapshot: bool
    # How long `python -m dhakacart_infra.ops backup prune` keeps the manual snapshots it made.
    manual_snapshot_retention_days: int = 30

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])

    @property
    def parameter_group_family(self) -> str:
        return f"postgres{self.engine_major}"


@dataclass(frozen=True)
class WorkloadSize:
    min_replicas: int
    max_replicas: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class AppConfig:
    domain_name: str | None  # None: derive "<ip with dashes>.sslip.io" from the cluster's address
    acme_email: str
    app_image: str
    web: WorkloadSize
    api: WorkloadSize


@dataclass(frozen=True)
class MonitoringConfig:
    prometheus_retention: str
    prometheus_storage_gb: int
    loki_retention: str
    loki_storage_gb: int


@dataclass(frozen=True)
class AlertingConfig:
    slack_webhook_url: pulumi.Output[str] | None  # secret
    email_to: str | None
    smtp_smarthost: str | None
    smtp_from: str | None
    smtp_password: pulumi.Output[str] | None  # secret
    smtp_username: str | None = None  # None: log in as smtp_from (SES needs its own SMTP user name)


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    environment: str
    region: str
    network: NetworkConfig
    cluster: ClusterConfig
    database: DatabaseConfig
    app: AppConfig
    monitoring: MonitoringConfig
    alerting: AlertingConfig

    @property
    def is_production(self) -> bool:
        return self.environment == "prod"

    @property
    def tags(self) -> dict[str, str]:
        return standard_tags(self.project, self.environment, self.stack)

    @property
    def name_prefix(self) -> str:
        """Prefix of physical names: unique per stack so dev and prod can share one account."""
        return f"{self.project}-{self.stack}"


def cpu_millicores(quantity: str) -> float:
    match = CPU_PATTERN.match(quantity)
    if not match:
        raise ValueError(quantity)
    number = float(match.group(1))
    return number if match.group(3) else number * 1000


def memory_bytes(quantity: str) -> int:
    match = MEMORY_PATTERN.match(quantity)
    if not match:
        raise ValueError(quantity)
    return int(match.group(1)) * {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[match.group(2)]


class _Reader:
    """Reads raw config strings and collects every problem instead of stopping at the first."""

    def __init__(self, raw: Callable[[str], str | None], defaults: Mapping[str, Any], stack: str) -> None:
        self._raw = raw
        self._defaults = defaults
        self.stack = stack
        self.problems: list[ConfigProblem] = []

    def problem(
        self, key: str, value: object, reason: str, example: str, *, path: bool = False, secret: bool = False
    ) -> None:
        """`example` is the value to suggest; with `path=True` it is "<path> <value>" (a field or item)."""
        if path:
            config_path, _, value_text = example.partition(" ")
            fix = f"pulumi config set --stack {self.stack} --path '{config_path}' {value_text}"
        else:
            flags = " --secret" if secret else ""
            quoted = example if re.fullmatch(r"[A-Za-z0-9._:/+@-]+", example) else f"'{example}'"
            fix = f"pulumi config set --stack {self.stack}{flags} {key} {quoted}"
        self.problems.append(ConfigProblem(key=key, value=value, reason=reason, fix=fix))

    def default(self, key: str) -> Any:
        return self._defaults.get(key)

    def raw(self, key: str) -> str | None:
        value = self._raw(key)
        return None if value is None or value == "" else value

    def string(self, key: str, example: str) -> str | None:
        value = self.raw(key)
        if value is None:
            default = self._defaults.get(key)
            if default is None:
                self.problem(key, None, "is required", example)
            return default
        return value

    def optional_string(self, key: str) -> str | None:
        value = self.raw(key)
        return value if value is not None else (self._defaults.get(key) or None)

    def integer(self, key: str, example: int, minimum: int, maximum: int, why: str = "") -> int | None:
        value = self.raw(key)
        if value is None:
            return self._defaults.get(key)
        try:
            number = int(value)
        except ValueError:
            self.problem(key, value, "must be a whole number", str(example))
            return None
        if not minimum <= number <= maximum:
            self.problem(key, number, f"must be between {minimum} and {maximum}{why}", str(example))
            return None
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.raw(key)
        if value is None:
            return self._defaults.get(key)
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.problem(key, value, "must be true or false", "true")
        return None

    def json_value(self, key: str, expected: type, example: str) -> Any:
        value = self.raw(key)
        if value is None:
            return self._defaults.get(key)
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, expected):
            kind = "a list" if expected is list else "an object"
            self.problem(key, value, f"must be {kind}", example, path=True)
            return None
        return parsed


def _check_email(r: _Reader, key: str, value: str | None) -> None:
    if value is not None and not EMAIL_PATTERN.match(value):
        r.problem(key, value, "is not a valid e-mail address", "ops@dhakacart.example")


def _read_network(r: _Reader, production: bool) -> NetworkConfig | None:
    vpc_cidr = r.string("vpcCidr", "10.20.0.0/16")
    if vpc_cidr is not None:
        try:
            network = ipaddress.IPv4Network(vpc_cidr, strict=True)
        except ValueError as exc:
            r.problem("vpcCidr", vpc_cidr, f"is not a valid IPv4 network CIDR ({exc})", "10.20.0.0/16")
            vpc_cidr = None
        else:
            if not 16 <= network.prefixlen <= 20:
                r.problem(
                    "vpcCidr",
                    vpc_cidr,
                    "needs a prefix between /16 and /20 (AWS allows /16 at most, "
                    "and six subnets of at least /23 must fit)",
                    "10.20.0.0/16",
                )
                vpc_cidr = None
            elif not network.is_private:
                r.problem("vpcCidr", vpc_cidr, "must be a private (RFC 1918) range", "10.20.0.0/16")
                vpc_cidr = None
    zones = r.integer("availabilityZones", 2, 2, 3, " (RDS needs two zones; there are three in ap-south-1)")

    admin = r.json_value("adminCidrs", list, "adminCidrs[0] 203.0.113.7/32")
    admin_cidrs: list[str] = []
    if admin is None and r.raw("adminCidrs") is None:
        r.problem(
            "adminCidrs",
            None,
            "is required: the CIDRs allowed to reach the Kubernetes API (6443), "
            "including the machine that runs `pulumi up`",
            "adminCidrs[0] 203.0.113.7/32",
            path=True,
        )
    for item in admin or []:
        try:
            cidr = ipaddress.ip_network(str(item), strict=True)
        except ValueError:
            r.problem(
                "adminCidrs",
                item,
                "is not a valid CIDR (e.g. 203.0.113.7/32)",
                "adminCidrs[0] 203.0.113.7/32",
                path=True,
            )
            continue
        if cidr.prefixlen == 0 and production:
            r.problem(
                "adminCidrs",
                item,
                "opens the Kubernetes API to the whole internet, which prod forbids; "
                "list your office or VPN egress addresses",
                "adminCidrs[0] 203.0.113.7/32",
                path=True,
            )
            continue
        if cidr.version == 6:
            r.problem(
                "adminCidrs",
                item,
                "is IPv6, but the VPC is IPv4-only",
                "adminCidrs[0] 203.0.113.7/32",
                path=True,
            )
            continue
        admin_cidrs.append(str(cidr))
    if admin is not None and not admin:
        r.problem(
            "adminCidrs",
            [],
            "is empty: nothing, not even `pulumi up`, could reach the Kubernetes API",
            "adminCidrs[0] 203.0.113.7/32",
            path=True,
        )
    if vpc_cidr is None or zones is None:
        return None
    return NetworkConfig(vpc_cidr=vpc_cidr, availability_zone_count=zones, admin_cidrs=tuple(admin_cidrs))


def _read_cluster(r: _Reader, production: bool) -> ClusterConfig | None:
    instance_type = r.string("k3sInstanceType", "t3.medium")
    memory = None
    if instance_type is not None:
        memory = INSTANCE_MEMORY_GIB.get(instance_type)
        if memory is None:
            r.problem(
                "k3sInstanceType",
                instance_type,
                "is not a known x86_64 instance type; known: "
                + ", ".join(sorted(t for t, m in INSTANCE_MEMORY_GIB.items() if m >= MIN_K3S_MEMORY_GIB)),
                "t3.medium",
            )
        elif memory < MIN_K3S_MEMORY_GIB:
            r.problem(
                "k3sInstanceType",
                instance_type,
                f"has {memory:g} GiB of memory; the K3s server with the shop, Traefik, cert-manager, "
                f"Prometheus and Loki needs at least {MIN_K3S_MEMORY_GIB} GiB (the old platform's "
                "t2.micro has 1 GiB and cannot run this stack)",
                "t3.medium",
            )
            memory = None
    root_gb = r.integer("k3sRootVolumeGb", 40, 20, 16384, " (container images and local volumes need room)")
    version = r.string("k3sVersion", "v1.35.8+k3s1")
    if version is not None and not K3S_VERSION_PATTERN.match(version):
        r.problem(
            "k3sVersion",
            version,
            "is not a pinned K3s release like v1.35.8+k3s1 (see https://github.com/k3s-io/k3s/releases)",
            "v1.35.8+k3s1",
        )
        version = None
    if None in (instance_type, memory, root_gb, version):
        return None
    return ClusterConfig(
        instance_type=instance_type,
        instance_memory_gib=memory,
        root_volume_gb=root_gb,
        k3s_version=version,
        termination_protection=production,
    )


def _read_database(r: _Reader, production: bool) -> DatabaseConfig | None:
    engine_version = r.string("dbEngineVersion", "16.8")
    if engine_version is not None:
        match = DB_ENGINE_VERSION_PATTERN.match(engine_version)
        if not match or int(match.group(1)) not in SUPPORTED_POSTGRES_MAJORS:
            r.problem(
                "dbEngineVersion",
                engine_version,
                "must be a PostgreSQL version from 14 to 17, like 16.8",
                "16.8",
            )
            engine_version = None
    instance_class = r.string("dbInstanceClass", "db.t4g.micro")
    if instance_class is not None and not DB_INSTANCE_CLASS_PATTERN.match(instance_class):
        r.problem(
            "dbInstanceClass",
            instance_class,
            "is not an RDS instance class like db.t4g.micro",
            "db.t4g.micro",
        )
        instance_class = None
    allocated = r.integer("dbAllocatedStorageGb", 20, 20, 65536, " (gp3 starts at 20 GiB)")
    maximum = r.integer("dbMaxAllocatedStorageGb", 100, 21, 65536)
    if allocated is not None and maximum is not None and maximum <= allocated:
        r.problem(
            "dbMaxAllocatedStorageGb",
            maximum,
            f"must be larger than dbAllocatedStorageGb ({allocated}) for storage autoscaling to have room",
            str(allocated * 2),
        )
        maximum = None
    multi_az = r.boolean("dbMultiAz")
    if production and multi_az is False:
        r.problem(
            "dbMultiAz",
            False,
            "must be true in prod: a single-AZ database is an outage when its zone fails",
            "true",
        )
    retention = r.integer(
        "dbBackupRetentionDays",
        7,
        7,
        35,
        " (below 7 days point-in-time recovery is too short; RDS allows at most 35)",
    )
    manual_retention = r.integer(
        "dbManualSnapshotRetentionDays",
        30,
        1,
        3650,
        " (days `ops backup prune` keeps the manual snapshots it made)",
    )
    deletion_protection = r.boolean("dbDeletionProtection")
    if production and deletion_protection is False:
        r.problem(
            "dbDeletionProtection",
            False,
            "must be true in prod so a stray `pulumi destroy` cannot delete the database",
            "true",
        )
    names: dict[str, str | None] = {}
    for key, example in (("dbName", "dhakacart"), ("dbUsername", "dhakacart_app")):
        value = r.string(key, example)
        if value is not None and (not IDENTIFIER_PATTERN.match(value) or value in RESERVED_DB_USERNAMES):
            r.problem(
                key,
                value,
                "must start with a lower-case letter, use only a-z, 0-9 and _, be at most "
                "63 characters and not be an RDS reserved name",
                example,
            )
            value = None
        names[key] = value
    values = (
        engine_version,
        instance_class,
        allocated,
        maximum,
        multi_az,
        retention,
        manual_retention,
        deletion_protection,
        names["dbName"],
        names["dbUsername"],
    )
    if None in values or (production and not (multi_az and deletion_protection)):
        return None
    return DatabaseConfig(
        engine_version=engine_version,
        instance_class=instance_class,
        allocated_storage_gb=allocated,
        max_allocated_storage_gb=maximum,
        multi_az=multi_az,
        backup_retention_days=retention,
        deletion_protection=deletion_protection,
        db_name=names["dbName"],
        username=names["dbUsername"],
        final_snapshot=production,
        manual_snapshot_retention_days=manual_retention,
    )


def _read_workload(r: _Reader, key: str, production: bool) -> WorkloadSize | None:
    example = f"{key}.minReplicas 3"
    data = r.json_value(key, dict, example)
    if data is None:
        return None
    default = r.default(key) or {}
    merged = {**default, **data}
    unknown = sorted(set(data) - set(WORKLOAD_KEYS))
    if unknown:
        r.problem(
            key, data, f"has unknown fields {unknown}; allowed: {list(WORKLOAD_KEYS)}", example, path=True
        )
        return None
    missing = [k for k in WORKLOAD_KEYS if k not in merged]
    if missing:
        r.problem(key, data, f"is missing {missing}", f"{key}.{missing[0]} 1", path=True)
        return None
    ok = True
    replicas = {}
    for field in ("minReplicas", "maxReplicas"):
        value = merged[field]
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
            r.problem(
                f"{key}.{field}", value, "must be a whole number of at least 1", f"{key}.{field} 2", path=True
            )
            ok = False
        else:
            replicas[field] = int(value)
    if ok:
        if replicas["maxReplicas"] < replicas["minReplicas"]:
            r.problem(
                f"{key}.maxReplicas",
                replicas["maxReplicas"],
                f"must be at least minReplicas ({replicas['minReplicas']})",
                f"{key}.maxReplicas {replicas['minReplicas']}",
                path=True,
            )
            ok = False
        if production and replicas["minReplicas"] < 2:
            r.problem(
                f"{key}.minReplicas",
                replicas["minReplicas"],
                "must be at least 2 in prod so one pod "
                "can be disrupted (PodDisruptionBudget) without an outage",
                f"{key}.minReplicas 3",
                path=True,
            )
            ok = False
    parsed: dict[str, float] = {}
    for field, parse, example_value in (
        ("cpuRequest", cpu_millicores, "100m"),
        ("cpuLimit", cpu_millicores, "500m"),
        ("memoryRequest", memory_bytes, "256Mi"),
        ("memoryLimit", memory_bytes, "512Mi"),
    ):
        value = str(merged[field])
        try:
            parsed[field] = parse(value)
        except ValueError:
            kind = "CPU quantity like 100m or 1" if "cpu" in field else "memory quantity like 256Mi or 1Gi"
            r.problem(
                f"{key}.{field}",
                value,
                f"is not a Kubernetes {kind}",
                f"{key}.{field} {example_value}",
                path=True,
            )
            ok = False
    for request, limit in (("cpuRequest", "cpuLimit"), ("memoryRequest", "memoryLimit")):
        if request in parsed and limit in parsed and parsed[request] > parsed[limit]:
            r.problem(
                f"{key}.{request}",
                merged[request],
                f"is larger than {limit} ({merged[limit]})",
                f"{key}.{request} {merged[limit]}",
                path=True,
            )
            ok = False
    if not ok:
        return None
    return WorkloadSize(
        min_replicas=replicas["minReplicas"],
        max_replicas=replicas["maxReplicas"],
        cpu_request=str(merged["cpuRequest"]),
        memory_request=str(merged["memoryRequest"]),
        cpu_limit=str(merged["cpuLimit"]),
        memory_limit=str(merged["memoryLimit"]),
    )


def _read_app(r: _Reader, production: bool) -> AppConfig | None:
    domain = r.optional_string("domainName")
    domain_ok = True
    if domain is not None:
        labels = domain.split(".")
        if (
            domain != domain.lower()
            or len(labels) < 2
            or not all(HOSTNAME_LABEL.match(x) for x in labels)
            or labels[-1].isdigit()
        ):
            r.problem(
                "domainName",
                domain,
                "is not a lower-case DNS name like shop.dhakacart.com (leave it empty to use <ip>.sslip.io)",
                "shop.dhakacart.com",
            )
            domain_ok = False
    acme_email = r.string("acmeEmail", "ops@dhakacart.example")
    _check_email(r, "acmeEmail", acme_email)
    image = r.string("appImage", "ghcr.io/dhakacart/shop:1.0.0")
    if image is not None and not _valid_image(image):
        r.problem(
            "appImage",
            image,
            "must be an image reference with an explicit version tag that is not "
            "`latest` (e.g. ghcr.io/dhakacart/shop:1.0.0), so every rollout is reproducible",
            "ghcr.io/dhakacart/shop:1.0.0",
        )
        image = None
    web = _read_workload(r, "web", production)
    api = _read_workload(r, "api", production)
    if None in (acme_email, image, web, api) or not domain_ok or not EMAIL_PATTERN.match(acme_email or ""):
        return None
    return AppConfig(domain_name=domain, acme_email=acme_email, app_image=image, web=web, api=api)


def _valid_image(image: str) -> bool:
    name, _, digest = image.partition("@")
    if digest and not re.fullmatch(r"sha256:[a-f0-9]{64}", digest):
        return False
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon <= last_slash:
        return False  # no tag (a colon before the last slash is a registry port)
    repository, tag = name[:colon], name[colon + 1 :]
    return (
        bool(IMAGE_REPOSITORY_PATTERN.match(repository) and IMAGE_TAG_PATTERN.match(tag)) and tag != "latest"
    )


def _read_monitoring(r: _Reader) -> MonitoringConfig | None:
    prometheus_retention = r.string("prometheusRetention", "15d")
    if prometheus_retention is not None and not PROMETHEUS_DURATION_PATTERN.match(prometheus_retention):
        r.problem("prometheusRetention", prometheus_retention, "is not a Prometheus duration like 15d", "15d")
        prometheus_retention = None
    prometheus_gb = r.integer("prometheusStorageGb", 50, 5, 16384)
    loki_retention = r.string("lokiRetention", "720h")
    if loki_retention is not None:
        match = LOKI_RETENTION_PATTERN.match(loki_retention)
        if not match or int(match.group(1)) % 24:
            r.problem(
                "lokiRetention",
                loki_retention,
                "must be whole days written in hours (Loki's retention "
                "is a multiple of its 24h index period), like 168h",
                "168h",
            )
            loki_retention = None
    loki_gb = r.integer("lokiStorageGb", 20, 5, 16384)
    if None in (prometheus_retention, prometheus_gb, loki_retention, loki_gb):
        return None
    return MonitoringConfig(
        prometheus_retention=prometheus_retention,
        prometheus_storage_gb=prometheus_gb,
        loki_retention=loki_retention,
        loki_storage_gb=loki_gb,
    )


def _read_alerting(
    r: _Reader,
    secret: Callable[[str], pulumi.Output[str] | None],
    stored_as_secret: Callable[[str], bool],
) -> AlertingConfig:
    email_to = r.optional_string("alertEmailTo")
    smarthost = r.optional_string("alertSmtpSmarthost")
    smtp_from = r.optional_string("alertSmtpFrom")
    smtp_username = r.optional_string("alertSmtpUsername")
    _check_email(r, "alertEmailTo", email_to)
    _check_email(r, "alertSmtpFrom", smtp_from)
    if smarthost is not None and not SMARTHOST_PATTERN.match(smarthost):
        r.problem(
            "alertSmtpSmarthost",
            smarthost,
            "must be host:port, like email-smtp.ap-south-1.amazonaws.com:587",
            "email-smtp.ap-south-1.amazonaws.com:587",
        )
    if email_to is not None:
        for key, value, example in (
            ("alertSmtpSmarthost", smarthost, "email-smtp.ap-south-1.amazonaws.com:587"),
            ("alertSmtpFrom", smtp_from, "alerts@dhakacart.example"),
        ):
            if value is None:
                r.problem(
                    key,
                    None,
                    "is required when alertEmailTo is set (Alertmanager needs a mail server and a sender)",
                    example,
                )
    elif smarthost is not None or smtp_from is not None or smtp_username is not None:
        r.problem(
            "alertEmailTo",
            None,
            "is required when alertSmtpSmarthost, alertSmtpFrom or alertSmtpUsername is set",
            "oncall@dhakacart.example",
        )
    # Pulumi.yaml cannot declare these optional keys `secret: true` (the CLI would then require
    # them), so the program enforces it: a plain value sits unencrypted in Pulumi.<stack>.yaml and
    # in git. Their content is never inspected: offline it is a placeholder, and it must never end
    # up in an error message.
    for key, example in (
        ("alertSlackWebhookUrl", "<Slack webhook URL>"),
        ("alertSmtpPassword", "<SMTP password>"),
    ):
        if r.raw(key) is not None and not stored_as_secret(key):
            r.problem(
                key,
                REDACTED,
                "is stored in plain text (in the stack file and in git); it must be an encrypted secret",
                example,
                secret=True,
            )
    return AlertingConfig(
        slack_webhook_url=secret("alertSlackWebhookUrl"),
        email_to=email_to,
        smtp_smarthost=smarthost,
        smtp_from=smtp_from,
        smtp_password=secret("alertSmtpPassword"),
        smtp_username=smtp_username,
    )


def read_config(
    raw: Callable[[str], str | None],
    secret: Callable[[str], pulumi.Output[str] | None],
    *,
    stored_as_secret: Callable[[str], bool],
    project: str,
    stack: str,
    region: str | None,
) -> StackConfig:
    """Builds the StackConfig from raw config strings (as the CLI passes them) or raises ConfigError.

    `stored_as_secret(key)` says whether the stack stores `key` encrypted (`pulumi config set --secret`)."""
    environment = raw("environment") or None
    defaults_env = environment if environment in ENVIRONMENTS else "dev"
    reader = _Reader(raw, {**COMMON_DEFAULTS, **ENVIRONMENT_DEFAULTS[defaults_env]}, stack)
    if environment not in ENVIRONMENTS:
        reader.problem(
            "environment",
            environment,
            "must be dev or prod (it decides the safety rules and the defaults)",
            "prod" if stack.startswith("prod") else "dev",
        )
    production = environment == "prod"
    region = region or DEFAULT_REGION
    if not REGION_PATTERN.match(region):
        reader.problem("aws:region", region, "is not an AWS region name", DEFAULT_REGION)

    network = _read_network(reader, production)
    cluster = _read_cluster(reader, production)
    database = _read_database(reader, production)
    app = _read_app(reader, production)
    monitoring = _read_monitoring(reader)
    alerting = _read_alerting(reader, secret, stored_as_secret)
    if reader.problems:
        raise ConfigError(reader.problems, stack=stack)
    return StackConfig(
        project=project,
        stack=stack,
        environment=environment,
        region=region,
        network=network,
        cluster=cluster,
        database=database,
        app=app,
        monitoring=monitoring,
        alerting=alerting,
    )


def load_config() -> StackConfig:
    """The StackConfig of the running Pulumi program (call once, before declaring resources)."""
    project = pulumi.get_project()
    config = pulumi.Config(project)

    def raw(key: str) -> str | None:
        # Config.get would warn for a value stored as a secret; the raw lookup reads both alike.
        return pulumi.runtime.get_config(f"{project}:{key}")

    def secret(key: str) -> pulumi.Output[str] | None:
        return config.get_secret(key)

    def stored_as_secret(key: str) -> bool:
        return pulumi.runtime.is_config_secret(f"{project}:{key}")

    return read_config(
        raw,
        secret,
        stored_as_secret=stored_as_secret,
        project=project,
        stack=pulumi.get_stack(),
        region=pulumi.Config("aws").get("region"),
    )
