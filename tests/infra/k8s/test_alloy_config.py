"""The Alloy configuration file: every pod's logs, the four labels, the shop's JSON fields, Loki."""

from __future__ import annotations

import re

from dhakacart_infra.k8s.logging import alloy_config

CONFIG = alloy_config()


def blocks() -> list[tuple[str, str]]:
    """(component, label) of every top-level block, e.g. ("loki.write", "default")."""
    return re.findall(r'^([a-z_.]+) "([a-z_]+)" \{', CONFIG, flags=re.MULTILINE)


def test_braces_balance():
    depth = 0
    for char in re.sub(r'"(?:[^"\\]|\\.)*"|//[^\n]*', "", CONFIG):
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


def test_pipeline_discovers_relabels_tails_processes_and_writes():
    assert blocks() == [
        ("discovery.kubernetes", "pods"), ("discovery.relabel", "pods"),
        ("loki.source.kubernetes", "pods"), ("loki.process", "shop"), ("loki.write", "default"),
    ]
    assert "targets    = discovery.relabel.pods.output" in CONFIG
    assert "forward_to = [loki.process.shop.receiver]" in CONFIG
    assert "forward_to = [loki.write.default.receiver]" in CONFIG
    assert 'url = sys.env("LOKI_PUSH_URL")' in CONFIG


def test_each_alloy_pod_tails_only_its_own_node():
    assert 'field = "spec.nodeName=" + sys.env("NODE_NAME")' in CONFIG


def test_streams_carry_namespace_pod_container_and_app():
    targets = set(re.findall(r'target_label\s*=\s*"([a-z_]+)"', CONFIG))
    assert {"namespace", "pod", "container", "app"} <= targets


def test_shop_json_status_and_route_become_low_cardinality_labels():
    assert 'selector = "{namespace=\\"dhakacart\\"}"' in CONFIG
    assert re.search(r"stage\.json \{\s*expressions = \{ status = \"status\", route = \"route\"", CONFIG)
    assert "(?P<status_class>[1-5])" in CONFIG
    labels = re.search(r"stage\.labels \{\s*values = \{([^}]*)\}", CONFIG).group(1)
    assert "status_class" in labels and "route" in labels
    assert re.search(r"\bstatus\s*=", labels) is None  # the raw status code is not a label
