"""Reads every key of the table once, applies the rules, and returns a StackConfig or one ConfigError.

Every problem is collected (key, bad value, why, and the `pulumi config set` command that fixes it),
so one edit round fixes them all; `__main__.py` calls `load_config()` before declaring any
resource, so a bad value fails `pulumi preview` before anything is planned.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pulumi

from ..errors import REDACTED, ConfigError, ConfigProblem
from .keys import ENVIRONMENTS, KEYS, KEYS_BY_NAME, Key
from .kinds import Invalid
from .model import StackConfig, build
from .rules import RULES

_PLAIN_SHELL_WORD = re.compile(r"[A-Za-z0-9._:/+@-]+")


def fix_command(key: Key, stack: str, example: str, *, path: bool) -> str:
    """The `pulumi config set` that sets `key` (or, with `path`, "<path> <value>" of a field) to `example`."""
    namespace = "" if key.namespace == "dhakacart" else f"{key.namespace}:"
    if path:
        config_path, _, value = example.partition(" ")
        return f"pulumi config set --stack {stack} --path '{namespace}{config_path}' {value}"
    secret = " --secret" if key.secret else ""
    quoted = example if _PLAIN_SHELL_WORD.fullmatch(example) else f"'{example}'"
    return f"pulumi config set --stack {stack}{secret} {namespace}{key.name} {quoted}"


def _problem(
    key: Key, stack: str, value: Any, reason: str, example: str | None = None, shown_key: str | None = None
) -> ConfigProblem:
    example = example or key.example_for(stack)
    path = key.kind.path_fix
    shown = shown_key or (key.full_name if key.namespace != "dhakacart" else key.name)
    return ConfigProblem(
        key=shown, value=value, reason=reason, fix=fix_command(key, stack, example, path=path)
    )


def read_config(
    raw: Callable[[str], str | None],
    secret: Callable[[str], pulumi.Output[str] | None],
    *,
    stored_as_secret: Callable[[str], bool],
    project: str,
    stack: str,
    region: str | None,
) -> StackConfig:
    """The StackConfig from the raw strings the CLI passes (`raw("vpcCidr")`), or raise ConfigError.

    `stored_as_secret(key)` says whether the stack keeps `key` encrypted (`pulumi config set --secret`)."""

    def text_of(key: Key) -> str | None:
        value = region if key.full_name == "aws:region" else raw(key.name)
        return None if value in (None, "") else value

    environment = text_of(KEYS_BY_NAME["environment"])
    defaults_for = environment if environment in ENVIRONMENTS else "dev"
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key in KEYS:
        text = text_of(key)
        if key.secret:
            # Never inspected (offline it is a placeholder) and never shown in a message. Pulumi.yaml
            # cannot declare an optional key `secret: true`, so the program enforces the encryption.
            if text is not None and not stored_as_secret(key.name):
                problems.append(
                    _problem(
                        key,
                        stack,
                        REDACTED,
                        "is stored in plain text (in the stack file and "
                        "in git); it must be an encrypted secret",
                    )
                )
            values[key.name] = text
            continue
        if text is None:
            if key.required:
                problems.append(_problem(key, stack, None, key.why_required))
                values[key.name] = None
            else:
                values[key.name] = key.default(defaults_for)
            continue
        try:
            values[key.name] = key.kind.with_default(key.default(defaults_for)).parse(text)
        except Invalid as refused:
            shown_value = refused.value if refused.value is not None or refused.path else text
            problems.append(
                _problem(key, stack, shown_value, refused.reason, refused.example, shown_key=refused.path)
            )
            values[key.name] = None

    rule_environment = environment if environment in ENVIRONMENTS else ""
    for rule in RULES:
        for finding in rule(values, rule_environment):
            key = KEYS_BY_NAME[finding.key.split(".")[0]]
            problems.append(
                _problem(key, stack, finding.value, finding.reason, finding.example, shown_key=finding.key)
            )
    if problems:
        raise ConfigError(problems, stack=stack)
    return build(values, project=project, stack=stack, secret=secret)


def load_config() -> StackConfig:
    """The StackConfig of the running Pulumi program (call once, before declaring resources)."""
    project = pulumi.get_project()
    config = pulumi.Config(project)

    def raw(key: str) -> str | None:
        # Config.get would warn for a value stored as a secret; the raw lookup reads both alike.
        return pulumi.runtime.get_config(f"{project}:{key}")

    return read_config(
        raw,
        config.get_secret,
        stored_as_secret=lambda key: pulumi.runtime.is_config_secret(f"{project}:{key}"),
        project=project,
        stack=pulumi.get_stack(),
        region=pulumi.Config("aws").get("region"),
    )
