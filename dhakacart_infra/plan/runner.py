"""Runs the Pulumi program under mocks for one stack file, as `pulumi up` would run it.

Config comes from `Pulumi.yaml` (project defaults) overlaid with `Pulumi.<stack>.yaml`, converted to
the strings the CLI hands a program. Values stored as `secure:` cannot be decrypted offline, so they
become clearly-labelled placeholders that are still marked secret.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings

from .mocks import PlanMocks, RecordedResource, RecordingMonitor, resolve

REPO_ROOT = Path(__file__).resolve().parents[2]


class StackFileError(Exception):
    """A Pulumi.<stack>.yaml that cannot be read as a stack configuration."""


@dataclass
class PlanResult:
    """Everything the program registered, in order, and its stack outputs (secrets still marked)."""

    stack: str
    project: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"expected one {type_token} named {name!r}, found {len(found)} among {names}")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def children_of(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants_of(self, ancestor: RecordedResource) -> list[RecordedResource]:
        """Every resource below `ancestor`: its children, theirs, and so on (components nest)."""
        found: list[RecordedResource] = []
        parents = [ancestor.urn]
        while parents:
            children = [r for r in self.resources if r.parent in parents]
            found.extend(children)
            parents = [r.urn for r in children]
        return found

    def kubernetes_objects(self) -> list[RecordedResource]:
        """Every Kubernetes object the program sends (not providers, not Helm releases)."""
        return [r for r in self.resources
                if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm.sh/")]

    def depends_on(self, dependent: RecordedResource, dependency: RecordedResource) -> bool:
        """True when `dependent` waits for `dependency`, directly or through any chain of edges
        (explicit depends_on, input properties, or the parent component's dependencies)."""
        seen: set[str] = set()
        frontier = [dependent.urn]
        by_urn = {r.urn: r for r in self.resources}
        while frontier:
            urn = frontier.pop()
            if urn in seen:
                continue
            seen.add(urn)
            record = by_urn.get(urn)
            if record is None:
                continue
            edges = list(record.dependencies)
            for urns in record.property_dependencies.values():
                edges.extend(urns)
            # Depending on a component means depending on all of its children.
            for edge in list(edges):
                edges.extend(r.urn for r in self.resources if r.parent == edge)
            # A child waits for what its parent waits for, but not for its siblings: the parent's
            # own edges are walked from the frontier, its children are not added here (else every
            # top-level resource would "depend" on every other through the root Stack).
            if record.parent:
                edges.append(record.parent)
            if dependency.urn in edges:
                return True
            frontier.extend(edges)
        return False


def _config_string(value: Any) -> str:
    """The string the Pulumi CLI hands the program for a YAML config value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def load_stack_config(stack: str, root: Path = REPO_ROOT) -> tuple[str, dict[str, str], list[str]]:
    """Returns (project name, {"ns:key": value}, secret keys) as the CLI would for `stack`."""
    project_file = yaml.safe_load((root / "Pulumi.yaml").read_text())
    project = project_file["name"]
    stack_path = root / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
        raise StackFileError(f"no stack file {stack_path.name}; known stacks: {', '.join(known)}")
    stack_file = yaml.safe_load(stack_path.read_text()) or {}

    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, spec in (project_file.get("config") or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(spec, dict):
            if "default" in spec:
                config[full] = _config_string(spec["default"])
            elif "value" in spec:
                config[full] = _config_string(spec["value"])
        else:
            config[full] = _config_string(spec)
    for key, value in (stack_file.get("config") or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[full] = f"offline-plan-placeholder-for-{full}"
            secret_keys.append(full)
        else:
            config[full] = _config_string(value)
    return project, config, secret_keys


def run_program(
    stack: str,
    *,
    root: Path = REPO_ROOT,
    overrides: dict[str, Any] | None = None,
    remove: Iterable[str] = (),
    program: Callable[[], Any] | None = None,
) -> PlanResult:
    """Runs `__main__.py` (or `program`) under mocks with `stack`'s config and records it all.

    `overrides` sets config keys (`"dhakacart:multiAz": False`), `remove` unsets them: tests use
    both to exercise the program's validation exactly as a stack file would.
    """
    project, config, secret_keys = load_stack_config(stack, root)
    for key in remove:
        config.pop(key if ":" in key else f"{project}:{key}", None)
    for key, value in (overrides or {}).items():
        config[key if ":" in key else f"{project}:{key}"] = _config_string(value)

    region = config.get("aws:region", "ap-south-1")
    mocks = PlanMocks(region=region)
    monitor = RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)  # a fresh root Stack for every run in this process
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config, secret_keys)

    def main() -> None:
        if program is not None:
            program()
        else:
            runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    pulumi.runtime.test(main)()
    root_stack = pulumi.runtime.get_root_resource()
    outputs = resolve(dict(root_stack.outputs)) if root_stack is not None else {}
    resources = [monitor.records[urn] for urn in monitor.order]
    return PlanResult(stack=stack, project=project, resources=resources, outputs=outputs)
