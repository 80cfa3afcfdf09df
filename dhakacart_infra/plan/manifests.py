"""Every Kubernetes object the program would send, as YAML, one file per object.

`write_manifests(plan, out_dir)` writes, from the inputs recorded under mocks:
  * `<namespace>__<Kind>__<name>.yaml` for each Kubernetes object (cluster-scoped objects use the
    namespace "cluster"), with apiVersion, kind, metadata and the rest of its inputs;
  * `<release>.release.yaml` for each Helm release (chart, version, repository, namespace, values)
    so scanners can read the values the chart is installed with.
Secrets never reach the disk: a Secret's `data` values become a valid base64 placeholder, its
`stringData` values a string placeholder, and any other secret value the mask string.

`validate_manifest(obj, k3s_version)` checks one object strictly (unknown fields are errors)
against the official Kubernetes JSON schemas, shipped by `kubernetes-validate`, for the exact
Kubernetes minor of the K3s version. Custom resources are not in those schemas; they are listed in
CUSTOM_RESOURCE_API_VERSIONS and left to tools/crd-schemas.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .mocks import RecordedResource, mask_secrets, reveal
from .runner import PlanResult

SECRET_PLACEHOLDER = "[secret]"  # noqa: S105 - the mask, not a password
SECRET_PLACEHOLDER_BASE64 = base64.b64encode(SECRET_PLACEHOLDER.encode()).decode()
CLUSTER_SCOPE = "cluster"

# apiVersions served by CRDs, not by Kubernetes itself: kubernetes-validate has no schema for them.
CUSTOM_RESOURCE_API_VERSIONS = frozenset({
    "cert-manager.io/v1",
    "acme.cert-manager.io/v1",
    "traefik.io/v1alpha1",
    "monitoring.coreos.com/v1",
    "monitoring.coreos.com/v1alpha1",
    "upgrade.cattle.io/v1",
})
# Custom resources whose schema no pinned npm package carries: held against the fields recorded
# from their release's CRD (charts/crd_facts, charts/crd_keys.py) instead. "<apiVersion>/<Kind>"
# -> (facts name, release).
RECORDED_CRD_FACTS = {"upgrade.cattle.io/v1/Plan": ("system-upgrade-controller-plan", "v0.20.1")}


def recorded_crd_problems(manifest: dict[str, Any]) -> list[str]:
    """What is wrong with a custom resource of RECORDED_CRD_FACTS: fields its CRD does not have,
    required ones missing. Empty when it is fine."""
    from ..charts import crd_keys

    key = f"{manifest.get('apiVersion')}/{manifest.get('kind')}"
    name, release = RECORDED_CRD_FACTS[key]
    facts = crd_keys.load(name, release)["versions"][str(manifest["apiVersion"]).split("/")[-1]]
    spec = manifest.get("spec") or {}
    unknown = crd_keys.unknown_paths(spec, facts["spec_keys"])
    problems = [f"spec.{p}: no such field in {key} {release}" for p in unknown]
    problems += [f"spec.{f}: required by {key} {release}" for f in facts["required"] if f not in spec]
    return problems

_K3S_VERSION = re.compile(r"^v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)\+k3s\d+$")
_HEAD_KEYS = ("apiVersion", "kind", "metadata")


class UnsupportedKubernetesVersion(Exception):
    """The pinned K3s version has no schemas in the installed kubernetes-validate."""


@dataclass(frozen=True)
class WrittenManifests:
    objects: list[Path]
    releases: list[Path]


def kubernetes_minor(k3s_version: str) -> str:
    """ "v1.33.5+k3s1" -> "1.33"."""
    match = _K3S_VERSION.match(k3s_version or "")
    if not match:
        raise UnsupportedKubernetesVersion(
            f"{k3s_version!r} is not a K3s release name like 'v1.33.5+k3s1' (see "
            "https://github.com/k3s-io/k3s/releases)"
        )
    return f"{match['major']}.{match['minor']}"


def schema_minors() -> list[str]:
    """The Kubernetes minors the installed kubernetes-validate carries strict schemas for."""
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    found = []
    for entry in root.iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.\d+-local-strict$", entry.name)
        if m:
            found.append((int(m[1]), int(m[2])))
    return [f"{a}.{b}" for a, b in sorted(found)]


def require_schemas_for(k3s_version: str) -> str:
    """The Kubernetes minor to validate against; never silently another one."""
    minor = kubernetes_minor(k3s_version)
    available = schema_minors()
    if minor not in available:
        raise UnsupportedKubernetesVersion(
            f"K3s {k3s_version} is Kubernetes {minor}, but the installed kubernetes-validate only ships "
            f"schemas for {', '.join(available)}. Upgrade kubernetes-validate in requirements-dev.txt, or "
            "pin a K3s release whose Kubernetes minor it covers."
        )
    return minor


def plain(value: Any) -> Any:
    """Recorded inputs as Kubernetes would read them: whole-number floats (how numbers cross the
    mock boundary) back to integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _masked_secret_payload(inputs: dict[str, Any]) -> dict[str, Any]:
    """A Secret's data/stringData with every value replaced, keys kept (they are not secret)."""
    out = dict(inputs)
    for key, placeholder in (("data", SECRET_PLACEHOLDER_BASE64), ("stringData", SECRET_PLACEHOLDER)):
        if key in out and out[key] is not None:
            out[key] = {name: placeholder for name in (reveal(out[key]) or {})}
    return out


def manifest_of(record: RecordedResource) -> dict[str, Any]:
    """The object the provider would send for one recorded Kubernetes resource."""
    inputs = dict(record.inputs)
    if inputs.get("kind") == "Secret":
        inputs = _masked_secret_payload(inputs)
    body = plain(mask_secrets(inputs, SECRET_PLACEHOLDER))
    metadata = dict(body.get("metadata") or {})
    if "name" not in metadata:
        # Auto-named: the provider sends the name it generated (recorded in the resource's state).
        generated = (record.state.get("metadata") or {}).get("name")
        metadata["name"] = generated or record.name
    body["metadata"] = metadata
    ordered = {key: body[key] for key in _HEAD_KEYS if key in body}
    ordered.update({k: v for k, v in body.items() if k not in _HEAD_KEYS and not k.startswith("__")})
    return ordered


def manifest_filename(manifest: dict[str, Any]) -> str:
    metadata = manifest.get("metadata") or {}
    namespace = metadata.get("namespace") or CLUSTER_SCOPE
    return f"{namespace}__{manifest['kind']}__{metadata['name']}.yaml"


def release_of(record: RecordedResource) -> dict[str, Any]:
    inputs = record.inputs
    repository = reveal((inputs.get("repositoryOpts") or {}).get("repo"))
    return plain(mask_secrets({
        "name": inputs.get("name") or record.name,
        "namespace": inputs.get("namespace"),
        "chart": inputs.get("chart"),
        "version": inputs.get("version"),
        "repository": repository,
        "values": inputs.get("values") or {},
    }, SECRET_PLACEHOLDER))


def kubernetes_manifests(plan: PlanResult) -> list[dict[str, Any]]:
    return [manifest_of(r) for r in plan.kubernetes_objects() if not r.type.startswith("pulumi:providers:")]


def helm_releases(plan: PlanResult) -> list[dict[str, Any]]:
    return [release_of(r) for r in plan.of_type("kubernetes:helm.sh/v3:Release")]


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)


def write_manifests(plan: PlanResult, out_dir: Path) -> WrittenManifests:
    """Writes the plan's Kubernetes objects and Helm releases under `out_dir` (emptied of earlier
    YAML first, so a removed object does not linger)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.yaml"):
        stale.unlink()
    objects: list[Path] = []
    for manifest in kubernetes_manifests(plan):
        path = out_dir / manifest_filename(manifest)
        if path in objects:
            raise ValueError(f"two Kubernetes objects would be written to {path.name}: names must be unique")
        path.write_text(_dump(manifest))
        objects.append(path)
    releases: list[Path] = []
    for release in helm_releases(plan):
        path = out_dir / f"{release['name']}.release.yaml"
        path.write_text(_dump(release))
        releases.append(path)
    return WrittenManifests(objects=objects, releases=releases)


def is_custom_resource(manifest: dict[str, Any]) -> bool:
    return manifest.get("apiVersion") in CUSTOM_RESOURCE_API_VERSIONS


def validate_manifest(manifest: dict[str, Any], k3s_version: str) -> None:
    """Raises kubernetes_validate.ValidationError (or SchemaNotFoundError for a kind Kubernetes
    does not serve) unless `manifest` is valid, strictly, for the K3s version's Kubernetes minor.
    Custom resources must be skipped by the caller (is_custom_resource)."""
    import kubernetes_validate  # heavy (jsonschema registry); only the tests and `make plan` need it

    if is_custom_resource(manifest):
        raise ValueError(
            f"{manifest.get('apiVersion')} {manifest.get('kind')} is a custom resource: the Kubernetes "
            "schemas do not cover it; validate it with tools/crd-schemas"
        )
    minor = require_schemas_for(k3s_version)
    kubernetes_validate.validate(manifest, f"{minor}.0", strict=True)


def write_plan_manifests(plan: PlanResult, stack_out_dir: Path) -> Path:
    """`make plan`'s artifact: the manifests under `<out>/<stack>/manifests/`; returns that folder."""
    directory = stack_out_dir / "manifests"
    write_manifests(plan, directory)
    return directory
