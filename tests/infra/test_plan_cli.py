"""`python -m dhakacart_infra.plan`: the offline plan a newcomer runs with `make plan STACK=dev`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dhakacart_infra.plan import __main__ as plan_cli
from dhakacart_infra.plan.__main__ import main
from dhakacart_infra.plan.mocks import RecordedResource, reveal
from dhakacart_infra.plan.policy_report import REPORT_FILE, PolicyFindings, Violation
from dhakacart_infra.plan.runner import run_program
from dhakacart_infra.plan.tree import resource_tree
from dhakacart_infra.policy.registry import POLICIES
from tests.policy.programs import world_open_ssh

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["--stack", "dev", "--out", str(out)])
    return code, stdout.getvalue(), stderr.getvalue(), out


def test_plan_prints_the_resource_tree_and_exits_zero(dev_run):
    code, stdout, _, _ = dev_run
    assert code == 0
    lines = stdout.splitlines()
    assert "pulumi:pulumi:Stack  dhakacart-dev" in lines
    network = next(i for i, line in enumerate(lines) if line.endswith("dhakacart:aws:Network  network"))
    assert lines[network].startswith("├─ ")
    assert lines[network + 1].startswith("│  ├─ ")  # the network's children are indented under it
    assert any(line.endswith("aws:ec2/vpc:Vpc  network-vpc") and line.startswith("│  ") for line in lines)
    assert any(line.endswith("aws:rds/instance:Instance  database-postgres") for line in lines)


def test_plan_prints_outputs_with_secrets_masked(dev_run):
    _, stdout, _, _ = dev_run
    outputs = stdout.split("Outputs (secrets masked):", 1)[1]
    assert any(line.split() == ["kubeconfig", "[secret]"] for line in outputs.splitlines())
    assert "vpcId" in outputs and "ingressAddresses" in outputs and "ssmStartSessionCommand" in outputs
    assert "BEGIN CERTIFICATE" not in stdout and "client-key-data" not in stdout


def test_plan_writes_resources_json_without_secret_values(dev_run):
    _, stdout, _, out = dev_run
    path = out / "dev" / "resources.json"
    assert str(path) in stdout
    data = json.loads(path.read_text())
    assert data["stack"] == "dev" and data["outputs"]["kubeconfig"] == "[secret]"
    by_name = {(r["type"], r["name"]): r for r in data["resources"]}
    server = by_name[("aws:ec2/instance:Instance", "k3s-server-0")]
    assert server["parent"] == "k3s" and server["inputs"]["userData"] == "[secret]"
    assert by_name[("aws:rds/instance:Instance", "database-postgres")]["inputs"]["password"] == "[secret]"
    plan = run_program("dev")
    password = reveal(
        plan.one("random:index/randomPassword:RandomPassword", "database-password").state["result"]
    )
    assert password not in path.read_text()


def test_resources_json_is_the_same_on_every_run_and_records_the_graph(dev_run, tmp_path):
    _, _, _, out = dev_run
    first = (out / "dev" / "resources.json").read_text()
    assert main(["--stack", "dev", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "dev" / "resources.json").read_text() == first
    resources = json.loads(first)["resources"]
    assert [r["urn"] for r in resources] == sorted(r["urn"] for r in resources)
    by_name = {(r["type"], r["name"]): r for r in resources}
    kubeconfig = by_name[("pulumi-python:dynamic/dhakacart:K3sKubeconfig", "k3s-kubeconfig")]
    assert kubeconfig["options"]["additionalSecretOutputs"] == ["kubeconfig"]
    server = by_name[("aws:ec2/instance:Instance", "k3s-server-0")]
    assert server["options"]["ignoreChanges"] == ["ami", "userData"]
    assert server["options"]["deleteBeforeReplace"] is True  # dev's one server
    attachment = by_name[("aws:lb/targetGroupAttachment:TargetGroupAttachment", "k3s-server-0-api")]
    assert any(server["urn"] in urns for urns in attachment["propertyDependencies"].values())
    assert any(server["urn"] in urns for urns in kubeconfig["propertyDependencies"].values())


def test_unknown_stack_is_a_clear_error_with_exit_2(capsys, tmp_path):
    assert main(["--stack", "staging", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no stack file Pulumi.staging.yaml" in err and "dev, prod" in err
    assert "Traceback" not in err


def test_config_error_is_reported_with_the_fix_and_exit_2(capsys, tmp_path):
    code = main(
        [
            "--stack",
            "prod",
            "--out",
            str(tmp_path),
            "--config",
            "dbMultiAz=false",
            "--config",
            "k3sInstanceType=t2.micro",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "Pulumi.prod.yaml cannot be deployed" in err
    assert "pulumi config set --stack prod dbMultiAz true" in err and "t2.micro" in err
    assert not (tmp_path / "prod").exists()


def test_malformed_config_option_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as caught:
        main(["--stack", "dev", "--out", str(tmp_path), "--config", "dbMultiAz"])
    assert caught.value.code == 2


def test_the_module_runs_as_a_command_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "dhakacart_infra.plan", "--stack", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: no stack file Pulumi.nope.yaml")
    assert "Traceback" not in result.stderr


def test_plan_exits_1_on_a_mandatory_policy_violation_and_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        plan_cli, "run_program", lambda stack, **_: run_program(stack, program=world_open_ssh)
    )
    assert main(["--stack", "dev", "--out", str(tmp_path)]) == 1
    report = tmp_path / "dev" / REPORT_FILE
    assert report.exists()
    out, err = capsys.readouterr()
    assert f"policies: 2 violation(s) of {len(POLICIES)} policies on stack dev ({report}):" in out
    assert (
        "  [mandatory] aws-security-group-no-world-open-ports: aws:ec2/securityGroup:SecurityGroup ssh: "
        in out
    )
    assert "  [mandatory] aws-vpc-flow-logs: aws:ec2/vpc:Vpc main: VPC main has no flow log" in out
    assert err == (
        "2 mandatory policy violation(s) on stack dev: fix them before `pulumi up` "
        f"(details above and in {report})\n"
    )


def test_plan_prints_advisory_violations_but_exits_0(tmp_path, capsys):
    advisory = Violation("aws-example", "advisory", "consider it", "urn:x", "aws:ec2/vpc:Vpc", "main")
    findings = PolicyFindings("dev", 1, 1, [advisory], tmp_path / REPORT_FILE)
    plan_cli.print_policy_findings(findings)
    assert plan_cli.policy_exit_code(findings) == plan_cli.EXIT_OK
    out, err = capsys.readouterr()
    assert "  [advisory] aws-example: aws:ec2/vpc:Vpc main: consider it" in out and err == ""
    violated = Violation(**{**advisory.__dict__, "enforcement": "mandatory"})
    mandatory = PolicyFindings("dev", 1, 1, [violated], tmp_path / REPORT_FILE)
    assert plan_cli.policy_exit_code(mandatory) == plan_cli.EXIT_POLICY_VIOLATION == 1


def test_a_clean_plan_says_so(dev_run):
    _, stdout, _, out = dev_run
    assert f"policies: {len(POLICIES)} policies, " in stdout
    assert f"resources, no violations ({out / 'dev' / REPORT_FILE})" in stdout


def _record(urn: str, type_: str, name: str, parent: str = "") -> RecordedResource:
    return RecordedResource(
        urn=urn,
        type=type_,
        name=name,
        custom=True,
        parent=parent,
        provider="",
        dependencies=[],
        property_dependencies={},
        inputs={},
        protect=False,
        delete_before_replace=False,
        ignore_changes=[],
        additional_secret_outputs=[],
    )


def test_tree_nests_children_under_parents_in_registration_order():
    records = [
        _record("a", "x:C", "comp", "stack"),
        _record("b", "x:R", "first", "a"),
        _record("c", "x:R", "inner", "b"),
        _record("d", "x:R", "second", "a"),
        _record("e", "x:P", "top"),
    ]
    assert resource_tree(records, "root") == [
        "root",
        "├─ x:C  comp",
        "│  ├─ x:R  first",
        "│  │  └─ x:R  inner",
        "│  └─ x:R  second",
        "└─ x:P  top",
    ]


def test_the_plan_reports_capacity_zone_loss_and_cost_and_writes_them(dev_run):
    code, stdout, _, out = dev_run
    assert code == 0
    assert "capacity: at every HPA's maximum the pods request" in stdout
    assert "zone loss: no guarantee" in stdout  # dev: one server
    assert "monthly cost, USD" in stdout
    for name in ("capacity.json", "zone-loss.json", "cost.json"):
        assert json.loads((out / "dev" / name).read_text())["stack"] == "dev"


def test_the_plan_fails_when_the_worst_case_does_not_fit(tmp_path, capsys):
    code = main(["--stack", "prod", "--out", str(tmp_path), "--config", "k3sAgentMaxSize=3"])
    assert code == plan_cli.EXIT_CLUSTER_SHORTFALL
    err = capsys.readouterr().err
    assert "does not fit" in err and "vCPU: raise dhakacart:k3sAgentMaxSize to 4 (now 3)" in err
    assert json.loads((tmp_path / "prod" / "capacity.json").read_text())["fits"] is False
