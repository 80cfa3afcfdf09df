"""Policy as code, shared by the Pulumi policy pack (policies/) and `make plan`.

plain_data.py   helpers over the plain data rules receive, and UNKNOWN
environment.py  effective AWS tags and what is production (the `Environment` tag)
aws_rules.py    AWS resource rules, and the effective tags the adapters build
kubernetes_rules.py  Kubernetes resource rules
stack_rules.py  rules over relations between resources
registry.py     POLICIES: every policy's name, description, enforcement and rule
pack.py         the pulumi-policy adapter (policies/__main__.py runs it)
"""

from .plain_data import UNKNOWN
from .registry import POLICIES, POLICIES_BY_NAME, Policy
from .stack_rules import StackResource, StackViolation

__all__ = ["POLICIES", "POLICIES_BY_NAME", "UNKNOWN", "Policy", "StackResource", "StackViolation"]
