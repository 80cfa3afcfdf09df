"""DhakaCart's whole platform in one Pulumi graph. This file only composes; each part lives in
dhakacart_infra/ (see README "Architecture")."""

import pulumi

from dhakacart_infra.aws.agents import K3sAgents, K3sAgentsArgs
from dhakacart_infra.aws.cluster import K3sCluster, K3sClusterArgs
from dhakacart_infra.aws.database import Database, DatabaseArgs
from dhakacart_infra.aws.dns import DnsRecords, DnsRecordsArgs
from dhakacart_infra.aws.load_balancer import ClusterEntryPoints, ClusterEntryPointsArgs
from dhakacart_infra.aws.loki_bucket import LokiBucket, LokiBucketArgs
from dhakacart_infra.aws.network import Network, NetworkArgs
from dhakacart_infra.aws.service_account_issuer import ServiceAccountIssuer, ServiceAccountIssuerArgs
from dhakacart_infra.aws.snapshot_exports import SnapshotExports, SnapshotExportsArgs
from dhakacart_infra.aws.volumes import VolumeAccess, VolumeAccessArgs, cluster_volume_tags
from dhakacart_infra.aws.workload_role import ServiceAccountTrust
from dhakacart_infra.config import load_config
from dhakacart_infra.config.upgrade_gate import (
    gated_k3s_version,
    joining_agents_k3s_version,
    last_deployed_k3s_version,
    this_stack_reference,
)
from dhakacart_infra.k8s.cluster_autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from dhakacart_infra.k8s.hosts import grafana_host, shop_host
from dhakacart_infra.k8s.k3s_upgrades import K3sUpgrades, K3sUpgradesArgs
from dhakacart_infra.k8s.logging import Logging, LoggingArgs, LokiS3Storage, loki_gateway_url
from dhakacart_infra.k8s.monitoring import Monitoring, MonitoringArgs
from dhakacart_infra.k8s.pod_identity import PodIdentityWebhook, PodIdentityWebhookArgs
from dhakacart_infra.k8s.reboots import Reboots, RebootsArgs
from dhakacart_infra.k8s.shop_observability import ShopObservability, ShopObservabilityArgs
from dhakacart_infra.k8s.storage import Storage, StorageArgs
from dhakacart_infra.k8s.storefront import Storefront, StorefrontArgs
from dhakacart_infra.k8s.tls import Tls, TlsArgs
from dhakacart_infra.names import SHOP_NAMESPACE, StackOutput
from dhakacart_infra.tags import aws_provider

# Read and validated before any resource is declared: a bad value stops here with a ConfigError.
config = load_config()

aws = aws_provider(f"{config.name_prefix}-aws", region=config.region, tags=config.tags)
on_aws = pulumi.ResourceOptions(provider=aws)

network = Network(
    "network",
    NetworkArgs(
        name_prefix=config.name_prefix,
        vpc_cidr=config.network.vpc_cidr,
        availability_zone_count=config.network.availability_zone_count,
        admin_cidrs=list(config.network.admin_cidrs),
        flow_log_retention_days=config.network.flow_log_retention_days,
    ),
    opts=on_aws,
)

# One load balancer in front of the cluster: its addresses exist before any server, so they go into
# the API certificate, and the servers and agents register with it.
entry = ClusterEntryPoints(
    "k3s-entry",
    ClusterEntryPointsArgs(
        name_prefix=config.name_prefix,
        vpc_id=network.vpc_id,
        subnet_ids=network.public_subnet_ids,
        zone_count=config.network.availability_zone_count,
        security_group_id=network.load_balancer_security_group_id,
        deletion_protection=config.cluster.servers.termination_protection,
    ),
    opts=on_aws,
)

# Pods get AWS identities of their own (never a node's role): the API server signs ServiceAccount
# tokens with this issuer's key, and STS trusts the issuer for the roles of aws/workload_role.py.
issuer = ServiceAccountIssuer(
    "k3s-issuer", ServiceAccountIssuerArgs(name_prefix=config.name_prefix, region=config.region), opts=on_aws
)
# Each workload's role trusts its own ServiceAccount through this issuer, and nothing else.
trust = ServiceAccountTrust(
    name_prefix=config.name_prefix, oidc_provider_arn=issuer.oidc_provider_arn, issuer_host=issuer.issuer_host
)

# The cluster and the database only share the network: Pulumi creates them in parallel.
cluster = K3sCluster(
    "k3s",
    K3sClusterArgs(
        name_prefix=config.name_prefix,
        region=config.region,
        subnet_ids=network.public_subnet_ids,
        zone_count=config.network.availability_zone_count,
        security_group_id=network.cluster_security_group_id,
        servers=config.cluster.servers,
        api_host=entry.dns_name,
        api_addresses=entry.addresses,
        api_target_group_arn=entry.api_target_group_arn,
        ingress_target_group_arns=entry.ingress_target_group_arns,
        service_account_issuer_url=issuer.issuer_url,
        service_account_key_parameter_name=issuer.signing_key_parameter_name,
        service_account_key_parameter_arn=issuer.signing_key_parameter_arn,
        service_account_key_kms_key_arn=issuer.signing_key_kms_key_arn,
        service_account_public_key_pem=issuer.public_key_pem,
    ),
    opts=on_aws,
)

# What the cluster runs now, as the last `pulumi up` recorded it: upgrades move forward from it.
running_k3s_version = last_deployed_k3s_version(this_stack_reference())

agents = K3sAgents(
    "k3s-agents",
    K3sAgentsArgs(
        name_prefix=config.name_prefix,
        cluster_name=config.name_prefix,
        region=config.region,
        subnet_ids=network.public_subnet_ids,
        security_group_id=network.cluster_security_group_id,
        settings=config.cluster.agents,
        k3s_version=joining_agents_k3s_version(running_k3s_version, config.cluster.k3s_version),
        api_host=entry.dns_name,
        agent_token=cluster.agent_token,
        ingress_target_group_arns=entry.ingress_target_group_arns,
        trust=trust,
        tags=config.tags,
    ),
    opts=on_aws,
)

# The EBS CSI driver's controller has a role of its own: it may manage only this cluster's volumes,
# all encrypted with a key of their own.
volume_access = VolumeAccess(
    "ebs-volumes",
    VolumeAccessArgs(
        name_prefix=config.name_prefix,
        cluster_name=config.name_prefix,
        trust=trust,
        instance_tags={k: config.tags[k] for k in ("Project", "Stack")},
    ),
    opts=on_aws,
)

database = Database(
    "database",
    DatabaseArgs(
        name_prefix=config.name_prefix,
        subnet_ids=network.private_subnet_ids,
        security_group_id=network.database_security_group_id,
        settings=config.database,
    ),
    opts=on_aws,
)

# Where `python -m dhakacart_infra.ops export` writes snapshot exports (private, own KMS key).
snapshot_exports = SnapshotExports(
    "db-exports",
    SnapshotExportsArgs(
        name_prefix=config.name_prefix,
        expire_after_days=config.backups.export_expiry_days,
        force_destroy=config.backups.export_force_destroy,
    ),
    opts=on_aws,
)

# Everything on Kubernetes goes through the cluster's own provider, never an ambient kubeconfig.
on_k3s = pulumi.ResourceOptions(provider=cluster.provider)
ingress_address = entry.addresses.apply(lambda addresses: addresses[0])
if config.app.hosted_zone_id and config.app.domain_name:
    # Pulumi owns both names in the zone; the Ingresses wait for their records.
    dns = DnsRecords(
        "dns",
        DnsRecordsArgs(
            zone_id=config.app.hosted_zone_id,
            names={"shop": config.app.domain_name, "grafana": f"grafana.{config.app.domain_name}"},
            target_dns_name=entry.dns_name,
            target_zone_id=entry.zone_id,
        ),
        opts=on_aws,
    )
    host, grafana = dns.hosts["shop"], dns.hosts["grafana"]
else:
    host = shop_host(config.app.domain_name, ingress_address)
    grafana = grafana_host(config.app.domain_name, ingress_address)

tls = Tls("tls", TlsArgs(acme_email=config.app.acme_email, issuer_name=config.app.tls_issuer), opts=on_k3s)

# Pods whose ServiceAccount names a role get that role's credentials; the releases below that use a
# role wait for it (role_for_pods).
pod_identity = PodIdentityWebhook(
    "pod-identity",
    PodIdentityWebhookArgs(
        region=config.region, servers=config.cluster.servers.count, cert_manager=tls.release
    ),
    opts=on_k3s,
)

# Volumes that outlive nodes: every PVC of the platform waits for the driver through its class.
storage = Storage(
    "storage",
    StorageArgs(
        region=config.region,
        servers=config.cluster.servers.count,
        volume_tags=cluster_volume_tags(config.name_prefix, config.tags),
        kms_key_arn=volume_access.kms_key_arn,
        controller_role_arn=pod_identity.role_for_pods(volume_access.controller_role_arn),
    ),
    opts=on_k3s,
)

# The shop waits for the database secret (through the migration Job) and the ClusterIssuer
# (through its Ingress), not for anything else.
shop = Storefront(
    "shop",
    StorefrontArgs(
        namespace=SHOP_NAMESPACE,
        image=config.app.app_image,
        host=host,
        environment=config.environment,
        cluster_issuer_name=tls.cluster_issuer_name,
        issuer=tls.issuer,
        database_url=database.connection_url,
        database_cidrs=network.private_subnet_cidrs,
        database_port=database.port,
        web=config.app.web,
        api=config.app.api,
        strict_spread=config.app.strict_spread,
        rate_limits=config.app.rate_limits,
    ),
    opts=on_k3s,
)

# Monitoring and logging run beside the shop: they read its metrics and logs, and it never waits
# for them. Prod keeps Loki's data in S3, reached with Loki's own role.
loki_bucket = (
    LokiBucket(
        "loki-logs",
        LokiBucketArgs(
            name_prefix=f"{config.name_prefix}-loki-",
            retention_days=config.monitoring.loki_retention_days,
            trust=trust,
        ),
        opts=on_aws,
    )
    if config.monitoring.loki_in_s3
    else None
)

monitoring = Monitoring(
    "monitoring",
    MonitoringArgs(
        grafana_host=grafana,
        cluster_issuer_name=tls.cluster_issuer_name,
        prometheus_retention=config.monitoring.prometheus_retention,
        prometheus_storage_gb=config.monitoring.prometheus_storage_gb,
        storage_class=storage.data_storage_class,
        loki_url=loki_gateway_url(),
        alerting=config.alerting,
    ),
    opts=on_k3s,
)

logs = Logging(
    "logging",
    LoggingArgs(
        namespace=monitoring.namespace_name,
        loki_retention_days=config.monitoring.loki_retention_days,
        loki_storage_gb=config.monitoring.loki_storage_gb,
        storage_class=storage.data_storage_class,
        s3=LokiS3Storage(
            bucket_name=loki_bucket.bucket_name,
            region=config.region,
            role_arn=pod_identity.role_for_pods(loki_bucket.role_arn),
        )
        if loki_bucket
        else None,
        monitoring_crds=monitoring.release,
    ),
    opts=on_k3s,
)

# Adds and removes agents with the load; needs the operator's CRDs for its ServiceMonitor.
autoscaler = ClusterAutoscaler(
    "cluster-autoscaler",
    ClusterAutoscalerArgs(
        cluster_name=config.name_prefix,
        region=config.region,
        role_arn=pod_identity.role_for_pods(agents.autoscaler_role_arn),
        monitoring_crds=monitoring.release,
    ),
    opts=on_k3s,
)

# The cluster keeps itself current inside the maintenance window: K3s upgrades node by node from
# k3sVersion, kernel reboots one node at a time, both paced by the shop's PodDisruptionBudgets.
upgrades = K3sUpgrades(
    "k3s-upgrades",
    K3sUpgradesArgs(
        # Forward only, one minor at a time, from what the last `pulumi up` deployed.
        k3s_version=gated_k3s_version(running_k3s_version, config.cluster.k3s_version, config.stack),
        window=config.cluster.maintenance,
    ),
    opts=on_k3s,
)
reboots = Reboots(
    "reboots", RebootsArgs(window=config.cluster.maintenance, monitoring_crds=monitoring.release), opts=on_k3s
)

shop_observability = ShopObservability(
    "shop-observability",
    ShopObservabilityArgs(
        shop_namespace=shop.namespace_name,
        monitoring_namespace=monitoring.namespace_name,
        monitoring_crds=monitoring.release,
    ),
    opts=on_k3s,
)

pulumi.export(StackOutput.ENVIRONMENT, config.environment)
pulumi.export(StackOutput.REGION, config.region)
pulumi.export(StackOutput.VPC_ID, network.vpc_id)
pulumi.export(StackOutput.INGRESS_ADDRESSES, entry.addresses)
pulumi.export(StackOutput.LOAD_BALANCER_DNS_NAME, entry.dns_name)
pulumi.export(StackOutput.KUBERNETES_API_URL, cluster.api_url)
pulumi.export(StackOutput.CLUSTER_NAME, config.name_prefix)
pulumi.export(StackOutput.SERVER_INSTANCE_IDS, cluster.server_instance_ids)
pulumi.export(StackOutput.SSM_START_SESSION_COMMAND, cluster.ssm_start_session_command)
pulumi.export(StackOutput.AGENT_GROUP_NAME, agents.group_name)
pulumi.export(StackOutput.VOLUME_KMS_KEY_ARN, volume_access.kms_key_arn)
pulumi.export(StackOutput.ETCD_SNAPSHOT_BUCKET, cluster.etcd_snapshot_bucket)
pulumi.export(StackOutput.ETCD_SNAPSHOT_FOLDER, cluster.etcd_snapshot_folder)
pulumi.export(StackOutput.DATABASE_ENDPOINT, database.address)
pulumi.export(StackOutput.DATABASE_PORT, database.port)
pulumi.export(StackOutput.KUBECONFIG, cluster.kubeconfig)
pulumi.export(StackOutput.STOREFRONT_URL, shop.url)
pulumi.export(StackOutput.API_URL, shop.api_url)
pulumi.export(StackOutput.NAMESPACE, shop.namespace_name)
pulumi.export(StackOutput.GRAFANA_URL, monitoring.grafana_url)
pulumi.export(StackOutput.GRAFANA_ADMIN_PASSWORD_COMMAND, monitoring.grafana_admin_password_command)
# What the ops tool (python -m dhakacart_infra.ops) reads: the instance by its RDS identifier
# (the resource id is the DbiResourceId), the pieces a restore must reuse, and the export target.
pulumi.export(StackOutput.DATABASE_INSTANCE_ID, database.identifier)
pulumi.export(StackOutput.DATABASE_SUBNET_GROUP, database.subnet_group_name)
pulumi.export(StackOutput.DATABASE_PARAMETER_GROUP, database.parameter_group_name)
pulumi.export(StackOutput.DATABASE_SECURITY_GROUP_ID, database.security_group_id)
pulumi.export(StackOutput.DATABASE_KMS_KEY_ARN, database.kms_key_arn)
pulumi.export(StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS, config.backups.manual_snapshot_retention_days)
pulumi.export(StackOutput.SNAPSHOT_EXPORT_BUCKET, snapshot_exports.bucket_name)
pulumi.export(StackOutput.SNAPSHOT_EXPORT_ROLE_ARN, snapshot_exports.role_arn)
pulumi.export(StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN, snapshot_exports.kms_key_arn)

# Recovery drills (issue 15): an alarm per drill when none succeeded for drillMaxAgeDays days.
from dhakacart_infra.aws.drill_alarms import DrillAlarms, DrillAlarmsArgs  # noqa: E402

drill_alarms = (
    DrillAlarms(
        "drill-alarms",
        DrillAlarmsArgs(
            name_prefix=config.name_prefix,
            stack=config.stack,
            max_age_days=config.drills.max_age_days,
            email_endpoints=[config.alerting.email_to] if config.alerting.email_to else [],
        ),
        opts=on_aws,
    )
    if config.drills.max_age_days
    else None
)
pulumi.export(StackOutput.DRILL_ALARM_TOPIC_ARN, drill_alarms.topic_arn if drill_alarms else "")

# The etcd restore drill's scratch server: its own read-only role, a closed security group, the token.
from dhakacart_infra.aws.etcd_drill import EtcdDrillAccess, EtcdDrillAccessArgs  # noqa: E402

etcd_drill = EtcdDrillAccess(
    "etcd-drill",
    EtcdDrillAccessArgs(
        name_prefix=config.name_prefix,
        region=config.region,
        vpc_id=network.vpc_id,
        snapshot_bucket_arn=cluster.etcd_snapshot_bucket_arn,
        snapshot_folder=cluster.etcd_snapshot_folder,
        snapshot_kms_key_arn=cluster.etcd_snapshot_kms_key_arn,
        cluster_token=cluster.server_token,
    ),
    opts=on_aws,
)
pulumi.export(StackOutput.K3S_VERSION, config.cluster.k3s_version)
pulumi.export(StackOutput.K3S_AMI_ID, cluster.ami_id)
# The scratch server needs egress without a NAT gateway: a public subnet, as the servers have.
pulumi.export(StackOutput.ETCD_DRILL_SUBNET_ID, network.public_subnet_ids.apply(lambda ids: ids[0]))
pulumi.export(StackOutput.ETCD_DRILL_SECURITY_GROUP_ID, etcd_drill.security_group_id)
pulumi.export(StackOutput.ETCD_DRILL_INSTANCE_PROFILE, etcd_drill.instance_profile_name)
pulumi.export(StackOutput.ETCD_DRILL_TOKEN_PARAMETER, etcd_drill.token_parameter_name)

# What the role that runs the drills (the drills workflow's DRILL_ROLE_ARN) may do, and no more.
from dhakacart_infra.aws.drill_runner import DrillRunnerPolicy, DrillRunnerPolicyArgs  # noqa: E402

drill_runner = DrillRunnerPolicy(
    "drill-runner",
    DrillRunnerPolicyArgs(
        name_prefix=config.name_prefix,
        region=config.region,
        database_identifier=database.identifier,
        database_kms_key_arn=database.kms_key_arn,
        subnet_group=database.subnet_group_name,
        parameter_group=database.parameter_group_name,
        etcd_bucket_arn=cluster.etcd_snapshot_bucket_arn,
        etcd_drill_role_arn=etcd_drill.role_arn,
        server_instance_ids=cluster.server_instance_ids,
    ),
    opts=on_aws,
)
pulumi.export(StackOutput.DRILL_RUNNER_POLICY_ARN, drill_runner.policy_arn)
