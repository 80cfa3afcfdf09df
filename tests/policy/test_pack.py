"""The policy pack as the Pulumi CLI runs it: `policies/__main__.py` started as its own process,
judged through the analyzer gRPC protocol the engine speaks (GetAnalyzerInfo, Analyze, AnalyzeStack)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from dhakacart_infra.plan.mocks import RecordedResource, reveal
from dhakacart_infra.plan.runner import PlanResult
from dhakacart_infra.policy.pack import _stack_validation
from dhakacart_infra.policy.registry import POLICIES, stack_policy
from dhakacart_infra.policy.stack_rules import StackViolation
from tests.policy.samples import PRODUCTION_DATABASE_POLICIES

REPO = Path(__file__).resolve().parents[2]
MANDATORY = analyzer_pb2.EnforcementLevel.Value("MANDATORY")
TAGS = {"project": "dhakacart", "environment": "prod", "stack": "prod", "managed-by": "pulumi"}
GOOD_RDS = {
    "engine": "postgres",
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "multiAz": True,
    "deletionProtection": True,
    "backupRetentionPeriod": 14,
    "skipFinalSnapshot": False,
    "performanceInsightsEnabled": True,
    "kmsKeyId": UNKNOWN_STRING_VALUE,
    "tags": {"Name": "db"},
}


def start_pack(stack: str) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    env = {**os.environ, "PULUMI_PROJECT": "dhakacart", "PULUMI_STACK": stack, "PULUMI_DRY_RUN": "true"}
    # Like the CLI: the pack's own directory as working directory, nothing of the repo on PYTHONPATH.
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [sys.executable, "__main__.py"],
        cwd=REPO / "policies",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = proc.stdout.readline().strip()
        assert port.isdigit(), f"the pack did not start: {port!r} {proc.stderr.read() if proc.poll() else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    yield from start_pack("prod")


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(props)
    return s


def _provider(tags: dict[str, str] = TAGS) -> analyzer_pb2.AnalyzerProviderResource:
    """The explicit AWS provider as the engine sends it: its inputs JSON-encoded."""
    return analyzer_pb2.AnalyzerProviderResource(
        type="pulumi:providers:aws",
        urn=f"urn:pulumi:{tags['stack']}::dhakacart::pulumi:providers:aws::aws",
        name="aws",
        properties=_struct({"region": "ap-south-1", "defaultTags": json.dumps({"tags": tags})}),
    )


def analyze(
    stub: analyzer_pb2_grpc.AnalyzerStub,
    type_: str,
    name: str,
    props: dict[str, Any],
    tags: dict[str, str] = TAGS,
) -> dict[str, str]:
    response = stub.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type=type_,
            name=name,
            urn=f"urn:pulumi:{tags['stack']}::dhakacart::{type_}::{name}",
            properties=_struct(props),
            provider=_provider(tags),
        )
    )
    return {d.policyName: d.message for d in response.diagnostics if d.enforcementLevel == MANDATORY}


def test_pack_serves_every_rule_as_a_mandatory_policy(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "dhakacart"
    assert {p.name for p in info.policies} == {p.name for p in POLICIES}
    assert all(p.enforcementLevel == MANDATORY for p in info.policies)


def test_compliant_database_with_provider_default_tags_passes(analyzer) -> None:
    assert analyze(analyzer, "aws:rds/instance:Instance", "db", GOOD_RDS) == {}


def test_production_database_rules_fire_for_the_prod_stack(analyzer) -> None:
    weak = {**GOOD_RDS, "multiAz": False, "deletionProtection": False, "publiclyAccessible": True}
    found = analyze(analyzer, "aws:rds/instance:Instance", "db", weak)
    assert set(found) == {
        "aws-rds-multi-az-in-production",
        "aws-rds-deletion-protection-in-production",
        "aws-rds-not-public",
    }
    assert "'prod'" in found["aws-rds-multi-az-in-production"]


@pytest.mark.parametrize(
    ("stack", "environment", "fired"),
    [("staging", "prod", PRODUCTION_DATABASE_POLICIES), ("prod-test", "dev", set())],
)
def test_production_rules_follow_the_environment_tag_not_the_stack_name(
    stack: str, environment: str, fired: set[str]
) -> None:
    """The pack under another stack name: only the provider's Environment tag makes it production."""
    weak = {**GOOD_RDS, "multiAz": False, "deletionProtection": False, "backupRetentionPeriod": 1,
            "performanceInsightsEnabled": False}
    tags = {**TAGS, "environment": environment, "stack": stack}
    for stub in start_pack(stack):
        found = analyze(stub, "aws:rds/instance:Instance", "db", weak, tags)
        assert set(found) == fired
        assert all(f"stack {stack!r} is production" in message for message in found.values())


def test_missing_default_tags_fire_required_tags(analyzer) -> None:
    response = analyzer.Analyze(
        analyzer_pb2.AnalyzeRequest(
            type="aws:ec2/vpc:Vpc",
            name="main",
            urn="urn:pulumi:prod::dhakacart::aws:ec2/vpc:Vpc::main",
            properties=_struct({"cidrBlock": "10.0.0.0/16", "tags": {"Name": "main"}}),
        )
    )
    assert [d.policyName for d in response.diagnostics] == ["aws-required-tags"]


def test_unknown_values_during_preview_are_judged_not_crashed(analyzer) -> None:
    ingress = {
        "metadata": {"name": "shop", "namespace": "dhakacart"},
        "spec": {
            "tls": [{"hosts": [UNKNOWN_STRING_VALUE], "secretName": "shop-tls"}],
            "rules": [{"host": UNKNOWN_STRING_VALUE}],
        },
    }
    assert analyze(analyzer, "kubernetes:networking.k8s.io/v1:Ingress", "shop", ingress) == {}
    plain_http = {"metadata": ingress["metadata"], "spec": {"rules": [{"host": UNKNOWN_STRING_VALUE}]}}
    assert set(analyze(analyzer, "kubernetes:networking.k8s.io/v1:Ingress", "shop", plain_http)) == {
        "k8s-ingress-tls"
    }


def test_stack_policy_links_flow_log_to_vpc_by_property_dependency(analyzer) -> None:
    vpc_urn = "urn:pulumi:prod::dhakacart::aws:ec2/vpc:Vpc::main"
    vpc = analyzer_pb2.AnalyzerResource(
        type="aws:ec2/vpc:Vpc",
        name="main",
        urn=vpc_urn,
        provider=_provider(),
        properties=_struct({"cidrBlock": "10.0.0.0/16"}),
    )
    flow_log = analyzer_pb2.AnalyzerResource(
        type="aws:ec2/flowLog:FlowLog",
        name="main",
        urn="urn:pulumi:prod::dhakacart::aws:ec2/flowLog:FlowLog::main",
        provider=_provider(),
        properties=_struct({"vpcId": UNKNOWN_STRING_VALUE, "trafficType": "ALL"}),
        propertyDependencies={"vpcId": analyzer_pb2.AnalyzerPropertyDependencies(urns=[vpc_urn])},
    )

    def stack_violations(resources) -> list[tuple[str, str]]:
        response = analyzer.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources))
        return [(d.policyName, d.urn) for d in response.diagnostics]

    assert stack_violations([vpc]) == [("aws-vpc-flow-logs", vpc_urn)]
    assert stack_violations([vpc, flow_log]) == []


def test_the_pack_imports_nothing_beyond_its_own_requirements() -> None:
    """The CLI runs the pack in policies/venv, which holds only policies/requirements.txt."""
    import ast

    allowed = {"pulumi", "pulumi_policy", "dhakacart_infra"} | set(sys.stdlib_module_names)
    pinned = (REPO / "policies" / "requirements.txt").read_text()
    assert "pulumi-policy==" in pinned and "pulumi==" in pinned
    files = [REPO / "policies" / "__main__.py", *sorted((REPO / "dhakacart_infra" / "policy").glob("*.py"))]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
    package_init = ast.parse((REPO / "dhakacart_infra" / "__init__.py").read_text())
    assert not any(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(package_init)), (
        "dhakacart_infra/__init__.py must stay import-free: the pack imports the package"
    )


def _struct_of(value: Any) -> struct_pb2.Struct:
    return _struct(json.loads(json.dumps(reveal(value), default=str)))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_pack_passes_both_real_stacks(stack: str, dev_plan: PlanResult, prod_plan: PlanResult) -> None:
    """Every resource the program registers, sent to the pack as the engine sends it (props, its
    provider's props, property dependencies), then the whole stack: no diagnostic at all."""
    plan = {"dev": dev_plan, "prod": prod_plan}[stack]
    records = [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    providers = {r.urn: r for r in plan.resources if r.type.startswith("pulumi:providers:")}

    def provider_of(record: RecordedResource) -> analyzer_pb2.AnalyzerProviderResource | None:
        p = providers.get(record.provider_urn)
        if p is None:
            return None
        return analyzer_pb2.AnalyzerProviderResource(
            type=p.type, urn=p.urn, name=p.name, properties=_struct_of(p.inputs)
        )

    for stub in start_pack(stack):
        diagnostics = []
        for r in records:
            response = stub.Analyze(
                analyzer_pb2.AnalyzeRequest(
                    type=r.type,
                    name=r.name,
                    urn=r.urn,
                    properties=_struct_of(r.inputs),
                    provider=provider_of(r),
                )
            )
            diagnostics += [f"{d.policyName}: {r.name}: {d.message}" for d in response.diagnostics]
        stack_request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r.type,
                    name=r.name,
                    urn=r.urn,
                    properties=_struct_of(r.inputs),
                    provider=provider_of(r),
                    propertyDependencies={
                        k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                        for k, v in r.property_dependencies.items()
                    },
                )
                for r in records
            ]
        )
        diagnostics += [f"{d.policyName}: {d.message}" for d in stub.AnalyzeStack(stack_request).diagnostics]
        assert len(records) > 50
        assert diagnostics == []


@pytest.mark.parametrize(
    ("stack", "environment", "judged"), [("staging", "prod", True), ("prod-test", "dev", False)]
)
def test_a_production_only_stack_policy_sees_the_environment_through_the_provider(
    stack: str, environment: str, judged: bool
) -> None:
    """Stack rules get each resource with its provider, as AnalyzeStack sends them: the adapter merges
    the provider's default tags, so a rule over Kubernetes objects knows the stack's environment."""

    def flag_web(resources, stack_name: str) -> list[StackViolation]:
        return [StackViolation(f"{r.name} on {stack_name}", r.urn) for r in resources if r.name == "web"]

    policy = stack_policy("k8s-prod-only", "Judges web in prod.", flag_web, production_only=True)
    tags = {**TAGS, "environment": environment, "stack": stack}
    provider = SimpleNamespace(props={"defaultTags": json.dumps({"tags": tags})})

    def policy_resource(type_: str, name: str, props: dict, provider: object) -> SimpleNamespace:
        """What pulumi-policy builds for AnalyzeStack, reduced to what the adapter reads."""
        return SimpleNamespace(resource_type=type_, name=name, urn=f"urn:{name}", props=props,
                               provider=provider, property_dependencies={})

    vpc = policy_resource("aws:ec2/vpc:Vpc", "main", {"tags": {"Name": "main"}}, provider)
    web = policy_resource(
        "kubernetes:apps/v1:Deployment", "web", {"metadata": {"namespace": "dhakacart"}}, provider=None
    )
    reported: list[tuple[str, str | None]] = []
    validate = _stack_validation(policy, lambda: stack)
    validate(SimpleNamespace(resources=[vpc, web]), lambda message, urn: reported.append((message, urn)))
    assert reported == ([(f"web on {stack}", "urn:web")] if judged else [])
