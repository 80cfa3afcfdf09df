"""Policy as code: the rules (rules.py), shared by the Pulumi policy pack (policies/) and `make plan`."""

from .aws_rules import is_production_stack
from .plain_data import UNKNOWN
from .registry import POLICIES, POLICIES_BY_NAME, Policy
from .stack_rules import StackResource, StackViolation

__all__ = ["POLICIES", "POLICIES_BY_NAME", "UNKNOWN", "Policy", "StackResource", "StackViolation",
           "is_production_stack"]
