"""The shop's settings in the cluster: a Secret (database URL, signing key) and a ConfigMap (the rest).

Both are auto-named (no metadata.name) and immutable: a new value is a new object, so the
migration Job and the Deployments that reference it roll out with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ...names import SHOP_APP_NAME, SHOP_METRICS_PORT
from ..labels import recommended_labels
from .pods import GUNICORN_GRACEFUL_TIMEOUT_SECONDS, AppEnvironment


@dataclass(frozen=True)
class RateLimits:
    """What the stack configuration decides (rateLimitDefault, rateLimitAuth): Flask-Limiter strings."""

    default: str
    auth: str


SECRET_KEYS = ("DATABASE_URL", "SECRET_KEY", "RATELIMIT_STORAGE_URI")


def app_secret(
    name: str,
    namespace: pulumi.Input[str],
    database_url: pulumi.Input[str],
    secret_key: pulumi.Input[str],
    rate_limit_storage_uri: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.Secret:
    """`database_url` is the Database component's `connection_url`, which requires TLS by construction;
    `rate_limit_storage_uri` names the shared rate-limit store with its password."""
    return k8s.core.v1.Secret(
        name,
        metadata={"namespace": namespace, "labels": recommended_labels(SHOP_APP_NAME, "app")},
        type="Opaque",
        immutable=True,
        string_data=pulumi.Output.secret(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": secret_key,
                "RATELIMIT_STORAGE_URI": rate_limit_storage_uri,
            }
        ),
        opts=opts,
    )


def app_config_map(
    name: str,
    namespace: pulumi.Input[str],
    host: pulumi.Output[str],
    *,
    log_level: str,
    web_concurrency: int,
    rate_limits: RateLimits,
    opts: pulumi.ResourceOptions,
) -> k8s.core.v1.ConfigMap:
    return k8s.core.v1.ConfigMap(
        name,
        metadata={"namespace": namespace, "labels": recommended_labels(SHOP_APP_NAME, "app")},
        immutable=True,
        data={
            # "production" is how the app runs (PostgreSQL, gunicorn, JSON logs) in both stacks.
            "DHAKACART_ENV": "production",
            "LOG_LEVEL": log_level,
            "CORS_ORIGINS": host.apply(lambda h: f"https://{h}"),
            "METRICS_PORT": str(SHOP_METRICS_PORT),
            "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",  # noqa: S108 - inside the pod's emptyDir
            "WEB_CONCURRENCY": str(web_concurrency),
            # Set here rather than trusting gunicorn's default, so the grace period is long enough
            # by construction.
            "GUNICORN_GRACEFUL_TIMEOUT": str(GUNICORN_GRACEFUL_TIMEOUT_SECONDS),
            # Traefik is the one proxy in front: its X-Forwarded-For names the client (rate limits
            # and logs see clients, not Traefik).
            "TRUSTED_PROXY_HOPS": "1",
            # One count for every worker and pod (the store is in the Secret's storage URI).
            "RATELIMIT_DEFAULT": rate_limits.default,
            "RATELIMIT_AUTH": rate_limits.auth,
        },
        opts=opts,
    )


def app_environment(secret: k8s.core.v1.Secret, config_map: k8s.core.v1.ConfigMap) -> AppEnvironment:
    return AppEnvironment(
        env=[
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret.metadata["name"], "key": key}}}
            for key in SECRET_KEYS
        ],
        env_from=[{"configMapRef": {"name": config_map.metadata["name"]}}],
    )
