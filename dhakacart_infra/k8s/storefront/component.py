"""The Storefront component: the shop's namespace and everything in it, composed from the pieces beside it.

Ordering comes from the graph, never from sleeps:
  database secret -> Secret -> migration Job (must complete) -> Deployments;
  cert-manager -> ClusterIssuer -> Ingress.
The network policies exist before the migration Job starts, so nothing ever runs unfenced, and the
shop waits for nothing else (in particular not for the monitoring stack).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ...errors import ComponentInputError
from ...names import API_COMPONENT, MIGRATION_COMPONENT, MONITORING_NAMESPACE, SHOP_APP_NAME, WEB_COMPONENT
from ...names import SHOP_APP_PORT as APP_PORT
from ...names import SHOP_METRICS_PORT as METRICS_PORT
from ..labels import image_version, pod_security_labels, recommended_labels
from ..middlewares import IngressMiddlewares, IngressMiddlewaresArgs
from ..network_policies import ShopNetworkPolicies, ShopNetworkPoliciesArgs
from ..rbac import OperatorRole, OperatorRoleArgs
from .ingress import shop_ingress
from .pods import WorkloadSizing, migration_pod_spec
from .rate_limits import VALKEY_PORT, rate_limit_store
from .serving import ServingWorkload, serving_workload
from .settings import RateLimits, app_config_map, app_environment, app_secret

# The targets: (CPU %, memory %) of the requests.
AUTOSCALING_TARGETS = {API_COMPONENT: (70, 80), WEB_COMPONENT: (75, 85)}
MIGRATION_BACKOFF_LIMIT = 3
MIGRATION_DEADLINE_SECONDS = 600
SECRET_KEY_LENGTH = 64
ENVIRONMENT_LABEL = "dhakacart/environment"


@dataclass
class StorefrontArgs:
    namespace: str
    image: str
    host: pulumi.Input[str]
    environment: str
    cluster_issuer_name: pulumi.Input[str]
    issuer: pulumi.Resource
    """The ClusterIssuer (the Ingress waits for it)."""
    database_url: pulumi.Input[str]
    """Secret: the Database component's connection_url ("postgresql+psycopg://...?sslmode=require")."""
    database_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    database_port: pulumi.Input[int]
    web: WorkloadSizing
    api: WorkloadSizing
    rate_limits: RateLimits
    log_level: str = "INFO"
    web_concurrency: int = 2
    strict_spread: bool = False
    """Spread strictly over zones and nodes (topology.topology_spread)."""
    monitoring_namespace: str = MONITORING_NAMESPACE


def _check_sizing(component: str, size: WorkloadSizing) -> None:
    if size.min_replicas < 1 or size.max_replicas < size.min_replicas:
        raise ComponentInputError(
            f"Storefront: {component} replicas must satisfy 1 <= min_replicas ({size.min_replicas}) "
            f"<= max_replicas ({size.max_replicas})"
        )


class Storefront(pulumi.ComponentResource):
    """Everything the shop runs in its namespace. The Kubernetes provider comes through `opts`."""

    url: pulumi.Output[str]
    api_url: pulumi.Output[str]
    namespace_name: pulumi.Output[str]
    workloads: dict[str, ServingWorkload]

    def __init__(self, name: str, args: StorefrontArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Storefront", name, None, opts)
        _check_sizing(WEB_COMPONENT, args.web)
        _check_sizing(API_COMPONENT, args.api)
        child = pulumi.ResourceOptions(parent=self)
        version = image_version(args.image)
        host = pulumi.Output.from_input(args.host)

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {
                    **recommended_labels(SHOP_APP_NAME, "namespace"),
                    # Which stack this is, for anyone looking at the cluster (dev or prod).
                    ENVIRONMENT_LABEL: args.environment,
                    **pod_security_labels(enforce="restricted"),
                },
            },
            opts=child,
        )
        ns = self.namespace.metadata["name"]
        self.rate_limit_store = rate_limit_store(name, ns, self)
        self.network_policies = ShopNetworkPolicies(
            f"{name}-network",
            ShopNetworkPoliciesArgs(
                namespace=ns,
                app_name=SHOP_APP_NAME,
                serving_components=[WEB_COMPONENT, API_COMPONENT],
                migration_component=MIGRATION_COMPONENT,
                database_cidrs=args.database_cidrs,
                database_port=args.database_port,
                app_port=APP_PORT,
                metrics_port=METRICS_PORT,
                monitoring_namespace=args.monitoring_namespace,
                rate_limit_store_labels=self.rate_limit_store.pod_labels,
                rate_limit_store_port=VALKEY_PORT,
            ),
            opts=child,
        )
        self.operator_role = OperatorRole(
            f"{name}-operators", OperatorRoleArgs(namespace=ns, app_name=SHOP_APP_NAME), opts=child
        )
        # The app calls no Kubernetes API: its account has no bindings and no token in its pods.
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={
                "name": SHOP_APP_NAME,
                "namespace": ns,
                "labels": recommended_labels(SHOP_APP_NAME, "app"),
            },
            automount_service_account_token=False,
            opts=child,
        )
        account = self.service_account.metadata["name"]

        self.secret_key = random.RandomPassword(
            f"{name}-secret-key", length=SECRET_KEY_LENGTH, special=False, opts=child
        )
        self.secret = app_secret(
            f"{name}-app-secret",
            ns,
            args.database_url,
            self.secret_key.result,
            self.rate_limit_store.storage_uri,
            child,
        )
        self.config_map = app_config_map(
            f"{name}-app-config",
            ns,
            host,
            log_level=args.log_level,
            web_concurrency=args.web_concurrency,
            rate_limits=args.rate_limits,
            opts=child,
        )
        app_env = app_environment(self.secret, self.config_map)

        # Migrations run once per change of image or configuration, to completion, before any
        # Deployment rolls out. Auto-named so a new image creates a new Job (Jobs are immutable);
        # no ttlSecondsAfterFinished, so Pulumi can see it complete.
        migration_labels = recommended_labels(SHOP_APP_NAME, MIGRATION_COMPONENT, version=version)
        self.migration = k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata={"namespace": ns, "labels": migration_labels},
            spec={
                "backoffLimit": MIGRATION_BACKOFF_LIMIT,
                "activeDeadlineSeconds": MIGRATION_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": migration_labels},
                    "spec": migration_pod_spec(MIGRATION_COMPONENT, args.image, args.api, app_env, account),
                },
            },
            # The allow-to-database policy must exist before the Job's pod tries to connect.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.network_policies]),
        )

        self.workloads = {
            component: serving_workload(
                name,
                component,
                namespace=ns,
                image=args.image,
                size=size,
                app_env=app_env,
                labels=recommended_labels(SHOP_APP_NAME, component, version=version),
                service_account=account,
                autoscaling_targets=AUTOSCALING_TARGETS[component],
                strict_spread=args.strict_spread,
                after=[self.migration],
                parent=self,
            )
            for component, size in ((WEB_COMPONENT, args.web), (API_COMPONENT, args.api))
        }

        self.middlewares = IngressMiddlewares(
            f"{name}-middlewares", IngressMiddlewaresArgs(namespace=ns), opts=child
        )
        self.ingress = shop_ingress(
            f"{name}-ingress",
            namespace=ns,
            host=host,
            services={component: w.service for component, w in self.workloads.items()},
            cluster_issuer_name=args.cluster_issuer_name,
            router_middlewares=self.middlewares.router_middlewares,
            version=version,
            issuer=args.issuer,
            parent=self,
        )

        self.namespace_name = ns
        self.url = host.apply(lambda h: f"https://{h}")
        self.api_url = host.apply(lambda h: f"https://{h}/api")
        self.register_outputs({"url": self.url, "api_url": self.api_url, "namespace": self.namespace_name})
