"""The offline chart checks: every Helm release the program declares, against the recorded facts.

Needs only the committed facts (facts.py) and a plan run under mocks, so CI runs it. Each check
returns problems as sentences (empty: fine), naming the stack and release or object:
  * facts recorded for each pinned chart version, from the values the program sends today;
  * every value key is one the chart reads; no value the chart evaluates with tpl holds `{{`;
  * every ServiceMonitor selects a Service that has the port it names;
  * every NetworkPolicy in a namespace where charts run pods selects one of them, and not only pods
    on the host's network (NetworkPolicy does not govern those);
  * every container has CPU and memory requests and a memory limit;
  * every pod meets its namespace's enforced Pod Security level;
  * no StatefulSet deletes its volumes with itself or when scaled down.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..names import KUBE_SYSTEM_NAMESPACE
from ..plan.runner import PlanResult
from . import pod_security
from .facts import (
    FACTS_DIR,
    RECORD_COMMAND,
    DeclaredRelease,
    declared_releases,
    dotted,
    load_facts,
    values_digest,
)
from .selectors import selects, uses_not_in
from .value_keys import OPEN

# Services the cluster makes itself, which chart ServiceMonitors select: Kubernetes' own API
# Service, and the kubelet Service the Prometheus operator maintains (--kubelet-service).
CLUSTER_SERVICES = [
    {
        "name": "kubernetes",
        "namespace": "default",
        "labels": {"component": "apiserver", "provider": "kubernetes"},
        "ports": ["https"],
    },
    {
        "name": "kube-prometheus-stack-kubelet",
        "namespace": KUBE_SYSTEM_NAMESPACE,
        "labels": {"k8s-app": "kubelet", "app.kubernetes.io/name": "kubelet"},
        "ports": ["cadvisor", "http-metrics", "https-metrics"],
    },
]
POD_SECURITY_ENFORCE = "pod-security.kubernetes.io/enforce"


@dataclass
class StackFacts:
    """What the program declares for one stack and what was recorded for it."""

    plan: PlanResult
    releases: list[DeclaredRelease]
    renders: dict[str, dict[str, Any]]  # release name -> its recorded render (only when current)
    trees: dict[str, dict[str, Any]]  # release name -> the chart's value key tree
    problems: list[str]  # facts missing or recorded from other values

    def services(self) -> list[dict[str, Any]]:
        from_charts = [s for r in self.renders.values() for s in r["services"]]
        from_program = [
            {
                "name": o["metadata"]["name"],
                "namespace": o["metadata"].get("namespace", "default"),
                "labels": o["metadata"].get("labels") or {},
                "ports": sorted(p["name"] for p in o["spec"].get("ports") or [] if p.get("name")),
            }
            for o in program_objects(self.plan, "Service")
        ]
        return [*from_charts, *from_program, *CLUSTER_SERVICES]

    def pods(self) -> list[dict[str, Any]]:
        return [p for r in self.renders.values() for p in r["pods"]]

    def service_accounts(self) -> list[dict[str, Any]]:
        """The ServiceAccounts the charts make: name, namespace and the AWS role they name (or "")."""
        return [a for r in self.renders.values() for a in r.get("service_accounts", [])]

    def service_monitors(self) -> list[tuple[str, dict[str, Any]]]:
        """(who, monitor) for the program's ServiceMonitors and those the charts create."""
        found = [
            (
                f"ServiceMonitor {o['metadata'].get('namespace')}/{o['metadata']['name']}",
                {
                    "name": o["metadata"]["name"],
                    "namespace": o["metadata"].get("namespace"),
                    "selector": o["spec"].get("selector") or {},
                    "namespace_selector": o["spec"].get("namespaceSelector") or {},
                    "job_label": o["spec"].get("jobLabel") or "",
                    "endpoints": [
                        {
                            "port": e.get("port", ""),
                            "job_relabelings": [
                                r for r in e.get("relabelings") or [] if r.get("targetLabel") == "job"
                            ],
                        }
                        for e in o["spec"].get("endpoints") or []
                    ],
                },
            )
            for o in program_objects(self.plan, "ServiceMonitor")
        ]
        for name, render in self.renders.items():
            found += [
                (f"{self.plan.stack}/{name}'s ServiceMonitor {m['namespace']}/{m['name']}", m)
                for m in render["service_monitors"]
            ]
        return found


def program_objects(plan: PlanResult, kind: str) -> list[dict[str, Any]]:
    return [r.revealed() for r in plan.kubernetes_objects() if r.type.endswith(f":{kind}")]


def stack_facts(plan: PlanResult, facts_dir: Path = FACTS_DIR) -> StackFacts:
    releases = declared_releases(plan)
    facts = StackFacts(plan, releases, {}, {}, [])
    for release in releases:
        recorded = load_facts(release.chart, release.version, facts_dir)
        if recorded is None:
            facts.problems.append(
                f"{release.key}: no facts recorded for {release.chart} {release.version}: "
                f"re-record with `{RECORD_COMMAND}`"
            )
            continue
        facts.trees[release.name] = recorded["value_keys"]
        render = recorded["renders"].get(release.key)
        if render is None:
            facts.problems.append(
                f"{release.key}: {release.chart} {release.version} was never rendered for this "
                f"release: re-record with `{RECORD_COMMAND}`"
            )
        elif render["values_sha256"] != values_digest(release.values):
            facts.problems.append(
                f"{release.key}: the values differ from those the facts were recorded with: "
                f"re-record with `{RECORD_COMMAND}`"
            )
        else:
            facts.renders[release.name] = render
    return facts


def _walk_unknown(
    values: dict[str, Any], node: Any, path: list[str]
) -> Iterator[tuple[list[str], list[str]]]:
    for key, value in values.items():
        if node == OPEN:
            return
        here = [*path, key]
        known = node if isinstance(node, dict) else {}
        if key not in known:
            yield here, difflib.get_close_matches(key, list(known), n=3, cutoff=0.5) or sorted(known)[:3]
        elif isinstance(value, dict) and known[key] != OPEN:
            yield from _walk_unknown(value, known[key], here)


def unknown_value_keys(release: DeclaredRelease, tree: dict[str, Any]) -> list[str]:
    return [
        f"{release.key}: value key {dotted(path)} is not one {release.chart} {release.version} reads; "
        f"nearest known: {', '.join(dotted([*path[:-1], n]) for n in nearest) or 'none'}"
        for path, nearest in _walk_unknown(release.values, tree, [])
    ]


def _value_at(values: Any, path: list[Any]) -> Any:
    for part in path:
        try:
            values = values[part]
        except (KeyError, IndexError, TypeError):
            return None
    return values


def templated_values(release: DeclaredRelease, render: dict[str, Any]) -> list[str]:
    return [
        f"{release.key}: {dotted(path)} holds '{{{{' and {release.chart} passes it through tpl, which "
        "evaluates it at install time: keep template text out of it"
        for path in render["tpl_values"]
        if "{{" in str(_value_at(release.values, path) or "")
    ]


def _selected_services(monitor: dict[str, Any], services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    scope = monitor["namespace_selector"]
    namespaces = None if scope.get("any") else set(scope.get("matchNames") or [monitor["namespace"]])
    return [
        s
        for s in services
        if (namespaces is None or s["namespace"] in namespaces) and selects(monitor["selector"], s["labels"])
    ]


def service_monitor_problems(facts: StackFacts) -> list[str]:
    problems, services = [], facts.services()
    for who, monitor in facts.service_monitors():
        selected = _selected_services(monitor, services)
        if not selected:
            problems.append(f"{facts.plan.stack}: {who} selects no Service")
        for endpoint in monitor["endpoints"]:
            if endpoint["port"] and selected and not any(endpoint["port"] in s["ports"] for s in selected):
                names = sorted({f"{s['name']}: {', '.join(s['ports'])}" for s in selected})
                problems.append(
                    f"{facts.plan.stack}: {who} scrapes port {endpoint['port']!r}, which no selected "
                    f"Service has ({'; '.join(names)})"
                )
    return problems


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    namespace: str
    service: str
    port: str


def _relabel_job(job: str, service: dict[str, Any], rule: dict[str, Any]) -> str:
    sources = {
        "job": job,
        "namespace": service["namespace"],
        "__meta_kubernetes_service_name": service["name"],
    }
    missing = [s for s in rule.get("sourceLabels") or [] if s not in sources]
    if missing or rule.get("action", "replace") != "replace":
        raise ValueError(f"cannot evaluate the job relabeling {rule} offline")
    value = rule.get("separator", ";").join(sources[s] for s in rule.get("sourceLabels") or [])
    match = re.fullmatch(rule.get("regex", "(.*)"), value)
    replacement = re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", rule.get("replacement", "$1"))
    return match.expand(replacement) if match else job


def scrape_targets(facts: StackFacts) -> list[ScrapeTarget]:
    """The job and namespace labels Prometheus gives each ServiceMonitor target: the Service's
    jobLabel label if it has one, else the Service's name; then the endpoint's job relabelings."""
    targets, services = [], facts.services()
    for _, monitor in facts.service_monitors():
        for service in _selected_services(monitor, services):
            for endpoint in (e for e in monitor["endpoints"] if e["port"] in service["ports"]):
                job = service["labels"].get(monitor["job_label"]) or service["name"]
                for rule in endpoint["job_relabelings"]:
                    job = _relabel_job(job, service, rule)
                targets.append(ScrapeTarget(job, service["namespace"], service["name"], endpoint["port"]))
    return targets


def network_policy_problems(facts: StackFacts) -> list[str]:
    problems, pods = [], facts.pods()
    chart_namespaces = {p["namespace"] for p in pods}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for policy in program_objects(facts.plan, "NetworkPolicy"):
        namespace = policy["metadata"].get("namespace")
        if namespace not in chart_namespaces:
            continue
        selector = policy["spec"].get("podSelector") or {}
        # Selectors that exclude pods (NotIn) only mean something together: judge them as one.
        key = (
            namespace,
            repr({k: v for k, v in policy["spec"].items() if k != "podSelector"})
            if uses_not_in(selector)
            else policy["metadata"]["name"],
        )
        groups.setdefault(key, []).append(policy)
    for (namespace, _), group in sorted(groups.items()):
        names = ", ".join(sorted(p["metadata"]["name"] for p in group))
        selected = [
            p
            for p in pods
            if p["namespace"] == namespace
            and any(selects(g["spec"].get("podSelector") or {}, p["pod_labels"]) for g in group)
        ]
        if not selected:
            problems.append(
                f"{facts.plan.stack}: NetworkPolicy {namespace}/{names} selects no pod the charts run"
            )
        elif all("Network" in p["host_namespaces"] for p in selected):
            problems.append(
                f"{facts.plan.stack}: NetworkPolicy {namespace}/{names} selects only pods on the host's "
                f"network ({', '.join(p['name'] for p in selected)}), which NetworkPolicy does not "
                "govern: it protects nothing"
            )
    return problems


def resource_problems(facts: StackFacts) -> list[str]:
    problems = []
    for pod in facts.pods():
        for container in pod["containers"]:
            resources = container["resources"]
            missing = [
                f"{section}.{name}"
                for section, name in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
                if not (resources.get(section) or {}).get(name)
            ]
            if missing:
                problems.append(
                    f"{facts.plan.stack}: {pod['kind']} {pod['namespace']}/{pod['name']} container "
                    f"{container['name']} has no {' or '.join(missing)}"
                )
    return problems


def namespace_levels(plan: PlanResult) -> dict[str, str]:
    return {
        o["metadata"]["name"]: (o["metadata"].get("labels") or {}).get(POD_SECURITY_ENFORCE, "privileged")
        for o in program_objects(plan, "Namespace")
    }


def pod_security_problems(facts: StackFacts) -> list[str]:
    problems, levels = [], namespace_levels(facts.plan)
    for pod in facts.pods():
        level = levels.get(pod["namespace"])
        if level is None:
            problems.append(
                f"{facts.plan.stack}: {pod['kind']} {pod['name']} runs in namespace {pod['namespace']}, "
                "which the program does not create"
            )
            continue
        for violation in pod_security.violations(pod, level):
            problems.append(
                f"{facts.plan.stack}: {pod['kind']} {pod['namespace']}/{pod['name']} breaks the "
                f"namespace's enforced {level} Pod Security level: {violation}"
            )
    return problems


def volume_retention_problems(facts: StackFacts) -> list[str]:
    return [
        f"{facts.plan.stack}: {p['kind']} {p['namespace']}/{p['name']} deletes its volumes "
        f"{', '.join(p['volume_claims'])} {when} (persistentVolumeClaimRetentionPolicy {key}: Delete)"
        for p in facts.pods()
        if p.get("volume_claims")
        for key, when in (("whenDeleted", "with itself"), ("whenScaled", "when scaled down"))
        if (p.get("pvc_retention") or {}).get(key) == "Delete"
    ]


def all_problems(plan: PlanResult, facts_dir: Path = FACTS_DIR) -> list[str]:
    facts = stack_facts(plan, facts_dir)
    problems = list(facts.problems)
    for release in facts.releases:
        if release.name in facts.trees:
            problems += unknown_value_keys(release, facts.trees[release.name])
        if release.name in facts.renders:
            problems += templated_values(release, facts.renders[release.name])
    for check in (
        service_monitor_problems,
        network_policy_problems,
        resource_problems,
        pod_security_problems,
        volume_retention_problems,
    ):
        problems += check(facts)
    return problems
