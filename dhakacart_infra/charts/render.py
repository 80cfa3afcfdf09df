"""`helm template` of one release, and the facts the offline checks need from what it renders.

Rendering is what Helm does at install time, minus the cluster: the Kubernetes version is the
stack's K3s release and the API versions include every CRD the program's charts install (charts
gate ServiceMonitors on them). Test hooks are skipped (the program never runs `helm test`).

Pods the Prometheus operator makes from a Prometheus or Alertmanager resource are facts too:
their containers are the server and the operator's config reloaders, whose memory limit is the
operator Deployment's --config-reloader-memory-limit ("0": none), and every container the operator
makes drops ALL capabilities and forbids privilege escalation (prometheus-operator v0.86,
pkg/prometheus/server/statefulset.go, pkg/alertmanager/statefulset.go, pkg/operator/config_reloader.go).
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from ..aws.workload_role import ROLE_ARN_ANNOTATION
from .facts import DeclaredRelease, values_digest

POD_TEMPLATE_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet")
OPERATOR_KINDS = {"Prometheus": "prometheus", "Alertmanager": "alertmanager"}
_PROBE = "DCPROBE{index}"  # + `{{ "X" }}`: Helm's tpl turns it into DCPROBE<index>X


class RenderError(Exception):
    """helm template refused the chart with these values."""


def helm_template(helm: Path, chart_dir: Path, release: DeclaredRelease, values: dict[str, Any],
                  kube_version: str, api_versions: list[str], include_crds: bool = False) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json") as values_file:
        json.dump(values, values_file)
        values_file.flush()
        command = [str(helm), "template", release.name, str(chart_dir), "--namespace", release.namespace,
                   "--values", values_file.name, "--kube-version", kube_version, "--skip-tests",
                   *(["--include-crds"] if include_crds else []),
                   *(f"--api-versions={v}" for v in api_versions)]
        result = subprocess.run(  # noqa: S603 - the pinned helm, arguments from the program
            command, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode != 0:
        raise RenderError(f"helm template {release.key} ({release.chart} {release.version}): {result.stderr}")
    return result.stdout


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that reads YAML 1.1's `=` (the "value" tag, a bare = in some CRDs) as a string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.load_all(text, Loader=_Loader) if isinstance(d, dict) and d.get("kind")]


def served_api_versions(docs: list[dict[str, Any]]) -> set[str]:
    """group/version and group/version/Kind of every CRD among `docs`."""
    found: set[str] = set()
    for crd in (d for d in docs if d["kind"] == "CustomResourceDefinition"):
        spec = crd["spec"]
        for version in spec.get("versions") or []:
            found.add(f"{spec['group']}/{version['name']}")
            found.add(f"{spec['group']}/{version['name']}/{spec['names']['kind']}")
    return found


def _container(container: dict[str, Any], init: bool) -> dict[str, Any]:
    return {
        "name": container["name"],
        "init": init,
        "resources": container.get("resources") or {},
        "security_context": container.get("securityContext") or {},
        "host_ports": [p["hostPort"] for p in container.get("ports") or [] if p.get("hostPort")],
        "args": [str(a) for a in container.get("args") or []],
        "mounts": {m["name"]: m["mountPath"] for m in container.get("volumeMounts") or []},
    }


def _volume(volume: dict[str, Any]) -> str:
    """A volume as "<type>" or "<type>:<name or path>" (configMap, secret, PVC, hostPath)."""
    kind = next((k for k in volume if k != "name"), "emptyDir")
    source = volume.get(kind) or {}
    detail = source.get("name") or source.get("path") or source.get("claimName") or source.get("secretName")
    return f"{kind}:{detail}" if detail else kind


def _pod(kind: str, name: str, namespace: str, labels: dict[str, str],
         spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "name": name,
        "namespace": namespace,
        "pod_labels": labels,
        # Whose AWS role the pod may get (the pod identity webhook reads the ServiceAccount's).
        "service_account": spec.get("serviceAccountName") or "default",
        "host_namespaces": [n for n in ("Network", "PID", "IPC") if spec.get(f"host{n}")],
        "pod_security_context": spec.get("securityContext") or {},
        "volumes": {v["name"]: _volume(v) for v in spec.get("volumes") or []},
        # Where the scheduler may put it: the capacity check and the dedicated servers rely on these.
        "tolerations": spec.get("tolerations") or [],
        "node_selector": spec.get("nodeSelector") or {},
        "containers": [*(_container(c, True) for c in spec.get("initContainers") or []),
                       *(_container(c, False) for c in spec.get("containers") or [])],
    }


def _operator_pod(doc: dict[str, Any], namespace: str, reloader_resources: dict[str, Any]) -> dict[str, Any]:
    spec, name = doc["spec"], doc["metadata"]["name"]
    app = OPERATOR_KINDS[doc["kind"]]
    labels = {**((spec.get("podMetadata") or {}).get("labels") or {}),
              "app.kubernetes.io/name": app, "app.kubernetes.io/instance": name,
              "app.kubernetes.io/managed-by": "prometheus-operator"}
    made = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]}}
    pod = _pod(doc["kind"], f"{app}-{name}", namespace, labels,
               {"securityContext": spec.get("securityContext"), "tolerations": spec.get("tolerations"),
                "nodeSelector": spec.get("nodeSelector")})
    pod["containers"] = [
        {**_container({"name": "init-config-reloader", "resources": reloader_resources}, True),
         "security_context": made},
        {**_container({"name": app, "resources": spec.get("resources")}, False), "security_context": made},
        {**_container({"name": "config-reloader", "resources": reloader_resources}, False),
         "security_context": made},
    ]
    storage = spec.get("storage") or spec.get("storageSpec") or {}
    pod["volume_claims"] = ["volumeClaimTemplate"] if storage.get("volumeClaimTemplate") else []
    pod["pvc_retention"] = spec.get("persistentVolumeClaimRetentionPolicy") or {}
    return pod


_RELOADER_FLAGS = {"cpu-request": ("requests", "cpu"), "memory-request": ("requests", "memory"),
                   "cpu-limit": ("limits", "cpu"), "memory-limit": ("limits", "memory")}


def _reloader_resources(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """The resources the operator gives its config reloaders, from its Deployment's flags."""
    flags: dict[str, str] = {}
    for doc in docs:
        if doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"].get("containers") or []:
                for arg in container.get("args") or []:
                    if str(arg).startswith("--config-reloader-"):
                        key, _, value = str(arg)[len("--config-reloader-"):].partition("=")
                        flags[key] = value
    resources: dict[str, Any] = {}
    for flag, (section, resource) in _RELOADER_FLAGS.items():
        if flags.get(flag) not in (None, "", "0"):
            resources.setdefault(section, {})[resource] = flags[flag]
    return resources


def object_facts(docs: list[dict[str, Any]], namespace: str) -> dict[str, Any]:
    """Services, ServiceMonitors and pods (with their StatefulSets' volume facts) among `docs`."""
    services, monitors, pods, accounts = [], [], [], []
    for doc in docs:
        kind, meta = doc["kind"], doc.get("metadata") or {}
        where = meta.get("namespace") or namespace
        if kind == "ServiceAccount":
            annotations = meta.get("annotations") or {}
            accounts.append({"name": meta["name"], "namespace": where,
                             "role_arn": annotations.get(ROLE_ARN_ANNOTATION, "")})
        elif kind == "Service":
            ports = doc["spec"].get("ports") or []
            services.append({"name": meta["name"], "namespace": where, "labels": meta.get("labels") or {},
                             "ports": sorted(p["name"] for p in ports if p.get("name"))})
        elif kind == "ServiceMonitor":
            spec = doc["spec"]
            monitors.append({
                "name": meta["name"], "namespace": where, "selector": spec.get("selector") or {},
                "namespace_selector": spec.get("namespaceSelector") or {},
                "job_label": spec.get("jobLabel") or "",
                "endpoints": [{"port": e.get("port", ""), "job_relabelings": [
                    r for r in e.get("relabelings") or [] if r.get("targetLabel") == "job"]}
                    for e in spec.get("endpoints") or []],
            })
        elif kind in POD_TEMPLATE_KINDS:
            template = doc["spec"]["template"]
            pod = _pod(kind, meta["name"], where, (template.get("metadata") or {}).get("labels") or {},
                       template["spec"])
            if kind == "StatefulSet":
                claims = doc["spec"].get("volumeClaimTemplates") or []
                pod["volume_claims"] = [c["metadata"]["name"] for c in claims]
                pod["pvc_retention"] = doc["spec"].get("persistentVolumeClaimRetentionPolicy") or {}
            pods.append(pod)
        elif kind in OPERATOR_KINDS:
            pods.append(_operator_pod(doc, where, _reloader_resources(docs)))
    return {"services": services, "service_monitors": monitors, "pods": pods, "service_accounts": accounts}


def _string_leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from _string_leaves(sub, (*path, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _string_leaves(sub, (*path, index))


def _searchable(text: str) -> str:
    """The rendered text plus every Secret's decoded data (a chart may base64 a value)."""
    decoded = []
    for doc in documents(text):
        if doc["kind"] == "Secret":
            for data in (doc.get("data") or {}).values():
                decoded.append(base64.b64decode(data).decode(errors="replace"))
    return "\n".join([text, *decoded])


def _object_ids(text: str) -> set[tuple[str, str]]:
    return {(d["kind"], (d.get("metadata") or {}).get("name", "")) for d in documents(text)}


def tpl_paths(render: Callable[[dict[str, Any]], str], values: dict[str, Any]) -> list[list[Any]]:
    """The value paths (of string values) that the chart evaluates as templates.

    Each string value is replaced by a marker followed by `{{ "X" }}`; where the output (Secrets
    decoded) shows the marker followed by X, Helm's tpl evaluated it. Values are probed in groups;
    a group whose render fails or makes other objects than the real values do (a probe changed a
    branch) is split, down to single values. A single value the chart refuses in place of its own
    (schema, enum, required) is not free text and is reported as not evaluated."""
    baseline = _object_ids(render(values))
    leaves = [path for path, _ in _string_leaves(values)]

    def probe(indices: list[int]) -> list[list[Any]]:
        probed = copy.deepcopy(values)
        for index in indices:
            node = probed
            for part in leaves[index][:-1]:
                node = node[part]
            node[leaves[index][-1]] = _PROBE.format(index=index) + '{{ "X" }}'
        try:
            text = render(probed)
            same_objects = _object_ids(text) == baseline
        except RenderError:
            text, same_objects = "", False
        if not same_objects and len(indices) > 1:
            middle = len(indices) // 2
            return probe(indices[:middle]) + probe(indices[middle:])
        found = _searchable(text)
        return [list(leaves[i]) for i in indices if f"{_PROBE.format(index=i)}X" in found]

    return probe(list(range(len(leaves)))) if leaves else []


def render_facts(helm: Path, chart_dir: Path, release: DeclaredRelease, kube_version: str,
                 api_versions: list[str]) -> dict[str, Any]:
    def render(values: dict[str, Any]) -> str:
        return helm_template(helm, chart_dir, release, values, kube_version, api_versions)

    docs = documents(render(release.values))
    return {
        "release": release.name,
        "namespace": release.namespace,
        "values_sha256": values_digest(release.values),
        "kube_version": kube_version,
        "objects": len(docs),
        "tpl_values": tpl_paths(render, release.values),
        **object_facts(docs, release.namespace),
    }
