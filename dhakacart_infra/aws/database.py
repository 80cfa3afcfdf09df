"""PostgreSQL on RDS: private, encrypted with its own KMS key, TLS forced, backed up, logs exported,
OS metrics published by Enhanced Monitoring."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from ..tags import with_name
from .encryption_key import EncryptionKey
from .iam import service_assume_role_policy

POSTGRES_PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
# Performance Insights on every class: RDS for PostgreSQL has no instance-class restriction (the
# micro/small exclusions are MySQL's and MariaDB's). Seven days of history are free.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
# TLS only, and the logs that explain an incident: who connected, lock waits, statements slower than
# half a second, schema changes, and temporary files over 10 MB (a query spilling to disk).
POSTGRES_PARAMETERS = {
    "rds.force_ssl": "1",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
    "log_min_duration_statement": "500",
    "log_statement": "ddl",
    "log_temp_files": "10240",
}
# Enhanced Monitoring: OS metrics (CPU steal, memory, swap, per-process) once a minute, published by
# RDS through a role that only its monitoring service may assume. 60 s is the cheapest interval and
# enough to see a burst or a memory squeeze that CloudWatch's hypervisor metrics cannot.
ENHANCED_MONITORING_INTERVAL_SECONDS = 60
RDS_MONITORING_SERVICE = "monitoring.rds.amazonaws.com"
ENHANCED_MONITORING_POLICY = "iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def connection_url(username: str, password: str, host: str, port: int, db_name: str) -> str:
    """SQLAlchemy URL for psycopg 3; TLS required (the parameter group refuses anything else)."""
    return (
        f"postgresql+psycopg://{quote(username, safe='')}:{quote(password, safe='')}"
        f"@{host}:{int(port)}/{quote(db_name, safe='')}?sslmode=require"
    )


@dataclass(frozen=True)
class DatabaseSettings:
    """What the stack configuration decides about the database (config builds it from the db* keys)."""

    engine_version: str
    instance_class: str
    allocated_storage_gb: int
    max_allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    deletion_protection: bool
    final_snapshot: bool
    """A final snapshot on deletion, and the automated backups kept with it."""
    apply_immediately: bool
    """Change the instance at once, not in the weekly maintenance window."""
    key_deletion_window_days: int
    """How long a deleted encryption key stays recoverable (7 to 30 days)."""
    db_name: str
    username: str
    log_retention_days: int

    @property
    def engine_major(self) -> int:
        return int(self.engine_version.split(".")[0])

    @property
    def parameter_group_family(self) -> str:
        return f"postgres{self.engine_major}"


@dataclass
class DatabaseArgs:
    name_prefix: str
    subnet_ids: pulumi.Input[list[str]]
    security_group_id: pulumi.Input[str]
    settings: DatabaseSettings


class Database(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    db_name: pulumi.Output[str]
    username: pulumi.Output[str]
    password: pulumi.Output[str]  # secret
    connection_url: pulumi.Output[str]  # secret
    instance_id: pulumi.Output[str]
    instance_arn: pulumi.Output[str]
    identifier: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    subnet_group_name: pulumi.Output[str]
    parameter_group_name: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        settings = args.settings
        identifier = f"{prefix}-postgres"
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        # One customer-managed key for storage, snapshots, Performance Insights and the exported logs.
        key = EncryptionKey(
            f"{name}-key",
            description=f"{prefix}: PostgreSQL storage, backups, Performance Insights and logs",
            log_group_pattern=f"/aws/rds/instance/{identifier}/*",
            alias=f"{prefix}-postgres",
            deletion_window_days=settings.key_deletion_window_days,
            opts=child,
        )

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=f"{prefix}-postgres",
            subnet_ids=args.subnet_ids,
            description=f"{prefix}: private subnets of the database",
            tags=with_name(f"{prefix}-postgres"),
            opts=child,
        )
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-params",
            name=f"{prefix}-{settings.parameter_group_family}",
            family=settings.parameter_group_family,
            description=f"{prefix}: TLS only, useful logs",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=key, value=value)
                for key, value in POSTGRES_PARAMETERS.items()
            ],
            tags=with_name(f"{prefix}-postgres"),
            opts=child,
        )

        # Created here (not by RDS on first write) so they have a retention and the KMS key.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-log-{log}",
                name=f"/aws/rds/instance/{identifier}/{log}",
                retention_in_days=settings.log_retention_days,
                kms_key_id=key.arn,
                opts=child,
            )
            for log in LOG_EXPORTS
        ]
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring-role",
            description=f"{prefix}: lets RDS publish the database's Enhanced Monitoring metrics",
            assume_role_policy=account.apply(
                lambda account_id: service_assume_role_policy(
                    RDS_MONITORING_SERVICE, source_account=account_id
                )
            ),
            opts=child,
        )
        monitoring_access = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=partition.apply(lambda p: f"arn:{p}:{ENHANCED_MONITORING_POLICY}"),
            opts=child,
        )
        # URL-safe specials only, and none that RDS forbids in a master password (/ @ " space).
        password = random.RandomPassword(
            f"{name}-password",
            length=32,
            special=True,
            override_special="-_~",
            min_lower=2,
            min_upper=2,
            min_numeric=2,
            opts=child,
        )

        instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            db_name=settings.db_name,
            username=settings.username,
            password=password.result,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            parameter_group_name=parameter_group.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            multi_az=settings.multi_az,
            backup_retention_period=settings.backup_retention_days,
            backup_window="20:00-21:00",  # 02:00-03:00 in Dhaka, the quietest hour of the shop
            maintenance_window="sun:21:30-sun:22:30",
            copy_tags_to_snapshot=True,
            deletion_protection=settings.deletion_protection,
            skip_final_snapshot=not settings.final_snapshot,
            final_snapshot_identifier=f"{identifier}-final" if settings.final_snapshot else None,
            delete_automated_backups=not settings.final_snapshot,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            monitoring_interval=ENHANCED_MONITORING_INTERVAL_SECONDS,
            monitoring_role_arn=monitoring_role.arn,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            apply_immediately=settings.apply_immediately,
            tags=with_name(identifier),
            # RDS checks the monitoring role's permissions when it enables Enhanced Monitoring, so
            # the policy is attached first.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*log_groups, monitoring_access],
                additional_secret_outputs=["password"],
            ),
        )

        self.address = instance.address
        self.port = instance.port
        self.db_name = pulumi.Output.from_input(settings.db_name)
        self.username = pulumi.Output.from_input(settings.username)
        self.password = pulumi.Output.secret(password.result)
        self.connection_url = pulumi.Output.secret(
            pulumi.Output.all(password.result, instance.address, instance.port).apply(
                lambda v: connection_url(settings.username, v[0], v[1], v[2], settings.db_name)
            )
        )
        self.instance_id = instance.id
        self.instance_arn = instance.arn
        self.identifier = instance.identifier
        self.security_group_id = pulumi.Output.from_input(args.security_group_id)
        self.subnet_group_name = subnet_group.name
        self.parameter_group_name = parameter_group.name
        self.kms_key_arn = key.arn
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "db_name": self.db_name,
                "username": self.username,
                "password": self.password,
                "connection_url": self.connection_url,
                "instance_id": self.instance_id,
                "instance_arn": self.instance_arn,
                "security_group_id": self.security_group_id,
                "subnet_group_name": self.subnet_group_name,
                "parameter_group_name": self.parameter_group_name,
                "kms_key_arn": self.kms_key_arn,
            }
        )
