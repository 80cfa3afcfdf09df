"""The fields a custom resource may have, recorded from its CRD's published schema.

For software without a Helm chart (the system-upgrade-controller ships its Plan CRD as a release
file), the same discipline as the chart facts: record what the real schema allows, once, on a
machine that has the release, and let the offline tests hold the program's objects against it.

    python -m dhakacart_infra.charts.crd_keys <crd.yaml> <release> <facts name>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

CRD_FACTS_DIR = Path(__file__).with_name("crd_facts")

ANY = "*"  # a free-form object (x-kubernetes-preserve-unknown-fields, additionalProperties)


def key_tree(schema: dict[str, Any]) -> Any:
    """Object properties as nested dicts (arrays by their items), leaves as 1, free-form as ANY."""
    if schema.get("type") == "array":
        return key_tree(schema.get("items") or {})
    if "properties" in schema:
        return {name: key_tree(sub) for name, sub in schema["properties"].items()}
    if schema.get("type") == "object" or schema.get("x-kubernetes-preserve-unknown-fields"):
        return ANY
    return 1


def unknown_paths(value: Any, tree: Any, path: str = "") -> list[str]:
    """Every field of `value` that `tree` does not allow, as a dotted path."""
    if tree == ANY or tree == 1:
        return []
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in unknown_paths(item, tree, f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    found = []
    for key, sub in value.items():
        where = f"{path}.{key}" if path else key
        if key not in tree:
            found.append(where)
        else:
            found.extend(unknown_paths(sub, tree[key], where))
    return found


def record(crd_file: Path, release: str, name: str, directory: Path = CRD_FACTS_DIR) -> Path:
    crd = yaml.safe_load(crd_file.read_text())
    versions = {}
    for version in crd["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        versions[version["name"]] = {
            "spec_keys": key_tree(schema["properties"]["spec"]),
            "required": sorted(schema["properties"]["spec"].get("required", [])),
            "printer_columns": [c["jsonPath"] for c in version.get("additionalPrinterColumns", [])],
        }
    facts = {
        "crd": crd["metadata"]["name"],
        "group": crd["spec"]["group"],
        "kind": crd["spec"]["names"]["kind"],
        "release": release,
        "versions": versions,
    }
    path = directory / f"{name}-{release}.json"
    path.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n")
    return path


def load(name: str, release: str, directory: Path = CRD_FACTS_DIR) -> dict[str, Any]:
    return json.loads((directory / f"{name}-{release}.json").read_text())


if __name__ == "__main__":
    print(record(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
