"""The registry: every policy has a rule of its kind where its cases are, and production-only
policies apply where environment.py says production."""

from __future__ import annotations

from typing import Any

import pytest

from dhakacart_infra.policy import aws_rules, kubernetes_rules, stack_rules
from dhakacart_infra.policy.registry import POLICIES, POLICIES_BY_NAME, resource_policy, stack_policy
from dhakacart_infra.policy.stack_rules import StackResource, StackViolation
from tests.policy.samples import DEPLOYMENT, GOOD_RDS, PROD_RDS, PROD_TAGS, RDS, TAGS, WORKLOAD, deployment

INSTANCE = "aws:ec2/instance:Instance"
VPC = "aws:ec2/vpc:Vpc"


def test_every_policy_has_a_bad_and_good_case() -> None:
    """Each rule module's tests cover the policies defined there (test_<module>.py), so every policy
    is covered when every policy's rule lives in the module of its kind."""
    homes = {(p.kind, (p.check or p.stack_check).__module__) for p in POLICIES}
    assert homes <= {
        ("resource", aws_rules.__name__),
        ("resource", kubernetes_rules.__name__),
        ("stack", stack_rules.__name__),
    }


def test_at_least_25_mandatory_policies_with_descriptions() -> None:
    mandatory = [p for p in POLICIES if p.enforcement == "mandatory"]
    assert len(mandatory) >= 25
    assert all(p.description and (p.check or p.stack_check) for p in POLICIES)
    assert all((p.check is None) != (p.stack_check is None) for p in POLICIES)

def test_policies_ignore_other_resource_types() -> None:
    assert (
        POLICIES_BY_NAME["k8s-probes"].judge("kubernetes:batch/v1:Job", deployment(livenessProbe=None), "dev")
        == []
    )
    assert POLICIES_BY_NAME["aws-rds-storage-encrypted"].judge(INSTANCE, {}, "dev") == []

def test_a_production_only_resource_policy_must_judge_tagged_aws_types() -> None:
    def always(resource_type: str, props: Any, stack: str) -> list[str]:
        return ["violated"]

    with pytest.raises(ValueError, match="make it a stack policy"):
        resource_policy("k8s-prod-only", "Never fires.", (DEPLOYMENT,), always, production_only=True)
    aws_only = resource_policy("aws-prod-only", "Fires in prod.", (RDS,), always, production_only=True)
    assert aws_only.judge(RDS, PROD_RDS, "staging") == ["violated"]
    assert aws_only.judge(RDS, GOOD_RDS, "prod-test") == []

def test_a_production_only_stack_policy_reads_the_stacks_aws_tags() -> None:
    """Kubernetes objects carry no AWS tags: a production-only rule over them is a stack rule, and
    the stack is production when its AWS resources say so."""

    def every_workload(resources: list[StackResource], stack: str) -> list[StackViolation]:
        return [StackViolation(f"{r.name} in {stack}") for r in resources if r.type == DEPLOYMENT]

    policy = stack_policy("k8s-prod-only", "Judges workloads in prod.", every_workload, production_only=True)
    prod_vpc = StackResource(VPC, "main", "urn:vpc", {"tagsAll": PROD_TAGS})
    dev_vpc = StackResource(VPC, "main", "urn:vpc", {"tagsAll": TAGS})
    assert policy.judge_stack([prod_vpc, WORKLOAD], "staging") == [StackViolation("web in staging")]
    assert policy.judge_stack([dev_vpc, WORKLOAD], "prod-test") == []
    assert policy.judge_stack([WORKLOAD], "prod") == []  # no AWS resource: no environment known
