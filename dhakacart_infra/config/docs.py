"""Writes `Pulumi.yaml` and docs/CONFIGURATION.md from the key table, so neither can drift from it.

    python -m dhakacart_infra.config.docs --write   # after changing keys.py
    python -m dhakacart_infra.config.docs --check   # exit 1 if either file differs (the tests do this)

The Pulumi CLI treats a key declared in `Pulumi.yaml`'s `config:` without a `default:` as required
and stops `pulumi preview` before the program runs when a stack leaves it out. So `config:`
declares only the required keys, keys with one default for every environment, and optional strings
(default ""). Keys whose default depends on the environment, objects (the CLI has no object type)
and optional secrets (a secret cannot have a plain default) are documented in comments above it.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from .keys import KEYS, REQUIRED, SECTIONS, Key
from .rules import PRODUCTION_TRUE, RULES, production_protections

ROOT = Path(__file__).resolve().parents[2]
PULUMI_YAML = ROOT / "Pulumi.yaml"
CONFIGURATION_MD = ROOT / "docs" / "CONFIGURATION.md"

PROJECT_HEADER = """\
name: dhakacart
description: DhakaCart's AWS footprint and the shop on K3s, in one graph.
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: .venv
# Written by `python -m dhakacart_infra.config.docs --write` from dhakacart_infra/config/keys.py;
# edit the key table there, not this file. docs/CONFIGURATION.md explains every key and its rules.
# `config:` declares the required keys (no default), those with one default for both environments
# and optional strings (default ""): the Pulumi CLI refuses a stack that leaves out a declared key
# without a default. The keys below it are read by the program too; a stack file may leave them out.
# Set a key:     pulumi config set <key> <value>
# Set a secret:  pulumi config set --secret <key> <value>
# Set a field:   pulumi config set --path 'web.maxReplicas' 6
"""


def _declared(key: Key) -> bool:
    """Whether `config:` declares the key (see the module docstring)."""
    return (
        key.namespace == "dhakacart"
        and not key.secret
        and key.kind.type_name != "object"
        and (key.required or not key.varies_by_environment)
    )


def _shown(value: Any) -> str:
    if value is REQUIRED:
        return "required"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "(empty)" if value == "" else str(value)


def _comment(text: str, indent: str = "#   ", follow: str = "#       ") -> list[str]:
    return textwrap.wrap(text, width=100, initial_indent=indent, subsequent_indent=follow)


def render_pulumi_yaml() -> str:
    lines = PROJECT_HEADER.splitlines()
    undeclared = [k for k in KEYS if k.namespace == "dhakacart" and not _declared(k)]
    lines += [
        "#",
        "# Keys whose default depends on `environment` (dev / prod), objects and optional secrets:",
    ]
    for key in undeclared:
        kind = f"{key.kind.type_name}, secret" if key.secret else key.kind.type_name
        default = (
            "" if key.secret else f" Default: {_shown(key.default('dev'))} / {_shown(key.default('prod'))}."
        )
        lines += _comment(f"{key.name} ({kind}) {key.description}{default}")
    lines += [
        "config:",
        "  # Every AWS and Kubernetes resource and call must name its provider: the engine refuses one that",
        "  # would fall back to ambient credentials or the ambient kubeconfig (~/.kube/config).",
        '  pulumi:disable-default-providers: ["aws", "kubernetes"]',
    ]
    for key in KEYS:
        if not _declared(key):
            continue
        lines += [f"  {key.name}:", f"    type: {key.kind.type_name}"]
        if key.kind.type_name == "array":
            lines += ["    items:", "      type: string"]
        if not key.required:
            lines.append(f"    default: {json.dumps(key.default('dev'))}")
        description = ("Required. " if key.required else "") + key.description
        lines.append(f"    description: {json.dumps(description)}")
    return "\n".join(lines) + "\n"


def render_configuration_md() -> str:
    out = [
        "# Configuration reference",
        "",
        "<!-- Written by `python -m dhakacart_infra.config.docs --write` from "
        "dhakacart_infra/config/keys.py. -->",
        "",
        "Every stack key, its default in each environment and what it is for. `Pulumi.<stack>.yaml` sets",
        "only what differs from these defaults; `pulumi config set` changes one (`--secret` for secrets,",
        "`--path` for a field of an object or an item of a list). The program reads and checks every key",
        "before it declares any resource and reports every problem at once, each with the command that",
        "fixes it.",
        "Production-only and cross-key rules (dhakacart_infra/config/rules.py) are listed after the table.",
    ]
    for section, title in SECTIONS.items():
        out += ["", f"## {title}", "", "| key | dev | prod | meaning |", "| --- | --- | --- | --- |"]
        for key in (k for k in KEYS if k.section == section):
            name = key.full_name if key.namespace != "dhakacart" else key.name
            if key.secret:
                dev = prod = "optional secret"
            else:
                dev, prod = (_shown(key.dev), _shown(key.prod if key.prod is not None else key.dev))
            out.append(f"| `{name}` | {dev} | {prod} | {key.description} |")
    out += ["", "## Rules across keys and for production", ""]
    for rule in RULES:
        out.append(f"- {inspect.getdoc(rule)}".replace(" PRODUCTION_TRUE ", " this list "))
        if rule is production_protections:
            out += [f"  - `{key}` {why}." for key, why in PRODUCTION_TRUE.items()]
    out.append("- A secret key stored in plain text is refused: set it with `pulumi config set --secret`.")
    return "\n".join(out) + "\n"


OUTPUTS = {PULUMI_YAML: render_pulumi_yaml, CONFIGURATION_MD: render_configuration_md}


def stale_files() -> list[Path]:
    return [path for path, render in OUTPUTS.items() if not path.exists() or path.read_text() != render()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dhakacart_infra.config.docs", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the files from the key table")
    args = parser.parse_args(argv)
    if args.write:
        for path, render in OUTPUTS.items():
            path.write_text(render())
        return 0
    stale = stale_files()
    for path in stale:
        print(
            f"{path.relative_to(ROOT)} differs from dhakacart_infra/config/keys.py: run "
            "`python -m dhakacart_infra.config.docs --write`",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
