"""PlanResult.waits_for: the one dependency question every infra test asks, answered strictly."""

from __future__ import annotations

import pulumi
import pulumi_random as random
import pytest

from dhakacart_infra.plan.runner import PlanResult, run_program


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        self.register_outputs({})


def program() -> None:
    source = random.RandomString("source", length=8)
    box = Box("box")
    inner = Box("inner", opts=pulumi.ResourceOptions(parent=box))
    random.RandomString("deep", length=8, opts=pulumi.ResourceOptions(parent=inner))
    random.RandomString("sibling", length=8, opts=pulumi.ResourceOptions(parent=box))
    waiter = Box("waiter", opts=pulumi.ResourceOptions(depends_on=[box]))
    random.RandomString("waiter-child", length=8, opts=pulumi.ResourceOptions(parent=waiter))
    reader = random.RandomString("reader", length=8, keepers={"source": source.result})
    random.RandomString("chained", length=8, opts=pulumi.ResourceOptions(depends_on=[reader]))


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program("dev", program=program)


def named(plan: PlanResult, name: str):
    (record,) = [r for r in plan.resources if r.name == name]
    return record


@pytest.mark.parametrize(
    ("dependent", "dependency", "waits"),
    [
        ("reader", "source", True),  # a property dependency
        ("source", "reader", False),  # ... is one-way
        ("chained", "source", True),  # explicit, then property: transitive
        ("waiter-child", "deep", True),  # an ancestor's depends_on on a component reaches nested children
        ("waiter", "box", True),
        ("sibling", "deep", False),  # sharing a component is not waiting
        ("deep", "inner", False),  # nor is being inside one
        ("deep", "box", False),
        ("box", "waiter", False),
    ],
)
def test_waits_for_follows_only_edges_the_engine_waits_on(
    plan: PlanResult, dependent: str, dependency: str, waits: bool
) -> None:
    assert plan.waits_for(named(plan, dependent), named(plan, dependency)) is waits


def test_descendants_of_reaches_nested_components(plan: PlanResult) -> None:
    names = {r.name for r in plan.descendants_of(named(plan, "box"))}
    assert names == {"inner", "deep", "sibling"}


def test_a_call_the_mocks_cannot_answer_names_itself_and_where_to_add_it(run_stack):
    import pulumi_aws as aws

    from dhakacart_infra.plan.mocks import MockGapError

    def program() -> None:
        aws.ec2.get_vpc(default=True)

    with pytest.raises(MockGapError, match=r"aws:ec2/getVpc:getVpc.*PlanMocks\.call"):
        run_stack("dev", program=program)


def test_a_dynamic_resource_without_registered_outputs_is_refused(run_stack):
    from pulumi.dynamic import Resource, ResourceProvider

    from dhakacart_infra.plan.mocks import MockGapError

    class Unregistered(Resource, module="test", name="Unregistered"):
        def __init__(self, name: str) -> None:
            super().__init__(ResourceProvider(), name, {})

    expected = r"pulumi-python:dynamic/test:Unregistered.*plan/dynamic_outputs.py"
    with pytest.raises(MockGapError, match=expected):
        run_stack("dev", program=lambda: Unregistered("gap"))
