"""The kinds of value a stack key can hold: each parses the CLI's string and says why it refuses one.

A kind's `parse(text)` returns the typed value or raises `Invalid` with the reason (worded to follow
"<key> = <value>: "), and optionally the field path and example for the fix. Kinds know nothing
about environments or other keys: production-only and cross-key rules live in rules.py.
"""

from __future__ import annotations

import ipaddress
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Invalid(Exception):
    """A refused value: the reason, and for an object's field its path (`web.minReplicas`) and example."""

    def __init__(
        self, reason: str, *, path: str | None = None, value: Any = None, example: str | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.value = value
        self.example = example


class Kind(ABC):
    """How one key's text becomes a value. `type_name` is what Pulumi.yaml and the docs call it."""

    type_name = "string"
    path_fix = False  # True: the fix is `pulumi config set --path '<key>...' <value>`

    @abstractmethod
    def parse(self, text: str) -> Any:
        """The typed value of `text`, or raise Invalid."""

    def with_default(self, default: Any) -> Kind:
        """This kind, completing a partial value from the environment's default (objects do)."""
        return self

    def accepted_examples(self) -> list[Any]:
        """Values at the edges of what this kind accepts (the consistency tests run the program with them)."""
        return []


@dataclass(frozen=True)
class Text(Kind):
    """A string matched by `pattern`, optionally checked further by `check` (returns a reason or None)."""

    pattern: str = r".+"
    reason: str = "is not valid"
    check: Callable[[str], str | None] | None = None
    samples: tuple[str, ...] = ()

    def parse(self, text: str) -> str:
        if not re.fullmatch(self.pattern, text):
            raise Invalid(self.reason)
        if self.check is not None and (why := self.check(text)) is not None:
            raise Invalid(why)
        return text

    def accepted_examples(self) -> list[Any]:
        return list(self.samples)


@dataclass(frozen=True)
class Choice(Kind):
    choices: tuple[str, ...] = ()
    why: str = ""
    reason: str | None = None
    """The whole refusal, where "must be one of ..." would not say enough."""

    def parse(self, text: str) -> str:
        if text not in self.choices:
            raise Invalid(self.reason or f"must be one of {', '.join(self.choices)}{self.why}")
        return text

    def accepted_examples(self) -> list[Any]:
        return list(self.choices)


@dataclass(frozen=True)
class Integer(Kind):
    minimum: int
    maximum: int
    why: str = ""
    type_name = "integer"

    def parse(self, text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise Invalid("must be a whole number") from None
        if not self.minimum <= number <= self.maximum:
            raise Invalid(f"must be between {self.minimum} and {self.maximum}{self.why}", value=number)
        return number

    def accepted_examples(self) -> list[Any]:
        return [self.minimum, self.maximum]


@dataclass(frozen=True)
class OneOfIntegers(Kind):
    """A whole number from a fixed set (CloudWatch log retention accepts only certain day counts)."""

    allowed: tuple[int, ...] = ()
    what: str = ""
    type_name = "integer"

    def parse(self, text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise Invalid("must be a whole number") from None
        if number not in self.allowed:
            raise Invalid(f"must be one of {', '.join(map(str, self.allowed))}{self.what}", value=number)
        return number

    def accepted_examples(self) -> list[Any]:
        return [self.allowed[0], self.allowed[-1]]


@dataclass(frozen=True)
class Boolean(Kind):
    type_name = "boolean"

    def parse(self, text: str) -> bool:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise Invalid("must be true or false")

    def accepted_examples(self) -> list[Any]:
        return [True, False]


@dataclass(frozen=True)
class Secret(Kind):
    """A secret string: read with get_secret, never inspected (offline it is a placeholder)."""

    def parse(self, text: str) -> str:
        return text


# --- compound kinds ---------------------------------------------------------------------------


IPV6_REASON = "is IPv6, but the VPC is IPv4-only"


def _json_list(text: str) -> list | None:
    """The list a JSON value holds, or None if it is not JSON or not a list."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError:
        return None
    return items if isinstance(items, list) else None


@dataclass(frozen=True)
class CidrList(Kind):
    """A non-empty JSON list of IPv4 CIDRs (`adminCidrs`)."""

    type_name = "array"
    path_fix = True

    def parse(self, text: str) -> tuple[str, ...]:
        items = _json_list(text)
        if items is None:
            raise Invalid("must be a list")
        cidrs = []
        for item in items:
            try:
                cidr = ipaddress.ip_network(str(item), strict=True)
            except ValueError:
                raise Invalid("is not a valid CIDR (e.g. 203.0.113.7/32)", value=item) from None
            # ::/0 is kept for rules.py: in prod it is refused as world-open, elsewhere as IPv6.
            if cidr.version == 6 and cidr.prefixlen != 0:
                raise Invalid(IPV6_REASON, value=item)
            cidrs.append(str(cidr))
        if not cidrs:
            raise Invalid("is empty: nothing, not even `pulumi up`, could reach the Kubernetes API", value=[])
        return tuple(cidrs)


@dataclass(frozen=True)
class InstanceTypeList(Kind):
    """A non-empty JSON list of known x86_64 instance types of one size (vCPUs and memory)."""

    type_name = "array"
    path_fix = True

    def parse(self, text: str) -> tuple[str, ...]:
        from .instance_types import INSTANCE_TYPES

        items = _json_list(text)
        if not items:
            raise Invalid("must be a non-empty list of instance types")
        for item in items:
            if item not in INSTANCE_TYPES:
                raise Invalid(
                    "is not a known x86_64 instance type; known: " + ", ".join(sorted(INSTANCE_TYPES)),
                    value=item,
                )
        shapes = {INSTANCE_TYPES[item] for item in items}
        if len(shapes) > 1:
            raise Invalid(
                "mixes sizes ("
                + ", ".join(
                    f"{i}: {INSTANCE_TYPES[i].vcpus} vCPU, {INSTANCE_TYPES[i].memory_gib:g} GiB"
                    for i in items
                )
                + "): the cluster autoscaler plans every node of a group as the first one",
                value=items,
            )
        return tuple(items)

    def accepted_examples(self) -> list[Any]:
        return [["t3.medium", "t3a.medium"], ["m6i.large"]]


CPU_PATTERN = re.compile(r"^(\d+(\.\d+)?)(m?)$")
MEMORY_PATTERN = re.compile(r"^(\d+)(Ki|Mi|Gi)$")


def cpu_millicores(quantity: str) -> float:
    match = CPU_PATTERN.match(quantity)
    if not match:
        raise ValueError(quantity)
    number = float(match.group(1))
    return number if match.group(3) else number * 1000


def memory_bytes(quantity: str) -> int:
    match = MEMORY_PATTERN.match(quantity)
    if not match:
        raise ValueError(quantity)
    return int(match.group(1)) * {"Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[match.group(2)]


@dataclass(frozen=True)
class Field:
    """One field of an object key: how it parses (text -> value, or raise ValueError) and an example."""

    parse: Callable[[Any], Any]
    example: str
    problem: str


def _replicas(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value or value < 1:
        raise ValueError(value)
    return int(value)


WORKLOAD_FIELDS: dict[str, Field] = {
    "minReplicas": Field(_replicas, "2", "must be a whole number of at least 1"),
    "maxReplicas": Field(_replicas, "2", "must be a whole number of at least 1"),
    "cpuRequest": Field(
        lambda v: (str(v), cpu_millicores(str(v))), "100m", "is not a Kubernetes CPU quantity like 100m or 1"
    ),
    "cpuLimit": Field(
        lambda v: (str(v), cpu_millicores(str(v))), "500m", "is not a Kubernetes CPU quantity like 100m or 1"
    ),
    "memoryRequest": Field(
        lambda v: (str(v), memory_bytes(str(v))),
        "256Mi",
        "is not a Kubernetes memory quantity like 256Mi or 1Gi",
    ),
    "memoryLimit": Field(
        lambda v: (str(v), memory_bytes(str(v))),
        "512Mi",
        "is not a Kubernetes memory quantity like 256Mi or 1Gi",
    ),
}


@dataclass(frozen=True)
class Workload(Kind):
    """A pod group's size: {minReplicas, maxReplicas, cpuRequest, memoryRequest, cpuLimit, memoryLimit};
    fields left out keep their default. Parses to a dict of field -> value (quantities as strings)."""

    key: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    type_name = "object"
    path_fix = True

    def with_default(self, default: Any) -> Workload:
        return Workload(key=self.key, defaults=dict(default or {}))

    def parse(self, text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            raise Invalid("must be an object", example=f"{self.key}.minReplicas 3")
        unknown = sorted(set(data) - set(WORKLOAD_FIELDS))
        if unknown:
            raise Invalid(
                f"has unknown fields {unknown}; allowed: {list(WORKLOAD_FIELDS)}",
                value=data,
                example=f"{self.key}.minReplicas 3",
            )
        merged = {**self.defaults, **data}
        missing = [name for name in WORKLOAD_FIELDS if name not in merged]
        if missing:
            raise Invalid(f"is missing {missing}", value=data, example=f"{self.key}.{missing[0]} 1")
        parsed: dict[str, Any] = {}
        for name, spec in WORKLOAD_FIELDS.items():
            try:
                parsed[name] = spec.parse(merged[name])
            except ValueError:
                raise Invalid(
                    spec.problem,
                    path=f"{self.key}.{name}",
                    value=merged[name],
                    example=f"{self.key}.{name} {spec.example}",
                ) from None
        if parsed["maxReplicas"] < parsed["minReplicas"]:
            raise Invalid(
                f"must be at least minReplicas ({parsed['minReplicas']})",
                path=f"{self.key}.maxReplicas",
                value=parsed["maxReplicas"],
                example=f"{self.key}.maxReplicas {parsed['minReplicas']}",
            )
        for request, limit in (("cpuRequest", "cpuLimit"), ("memoryRequest", "memoryLimit")):
            if parsed[request][1] > parsed[limit][1]:
                raise Invalid(
                    f"is larger than {limit} ({parsed[limit][0]})",
                    path=f"{self.key}.{request}",
                    value=parsed[request][0],
                    example=f"{self.key}.{request} {parsed[limit][0]}",
                )
        return {name: value[0] if isinstance(value, tuple) else value for name, value in parsed.items()}
