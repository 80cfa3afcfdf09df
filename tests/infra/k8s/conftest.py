"""The shop's Kubernetes components alone, under the shared mocks, with a K3s provider and
database outputs standing in for the AWS components (as plain and secret Outputs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest

from dhakacart_infra.k8s.hosts import shop_host
from dhakacart_infra.k8s.storefront import RateLimits, Storefront, StorefrontArgs
from dhakacart_infra.k8s.tls import PRODUCTION_ISSUER, STAGING_ISSUER, Tls, TlsArgs
from dhakacart_infra.plan.runner import PlanResult, run_program

DATABASE_URL = "postgresql+psycopg://dhakacart:s3cr3t-pw@db.internal:5432/dhakacart?sslmode=require"
DATABASE_CIDRS = ["10.0.10.0/24", "10.0.11.0/24"]
PUBLIC_IP = "13.232.10.20"
IMAGE = "ghcr.io/dhakacart/shop:1.4.2"


@dataclass(frozen=True)
class Size:
    min_replicas: int
    max_replicas: int
    cpu_request: str = "100m"
    memory_request: str = "192Mi"
    cpu_limit: str = "500m"
    memory_limit: str = "384Mi"


PROD_SIZES = {"web": Size(3, 8), "api": Size(3, 10)}


def shop_program(
    production: bool = True,
    sizes: dict[str, Size] | None = None,
    database_url: str = DATABASE_URL,
    domain_name: str | None = None,
    exports: dict | None = None,
) -> Callable[[], None]:
    sizes = sizes or PROD_SIZES

    def program() -> None:
        provider = k8s.Provider("k3s", kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"))
        tls = Tls(
            "tls",
            TlsArgs(
                acme_email="ops@dhakacart.example",
                issuer_name=PRODUCTION_ISSUER if production else STAGING_ISSUER,
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        shop = Storefront(
            "shop",
            StorefrontArgs(
                namespace="dhakacart",
                image=IMAGE,
                host=shop_host(domain_name, pulumi.Output.from_input(PUBLIC_IP)),
                environment="prod" if production else "dev",
                cluster_issuer_name=tls.cluster_issuer_name,
                issuer=tls.issuer,
                database_url=pulumi.Output.secret(database_url),
                database_cidrs=pulumi.Output.from_input(DATABASE_CIDRS),
                database_port=pulumi.Output.from_input(5432),
                web=sizes["web"],
                api=sizes["api"],
                rate_limits=RateLimits(default="300 per minute", auth="10 per minute"),
            ),
            opts=pulumi.ResourceOptions(provider=provider),
        )
        pulumi.export("storefrontUrl", shop.url)
        pulumi.export("apiUrl", shop.api_url)
        pulumi.export("namespace", shop.namespace_name)

    return program


@pytest.fixture(scope="session")
def component_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with an empty stack file: the components get every input as an argument, so these
    tests do not depend on the stack files."""
    root = tmp_path_factory.mktemp("component-project")
    (root / "Pulumi.yaml").write_text("name: dhakacart\nruntime: python\n")
    (root / "Pulumi.components.yaml").write_text("config: {}\n")
    return root


def run_components(root: Path, **kwargs) -> PlanResult:
    return run_program("components", root=root, program=shop_program(**kwargs))


@pytest.fixture(scope="session")
def shop_plan(component_root: Path) -> PlanResult:
    """The components as prod builds them (production issuer, prod-like sizes)."""
    return run_components(component_root)


@pytest.fixture(scope="session")
def staging_shop_plan(component_root: Path) -> PlanResult:
    return run_components(component_root, production=False, sizes={"web": Size(1, 3), "api": Size(1, 3)})


@pytest.fixture
def run_shop(component_root: Path) -> Callable[..., PlanResult]:
    def _run(**kwargs) -> PlanResult:
        return run_components(component_root, **kwargs)

    return _run


# The monitoring components' fixtures (the stack of monitoring, logging and the shop's observability).
from tests.infra.k8s.observability import observability_plan, run_observability  # noqa: E402, F401
