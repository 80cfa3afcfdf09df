"""The offline plan's policy report: the real stacks pass every policy, the rules really judge them,
production follows the environment, and a violation is found and reported (the CLI decides the rest)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dhakacart_infra.plan.policy_report import REPORT_FILE, evaluate, judge, policy_props
from dhakacart_infra.plan.runner import PlanResult, run_program
from dhakacart_infra.policy.registry import POLICIES
from tests.policy.programs import world_open_ssh
from tests.policy.samples import PRODUCTION_DATABASE_POLICIES

REPO = Path(__file__).resolve().parents[2]

# Policies that must find something to judge in every stack: a rule that judges nothing passes
# vacuously, so the real program is proven only for these (the rest cover resource kinds the
# program does not create today: launch templates, EBS volumes, S3 in dev, IAM managed policies).
MUST_APPLY = {
    "aws-ebs-encrypted",
    "aws-rds-storage-encrypted",
    "aws-log-group-kms-encrypted",
    "aws-log-group-retention",
    "aws-kms-key-rotation",
    "aws-rds-not-public",
    "aws-security-group-no-world-open-ports",
    "aws-subnet-no-auto-public-ip",
    "aws-ec2-imdsv2",
    "aws-iam-no-wildcard-actions",
    "aws-required-tags",
    "aws-rds-multi-az-in-production",
    "aws-rds-deletion-protection-in-production",
    "aws-rds-backups-in-production",
    "aws-rds-performance-insights-in-production",
    "k8s-run-as-non-root",
    "k8s-no-privilege-escalation",
    "k8s-drop-all-capabilities",
    "k8s-read-only-root-filesystem",
    "k8s-seccomp-runtime-default",
    "k8s-no-privileged-containers",
    "k8s-probes",
    "k8s-resources",
    "k8s-image-pinned",
    "k8s-namespace-pod-security",
    "k8s-no-host-namespaces",
    "k8s-no-host-path",
    "k8s-no-default-namespace",
    "k8s-ingress-tls",
    "k8s-no-secrets-in-config-maps",
    "k8s-no-secret-env-literals",
}


def test_every_policy_passes_on_both_stacks(stack_plan: PlanResult) -> None:
    violations = evaluate(stack_plan)
    assert violations == [], "\n".join(f"{v.policy}: {v.resource_name}: {v.message}" for v in violations)


def test_resource_policies_have_real_resources_to_judge(stack_plan: PlanResult) -> None:
    judged = {p.name for p in POLICIES for r in stack_plan.resources if r.custom and p.applies_to(r.type)}
    assert sorted(MUST_APPLY - judged) == []


def test_stack_policies_find_what_they_link(stack_plan: PlanResult) -> None:
    types = {r.type for r in stack_plan.resources}
    assert {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/flowLog:FlowLog",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "kubernetes:core/v1:Namespace",
        "kubernetes:apps/v1:Deployment",
    } <= types


def test_aws_resources_carry_the_providers_default_tags(dev_plan: PlanResult) -> None:
    vpc = dev_plan.one("aws:ec2/vpc:Vpc")
    tags = {k.lower(): v for k, v in policy_props(dev_plan, vpc)["tagsAll"].items()}
    assert tags["stack"] == "dev" and tags["project"] == "dhakacart"


def _with_database_inputs(plan: PlanResult, stack: str, **inputs: object) -> PlanResult:
    """The plan judged as stack `stack`, its database's inputs changed (to what the config refuses)."""
    database = plan.one("aws:rds/instance:Instance")
    resources = [
        type(r)(**{**r.__dict__, "inputs": {**r.inputs, **inputs}}) if r is database else r
        for r in plan.resources
    ]
    return PlanResult(stack=stack, project=plan.project, resources=resources, outputs={})


def test_the_production_rules_fire_when_prod_is_weakened(prod_plan: PlanResult) -> None:
    weakened = _with_database_inputs(prod_plan, "prod", multiAz=False, deletionProtection=False)
    assert {v.policy for v in evaluate(weakened)} == {
        "aws-rds-multi-az-in-production",
        "aws-rds-deletion-protection-in-production",
    }
    # Judged under another stack name, the resources are still tagged Environment=prod: production.
    as_dev = _with_database_inputs(prod_plan, "dev", multiAz=False, deletionProtection=False)
    assert {v.policy for v in evaluate(as_dev)} == {
        "aws-required-tags",  # their Stack tag names the prod stack
        "aws-rds-multi-az-in-production",
        "aws-rds-deletion-protection-in-production",
    }


@pytest.mark.parametrize(
    ("stack", "like", "fired"),
    [("staging", "prod", PRODUCTION_DATABASE_POLICIES), ("prod-test", "dev", set())],
)
def test_production_rules_follow_the_stacks_environment_not_its_name(
    tmp_path: Path, stack: str, like: str, fired: set[str]
) -> None:
    """A stack file named `staging` with environment prod, and `prod-test` with environment dev,
    planned from a project root of their own: the program tags them, the policies read the tag."""
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((REPO / name).read_text())
    (tmp_path / f"Pulumi.{stack}.yaml").write_text((REPO / f"Pulumi.{like}.yaml").read_text())
    plan = run_program(stack, root=tmp_path)
    assert evaluate(plan) == []
    weak = _with_database_inputs(
        plan,
        stack,
        multiAz=False,
        deletionProtection=False,
        backupRetentionPeriod=1,
        skipFinalSnapshot=True,
        performanceInsightsEnabled=False,
    )
    assert {v.policy for v in evaluate(weak)} == fired


def test_a_violation_is_found_and_reported_without_deciding_anything(tmp_path: Path, capsys) -> None:
    plan = run_program("dev", program=world_open_ssh)
    findings = judge(plan, tmp_path)  # returns: no SystemExit, whatever it finds
    assert [(v.policy, v.resource_name) for v in findings.mandatory] == [
        ("aws-security-group-no-world-open-ports", "ssh"),
        ("aws-vpc-flow-logs", "main"),
    ]
    assert findings.violations == findings.mandatory
    assert (findings.stack, findings.policy_count, findings.judged_resources) == ("dev", len(POLICIES), 2)
    assert findings.report == tmp_path / REPORT_FILE
    assert capsys.readouterr() == ("", "")  # printing is the CLI's
    report = json.loads((tmp_path / REPORT_FILE).read_text())
    assert {v["policy"] for v in report["violations"]} == {
        "aws-security-group-no-world-open-ports",
        "aws-vpc-flow-logs",
    }
    assert len(report["policies"]) == len(POLICIES)


def test_job_summary_lists_types_policies_and_checkov_results(tmp_path: Path) -> None:
    from dhakacart_infra.plan.__main__ import write_resources
    from dhakacart_infra.plan.policy_report import markdown_summary

    plan = run_program("dev", program=world_open_ssh)
    write_resources(plan, tmp_path)
    judge(plan, tmp_path)
    (tmp_path / "checkov").mkdir()
    (tmp_path / "checkov" / "terraform_plan.json").write_text(
        json.dumps(
            {
                "check_type": "terraform_plan",
                "summary": {"passed": 3, "failed": 1, "resource_count": 2},
                "results": {
                    "failed_checks": [
                        {
                            "check_id": "CKV_AWS_24",
                            "resource": "aws_security_group.ssh",
                            "check_name": "no SSH from 0.0.0.0/0",
                        }
                    ]
                },
            }
        )
    )
    summary = markdown_summary(tmp_path)
    assert "### Offline plan of stack `dev`: 3 resources" in summary
    assert "| `aws:ec2/securityGroup:SecurityGroup` | 1 |" in summary
    assert "2 violation(s)" in summary and "`aws-vpc-flow-logs`" in summary
    assert "**checkov terraform_plan**: 3 passed, 1 failed, 2 resources." in summary
    assert "`CKV_AWS_24` aws_security_group.ssh" in summary
    assert "no plan" in markdown_summary(tmp_path / "missing")
