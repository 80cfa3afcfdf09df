"""The ops tool names stack outputs, the shop's namespace and its Deployments only through
dhakacart_infra.names, and every output it names is one the program exports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dhakacart_infra import names
from dhakacart_infra.names import (
    API_COMPONENT,
    MIGRATION_COMPONENT,
    SHOP_APP_NAME,
    WEB_COMPONENT,
    StackOutput,
)
from dhakacart_infra.ops.restore import STACK_SHAPE_OUTPUTS
from dhakacart_infra.ops.stack import OUTPUT_FLAGS
from dhakacart_infra.plan.runner import run_program

OPS_DIR = Path(names.__file__).parent / "ops"
OPS_MODULES = sorted(OPS_DIR.glob("*.py"))

NAMESPACES = sorted(value for key, value in vars(names).items() if key.endswith("_NAMESPACE"))
OUTPUT_NAMES = sorted(output.value for output in StackOutput)
# Multi-word output names can be looked for inside prose; "region" or "namespace" only as a whole string.
CAMEL_CASE_OUTPUTS = [name for name in OUTPUT_NAMES if name != name.lower()]
SHOP_DEPLOYMENTS = [f"{SHOP_APP_NAME}-{c}" for c in (API_COMPONENT, WEB_COMPONENT, MIGRATION_COMPONENT)]


def _any_of(words: list[str]) -> str:
    return "|".join(map(re.escape, words))


_OUTPUT_IN_TEXT = re.compile(rf"\b(?:{_any_of(CAMEL_CASE_OUTPUTS)})\b")
_NAMESPACE_FLAG = re.compile(rf"(?:\s-n|--namespace)[\s=]+({_any_of(NAMESPACES)})(?![\w-])")
_DEPLOYMENT = re.compile(rf"(?<![\w-])(?:{_any_of(SHOP_DEPLOYMENTS)})(?![\w-])")


def copied_names(source: str) -> list[str]:
    """`line: name` for each string literal (f-string parts and docstrings too) that spells out a
    stack output, a namespace or a shop Deployment instead of taking it from names.py."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        text = node.value
        hits = [text.strip()] if text.strip() in (*OUTPUT_NAMES, *NAMESPACES) else []
        hits += _OUTPUT_IN_TEXT.findall(text)
        hits += _NAMESPACE_FLAG.findall(f" {text}")
        hits += _DEPLOYMENT.findall(text)
        found += [(node.lineno, node.col_offset, hit) for hit in dict.fromkeys(hits)]
    return [f"{line}: {hit}" for line, _, hit in sorted(found)]


def test_the_scan_finds_each_kind_of_copy_and_passes_names_taken_from_names_py() -> None:
    copies = """
a = "databaseInstanceId"
b = f"use the stack output snapshotExportBucket, not {other}"
c = "kubectl -n dhakacart get pods"
d = {"region": region}
e = f"kubectl -n {SHOP_NAMESPACE} scale deployment dhakacart-api --replicas=0"
f = "kubectl get pods --namespace=monitoring"
"""
    assert copied_names(copies) == [
        "2: databaseInstanceId",
        "3: snapshotExportBucket",
        "4: dhakacart",
        "5: region",
        "6: dhakacart-api",
        "7: monitoring",
    ]
    taken = """
a = f"use the stack output {StackOutput.SNAPSHOT_EXPORT_BUCKET}"
b = f"kubectl -n {SHOP_NAMESPACE} get deployment {SHOP_APP_NAME}-{API_COMPONENT}"
c = "AWS region (default: the stack's, else AWS_REGION)"
d = "dhakacart-dev-db-manual-20261125-030405 dhakacart-ops dhakacart-api-retired"
"""
    assert copied_names(taken) == []


@pytest.mark.parametrize("module", OPS_MODULES, ids=lambda path: path.name)
def test_no_ops_module_spells_out_a_name_that_names_py_defines(module: Path) -> None:
    assert copied_names(module.read_text()) == [], (
        f"{module.name} copies names that dhakacart_infra/names.py defines; import them from there"
    )


def outputs_named_in_ops() -> set[StackOutput]:
    """Every `StackOutput.X` the ops modules mention (the scan above rules out any other spelling)."""
    named = set()
    for module in OPS_MODULES:
        for node in ast.walk(ast.parse(module.read_text())):
            is_name = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            if is_name and node.value.id == "StackOutput":
                named.add(StackOutput[node.attr])
    return named


def test_the_outputs_found_include_all_those_the_tool_reads_through_its_tables() -> None:
    # A check of the collector itself: what the flag and stack-shape tables read must be found.
    assert {*OUTPUT_FLAGS, *STACK_SHAPE_OUTPUTS} <= outputs_named_in_ops()


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_output_the_ops_tool_names_is_exported_by_the_program(stack: str) -> None:
    exported = {str(name) for name in run_program(stack).outputs}
    missing = sorted(output.value for output in outputs_named_in_ops() if output.value not in exported)
    assert missing == [], f"the ops tool reads {missing}, which the {stack} stack does not export"
