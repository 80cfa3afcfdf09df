"""checkov on both stacks' offline plans, once per session, all runs in parallel (each takes ~15 s).

Besides the real stacks, a deliberately bad program is scanned too: if the converter or the
manifest writer stopped feeding checkov real values, its known findings would disappear.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from dhakacart_infra.plan.manifests import write_manifests
from dhakacart_infra.plan.runner import PlanResult, run_program
from dhakacart_infra.plan.tfplan import write_tfplan
from tests.infra.conftest import dev_plan, plan_cache, prod_plan, stack_plan  # noqa: F401 - shared fixtures
from tests.scanners.checkov_runner import CheckovReport, finish, start


@dataclass
class StackScan:
    plan: PlanResult
    tfplan: Path
    manifests: Path
    terraform: CheckovReport
    kubernetes: CheckovReport


def bad_program() -> None:
    """An unencrypted public database, SSH open to the world, and a privileged root container."""
    provider = aws.Provider("aws", region="ap-south-1")
    on_aws = pulumi.ResourceOptions(provider=provider)
    vpc = aws.ec2.Vpc("bad", cidr_block="10.9.0.0/16", opts=on_aws)
    aws.ec2.SecurityGroup(
        "ssh-open",
        vpc_id=vpc.id,
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"]
            )
        ],
        opts=on_aws,
    )
    aws.rds.Instance(
        "bad-db",
        engine="postgres",
        instance_class="db.t4g.micro",
        allocated_storage=20,
        username="app",
        password=pulumi.Output.secret("not-a-real-password"),
        storage_encrypted=False,
        publicly_accessible=True,
        skip_final_snapshot=True,
        opts=on_aws,
    )
    k8s.apps.v1.Deployment(
        "bad",
        metadata={"name": "bad", "namespace": "default"},
        spec={
            "selector": {"matchLabels": {"app": "bad"}},
            "template": {
                "metadata": {"labels": {"app": "bad"}},
                "spec": {
                    "containers": [{"name": "bad", "image": "nginx", "securityContext": {"privileged": True}}]
                },
            },
        },
    )


@pytest.fixture(scope="session")
def scans(
    dev_plan: PlanResult,  # noqa: F811 - the imported fixture, requested by name
    prod_plan: PlanResult,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, StackScan]:
    plans = {"dev": dev_plan, "prod": prod_plan, "bad": run_program("dev", program=bad_program)}
    started = {}
    for name, plan in plans.items():
        out = tmp_path_factory.mktemp(f"plan-{name}")
        tfplan = write_tfplan(plan, out)
        manifests = out / "manifests"
        write_manifests(plan, manifests)
        # The real stacks with every check (the tests apply the skip list); the bad program as a
        # person runs checkov, from the repository root, to see that .checkov.yaml is honoured.
        with_config = name == "bad"
        started[name] = (
            plan,
            tfplan,
            manifests,
            start("terraform_plan", tfplan, with_config=with_config),
            start("kubernetes", manifests, with_config=with_config),
        )
    return {
        name: StackScan(plan, tfplan, manifests, finish(tf), finish(kube))
        for name, (plan, tfplan, manifests, tf, kube) in started.items()
    }
