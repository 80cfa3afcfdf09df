"""Policy as code: the rules (rules.py), shared by the Pulumi policy pack (policies/) and `make plan`."""

from .registry import (
           POLICIES,
           POLICIES_BY_NAME,
           UNKNOWN,
           Policy,
           StackResource,
           StackViolation,
           is_production_stack,
)

__all__ = ["POLICIES", "POLICIES_BY_NAME", "UNKNOWN", "Policy", "StackResource", "StackViolation",
           "is_production_stack"]
