"""The one check that needs the running cluster: a new `k3sVersion` may not downgrade it or skip a
minor. What the cluster runs is what the last `pulumi up` recorded in the stack's own output
`clusterK3sVersion`, read back through a StackReference to this very stack (a new stack has
none, and may start on any validated release). The check runs when that output resolves, which
`pulumi preview` does too, so a refused upgrade stops before anything changes; and the Plans take
their version from the checked value, so a refused one is never sent to the cluster.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ..errors import ConfigError
from ..names import StackOutput
from .k3s_releases import VALIDATED_ON_UBUNTU, K3sRelease, upgrade_refusal
from .keys import KEYS_BY_NAME
from .reader import _problem


def this_stack_reference() -> pulumi.StackReference:
    """The stack's own last outputs (for a self-managed backend the organisation is "organization")."""
    name = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    return pulumi.StackReference(f"{pulumi.get_stack()}-last-deployment", stack_name=name)


def _next_step(running: K3sRelease) -> str:
    """The release to suggest instead: the first validated one of the next minor, else the running one."""
    validated = {minor: patch for table in VALIDATED_ON_UBUNTU.values() for minor, patch in table.items()}
    patch = validated.get((running.major, running.minor + 1))
    return f"v{running.major}.{running.minor + 1}.{patch}+k3s1" if patch is not None else str(running)


def check_upgrade(running: Any, wanted: str, stack: str) -> str:
    """`wanted`, or a ConfigError when moving a cluster that runs `running` there is refused."""
    running_text = running if isinstance(running, str) and running else None
    reason = upgrade_refusal(running_text, wanted)
    if reason is None:
        return wanted
    now = K3sRelease.parse(running_text)
    suggestion = str(now) if K3sRelease.parse(wanted) < now else _next_step(now)
    raise ConfigError(
        [_problem(KEYS_BY_NAME["k3sVersion"], stack, wanted, reason, example=suggestion)], stack=stack
    )


def gated_k3s_version(running: pulumi.Input[Any], wanted: str, stack: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(running).apply(lambda value: check_upgrade(value, wanted, stack))


def last_deployed_k3s_version(reference: pulumi.StackReference) -> pulumi.Output[Any]:
    return reference.get_output(StackOutput.K3S_VERSION)


def joining_agents_k3s_version(running: pulumi.Input[Any], wanted: str) -> pulumi.Output[str]:
    """What a new agent installs: the release the cluster runs (a kubelet must never be newer than
    the API servers, which the Plans upgrade first), or `wanted` on a stack never deployed. So a
    changed k3sVersion leaves the agents' launch template alone until it is deployed; the next
    `pulumi up` then rolls the agents once more onto fresh instances of the release they run."""
    return pulumi.Output.from_input(running).apply(
        lambda value: value if isinstance(value, str) and K3sRelease.parse(value) else wanted
    )
