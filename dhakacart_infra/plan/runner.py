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
        """Every Kubernetes object the program sends (not providers, not Helm releases, not the
        manifest files the provider reads itself: `kubernetes:yaml/v2:ConfigFile`)."""
        return [r for r in self.resources
                if r.type.startswith("kubernetes:")
                and not r.type.startswith(("kubernetes:helm.sh/", "kubernetes:yaml/"))]

    def waits_for(self, dependent: RecordedResource, dependency: RecordedResource) -> bool:
        """True only when the engine makes `dependent` wait for `dependency`: through its explicit and
        property dependencies, those of its ancestor components (children inherit a component's
        `depends_on`), and transitively through whatever those wait for. An edge to a component
        waits for everything inside it, and waiting for a component means waiting for every resource
        inside it. Being a sibling in the same component, or a child of the dependency, is not
        waiting: so a False answer shows what really runs independently."""
        if not dependency.custom:
            inside = [r for r in self.descendants_of(dependency) if r.custom]
            return bool(inside) and all(self.waits_for(dependent, r) for r in inside)
        by_urn = {r.urn: r for r in self.resources}
        children: dict[str, list[str]] = {}
        for r in self.resources:
            children.setdefault(r.parent, []).append(r.urn)

        def with_everything_inside(urn: str) -> list[str]:
            found, pending = [], [urn]
            while pending:
                current = pending.pop()
                found.append(current)
                pending.extend(children.get(current, ()))
            return found

        def edges_of(record: RecordedResource) -> list[str]:
            edges = list(record.dependencies)
            for urns in record.property_dependencies.values():
                edges.extend(urns)
            ancestor = by_urn.get(record.parent)
            while ancestor is not None:
                edges.extend(ancestor.dependencies)
                ancestor = by_urn.get(ancestor.parent)
            return edges

        seen: set[str] = set()
        frontier = [dependent.urn]
        while frontier:
            record = by_urn.get(frontier.pop())
            if record is None or record.urn in seen:
                continue
            seen.add(record.urn)
            for edge in edges_of(record):
                targets = with_everything_inside(edge)
                if dependency.urn in targets:
                    return True
                frontier.extend(targets)
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
    _check_like_the_cli(stack, project, project_file.get("config") or {}, config, secret_keys)
    return project, config, secret_keys


def _check_like_the_cli(
    stack: str, project: str, declared: dict[str, Any], config: dict[str, str], secret_keys: list[str]
) -> None:
    """The checks `pulumi preview` makes before the program runs, so the offline plan never accepts a
    stack file the CLI refuses: a key Pulumi.yaml declares without a default, in the project's
    namespace, must be set; a key declared `secret: true` must be stored encrypted."""
    missing, plaintext = [], []
    for key, spec in declared.items():
        if ":" in key and not key.startswith(f"{project}:"):
            continue
        full = key if ":" in key else f"{project}:{key}"
        if not isinstance(spec, dict):
            continue
        if full not in config:
            missing.append(key)
        elif spec.get("secret") and full not in secret_keys:
            plaintext.append(key)
    if missing:
        values = "value" if len(missing) == 1 else "values"
        raise StackFileError(
            f"Stack '{stack}' is missing configuration {values} {', '.join(sorted(missing))} (Pulumi.yaml "
            f"declares them without a default, so the Pulumi CLI refuses the stack): set them with "
            f"`pulumi config set --stack {stack} <key> <value>`"
        )
    if plaintext:
        raise StackFileError(
            f"Stack '{stack}' stores {', '.join(sorted(plaintext))} in plain text, but Pulumi.yaml declares "
            f"them secret: set them with `pulumi config set --stack {stack} --secret <key> <value>`"
        )


def run_program(
    stack: str,
    *,
    root: Path = REPO_ROOT,
    overrides: dict[str, Any] | None = None,
    secret_overrides: dict[str, Any] | None = None,
    remove: Iterable[str] = (),
    program: Callable[[], Any] | None = None,
    last_outputs: dict[str, Any] | None = None,
) -> PlanResult:
    """Runs `__main__.py` (or `program`) under mocks with `stack`'s config and records it all.

    `overrides` sets config keys in plain text (`"dhakacart:multiAz": False`), `secret_overrides`
    sets them as `pulumi config set --secret` would (the value, marked secret), `remove` unsets
    them: tests use these to exercise the program's validation exactly as a stack file would.
    `last_outputs` are the outputs of the stack's last deployment, as a StackReference to itself
    reads them (default: none, a stack never deployed).
    """
    project, config, secret_keys = load_stack_config(stack, root)

    def full(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    for key in remove:
        config.pop(full(key), None)
        secret_keys = [k for k in secret_keys if k != full(key)]
    for key, value in (overrides or {}).items():
        config[full(key)] = _config_string(value)
        secret_keys = [k for k in secret_keys if k != full(key)]
    for key, value in (secret_overrides or {}).items():
        config[full(key)] = _config_string(value)
        secret_keys = [*(k for k in secret_keys if k != full(key)), full(key)]

    region = config.get("aws:region", "ap-south-1")
    mocks = PlanMocks(region=region, last_outputs=last_outputs)
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


def read_stack_config(stack: str, **kwargs: Any) -> Any:
    """The StackConfig that `stack`'s file yields (the program's `load_config()` under the same mocks);
    keyword arguments as for `run_program` (overrides, secret_overrides, remove, root)."""
    from ..config import load_config

    captured: list[Any] = []
    run_program(stack, program=lambda: captured.append(load_config()), **kwargs)
    return captured[0]
