"""The one shared mock layer for every infrastructure test.

Whole-program runs are cached per stack file for the session; tests that change config use
`run_stack`, which runs the program afresh (the same code path as `make plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dhakacart_infra.plan.runner import PlanResult, run_program

STACKS = ("dev", "prod")


@pytest.fixture(scope="session")
def plan_cache() -> dict[str, PlanResult]:
    return {}


def _cached(plan_cache: dict[str, PlanResult], stack: str) -> PlanResult:
    if stack not in plan_cache:
        plan_cache[stack] = run_program(stack)
    return plan_cache[stack]


@pytest.fixture(scope="session")
def dev_plan(plan_cache: dict[str, PlanResult]) -> PlanResult:
    return _cached(plan_cache, "dev")


@pytest.fixture(scope="session")
def prod_plan(plan_cache: dict[str, PlanResult]) -> PlanResult:
    return _cached(plan_cache, "prod")


@pytest.fixture(scope="session", params=STACKS)
def stack_plan(request: pytest.FixtureRequest, plan_cache: dict[str, PlanResult]) -> PlanResult:
    """Each test that takes this runs once per stack file."""
    return _cached(plan_cache, request.param)


@pytest.fixture
def run_stack() -> Callable[..., PlanResult]:
    """run_stack("prod", overrides={"dbMultiAz": False}, remove=["acmeEmail"], program=None)."""

    def _run(stack: str, **kwargs: Any) -> PlanResult:
        return run_program(stack, **kwargs)

    return _run
