"""The resource tree of a plan, as text: each resource under its parent (type, name)."""

from __future__ import annotations

from collections import defaultdict

from .mocks import RecordedResource


def resource_tree(resources: list[RecordedResource], stack_label: str) -> list[str]:
    """Lines of the tree, children in registration order under their parents; `stack_label` is the
    root (the `pulumi:pulumi:Stack` every top-level resource belongs to)."""
    known = {r.urn for r in resources}
    children: dict[str, list[RecordedResource]] = defaultdict(list)
    for record in resources:
        children[record.parent if record.parent in known else ""].append(record)

    lines = [stack_label]

    def walk(parent: str, indent: str) -> None:
        kids = children.get(parent, [])
        for index, record in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(f"{indent}{'└─ ' if last else '├─ '}{record.type}  {record.name}")
            walk(record.urn, indent + ("   " if last else "│  "))

    walk("", "")
    return lines


def type_counts(resources: list[RecordedResource]) -> dict[str, int]:
    """How many resources of each type (component wrappers included), sorted by type."""
    counts: dict[str, int] = defaultdict(int)
    for record in resources:
        counts[record.type] += 1
    return dict(sorted(counts.items()))
