"""The program's errors for input it cannot deploy: a stack configuration, a component's arguments.

All derive from `DhakacartError`, a `pulumi.RunError`, so `pulumi preview` prints the message alone."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pulumi


class Redacted:
    """Stands in for a value that must not be printed (a secret stored in plain text)."""

    def __repr__(self) -> str:
        return "(value not shown)"


REDACTED = Redacted()


@dataclass(frozen=True)
class ConfigProblem:
    """One bad config value: which key, what it was, why that is wrong, and the command that fixes it."""

    key: str
    value: object
    reason: str
    fix: str

    def __str__(self) -> str:
        shown = "(not set)" if self.value is None else repr(self.value)
        return f"{self.key} = {shown}: {self.reason}\n    fix: {self.fix}"


class DhakacartError(pulumi.RunError):
    """Base of every error the program raises for input it cannot deploy.

    A `pulumi.RunError`: the Python language host prints such an error as its message alone
    ("error: 2 configuration problems ..."), where any other exception becomes "Program failed with
    an unhandled exception" and a stack trace that buries the key, the value and the fix."""


class ConfigError(DhakacartError):
    """Every problem in a stack's configuration, reported together so one edit round fixes them all."""

    def __init__(self, problems: Iterable[ConfigProblem], stack: str = "") -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        self.stack = stack
        where = f" for stack {stack!r}" if stack else ""
        count = len(self.problems)
        header = f"{count} configuration problem{'s' if count != 1 else ''}{where}:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.problems]


class ComponentInputError(DhakacartError, ValueError):
    """A component was handed arguments it cannot build from: an invariant of the component itself
    (the stack's keys are checked before, by the config). Messages name the component's argument,
    never a config key: the component does not know where its arguments came from."""
