"""The runbook's server replacement, step by step against what the plan really declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dhakacart_infra.plan.runner import run_program

RUNBOOK = (Path(__file__).resolve().parents[2] / "docs" / "RUNBOOK.md").read_text()
SECTION = RUNBOOK.split("## Server replacement\n", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="module", params=["dev", "prod"])
def plan(request):
    return run_program(request.param)


def _steps() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", SECTION, re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_the_grep_finds_exactly_the_servers_of_the_plan(plan):
    (grep,) = [s for s in _steps() if s.startswith("pulumi stack --show-urns | grep ")]
    pattern = grep.split("grep ", 1)[1].strip("'")
    urns = [r.urn for r in plan.resources if r.custom]
    found = [u for u in urns if pattern in u]
    servers = [
        r.urn for r in plan.of_type("aws:ec2/instance:Instance") if r.inputs["tags"]["Role"] == "k3s-server"
    ]
    assert sorted(found) == sorted(servers) and len(found) == {"dev": 1, "prod": 3}[plan.stack]


def test_only_a_replace_moves_a_server_and_the_new_one_joins_first_when_there_are_several(plan):
    steps = _steps()
    assert "pulumi preview --diff --replace '<URN of k3s-server-N>'" in steps
    assert "pulumi up --replace '<URN of k3s-server-N>'" in steps
    assert steps.index("pulumi preview --diff --replace '<URN of k3s-server-N>'") < steps.index(
        "pulumi up --replace '<URN of k3s-server-N>'"
    )
    for server in (
        r for r in plan.of_type("aws:ec2/instance:Instance") if r.inputs["tags"]["Role"] == "k3s-server"
    ):
        assert {"ami", "userData"} <= set(server.ignore_changes)  # `pulumi up` alone never replaces it
        # several servers: the replacement joins before the old one leaves (quorum kept); one: old first
        assert server.delete_before_replace is (plan.stack == "dev")
    assert ("Dev's single server" in SECTION) and ("starts a new, empty cluster" in SECTION)


def test_the_old_member_is_removed_after_the_new_server_is_ready():
    steps = _steps()
    ready = [
        i
        for i, s in enumerate(steps)
        if s.startswith("kubectl get nodes -l node-role.kubernetes.io/control-plane=true")
    ]
    delete = steps.index("kubectl delete node <old server node name>")
    assert (
        len(ready) == 2
        and ready[0] < steps.index("pulumi up --replace '<URN of k3s-server-N>'") < ready[1] < delete
    )
