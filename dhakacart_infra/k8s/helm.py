"""How every Helm release of this platform is installed, in one place.

A pinned chart version from its repository, into a namespace Pulumi owns (never created by Helm),
waited for until its workloads are ready (so whatever depends on the release, a ClusterIssuer or a
ServiceMonitor, finds its webhooks and CRDs working), rolled back and cleaned up when an install
or upgrade fails halfway, and with a bounded history of release Secrets.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

MAX_HISTORY = 5  # release revisions Helm keeps (each is a Secret in the namespace)
# For the per-node agents (node-exporter, Alloy): every node, the dedicated servers' NoExecute
# taint included, so the nodes that hold etcd are the first to be watched, not the last.
EVERY_NODE_TOLERATIONS = [{"operator": "Exists"}]


def container_resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    """Requests and a memory limit for a chart's container. No CPU limit: a throttled scraper, query
    or renewal makes gaps; the memory limit is what protects the node."""
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def helm_release(
    resource_name: str,
    *,
    release_name: str,
    chart: str,
    version: str,
    repository: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[dict[str, Any]],
    timeout_seconds: int,
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A `helm.v3.Release` (its inputs are visible to previews and tests, unlike `helm.v4.Chart`)."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=chart,
        version=version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=repository),
        namespace=namespace,
        create_namespace=False,
        values=values,
        skip_await=False,
        atomic=True,
        cleanup_on_fail=True,
        timeout=timeout_seconds,
        max_history=MAX_HISTORY,
        opts=opts,
    )
