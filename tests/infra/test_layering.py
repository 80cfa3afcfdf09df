"""The plan layer depends on the program, never the reverse: a real `pulumi up` loads no mock code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM_PACKAGES = ("aws", "k8s", "config", "policy")


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def test_no_program_module_imports_the_plan_layer():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in PROGRAM_PACKAGES
        for path in sorted((ROOT / "dhakacart_infra" / package).rglob("*.py"))
        for name in _imports(path)
        if name == "dhakacart_infra.plan" or name.startswith("dhakacart_infra.plan.")
    ]
    assert offenders == []


def test_the_import_check_sees_relative_imports():
    module = ROOT / "dhakacart_infra" / "aws" / "kubeconfig.py"
    assert "dhakacart_infra.aws.kubeconfig_provider" in _imports(module)


def test_running_the_program_modules_loads_no_mock_code():
    code = (
        "import sys, runpy; import dhakacart_infra.config, dhakacart_infra.aws.cluster, "
        "dhakacart_infra.k8s.storefront, dhakacart_infra.k8s.monitoring, dhakacart_infra.k8s.logging; "
        "print(sorted(m for m in sys.modules if m.startswith('dhakacart_infra.plan')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
