"""The monitoring components alone under the shared mocks, with a K3s provider like the real one
(fixtures registered in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from dhakacart_infra.k8s.alertmanager import AlertReceivers
from dhakacart_infra.k8s.logging import Logging, LoggingArgs, LokiS3Storage, loki_gateway_url
from dhakacart_infra.k8s.monitoring import Monitoring, MonitoringArgs
from dhakacart_infra.k8s.shop_observability import ShopObservability, ShopObservabilityArgs
from dhakacart_infra.k8s.tls import STAGING_ISSUER, Tls, TlsArgs
from dhakacart_infra.plan.runner import PlanResult, run_program

GRAFANA_HOST = "grafana.13-232-1-7.sslip.io"
LOKI_ROLE_ARN = "arn:aws:iam::123456789012:role/dhakacart-prod-loki"
SLACK_WEBHOOK = "https://hooks.slack.com/services/T0000/B0000/never-in-values"
SMTP_PASSWORD = "smtp-password-never-in-values"


def observability_program(
    *,
    receivers: AlertReceivers | None = None,
    s3: bool = False,
    loki_retention_days: int = 7,
    prometheus_retention: str = "15d",
    prometheus_storage_gb: int = 20,
) -> Callable[[], None]:
    def program() -> None:
        provider = k8s.Provider("k3s", kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"))
        opts = pulumi.ResourceOptions(provider=provider)
        tls = Tls("tls", TlsArgs(acme_email="ops@example.com", issuer_name=STAGING_ISSUER), opts=opts)
        monitoring = Monitoring("monitoring", MonitoringArgs(
            grafana_host=GRAFANA_HOST,
            cluster_issuer_name=tls.cluster_issuer_name,
            prometheus_retention=prometheus_retention,
            prometheus_storage_gb=prometheus_storage_gb,
            loki_url=loki_gateway_url(),
            alerting=receivers or AlertReceivers(),
        ), opts=opts)
        Logging("logging", LoggingArgs(
            namespace=monitoring.namespace_name,
            loki_retention_days=loki_retention_days,
            loki_storage_gb=10,
            s3=LokiS3Storage(bucket_name="dhakacart-prod-loki-abc", region="ap-south-1",
                             role_arn=LOKI_ROLE_ARN)
            if s3
            else None,
            monitoring_crds=monitoring.release,
        ), opts=opts)
        shop_ns = k8s.core.v1.Namespace("shop-namespace", metadata={"name": "dhakacart"}, opts=opts)
        ShopObservability("shop-observability", ShopObservabilityArgs(
            shop_namespace=shop_ns.metadata["name"],
            monitoring_namespace=monitoring.namespace_name,
            monitoring_crds=monitoring.release,
        ), opts=opts)

    return program


@pytest.fixture(scope="session")
def observability_plan() -> PlanResult:
    """Dev shape: no receivers, Loki on its volume."""
    return run_program("dev", program=observability_program())


@pytest.fixture
def run_observability() -> Callable[..., PlanResult]:
    def _run(stack: str = "dev", **kwargs: Any) -> PlanResult:
        return run_program(stack, program=observability_program(**kwargs))

    return _run


def release(plan: PlanResult, chart: str) -> Any:
    found = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.revealed().get("chart") == chart]
    assert len(found) == 1, f"expected one release of chart {chart!r}, found {len(found)}"
    return found[0]
