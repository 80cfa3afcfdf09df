"""What is production: the `Environment` tag among a resource's effective tags, never a stack name."""

from __future__ import annotations

import pytest

from dhakacart_infra.config.keys import ENVIRONMENTS
from dhakacart_infra.plan.runner import read_stack_config
from dhakacart_infra.policy.environment import (
    PRODUCTION_ENVIRONMENT,
    effective_tags,
    environment_of,
    in_production,
    tag_key,
)
from dhakacart_infra.policy.plain_data import UNKNOWN
from dhakacart_infra.tags import standard_tags


@pytest.mark.parametrize(
    ("props", "environment"),
    [
        ({"tagsAll": {"Environment": "prod"}}, "prod"),
        ({"tagsAll": {"environment": "dev"}}, "dev"),
        ({"tags": {"ENVIRONMENT": "prod"}}, "prod"),
        ({"tags": {"Environment": "dev"}, "tagsAll": {"Environment": "prod"}}, "prod"),  # tagsAll wins
        ({"tagsAll": '{"Environment": "prod"}'}, "prod"),  # provider inputs arrive JSON-encoded
        ({"tagsAll": {"Environment": UNKNOWN}}, None),
        ({"tagsAll": {"Environment": ""}}, None),
        ({"tagsAll": {"Name": "db"}}, None),
        ({"metadata": {"labels": {"environment": "prod"}}}, None),  # Kubernetes labels are no AWS tags
    ],
)
def test_environment_of_reads_the_effective_environment_tag(props: dict, environment: str | None) -> None:
    assert environment_of(props) == environment


def test_only_the_prod_environment_is_production() -> None:
    assert in_production([{"tagsAll": {"Environment": "prod"}}])
    assert not in_production([{"tagsAll": {"Environment": "production"}}])  # the config accepts only prod
    assert not in_production([{"tagsAll": {"Environment": "dev", "Stack": "prod"}}])
    assert not in_production([])


def test_a_stack_is_production_when_any_of_its_aws_resources_is() -> None:
    kubernetes_object = {"metadata": {"name": "web", "namespace": "dhakacart"}}
    dev, prod = {"tagsAll": {"Environment": "dev"}}, {"tagsAll": {"Environment": "prod"}}
    assert in_production([kubernetes_object, dev, prod])
    assert not in_production([kubernetes_object, dev])
    assert not in_production([kubernetes_object])


def test_effective_tags_prefer_tags_all_and_keys_match_in_any_casing() -> None:
    assert effective_tags({"tags": {"Name": "a", "x": "1"}, "tagsAll": {"x": "2"}}) == {"Name": "a", "x": "2"}
    assert {tag_key(k) for k in ("ManagedBy", "managed-by", "managed_by", "MANAGEDBY")} == {"managedby"}


def test_the_program_tags_and_config_name_the_environment_the_policies_read() -> None:
    """One spelling: the config's `environment` values, the program's tag key, the policies' reading."""
    assert PRODUCTION_ENVIRONMENT in ENVIRONMENTS
    for environment in ENVIRONMENTS:
        tags = standard_tags("dhakacart", environment, "any-stack")
        assert environment_of({"tagsAll": tags}) == environment
    prod = read_stack_config("prod")
    assert prod.is_production and prod.environment == PRODUCTION_ENVIRONMENT
    assert in_production([{"tagsAll": prod.tags}])
    assert not in_production([{"tagsAll": read_stack_config("dev").tags}])
