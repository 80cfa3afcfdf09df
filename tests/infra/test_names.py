"""Names several parts must agree on are written once, in dhakacart_infra/names.py."""

from __future__ import annotations

import ast
from pathlib import Path

from dhakacart_infra import names

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for p in sorted((ROOT / "dhakacart_infra").rglob("*.py")) if p.name != "names.py"]
NAMESPACES = {names.SHOP_NAMESPACE, names.MONITORING_NAMESPACE, names.NODE_EXPORTER_NAMESPACE,
              names.CERT_MANAGER_NAMESPACE, names.KUBE_SYSTEM_NAMESPACE}
# Output names that are ordinary words ("region", "namespace") cannot be told from other strings.
OUTPUT_NAMES = {o.value for o in names.StackOutput if o.value != o.value.lower()}


def _namespace_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants given as a namespace: `namespace=...`, `{"namespace": ...}`, matchNames."""
    found = []
    for node in ast.walk(tree):
        pairs: list[tuple[str | None, ast.AST]] = []
        if isinstance(node, ast.Call):
            pairs += [(k.arg, k.value) for k in node.keywords]
        elif isinstance(node, ast.Dict):
            keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
            pairs += list(zip(keys, node.values, strict=True))
        for key, value in pairs:
            if key in ("namespace", "namespaceOverride", "matchNames"):
                values = value.elts if isinstance(value, ast.List) else [value]
                found += [(v.lineno, v.value) for v in values
                          if isinstance(v, ast.Constant) and v.value in NAMESPACES]
    return found


def _output_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """Strings spelled like an output, except as a dict's key (a chart value such as
    `autoDiscovery.clusterName` may share an output's name)."""
    keys = {id(k) for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys if k is not None}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in OUTPUT_NAMES
            and id(n) not in keys]


def test_no_module_writes_a_namespace_of_its_own():
    offenders = [f"{p.relative_to(ROOT)}:{line}: {value!r}"
                 for p in SOURCES for line, value in _namespace_literals(ast.parse(p.read_text()))]
    assert offenders == []


def test_no_module_spells_a_stack_output_name():
    offenders = [f"{p.relative_to(ROOT)}:{line}: {value!r}"
                 for p in [*SOURCES, ROOT / "__main__.py"]
                 # The policy rules read resources' own properties, some of which are spelled like
                 # outputs (a FlowLog's `vpcId`); they never read stack outputs.
                 if "policy" not in p.relative_to(ROOT).parts
                 for line, value in _output_literals(ast.parse(p.read_text()))]
    assert offenders == []


def test_the_checks_find_what_they_look_for():
    sample = ast.parse('f(namespace="monitoring"); x = {"namespace": "dhakacart", "vpcId": 1}; y = "vpcId"')
    assert [v for _, v in _namespace_literals(sample)] == ["monitoring", "dhakacart"]
    assert [v for _, v in _output_literals(sample)] == ["vpcId"]
