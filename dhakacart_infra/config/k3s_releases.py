"""Which K3s releases the cluster may run, and which upgrades it may take.

A release must be one K3s validates on the nodes' Ubuntu LTS (its OS validation, per Kubernetes
minor from a first patch on), and an upgrade of a running cluster may neither go back nor skip a
minor: Kubernetes' version skew policy lets the control plane move one minor at a time, and
etcd's data is not guaranteed to read backwards.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..aws.nodes import UBUNTU_LTS_VERSION

RELEASE_PATTERN = r"v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)"
# K3s's OS validation of Ubuntu 26.04 (k3s-io/k3s#14576): per Kubernetes minor, its first patch.
# A new minor or Ubuntu release is one line here, once K3s lists it.
VALIDATED_ON_UBUNTU: dict[str, dict[tuple[int, int], int]] = {
    "26.04": {(1, 34): 11, (1, 35): 8, (1, 36): 4},
}


class K3sRelease(NamedTuple):
    major: int
    minor: int
    patch: int
    k3s: int

    @classmethod
    def parse(cls, text: str) -> K3sRelease | None:
        match = re.fullmatch(RELEASE_PATTERN, text)
        return cls(*map(int, match.groups())) if match else None

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}+k3s{self.k3s}"


def validated_reason(text: str, ubuntu: str = UBUNTU_LTS_VERSION) -> str | None:
    """Why `text` is no release K3s validates on this Ubuntu, or None if it is one."""
    release = K3sRelease.parse(text)
    if release is None:
        return None  # the pattern's own reason applies
    first = VALIDATED_ON_UBUNTU.get(ubuntu, {})
    minimum = first.get((release.major, release.minor))
    if minimum is None or release.patch < minimum:
        listed = ", ".join(f"v{a}.{b}.{p}+" for (a, b), p in sorted(first.items()))
        return (
            f"is not validated by K3s on Ubuntu {ubuntu} (validated from: {listed}); "
            "see K3s's OS validation before adding a release to config/k3s_releases.py"
        )
    return None


def upgrade_refusal(running: str | None, wanted: str) -> str | None:
    """Why moving a cluster that runs `running` to `wanted` is refused, or None. No running
    version (a new stack, or one deployed before this was recorded) allows any release."""
    now, then = (K3sRelease.parse(running) if running else None), K3sRelease.parse(wanted)
    if now is None or then is None:
        return None
    if then < now:
        return (
            f"would downgrade the running cluster from {now}: K3s cannot go back (etcd's data and "
            "the API objects are not guaranteed to read backwards); restore an etcd snapshot taken "
            "before the upgrade instead (docs/RUNBOOK.md)"
        )
    if (then.major, then.minor) > (now.major, now.minor + 1):
        return (
            f"skips a minor: the cluster runs {now}, and Kubernetes' version skew policy allows one "
            f"minor at a time; upgrade to the newest v{now.major}.{now.minor + 1}.x first"
        )
    return None
