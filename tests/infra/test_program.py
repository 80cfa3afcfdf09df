"""The whole program, run for each stack file as `pulumi up` would: composition, exports, secrets."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi_kubernetes as k8s

from dhakacart_infra.config import StackConfig
from dhakacart_infra.plan.mocks import is_secret, mask_secrets, reveal
from dhakacart_infra.plan.runner import run_program

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_EXPORTS = {
    "vpcId",
    "ingressAddresses",
    "loadBalancerDnsName",
    "kubernetesApiUrl",
    "serverInstanceIds",
    "agentGroupName",
    "etcdSnapshotBucket",
    "etcdSnapshotFolder",
    "clusterName",
    "ssmStartSessionCommand",
    "databaseEndpoint",
    "databasePort",
    "kubeconfig",
    "region",
    "environment",
}


def _secret_values(value: Any, found: set[str]) -> None:
    """Every string that sits inside a secret marker, anywhere in `value`."""
    if is_secret(value):
        plain = reveal(value)
        stack = [plain]
        while stack:
            item = stack.pop()
            if isinstance(item, str) and len(item) >= 8:
                found.add(item)
            elif isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
    elif isinstance(value, dict):
        for v in value.values():
            _secret_values(v, found)
    elif isinstance(value, list):
        for v in value:
            _secret_values(v, found)


def test_the_program_composes_components_at_module_level():
    namespace: dict[str, Any] = {}
    run_program("dev", program=lambda: namespace.update(runpy.run_path(str(ROOT / "__main__.py"))))
    assert isinstance(namespace["config"], StackConfig)
    assert isinstance(namespace["cluster"].provider, k8s.Provider)
    for name, attributes in {
        "network": (
            "vpc_id",
            "private_subnet_cidrs",
            "private_subnet_ids",
            "public_subnet_ids",
            "cluster_security_group_id",
            "load_balancer_security_group_id",
            "database_security_group_id",
        ),
        "entry": ("dns_name", "addresses", "api_target_group_arn", "ingress_target_group_arns"),
        "cluster": ("server_instance_ids", "kubeconfig", "server_role_name", "agent_token", "api_url"),
        "agents": ("group_name", "group_arn", "role_name"),
        "database": ("address", "port", "db_name", "username", "connection_url", "password"),
    }.items():
        for attribute in attributes:
            assert hasattr(namespace[name], attribute), f"{name}.{attribute}"


def test_every_required_output_is_exported(stack_plan):
    outputs = stack_plan.outputs
    assert set(outputs) >= REQUIRED_EXPORTS
    assert outputs["environment"] == stack_plan.stack and outputs["region"] == "ap-south-1"
    servers = outputs["serverInstanceIds"]
    assert outputs["vpcId"].startswith("vpc-") and all(i.startswith("i-") for i in servers)
    assert len(servers) == {"dev": 1, "prod": 3}[stack_plan.stack]
    ssm = outputs["ssmStartSessionCommand"]
    assert ssm == f"aws ssm start-session --region ap-south-1 --target {servers[0]}"
    assert outputs["clusterName"] == f"dhakacart-{stack_plan.stack}" and outputs["etcdSnapshotFolder"]
    assert outputs["kubernetesApiUrl"] == f"https://{outputs['loadBalancerDnsName']}:6443"
    assert outputs["databaseEndpoint"].endswith(".ap-south-1.rds.amazonaws.com")
    assert outputs["databasePort"] == 5432
    assert is_secret(outputs["kubeconfig"])
    assert f"{outputs['kubernetesApiUrl']}\n" in reveal(outputs["kubeconfig"])


def test_secrets_never_appear_in_plain_outputs_or_plain_inputs(stack_plan):
    secrets: set[str] = set()
    for record in stack_plan.resources:
        _secret_values(record.inputs, secrets)
        _secret_values(record.state, secrets)
        _secret_values(record.outputs, secrets)
    _secret_values(stack_plan.outputs, secrets)
    token = reveal(stack_plan.one("random:index/randomPassword:RandomPassword", "k3s-token").state["result"])
    password = reveal(
        stack_plan.one("random:index/randomPassword:RandomPassword", "database-password").state["result"]
    )
    assert {token, password} <= secrets  # the scan sees the secrets it must keep hidden

    def leaks(value: Any) -> list[str]:
        text = json.dumps(mask_secrets(value), default=str)
        return [s for s in secrets if s in text]

    assert leaks(stack_plan.outputs) == []
    for record in stack_plan.resources:
        assert leaks(record.inputs) == [], f"{record.type} {record.name} has a secret in a plain input"
        assert leaks(record.outputs) == [], f"{record.type} {record.name} has a secret in a plain output"


def test_cluster_and_database_are_built_in_parallel(stack_plan):
    server = stack_plan.one("aws:ec2/instance:Instance", "k3s-server-0")
    database = stack_plan.one("aws:rds/instance:Instance")
    assert not stack_plan.waits_for(server, database)
    assert not stack_plan.waits_for(database, server)
    vpc = stack_plan.one("aws:ec2/vpc:Vpc")
    assert stack_plan.waits_for(server, vpc) and stack_plan.waits_for(database, vpc)


def test_components_use_the_documented_type_tokens(stack_plan):
    for token, name in (
        ("dhakacart:aws:Network", "network"),
        ("dhakacart:aws:K3sCluster", "k3s"),
        ("dhakacart:aws:Database", "database"),
        ("dhakacart:aws:ClusterEntryPoints", "k3s-entry"),
        ("dhakacart:aws:K3sAgents", "k3s-agents"),
    ):
        assert stack_plan.one(token).name == name


def test_every_child_of_a_component_has_that_component_as_parent(stack_plan):
    components = {r.urn for r in stack_plan.resources if r.type.startswith("dhakacart:") and not r.custom}
    for record in stack_plan.resources:
        if record.type.startswith(("aws:", "random:")):
            assert record.parent in components, f"{record.type} {record.name} is not inside a component"


def test_dev_and_prod_differ_where_they_should(dev_plan, prod_plan):
    def server(plan):
        return plan.one("aws:ec2/instance:Instance", "k3s-server-0").inputs

    def db(plan):
        return plan.one("aws:rds/instance:Instance").inputs

    assert len(dev_plan.of_type("aws:ec2/subnet:Subnet")) == 4
    assert len(prod_plan.of_type("aws:ec2/subnet:Subnet")) == 6
    assert len(dev_plan.of_type("aws:ec2/instance:Instance")) == 1
    assert len(prod_plan.of_type("aws:ec2/instance:Instance")) == 3
    assert (server(dev_plan)["disableApiTermination"], server(prod_plan)["disableApiTermination"]) == (
        False,
        True,
    )
    assert (db(dev_plan)["multiAz"], db(prod_plan)["multiAz"]) == (False, True)
    assert (db(dev_plan)["deletionProtection"], db(prod_plan)["deletionProtection"]) == (False, True)
    assert (db(dev_plan)["skipFinalSnapshot"], db(prod_plan)["skipFinalSnapshot"]) == (True, False)
    assert db(dev_plan)["identifier"] != db(prod_plan)["identifier"]  # both stacks fit in one account


def test_the_engine_refuses_default_aws_and_kubernetes_providers():
    import yaml

    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    assert set(config["pulumi:disable-default-providers"]) >= {"aws", "kubernetes"}


def test_every_aws_and_kubernetes_call_and_resource_names_an_explicit_provider(monkeypatch):
    # With default providers disabled (above), `pulumi preview` fails on a call or resource that
    # names none; the mocks would not, so this checks what the program asks for.
    from dhakacart_infra.plan.mocks import PlanMocks

    calls: list[tuple[str, str]] = []
    answer = PlanMocks.call

    def recording_call(self, args):
        calls.append((args.token, args.provider))
        return answer(self, args)

    monkeypatch.setattr(PlanMocks, "call", recording_call)
    for stack in ("dev", "prod"):
        calls.clear()
        plan = run_program(stack)
        explicit = {r.urn for r in plan.resources
                    if r.type in ("pulumi:providers:aws", "pulumi:providers:kubernetes")}
        cloud_calls = [(token, p) for token, p in calls if token.startswith(("aws:", "kubernetes:"))]
        assert cloud_calls, "the program looks up zones, the AMI and the account"
        for token, provider in cloud_calls:
            assert provider.rsplit("::", 1)[0] in explicit, f"{stack}: {token} uses no explicit provider"
        for record in plan.resources:
            if record.type.startswith(("aws:", "kubernetes:")):
                assert record.provider_urn in explicit, f"{stack}: {record.type} {record.name}"
