"""The whole-program plans of both stacks, from the shared infra fixtures (one run per stack here)."""

from tests.infra.conftest import dev_plan, plan_cache, prod_plan, stack_plan  # noqa: F401
