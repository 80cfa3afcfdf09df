"""checkov's own Kubernetes and AWS checks on both stacks' offline plans: zero failed checks but the
documented skips, and proof that checkov really read every resource written for it."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.scanners.checkov_runner import CONFIG, skip_list
from tests.scanners.conftest import StackScan

STACKS = ("dev", "prod")


def _planned(scan: StackScan) -> list[dict]:
    return json.loads(scan.tfplan.read_text())["planned_values"]["root_module"]["resources"]


def _manifest_objects(scan: StackScan) -> list[dict]:
    return [
        yaml.safe_load(p.read_text())
        for p in sorted(scan.manifests.glob("*.yaml"))
        if not p.name.endswith(".release.yaml")
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_terraform_plan_has_no_failed_checks(scans: dict[str, StackScan], stack: str) -> None:
    assert scans[stack].terraform.failures(skip_list()) == []


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_manifests_have_no_failed_checks(scans: dict[str, StackScan], stack: str) -> None:
    assert scans[stack].kubernetes.failures(skip_list()) == []


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_read_every_aws_resource(scans: dict[str, StackScan], stack: str) -> None:
    scan = scans[stack]
    planned = _planned(scan)
    aws_records = [r for r in scan.plan.resources if r.custom and r.type.startswith("aws:")]
    assert len(planned) == len(aws_records) > 0, "the converter must write every AWS resource"
    assert scan.terraform.summary["resource_count"] == len(planned)
    assert scan.terraform.summary["parsing_errors"] == 0
    assert scan.terraform.summary["passed"] > 0
    judged_types = {address.split(".")[0] for address in scan.terraform.resources()}
    assert {
        "aws_vpc",
        "aws_subnet",
        "aws_security_group",
        "aws_instance",
        "aws_db_instance",
        "aws_kms_key",
        "aws_cloudwatch_log_group",
        "aws_iam_role",
    } <= judged_types


@pytest.mark.parametrize("stack", STACKS)
def test_checkov_read_every_kubernetes_object(scans: dict[str, StackScan], stack: str) -> None:
    scan = scans[stack]
    objects = _manifest_objects(scan)
    kube_records = [r for r in scan.plan.kubernetes_objects() if r.custom]
    assert len(objects) == len(kube_records) > 0, "every Kubernetes object must be written"
    assert scan.kubernetes.summary["parsing_errors"] == 0
    assert scan.kubernetes.summary["passed"] > 0
    # checkov counts each object, plus one Pod for each workload's pod template.
    assert scan.kubernetes.summary["resource_count"] >= len(objects)
    judged = scan.kubernetes.resources()
    for obj in objects:
        if obj["kind"] in {
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "CronJob",
            "Service",
            "Ingress",
            "ConfigMap",
            "Secret",
            "Role",
            "ServiceAccount",
        }:
            key = f"{obj['kind']}.{obj['metadata'].get('namespace', 'default')}.{obj['metadata']['name']}"
            assert key in judged, f"checkov did not judge {key}"


def test_checkov_finds_the_known_faults_of_a_bad_program(scans: dict[str, StackScan]) -> None:
    bad = scans["bad"]
    aws_failed = {(c["check_id"], c["resource"]) for c in bad.terraform.failed}
    assert ("CKV_AWS_16", "aws_db_instance.bad-db") in aws_failed  # storage not encrypted
    assert ("CKV_AWS_17", "aws_db_instance.bad-db") in aws_failed  # publicly accessible
    assert ("CKV_AWS_24", "aws_security_group.ssh-open") in aws_failed  # SSH from 0.0.0.0/0
    assert ("CKV2_AWS_11", "aws_vpc.bad") in aws_failed  # no flow log
    kube_failed = {(c["check_id"], c["resource"]) for c in bad.kubernetes.failed}
    assert ("CKV_K8S_16", "Deployment.default.bad") in kube_failed  # privileged
    assert ("CKV_K8S_14", "Deployment.default.bad") in kube_failed  # image without a tag


def _skips() -> list[tuple[str, list[str]]]:
    """(check id, the comment lines right above it) for each entry of .checkov.yaml's skip-check."""
    entries, comments = [], []
    for line in CONFIG.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("# "))
        elif m := re.fullmatch(r"-\s*([A-Z0-9_]+)\s*(#.*)?", stripped):
            entries.append((m[1], comments + ([m[2]] if m[2] else [])))
            if not stripped.startswith("- ") or m[2]:
                comments = []
        else:
            comments = []
    return entries


def test_every_skip_says_why() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    entries = _skips()
    assert [e[0] for e in entries] == config["skip-check"]
    # Consecutive skips may share one reason; a reason is at least a sentence.
    reasons = []
    for check_id, comment in entries:
        reasons = comment or reasons
        assert len(" ".join(reasons)) > 40, f"{check_id} in .checkov.yaml needs a reason above it"


def test_no_stale_kubernetes_or_aws_skips(scans: dict[str, StackScan]) -> None:
    """A skip that no longer hides a finding on either stack hides nothing and should go."""
    hidden = {
        c["check_id"]
        for s in STACKS
        for report in (scans[s].terraform, scans[s].kubernetes)
        for c in report.failed
    }
    ours = [c for c in skip_list() if c.startswith(("CKV_K8S", "CKV2_K8S", "CKV_AWS", "CKV2_AWS"))]
    assert sorted(set(ours) - hidden) == []


def test_checkov_honours_the_skip_list_when_run_from_the_repository_root(scans: dict[str, StackScan]) -> None:
    """The bad program's untagged nginx image fails CKV_K8S_14 (no tag) and would fail CKV_K8S_43
    (no digest) too, but CKV_K8S_43 is in .checkov.yaml: run from the root, checkov leaves it out."""
    checked = {c["check_id"] for c in scans["bad"].kubernetes.failed + scans["bad"].kubernetes.passed}
    assert "CKV_K8S_14" in checked
    assert "CKV_K8S_43" in skip_list() and "CKV_K8S_43" not in checked
