"""The rules as `pulumi-policy` policies: what `pulumi preview --policy-pack policies` runs.

Every policy in `registry.POLICIES` becomes one pulumi-policy policy. Rules receive the engine's
props converted to plain data: values unknown during preview become `UNKNOWN` (present where a rule
only needs a value to be set, never equal to a required literal such as True), and the explicit
provider's `defaultTags` are merged into `tagsAll`, where `environment.py` reads whether a resource
or the stack is production. The stack name (messages, the `stack` tag) comes from
`pulumi.get_stack()`, which the policy SDK configures from the engine's PULUMI_STACK.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from .aws_rules import with_provider_default_tags
from .plain_data import UNKNOWN
from .registry import POLICIES, Policy
from .stack_rules import StackResource

PACK_NAME = "dhakacart"
_UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE, UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE,
})


def _target(value: Any) -> Any:
    """The raw container behind the SDK's unknown-checking proxy (which raises on unknown items)."""
    try:
        return value["__target"]
    except (KeyError, TypeError, IndexError):
        return value


def plain(value: Any) -> Any:
    """Props as plain dicts and lists, unknown-during-preview values replaced by rules.UNKNOWN."""
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in _target(value).items()}
    if isinstance(value, Sequence):
        return [plain(v) for v in _target(value)]
    return value


def current_stack() -> str:
    return pulumi.get_stack()


def _policy_props(resource: ResourceValidationArgs | PolicyResource) -> dict[str, Any]:
    """A resource's props as the rules judge them: plain data, with its effective tags."""
    provider_props = plain(resource.provider.props) if resource.provider is not None else None
    return with_provider_default_tags(resource.resource_type, plain(resource.props), provider_props)


def _resource_validation(policy: Policy, stack: Callable[[], str]):
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not policy.applies_to(args.resource_type):
            return
        for message in policy.judge(args.resource_type, _policy_props(args), stack()):
            report_violation(message, None)

    return validate


def _stack_validation(policy: Policy, stack: Callable[[], str]):
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [
            StackResource(
                type=r.resource_type, name=r.name, urn=r.urn, props=_policy_props(r),
                property_dependencies={k: [d.urn for d in deps]
                                       for k, deps in r.property_dependencies.items()},
            )
            for r in args.resources
        ]
        for violation in policy.judge_stack(resources, stack()):
            report_violation(violation.message, violation.urn or None)

    return validate


def pulumi_policies(
    stack: Callable[[], str] = current_stack,
) -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """One mandatory pulumi-policy policy per rule in the registry."""
    built: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for policy in POLICIES:
        level = EnforcementLevel.MANDATORY if policy.enforcement == "mandatory" else EnforcementLevel.ADVISORY
        if policy.kind == "stack":
            built.append(StackValidationPolicy(
                name=policy.name, description=policy.description,
                validate=_stack_validation(policy, stack), enforcement_level=level))
        else:
            built.append(ResourceValidationPolicy(
                name=policy.name, description=policy.description,
                validate=_resource_validation(policy, stack), enforcement_level=level))
    return built
