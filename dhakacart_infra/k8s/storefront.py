"""The shop on K3s: namespace, secrets, migrations, the web and api workloads, and their Ingress.

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

from ..errors import DhakacartError
from .labels import image_version, pod_security_labels, recommended_labels, selector_labels
from .middlewares import ROUTER_MIDDLEWARES_ANNOTATION, IngressMiddlewares, IngressMiddlewaresArgs
from .network_policies import ShopNetworkPolicies, ShopNetworkPoliciesArgs
from .rbac import OperatorRole, OperatorRoleArgs
from .tls import TRAEFIK_INGRESS_CLASS

APP_NAME = "dhakacart"
WEB, API, MIGRATE = "web", "api", "migrate"
APP_PORT = 8000
METRICS_PORT = 9102
APP_WORKDIR = "/app"
MIGRATE_COMMAND = ["flask", "--app", "dhakacart", "db", "upgrade"]

# Runs as this unprivileged uid/gid whatever USER the image declares (the restricted profile needs
# a numeric non-root user to be provable).
RUN_AS_USER = 10001

# Rollout without dropped requests: on termination the pod first leaves the Service endpoints
# while preStop sleeps (Traefik stops routing to it), then gunicorn gets SIGTERM and finishes
# in-flight requests within its graceful timeout (GUNICORN_GRACEFUL_TIMEOUT, set in the ConfigMap).
PRE_STOP_SLEEP_SECONDS = 10
GUNICORN_GRACEFUL_TIMEOUT_SECONDS = 30
TERMINATION_GRACE_PERIOD_SECONDS = PRE_STOP_SLEEP_SECONDS + GUNICORN_GRACEFUL_TIMEOUT_SECONDS + 5

# The issue's targets: (CPU %, memory %) of the requests.
AUTOSCALING_TARGETS = {API: (70, 80), WEB: (75, 85)}

HEALTH_PATHS = ("/healthz", "/readyz")

MIGRATION_BACKOFF_LIMIT = 3
MIGRATION_DEADLINE_SECONDS = 600

SECRET_KEY_LENGTH = 64

ENVIRONMENT_LABEL = "dhakacart/environment"


@dataclass(frozen=True)
class WorkloadSizing:
    """One workload's replica bounds and container resources (the stack keys `web` and `api`)."""

    min_replicas: int
    max_replicas: int
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


class StorefrontConfigError(DhakacartError, ValueError):
    """Inputs the Storefront component cannot deploy."""


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
    """Secret: "postgresql+psycopg://...?sslmode=require" from the Database component."""
    database_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    database_port: pulumi.Input[int]
    web: WorkloadSizing
    api: WorkloadSizing
    log_level: str = "INFO"
    web_concurrency: int = 2
    monitoring_namespace: str = "monitoring"


def _check_sizing(component: str, size: WorkloadSizing) -> None:
    if size.min_replicas < 1 or size.max_replicas < size.min_replicas:
        raise StorefrontConfigError(
            f"{component}: replicas must satisfy 1 <= min ({size.min_replicas}) <= max "
            f"({size.max_replicas}); fix `dhakacart:{component}` in the stack file"
        )


def require_tls_database_url(url: str) -> str:
    """The shop only talks to PostgreSQL over TLS: refuse a URL without sslmode require/verify."""
    if "sslmode=require" not in url and "sslmode=verify-full" not in url and "sslmode=verify-ca" not in url:
        raise StorefrontConfigError(
            "the database URL handed to the shop does not require TLS (no sslmode=require, verify-ca or "
            "verify-full): build it with `?sslmode=require` in the Database component"
        )
    return url


def _resources(size: WorkloadSizing) -> dict:
    return {
        "requests": {"cpu": size.cpu_request, "memory": size.memory_request},
        "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit},
    }


def _container_security_context() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _pod_security_context() -> dict:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# Read-only root filesystem: /tmp (gunicorn's worker heartbeat files, the Prometheus multiprocess
# directory) is a small emptyDir.
_TMP_VOLUME = {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}
_TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - a private emptyDir, not the host's /tmp


def _topology_spread(component: str) -> list[dict]:
    # ScheduleAnyway: spread when the cluster has several nodes or zones, but a single-node K3s
    # must still schedule every replica.
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": selector_labels(APP_NAME, component)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
    ]


def _probe(path: str, period: int, failure_threshold: int, timeout: int = 3) -> dict:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failure_threshold,
    }


def _utilization(resource: str, percent: int) -> dict:
    return {"type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": percent}}}


def hpa_behavior() -> dict:
    """Scale up fast enough to go from the minimum to the maximum within a minute (every 15 s at
    least double, or add 4 pods, whichever is more); scale down gently after 5 quiet minutes."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15},
                {"type": "Pods", "value": 4, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Min",
            "policies": [
                {"type": "Percent", "value": 25, "periodSeconds": 60},
                {"type": "Pods", "value": 1, "periodSeconds": 60},
            ],
        },
    }


class Storefront(pulumi.ComponentResource):
    """Everything the shop runs in its namespace. The Kubernetes provider comes through `opts`."""

    url: pulumi.Output[str]
    api_url: pulumi.Output[str]
    namespace_name: pulumi.Output[str]

    def __init__(self, name: str, args: StorefrontArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Storefront", name, None, opts)
        if args.environment not in ("dev", "prod"):
            raise StorefrontConfigError(
                f"environment {args.environment!r} is neither dev nor prod: set `dhakacart:environment`"
            )
        _check_sizing(WEB, args.web)
        _check_sizing(API, args.api)
        child = pulumi.ResourceOptions(parent=self)
        version = image_version(args.image)
        host = pulumi.Output.from_input(args.host)

        def labels(component: str) -> dict[str, str]:
            return recommended_labels(APP_NAME, component, version=version)

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {
                    **recommended_labels(APP_NAME, "namespace"),
                    # Which stack this is, for anyone looking at the cluster (dev or prod).
                    ENVIRONMENT_LABEL: args.environment,
                    **pod_security_labels(enforce="restricted"),
                },
            },
            opts=child,
        )
        ns = self.namespace.metadata["name"]

        self.network_policies = ShopNetworkPolicies(
            f"{name}-network",
            ShopNetworkPoliciesArgs(
                namespace=ns, app_name=APP_NAME, serving_components=[WEB, API], migration_component=MIGRATE,
                database_cidrs=args.database_cidrs, database_port=args.database_port,
                app_port=APP_PORT, metrics_port=METRICS_PORT, monitoring_namespace=args.monitoring_namespace,
            ),
            opts=child,
        )
        self.operator_role = OperatorRole(
            f"{name}-operators", OperatorRoleArgs(namespace=ns, app_name=APP_NAME), opts=child
        )

        # The app calls no Kubernetes API: its account has no bindings and no token in its pods.
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata={"name": APP_NAME, "namespace": ns, "labels": recommended_labels(APP_NAME, "app")},
            automount_service_account_token=False,
            opts=child,
        )

        self.secret_key = random.RandomPassword(
            f"{name}-secret-key", length=SECRET_KEY_LENGTH, special=False, opts=child
        )
        database_url = pulumi.Output.secret(args.database_url).apply(require_tls_database_url)
        # Auto-named (no metadata.name) and immutable: a new value is a new object, so the Job and
        # the Deployments that reference it roll out with it.
        self.secret = k8s.core.v1.Secret(
            f"{name}-app-secret",
            metadata={"namespace": ns, "labels": recommended_labels(APP_NAME, "app")},
            type="Opaque",
            immutable=True,
            string_data=pulumi.Output.secret({
                "DATABASE_URL": database_url,
                "SECRET_KEY": self.secret_key.result,
            }),
            opts=child,
        )
        self.config_map = k8s.core.v1.ConfigMap(
            f"{name}-app-config",
            metadata={"namespace": ns, "labels": recommended_labels(APP_NAME, "app")},
            immutable=True,
            data={
                # "production" is how the app runs (PostgreSQL, gunicorn, JSON logs) in both stacks.
                "DHAKACART_ENV": "production",
                "LOG_LEVEL": args.log_level,
                "CORS_ORIGINS": host.apply(lambda h: f"https://{h}"),
                "METRICS_PORT": str(METRICS_PORT),
                "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",  # noqa: S108 - inside the pod's emptyDir
                "WEB_CONCURRENCY": str(args.web_concurrency),
                # Set here rather than trusting gunicorn's default, so the grace period below is
                # long enough by construction.
                "GUNICORN_GRACEFUL_TIMEOUT": str(GUNICORN_GRACEFUL_TIMEOUT_SECONDS),
                # Traefik is the one proxy in front: its X-Forwarded-For names the client (rate
                # limits and logs see clients, not Traefik).
                "TRUSTED_PROXY_HOPS": "1",
            },
            opts=child,
        )

        secret_name = self.secret.metadata["name"]
        env = [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}
            for key in ("DATABASE_URL", "SECRET_KEY")
        ]
        env_from = [{"configMapRef": {"name": self.config_map.metadata["name"]}}]

        # Migrations run once per change of image or configuration, to completion, before any
        # Deployment rolls out. Auto-named so a new image creates a new Job (Jobs are immutable);
        # no ttlSecondsAfterFinished, so Pulumi can see it complete.
        self.migration = k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata={"namespace": ns, "labels": labels(MIGRATE)},
            spec={
                "backoffLimit": MIGRATION_BACKOFF_LIMIT,
                "activeDeadlineSeconds": MIGRATION_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": labels(MIGRATE)},
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": self.service_account.metadata["name"],
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": _pod_security_context(),
                        "containers": [{
                            "name": MIGRATE,
                            "image": args.image,
                            # The image's entrypoint is gunicorn: run Flask-Migrate explicitly.
                            "command": MIGRATE_COMMAND,
                            "workingDir": APP_WORKDIR,
                            "env": env,
                            "envFrom": env_from,
                            "resources": _resources(args.api),
                            "securityContext": _container_security_context(),
                            "volumeMounts": [_TMP_MOUNT],
                        }],
                        "volumes": [_TMP_VOLUME],
                    },
                },
            },
            # The allow-to-database policy must exist before the Job's pod tries to connect.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.network_policies]),
        )

        self.deployments: dict[str, k8s.apps.v1.Deployment] = {}
        self.services: dict[str, k8s.core.v1.Service] = {}
        self.autoscalers: dict[str, k8s.autoscaling.v2.HorizontalPodAutoscaler] = {}
        self.disruption_budgets: dict[str, k8s.policy.v1.PodDisruptionBudget] = {}
        for component, size in ((WEB, args.web), (API, args.api)):
            workload = f"{APP_NAME}-{component}"
            selector = selector_labels(APP_NAME, component)
            self.deployments[component] = k8s.apps.v1.Deployment(
                f"{name}-{component}",
                metadata={"name": workload, "namespace": ns, "labels": labels(component)},
                spec={
                    # No `replicas`: the HorizontalPodAutoscaler owns the count, and a value here
                    # would reset it to the minimum on every `pulumi up`.
                    "selector": {"matchLabels": selector},
                    "revisionHistoryLimit": 5,
                    "strategy": {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                    "template": {
                        "metadata": {"labels": labels(component)},
                        "spec": self._pod_spec(component, args.image, size, env, env_from),
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.migration]),
            )
            self.services[component] = k8s.core.v1.Service(
                f"{name}-{component}-service",
                metadata={"name": workload, "namespace": ns, "labels": labels(component)},
                spec={
                    "type": "ClusterIP",
                    "selector": selector,
                    "ports": [
                        {"name": "http", "port": APP_PORT, "targetPort": "http", "protocol": "TCP"},
                        {"name": "metrics", "port": METRICS_PORT, "targetPort": "metrics", "protocol": "TCP"},
                    ],
                },
                opts=child,
            )
            cpu_target, memory_target = AUTOSCALING_TARGETS[component]
            self.autoscalers[component] = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-{component}-autoscaler",
                metadata={"name": workload, "namespace": ns, "labels": labels(component)},
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": self.deployments[component].metadata["name"]},
                    "minReplicas": size.min_replicas,
                    "maxReplicas": size.max_replicas,
                    "metrics": [_utilization("cpu", cpu_target), _utilization("memory", memory_target)],
                    "behavior": hpa_behavior(),
                },
                opts=child,
            )
            # maxUnavailable rather than minAvailable: with one replica (dev) a drain can still
            # proceed, with more it never takes two down at once.
            self.disruption_budgets[component] = k8s.policy.v1.PodDisruptionBudget(
                f"{name}-{component}-pdb",
                metadata={"name": workload, "namespace": ns, "labels": labels(component)},
                spec={
                    "maxUnavailable": 1,
                    "selector": {"matchLabels": selector},
                    "unhealthyPodEvictionPolicy": "AlwaysAllow",
                },
                opts=child,
            )

        self.middlewares = IngressMiddlewares(
            f"{name}-middlewares", IngressMiddlewaresArgs(namespace=ns), opts=child
        )
        issuer_name = pulumi.Output.from_input(args.cluster_issuer_name)

        def backend(component: str) -> dict:
            return {"service": {"name": self.services[component].metadata["name"], "port": {"name": "http"}}}

        paths = [{"path": "/api", "pathType": "Prefix", "backend": backend(API)}]
        paths += [{"path": p, "pathType": "Exact", "backend": backend(API)} for p in HEALTH_PATHS]
        paths.append({"path": "/", "pathType": "Prefix", "backend": backend(WEB)})
        self.ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                "name": APP_NAME,
                "namespace": ns,
                "labels": recommended_labels(APP_NAME, "ingress", version=version),
                "annotations": {
                    "cert-manager.io/cluster-issuer": issuer_name,
                    ROUTER_MIDDLEWARES_ANNOTATION: self.middlewares.router_middlewares,
                },
            },
            spec={
                "ingressClassName": TRAEFIK_INGRESS_CLASS,
                "tls": [{"hosts": [host], "secretName": f"{APP_NAME}-tls"}],
                "rules": [{"host": host, "http": {"paths": paths}}],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.issuer]),
        )

        self.namespace_name = ns
        self.url = host.apply(lambda h: f"https://{h}")
        self.api_url = host.apply(lambda h: f"https://{h}/api")
        self.register_outputs({"url": self.url, "api_url": self.api_url, "namespace": self.namespace_name})

    def _pod_spec(self, component: str, image: str, size: WorkloadSizing, env: list, env_from: list) -> dict:
        return {
            "serviceAccountName": self.service_account.metadata["name"],
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": _pod_security_context(),
            "terminationGracePeriodSeconds": TERMINATION_GRACE_PERIOD_SECONDS,
            "topologySpreadConstraints": _topology_spread(component),
            "containers": [{
                "name": component,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [
                    {"name": "http", "containerPort": APP_PORT, "protocol": "TCP"},
                    {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                ],
                "env": env,
                "envFrom": env_from,
                "resources": _resources(size),
                "securityContext": _container_security_context(),
                # Startup allows up to 60 s for the first ready answer; readiness takes the pod
                # out of the Service within ~10 s of the database going away; liveness only
                # restarts a process that no longer answers at all.
                "startupProbe": _probe("/readyz", period=2, failure_threshold=30),
                "readinessProbe": _probe("/readyz", period=5, failure_threshold=2),
                "livenessProbe": _probe("/healthz", period=10, failure_threshold=3),
                # The native sleep action (PodLifecycleSleepAction: beta and on by default since
                # Kubernetes 1.30, GA in 1.34), so the pause needs no shell or `sleep` in the image.
                "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
                "volumeMounts": [_TMP_MOUNT],
            }],
            "volumes": [_TMP_VOLUME],
        }
