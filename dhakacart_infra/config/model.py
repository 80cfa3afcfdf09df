"""StackConfig: the validated stack configuration, grouped by the part of the platform that uses it.

Where a component has a settings type of its own (DatabaseSettings, WorkloadSizing,
AlertReceivers), the config builds that type directly, so `__main__.py` hands it over instead of
copying fields. Everything else is a small frozen section here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from ..aws.agents import AgentPoolSettings
from ..aws.cluster import ServerPoolSettings
from ..aws.database import DatabaseSettings
from ..k8s.alertmanager import AlertReceivers
from ..k8s.maintenance_window import MaintenanceWindow
from ..k8s.storefront import WorkloadSizing
from ..tags import standard_tags
from .keys import retention_days


@dataclass(frozen=True)
class NetworkConfig:
    vpc_cidr: str
    availability_zone_count: int
    admin_cidrs: tuple[str, ...]
    flow_log_retention_days: int


@dataclass(frozen=True)
class ClusterConfig:
    servers: ServerPoolSettings
    agents: AgentPoolSettings
    maintenance: MaintenanceWindow

    @property
    def k3s_version(self) -> str:
        return self.servers.k3s_version


@dataclass(frozen=True)
class BackupConfig:
    manual_snapshot_retention_days: int
    """How long `python -m dhakacart_infra.ops backup prune` keeps the manual snapshots it made."""
    export_expiry_days: int
    export_force_destroy: bool


@dataclass(frozen=True)
class AppConfig:
    domain_name: str | None  # None: derive "<ip with dashes>.sslip.io" from the cluster's address
    acme_email: str
    tls_issuer: str
    app_image: str
    web: WorkloadSizing
    api: WorkloadSizing
    strict_spread: bool
    """Never schedule the shop unevenly over zones and nodes (zoneSpread strict)."""


@dataclass(frozen=True)
class MonitoringConfig:
    prometheus_retention: str
    prometheus_storage_gb: int
    loki_retention_days: int
    loki_storage_gb: int
    loki_in_s3: bool


@dataclass(frozen=True)
class DrillConfig:
    max_age_days: int
    """Days without a successful recovery drill before its alarm fires; 0: no drill alarms."""


@dataclass(frozen=True)
class StackConfig:
    project: str
    stack: str
    environment: str
    region: str
    network: NetworkConfig
    cluster: ClusterConfig
    database: DatabaseSettings
    backups: BackupConfig
    app: AppConfig
    monitoring: MonitoringConfig
    alerting: AlertReceivers
    drills: DrillConfig

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


def _sizing(size: Mapping[str, Any]) -> WorkloadSizing:
    return WorkloadSizing(
        min_replicas=size["minReplicas"],
        max_replicas=size["maxReplicas"],
        cpu_request=size["cpuRequest"],
        memory_request=size["memoryRequest"],
        cpu_limit=size["cpuLimit"],
        memory_limit=size["memoryLimit"],
    )


def build(
    v: Mapping[str, Any], *, project: str, stack: str, secret: Callable[[str], pulumi.Output[str] | None]
) -> StackConfig:
    """The StackConfig of fully validated values `v` (key name -> parsed value)."""
    return StackConfig(
        project=project,
        stack=stack,
        environment=v["environment"],
        region=v["region"],
        network=NetworkConfig(
            vpc_cidr=v["vpcCidr"],
            availability_zone_count=v["availabilityZones"],
            admin_cidrs=v["adminCidrs"],
            flow_log_retention_days=v["logRetentionDays"],
        ),
        cluster=ClusterConfig(
            servers=ServerPoolSettings(
                count=v["k3sServers"],
                instance_type=v["k3sInstanceType"],
                volume_gb=v["k3sRootVolumeGb"],
                k3s_version=v["k3sVersion"],
                dedicated=v["k3sDedicatedServers"],
                termination_protection=v["k3sTerminationProtection"],
                etcd_snapshot_schedule=v["etcdSnapshotSchedule"],
                etcd_snapshot_retention=v["etcdSnapshotRetention"],
            ),
            agents=AgentPoolSettings(
                instance_types=tuple(v["k3sAgentInstanceTypes"]),
                min_size=v["k3sAgentMinSize"],
                max_size=v["k3sAgentMaxSize"],
                volume_gb=v["k3sAgentVolumeGb"],
            ),
            maintenance=MaintenanceWindow(
                days=tuple(v["maintenanceDays"].split(",")),
                start=v["maintenanceStart"],
                end=v["maintenanceEnd"],
            ),
        ),
        database=DatabaseSettings(
            engine_version=v["dbEngineVersion"],
            instance_class=v["dbInstanceClass"],
            allocated_storage_gb=v["dbAllocatedStorageGb"],
            max_allocated_storage_gb=v["dbMaxAllocatedStorageGb"],
            multi_az=v["dbMultiAz"],
            backup_retention_days=v["dbBackupRetentionDays"],
            deletion_protection=v["dbDeletionProtection"],
            final_snapshot=v["dbFinalSnapshot"],
            apply_immediately=v["dbApplyImmediately"],
            key_deletion_window_days=v["dbKeyDeletionWindowDays"],
            db_name=v["dbName"],
            username=v["dbUsername"],
            log_retention_days=v["logRetentionDays"],
        ),
        backups=BackupConfig(
            manual_snapshot_retention_days=v["dbManualSnapshotRetentionDays"],
            export_expiry_days=v["snapshotExportExpiryDays"],
            export_force_destroy=v["snapshotExportForceDestroy"],
        ),
        app=AppConfig(
            domain_name=v["domainName"] or None,
            acme_email=v["acmeEmail"],
            tls_issuer=v["tlsIssuer"],
            app_image=v["appImage"],
            web=_sizing(v["web"]),
            api=_sizing(v["api"]),
            strict_spread=v["zoneSpread"] == "strict",
        ),
        monitoring=MonitoringConfig(
            prometheus_retention=v["prometheusRetention"],
            prometheus_storage_gb=v["prometheusStorageGb"],
            loki_retention_days=retention_days(v["lokiRetention"]),
            loki_storage_gb=v["lokiStorageGb"],
            loki_in_s3=v["lokiStorage"] == "s3",
        ),
        alerting=AlertReceivers(
            slack_webhook_url=secret("alertSlackWebhookUrl"),
            email_to=v["alertEmailTo"] or None,
            smtp_smarthost=v["alertSmtpSmarthost"] or None,
            smtp_from=v["alertSmtpFrom"] or None,
            smtp_password=secret("alertSmtpPassword"),
            smtp_username=v["alertSmtpUsername"] or None,
        ),
        drills=DrillConfig(max_age_days=v["drillMaxAgeDays"]),
    )
