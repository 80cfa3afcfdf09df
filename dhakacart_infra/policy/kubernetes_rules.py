"""The Kubernetes resource rules: `(type token, props, stack name) -> [violation message, ...]`.

A rule about each container of a workload is written as a judgement of one container (and its pod
spec) and decorated with `@each_container()`. Kubernetes objects carry no AWS tags: a rule that must
apply only in production is a stack rule (environment.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .plain_data import UNKNOWN, as_int, as_mapping, list_of, value_at

POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CRON_JOB = "kubernetes:batch/v1:CronJob"
LONG_RUNNING_WORKLOADS = (
    "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:ReplicaSet",
)
WORKLOADS = (*LONG_RUNNING_WORKLOADS, "kubernetes:batch/v1:Job", CRON_JOB, POD)
POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"
# Objects that live in a namespace (the kinds this program declares).
NAMESPACED_KINDS = (
    *WORKLOADS, CONFIG_MAP, "kubernetes:core/v1:Secret", "kubernetes:core/v1:Service", INGRESS,
    NETWORK_POLICY, "kubernetes:core/v1:ServiceAccount",
)
# Kubernetes' own namespaces: created by the cluster, never by this program.
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template's spec of a workload (None for other kinds)."""
    if resource_type == POD:
        spec = value_at(props, "spec")
    elif resource_type == CRON_JOB:
        spec = value_at(props, "spec", "jobTemplate", "spec", "template", "spec")
    elif resource_type in WORKLOADS:
        spec = value_at(props, "spec", "template", "spec")
    else:
        return None
    return spec if isinstance(spec, Mapping) else {}


def _containers(spec: Mapping[str, Any], *, init: bool = True) -> list[tuple[str, Mapping[str, Any]]]:
    kinds = ("containers", "initContainers") if init else ("containers",)
    found = []
    for kind in kinds:
        for container in list_of(spec.get(kind)):
            if isinstance(container, Mapping):
                found.append((f"{'init container' if kind == 'initContainers' else 'container'} "
                              f"{container.get('name', '?')}", container))
    return found


ResourceRule = Callable[[str, Mapping[str, Any], str], list[str]]
ContainerJudgement = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]


def each_container(*, init: bool = True) -> Callable[[ContainerJudgement], ResourceRule]:
    """Makes a workload rule of a judgement of one container (given its pod spec): one message per
    container it faults, prefixed with the container's name. `init=False` skips init containers."""

    def decorate(judge: ContainerJudgement) -> ResourceRule:
        def rule(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
            spec = pod_spec(resource_type, props)
            if spec is None:
                return []
            found = []
            for label, container in _containers(spec, init=init):
                message = judge(spec, container)
                if message:
                    found.append(f"{label}: {message}")
            return found

        rule.__name__ = rule.__qualname__ = judge.__name__
        rule.__doc__ = judge.__doc__
        return rule

    return decorate


@each_container()
def run_as_non_root(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    ctx = value_at(container, "securityContext", default={})
    pod_ctx = value_at(spec, "securityContext", default={})
    non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    if non_root is not True or as_int(user) == 0:
        return "must run as non-root (securityContext.runAsNonRoot=true, runAsUser not 0)"
    return None


@each_container()
def no_privilege_escalation(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    if value_at(container, "securityContext", "allowPrivilegeEscalation") is not False:
        return "set securityContext.allowPrivilegeEscalation=false"
    return None


@each_container()
def drop_all_capabilities(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    drop = [str(c).upper() for c in list_of(value_at(container, "securityContext", "capabilities", "drop"))]
    add = [str(c).upper() for c in list_of(value_at(container, "securityContext", "capabilities", "add"))]
    if "ALL" not in drop:
        return "drop every capability (securityContext.capabilities.drop=[ALL])"
    if set(add) - {"NET_BIND_SERVICE"}:
        extra = sorted(set(add) - {"NET_BIND_SERVICE"})
        return f"adds capabilities {extra}: only NET_BIND_SERVICE is allowed"
    return None


@each_container()
def read_only_root_filesystem(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    if value_at(container, "securityContext", "readOnlyRootFilesystem") is not True:
        return "set securityContext.readOnlyRootFilesystem=true (mount an emptyDir where it must write)"
    return None


@each_container()
def seccomp_runtime_default(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    profile = value_at(container, "securityContext", "seccompProfile", "type") or value_at(
        spec, "securityContext", "seccompProfile", "type")
    if profile not in ("RuntimeDefault", "Localhost"):
        return "set seccompProfile.type=RuntimeDefault (pod or container securityContext)"
    return None


@each_container()
def no_privileged_containers(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    if value_at(container, "securityContext", "privileged") is True:
        return "must not run privileged"
    return None


@each_container(init=False)
def probes(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    missing = [p for p in ("readinessProbe", "livenessProbe") if not isinstance(container.get(p), Mapping)]
    if missing:
        return f"has no {' and no '.join(missing)}"
    return None


@each_container()
def container_resources(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    missing = [f"{kind}.{res}" for kind in ("requests", "limits") for res in ("cpu", "memory")
               if not value_at(container, "resources", kind, res)]
    if missing:
        return f"set resources {', '.join(missing)}"
    return None


def image_reference_problem(image: Any) -> str | None:
    """Why an image reference is not pinned, or None when it names a tag (not latest) or a digest."""
    if image is UNKNOWN:
        return None
    if not isinstance(image, str) or not image:
        return "has no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image!r} has no tag: pin a version tag or a digest"
    if last.rsplit(":", 1)[1] in ("latest", ""):
        return f"image {image!r} uses the latest tag: pin a version tag or a digest"
    return None


@each_container()
def image_pinned(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    return image_reference_problem(container.get("image"))


SECRET_NAME_SEGMENTS = frozenset({
    "PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIAL", "CREDENTIALS",
    "PASSPHRASE", "PRIVATE",
})
# Names that only point at a secret (a file, a key id, a secret's name) are not secrets themselves.
REFERENCE_NAME_SUFFIXES = frozenset({"FILE", "PATH", "DIR", "NAME", "REF", "ARN", "ID", "HEADER"})
URL_WITH_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """PASSWORD, SECRET_KEY, API_TOKEN... by name; SECRET_KEY_FILE, KMS_KEY_ID point at one instead."""
    segments = [s for s in re.split(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])", name) if s]
    upper = [s.upper() for s in segments]
    if not upper or upper[-1] in REFERENCE_NAME_SUFFIXES:
        return False
    return any(s in SECRET_NAME_SEGMENTS for s in upper)


def has_url_credentials(value: Any) -> bool:
    return isinstance(value, str) and bool(URL_WITH_CREDENTIALS.search(value))


@each_container()
def no_secret_env_literals(spec: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    leaks = []
    for env in list_of(container.get("env")):
        name, value = value_at(env, "name", default=""), value_at(env, "value")
        if value is None or value is UNKNOWN or value == "":
            continue
        if is_secret_name(str(name)) or has_url_credentials(value):
            leaks.append(str(name))
    if leaks:
        return (f"env {', '.join(leaks)} hold secrets as literals: use valueFrom.secretKeyRef "
                "(or envFrom a Secret)")
    return None


def _host_namespaces(spec: Mapping[str, Any]) -> list[str]:
    return [f"{field_name}=true is not allowed" for field_name in ("hostNetwork", "hostPID", "hostIPC")
            if spec.get(field_name) is True]


def no_host_namespaces(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    found = _host_namespaces(spec)
    for label, container in _containers(spec):
        for port in list_of(container.get("ports")):
            if value_at(port, "hostPort"):
                found.append(f"{label}: hostPort {value_at(port, 'hostPort')} is not allowed")
    return found


def no_host_path(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    spec = pod_spec(resource_type, props)
    if spec is None:
        return []
    return [f"volume {value_at(v, 'name', default='?')} mounts hostPath {value_at(v, 'hostPath', 'path')}: "
            "use a PersistentVolumeClaim or emptyDir"
            for v in list_of(spec.get("volumes")) if value_at(v, "hostPath")]


def namespace_pod_security(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    labels = as_mapping(value_at(props, "metadata", "labels"))
    level = labels.get(POD_SECURITY_ENFORCE)
    if level is UNKNOWN:
        return []
    if level not in POD_SECURITY_LEVELS:
        return [f"label {POD_SECURITY_ENFORCE} must be one of {', '.join(POD_SECURITY_LEVELS)} "
                f"(got {level!r}): Pod Security admission only guards labelled namespaces"]
    return []


def no_default_namespace(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    namespace = value_at(props, "metadata", "namespace")
    if namespace in (None, "", "default"):
        return ["object lands in the default namespace: set metadata.namespace to the owning namespace"]
    return []


def ingress_tls(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    tls = list_of(value_at(props, "spec", "tls"))
    covered = {h for entry in tls for h in list_of(value_at(entry, "hosts"))}
    if not tls:
        return ["Ingress serves plain HTTP: add spec.tls with a secretName (cert-manager issues it)"]
    found = [f"TLS entry for {list_of(value_at(e, 'hosts'))} has no secretName" for e in tls
             if not value_at(e, "secretName")]
    for rule in list_of(value_at(props, "spec", "rules")):
        host = value_at(rule, "host")
        if host is UNKNOWN or UNKNOWN in covered:
            continue
        if not host:
            found.append("a rule has no host: TLS can only cover named hosts")
        elif host not in covered:
            found.append(f"host {host} is not covered by spec.tls")
    return found


def no_secrets_in_config_maps(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    found = []
    for section in ("data", "binaryData"):
        for key, value in as_mapping(props.get(section)).items():
            if is_secret_name(key):
                found.append(f"key {key} looks like a secret: keep it in a Secret")
            elif has_url_credentials(value):
                found.append(f"key {key} holds a URL with credentials: keep it in a Secret")
    return found


HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart")
# An exact chart version: 1.2.3, v1.2.3, 1.2.3-rc.1 (build metadata allowed); never a range or empty.
EXACT_CHART_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


def helm_chart_pinned(resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
    """A chart is pinned to an exact version and fetched over TLS (https:// or oci://).

    Helm renders a release's workloads on the cluster, so no other rule ever sees them: what this
    program controls, and what is judged here, is exactly which chart it installs.
    """
    chart = props.get("chart")
    version = props.get("version")
    repo = value_at(props, "repositoryOpts", "repo")
    found = []
    if version is not UNKNOWN and not (isinstance(version, str) and EXACT_CHART_VERSION.match(version)):
        found.append(f"chart {chart!r} version {version!r} is not an exact version: pin one such as "
                     "\"1.2.3\" (an empty version or a range installs whatever is newest)")
    if repo is UNKNOWN or chart is UNKNOWN:
        return found
    source = repo if isinstance(repo, str) and repo else chart
    if not isinstance(source, str) or not source:
        found.append("no chart given: set chart and repositoryOpts.repo")
    elif source.startswith("http://"):
        found.append(f"chart {chart!r} comes from {source} over plain HTTP: use the https:// repository")
    elif not source.startswith(("https://", "oci://", "./", "../", "/")):
        found.append(f"chart {chart!r} names no repository: set repositoryOpts.repo to its official "
                     "https:// repository (a `helm repo add` name exists only on one machine)")
    return found

