"""The value keys an unpacked chart reads, as a tree (run where the chart sources are; see __init__).

Three sources, merged, for the chart and each subchart (under its alias; a subchart's `global` is
the parent's): the keys of values.yaml, every `.Values.a.b` reference in the templates (keys a chart
reads but leaves commented out in values.yaml), and the properties of values.schema.json. A subtree
is open (any key below it is accepted) where the chart treats it as free-form: an empty map or null
in values.yaml, a schema object without properties or with additionalProperties, or a template that
hands the whole map to toYaml/toJson/tpl/range (`resources`, `podAnnotations`, `grafana.ini`, ...).

The tree: {key: subtree}, where a subtree is KNOWN (a key with nothing known below it), OPEN, or a dict.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import yaml

KNOWN = 1
OPEN = "*"

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_PATH = rf"((?:\.{_NAME})+)"
# `.Values.a.b`, `$.Values.a`, `.ctx.Values.a`, `$root.Values.a` alike.
_VALUES_REF = re.compile(rf"Values{_PATH}")
_INDEX_REF = re.compile(r'index\s+\(?\s*[$.\w]*\.?Values((?:\s+"[^"]+")+)')
# A map handed whole to a function that prints or iterates it.
_WHOLE_MAP = re.compile(rf'(?:toYaml|toJson|toPrettyJson|tpl|range\s+(?:\$\w+\s*,\s*\$\w+\s*:=\s*)?)\s*\(?\s*'
                        rf'[$\w.]*Values{_PATH}\s*\)?\s*(?:\||\}}|\s\.|\s\$)')
_WHOLE_INDEXED = re.compile(r'(?:toYaml|toJson|tpl|range\s+(?:\$\w+\s*,\s*\$\w+\s*:=\s*)?)\s*\(?\s*'
                            r'index\s+[$\w.]*Values((?:\s+"[^"]+")+)')
_DIG = re.compile(rf'dig((?:\s+"[^"]*")+)\s+[$\w.]*Values{_PATH}')
# `with .Values.x` whose own dot (no nested with/range first) is printed or iterated whole.
_WITH_BLOCK = re.compile(rf"\{{\{{-?\s*with\s+[$\w.]*Values{_PATH}\s*-?\}}\}}(.*?)\{{\{{-?\s*end", re.S)
_DOT_PRINTED = re.compile(r"(?:toYaml|toJson|tpl\s*\(\s*toYaml)\s+\.\s*[|)}]|\(\s*\.\s*\|\s*toYaml"
                          r"|range\s+\$\w+\s*,\s*\$\w+\s*:=\s*\.\s*-?\}")
_VARIABLE = re.compile(rf'(\$\w+)\s*:=\s*\(?\s*'
                       rf'(?:index\s+[$\w.]*Values\s+"([^"]+)"|[$\w.]*Values{_PATH})\s*\)?')


def _merge(tree: dict[str, Any], path: list[str], leaf: Any = KNOWN) -> None:
    node = tree
    for i, key in enumerate(path):
        last = i == len(path) - 1
        current = node.get(key)
        if current == OPEN:
            return
        if last:
            if leaf == OPEN or current is None:
                node[key] = leaf
            return
        if not isinstance(current, dict):
            current = node[key] = {}
        node = current


def _from_values(tree: dict[str, Any], values: Any, prefix: list[str]) -> None:
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        path = [*prefix, str(key)]
        if value == {}:
            _merge(tree, path, OPEN)
        elif isinstance(value, dict):
            _merge(tree, path, {})
            _from_values(tree, value, path)
        else:
            _merge(tree, path)


def _from_schema(tree: dict[str, Any], schema: Any, prefix: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties") or {}
    free = schema.get("additionalProperties") not in (None, False) or schema.get("patternProperties")
    if prefix and (free or (schema.get("type") == "object" and not properties)):
        _merge(tree, prefix, OPEN)
        return
    for key, sub in properties.items():
        _merge(tree, [*prefix, key])
        _from_schema(tree, sub, [*prefix, key])


def _from_templates(tree: dict[str, Any], texts: list[str], prefix: list[str]) -> None:
    for text in texts:
        variables = {}
        for match in _VARIABLE.finditer(text):
            path = [match.group(2)] if match.group(2) else match.group(3).split(".")[1:]
            variables[match.group(1)] = path
        for match in _VALUES_REF.finditer(text):
            _merge(tree, [*prefix, *match.group(1).split(".")[1:]])
        for match in _INDEX_REF.finditer(text):
            _merge(tree, [*prefix, *re.findall(r'"([^"]+)"', match.group(1))])
        for name, path in variables.items():
            for ref in re.finditer(rf"{re.escape(name)}{_PATH}", text):
                _merge(tree, [*prefix, *path, *ref.group(1).split(".")[1:]])
            printed = rf"(?:toYaml|toJson|tpl)\s*\(?\s*{re.escape(name)}{_PATH}\s*[|)}}]"
            for whole in re.finditer(printed, text):
                _merge(tree, [*prefix, *path, *whole.group(1).split(".")[1:]], OPEN)
        for match in _WHOLE_MAP.finditer(text):
            _merge(tree, [*prefix, *match.group(1).split(".")[1:]], OPEN)
        for match in _WHOLE_INDEXED.finditer(text):
            _merge(tree, [*prefix, *re.findall(r'"([^"]+)"', match.group(1))], OPEN)
        for match in _DIG.finditer(text):
            keys = re.findall(r'"([^"]*)"', match.group(1))[:-1]  # the last argument is the default
            _merge(tree, [*prefix, *match.group(2).split(".")[1:], *keys])
        for match in _WITH_BLOCK.finditer(text):
            body = match.group(2)
            if _DOT_PRINTED.search(body) and not re.search(r"\{\{-?\s*(?:with|range)\s", body):
                _merge(tree, [*prefix, *match.group(1).split(".")[1:]], OPEN)


class _ChartFiles:
    """A chart as a directory or as a packaged .tgz (subcharts in charts/ may be either)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    @classmethod
    def from_dir(cls, root: Path) -> _ChartFiles:
        return cls({str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()})

    @classmethod
    def from_tgz(cls, data: bytes) -> _ChartFiles:
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    _, _, inner = member.name.partition("/")  # drop the chart's own top directory
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        files[inner] = extracted.read()
        return cls(files)

    def text(self, name: str) -> str | None:
        return self.files[name].decode() if name in self.files else None

    def own(self, name: str) -> bool:
        return not name.startswith("charts/")

    def subcharts(self) -> dict[str, _ChartFiles]:
        """Subcharts by directory (or archive) name under charts/."""
        found: dict[str, _ChartFiles] = {}
        for name, data in self.files.items():
            parts = name.split("/")
            if len(parts) == 2 and parts[0] == "charts" and name.endswith(".tgz"):
                found[parts[1]] = _ChartFiles.from_tgz(data)
            elif len(parts) > 2 and parts[0] == "charts" and parts[2] == "Chart.yaml" and len(parts) == 3:
                inner = {n[len(f"charts/{parts[1]}/"):]: d for n, d in self.files.items()
                         if n.startswith(f"charts/{parts[1]}/")}
                found[parts[1]] = _ChartFiles(inner)
        return found


def _chart_tree(chart: _ChartFiles, prefix: list[str], tree: dict[str, Any]) -> None:
    meta = yaml.safe_load(chart.text("Chart.yaml") or "{}") or {}
    _from_values(tree, yaml.safe_load(chart.text("values.yaml") or "{}") or {}, prefix)
    schema = chart.text("values.schema.json")
    if schema:
        _from_schema(tree, json.loads(schema), prefix)
    # values.yaml itself: some charts keep templates in string values (Loki's `loki.config`).
    templates = [data.decode(errors="replace") for name, data in chart.files.items()
                 if chart.own(name) and (name.startswith("templates/") or name == "values.yaml")]
    _from_templates(tree, templates, prefix)
    aliases = {d["name"]: d.get("alias") or d["name"] for d in meta.get("dependencies") or []}
    for sub in chart.subcharts().values():
        sub_meta = yaml.safe_load(sub.text("Chart.yaml") or "{}") or {}
        name = sub_meta.get("name", "")
        alias = aliases.get(name, name)
        sub_tree: dict[str, Any] = {}
        _chart_tree(sub, [], sub_tree)
        shared_globals = sub_tree.pop("global", None)
        _graft(tree, [*prefix, alias], sub_tree)
        if shared_globals is not None:
            _graft(tree, ["global"], shared_globals if isinstance(shared_globals, dict) else {})
        for condition in [d.get("condition") for d in meta.get("dependencies") or [] if d["name"] == name]:
            for path in (condition or "").split(","):
                if path.strip():
                    _merge(tree, [*prefix, *path.strip().split(".")])


def _graft(tree: dict[str, Any], path: list[str], subtree: dict[str, Any] | str | int) -> None:
    if subtree == OPEN:
        _merge(tree, path, OPEN)
        return
    _merge(tree, path, {})
    if not isinstance(subtree, dict):
        return
    for key, value in subtree.items():
        if isinstance(value, dict):
            _graft(tree, [*path, key], value)
        else:
            _merge(tree, [*path, key], value)


def value_key_tree(chart_dir: Path) -> dict[str, Any]:
    """The tree of value keys the chart in `chart_dir` (and its subcharts) reads."""
    tree: dict[str, Any] = {}
    _chart_tree(_ChartFiles.from_dir(chart_dir), [], tree)
    return tree
