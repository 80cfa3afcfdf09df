"""The one place that decides the labels every Kubernetes object of this platform carries.

They are the Kubernetes "recommended labels" (app.kubernetes.io/*): dashboards, `kubectl get -l`,
network policies and selectors all rely on them, so nobody hand-writes them anywhere else.
"""

from __future__ import annotations

import re

from ..errors import ComponentInputError

MANAGED_BY = "pulumi"

# A label value: at most 63 characters, alphanumerics with -, _ or . inside (Kubernetes' rule).
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


def _checked(key: str, value: str) -> str:
    if not _LABEL_VALUE.match(value):
        raise ComponentInputError(
            f"label {key}={value!r} is not a valid Kubernetes label value: use at most 63 characters, "
            "letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )
    return value


def recommended_labels(
    name: str, component: str, part_of: str = "dhakacart", version: str | None = None
) -> dict[str, str]:
    """The app.kubernetes.io/* labels for one object.

    `version` is optional because a Deployment's selector must never include it (selectors are
    immutable); pass it only to pod templates and objects that are not selected on.
    """
    labels = {
        "app.kubernetes.io/name": _checked("app.kubernetes.io/name", name),
        "app.kubernetes.io/component": _checked("app.kubernetes.io/component", component),
        "app.kubernetes.io/part-of": _checked("app.kubernetes.io/part-of", part_of),
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if version is not None:
        labels["app.kubernetes.io/version"] = _checked("app.kubernetes.io/version", version)
    return labels


POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


def pod_security_labels(enforce: str, audit: str = "restricted", warn: str = "restricted") -> dict[str, str]:
    """A namespace's Pod Security Standard labels: the level enforced, and the levels whose
    violations are audited and shown to `kubectl` users, each judged by the latest standard."""
    labels: dict[str, str] = {}
    for mode, level in (("enforce", enforce), ("audit", audit), ("warn", warn)):
        if level not in POD_SECURITY_LEVELS:
            raise ComponentInputError(
                f"pod security {mode} level {level!r} must be one of {POD_SECURITY_LEVELS}"
            )
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = "latest"
    return labels


def selector_labels(name: str, component: str) -> dict[str, str]:
    """The stable subset used in selectors (Deployments, Services, PDBs, policies)."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component}


def image_version(image: str) -> str | None:
    """The tag of an image reference as a label value, or None when it cannot be one
    (no tag, a digest only, or a tag Kubernetes would refuse as a label value)."""
    reference = image.split("@", 1)[0]
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    tag = last.rsplit(":", 1)[1]
    return tag if tag and _LABEL_VALUE.match(tag) else None
