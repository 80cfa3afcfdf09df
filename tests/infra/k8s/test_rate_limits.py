"""The shop's shared rate-limit store: one Valkey every pod and worker counts in, reachable only
by the serving pods, with its password only in Secrets; and the limits as stack config."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from dhakacart_infra.errors import ConfigError
from dhakacart_infra.k8s.storefront import rate_limits
from dhakacart_infra.plan.mocks import is_secret, reveal
from tests.infra.k8s.kube import named

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SECRET = "kubernetes:core/v1:Secret"


def store(plan) -> dict:
    return named(plan, DEPLOYMENT, "dhakacart-rate-limits").revealed()


def test_the_shop_counts_in_the_store_with_its_password(shop_plan):
    app = shop_plan.one(SECRET, "shop-app-secret")
    assert is_secret(app.inputs["stringData"])
    uri = urlsplit(reveal(app.inputs["stringData"])["RATELIMIT_STORAGE_URI"])
    assert (uri.scheme, uri.hostname, uri.port, uri.path) == (
        "redis",
        "dhakacart-rate-limits.dhakacart.svc",
        6379,
        "/0",
    )
    config = reveal(shop_plan.one(SECRET, "shop-rate-limits-config").inputs["stringData"])["valkey.conf"]
    assert f"requirepass {uri.password}" in config and len(uri.password) == 32


def test_the_store_keeps_nothing_on_disk_and_bounds_its_memory(shop_plan):
    config = reveal(shop_plan.one(SECRET, "shop-rate-limits-config").inputs["stringData"])["valkey.conf"]
    assert 'save ""' in config and "appendonly no" in config
    assert f"maxmemory {rate_limits.MAX_MEMORY}" in config and "maxmemory-policy allkeys-lru" in config
    (container,) = store(shop_plan)["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["memory"] == "96Mi"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["runAsUser"] >= 10000


def test_a_drain_may_move_the_store(shop_plan):
    budget = named(shop_plan, "kubernetes:policy/v1:PodDisruptionBudget", "dhakacart-rate-limits").revealed()
    assert budget["spec"]["maxUnavailable"] == 1  # one replica: never a budget that blocks every drain
    assert store(shop_plan)["spec"]["replicas"] == 1


def test_only_the_serving_pods_reach_the_store(shop_plan):
    policy = named(
        shop_plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-rate-limits-from-app"
    ).revealed()["spec"]
    assert policy["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "dhakacart", "app.kubernetes.io/component": "rate-limits"}
    }
    (rule,) = policy["ingress"]
    (peer,) = rule["from"]
    assert peer["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["web", "api"]}
    ]
    assert rule["ports"] == [{"protocol": "TCP", "port": 6379}]


def test_the_limits_come_from_the_stack_config(run_stack):
    plan = run_stack(
        "prod",
        overrides={"rateLimitDefault": "600 per minute; 20000 per hour", "rateLimitAuth": "5 per minute"},
    )
    data = next(
        r for r in plan.of_type("kubernetes:core/v1:ConfigMap") if r.name == "shop-app-config"
    ).revealed()
    assert data["data"]["RATELIMIT_DEFAULT"] == "600 per minute; 20000 per hour"
    assert data["data"]["RATELIMIT_AUTH"] == "5 per minute"


@pytest.mark.parametrize("value", ["ten per minute", "0 per minute", "10 per fortnight", "10 per minute;"])
def test_a_limit_the_shop_could_misread_is_refused(run_stack, value):
    with pytest.raises(ConfigError, match=r"rateLimitAuth = .*is not a rate limit like '300 per minute'"):
        run_stack("prod", overrides={"rateLimitAuth": value})
