"""DhakaCart's whole platform in one Pulumi graph. This file only composes; each part lives in
dhakacart_infra/ (see README "Architecture")."""

import pulumi

from dhakacart_infra.aws.cluster import K3sCluster, K3sClusterArgs
from dhakacart_infra.aws.database import Database, DatabaseArgs
from dhakacart_infra.aws.network import Network, NetworkArgs
from dhakacart_infra.config import load_config
from dhakacart_infra.k8s.hosts import shop_host
from dhakacart_infra.k8s.storefront import Storefront, StorefrontArgs
from dhakacart_infra.k8s.tls import Tls, TlsArgs
from dhakacart_infra.tags import aws_provider

# Read and validated before any resource is declared: a bad value stops here with a ConfigError.
config = load_config()
log_retention_days = 90 if config.is_production else 30

aws = aws_provider(f"{config.name_prefix}-aws", region=config.region, tags=config.tags)
on_aws = pulumi.ResourceOptions(provider=aws)

network = Network(
    "network",
    NetworkArgs(
        name_prefix=config.name_prefix,
        vpc_cidr=config.network.vpc_cidr,
        availability_zone_count=config.network.availability_zone_count,
        admin_cidrs=list(config.network.admin_cidrs),
        flow_log_retention_days=log_retention_days,
    ),
    opts=on_aws,
)

# The cluster and the database only share the network: Pulumi creates them in parallel.
cluster = K3sCluster(
    "k3s",
    K3sClusterArgs(
        name_prefix=config.name_prefix,
        region=config.region,
        subnet_id=network.public_subnet_ids.apply(lambda ids: ids[0]),
        security_group_id=network.cluster_security_group_id,
        instance_type=config.cluster.instance_type,
        root_volume_gb=config.cluster.root_volume_gb,
        k3s_version=config.cluster.k3s_version,
        termination_protection=config.cluster.termination_protection,
    ),
    opts=on_aws,
)

database = Database(
    "database",
    DatabaseArgs(
        name_prefix=config.name_prefix,
        subnet_ids=network.private_subnet_ids,
        security_group_id=network.database_security_group_id,
        engine_version=config.database.engine_version,
        parameter_group_family=config.database.parameter_group_family,
        instance_class=config.database.instance_class,
        allocated_storage_gb=config.database.allocated_storage_gb,
        max_allocated_storage_gb=config.database.max_allocated_storage_gb,
        multi_az=config.database.multi_az,
        backup_retention_days=config.database.backup_retention_days,
        deletion_protection=config.database.deletion_protection,
        final_snapshot=config.database.final_snapshot,
        db_name=config.database.db_name,
        username=config.database.username,
        log_retention_days=log_retention_days,
    ),
    opts=on_aws,
)

# Everything on Kubernetes goes through the cluster's own provider, never an ambient kubeconfig.
on_k3s = pulumi.ResourceOptions(provider=cluster.provider)
host = shop_host(config.app.domain_name, cluster.public_ip)

tls = Tls("tls", TlsArgs(acme_email=config.app.acme_email, production=config.is_production), opts=on_k3s)

# The shop waits for the database secret (through the migration Job) and the ClusterIssuer
# (through its Ingress), not for anything else.
shop = Storefront(
    "shop",
    StorefrontArgs(
        namespace="dhakacart",
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
    ),
    opts=on_k3s,
)

pulumi.export("environment", config.environment)
pulumi.export("region", config.region)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("clusterPublicIp", cluster.public_ip)
pulumi.export("instanceId", cluster.instance_id)
pulumi.export("ssmStartSessionCommand", cluster.ssm_start_session_command)
pulumi.export("databaseEndpoint", database.address)
pulumi.export("databasePort", database.port)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("storefrontUrl", shop.url)
pulumi.export("apiUrl", shop.api_url)
pulumi.export("namespace", shop.namespace_name)
