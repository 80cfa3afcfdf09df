"""The shop's alerting rules, as data: one place for the PrometheusRule, the tests and the runbook.

Every rule names its runbook section (docs/RUNBOOK.md, one "## <AlertName>" heading each), so an
on-call engineer goes from the notification straight to what to check and how to fix it.
"""

from __future__ import annotations

from typing import Any

from ..names import (
    CERT_MANAGER_NAMESPACE,
    MONITORING_NAMESPACE,
    NODE_EXPORTER_NAMESPACE,
    SHOP_NAMESPACE,
    WEB_COMPONENT,
    shop_workload_name,
)

RUNBOOK_PATH = "docs/RUNBOOK.md"
# The alerts that mean shoppers are being hurt right now: while one fires, nothing may disrupt the
# cluster on purpose (kured holds its reboots; docs/RUNBOOK.md says how to hold K3s upgrades).
SHOP_SUFFERING_ALERTS = (
    "DhakaCartApiDown",
    "DhakaCartWebDown",
    "DhakaCartHighErrorRatio",
    "DhakaCartReadinessFailing",
    "DhakaCartDeploymentReplicasMismatch",
)

# The shop's pods, as cAdvisor and kube-state-metrics label them.
_SHOP = f'namespace="{SHOP_NAMESPACE}"'
_SHOP_CONTAINERS = f'{_SHOP}, container!="", container!="POD"'


# The scrape targets the rules above depend on, with the job and namespace labels Prometheus gives
# them: a ServiceMonitor target's job is its Service's name (or the Service's jobLabel label, or
# what the endpoint's relabelings make of it). tests/infra/charts proves each against the
# ServiceMonitors and Services recorded from the real charts.
SCRAPE_TARGETS: list[tuple[str, str, str, str, str]] = [
    # (alert, job, namespace, what the target feeds, severity)
    ("DhakaCartWebDown", shop_workload_name(WEB_COMPONENT), SHOP_NAMESPACE,
     "the storefront's own metrics and alerts", "critical"),
    ("DhakaCartCertManagerMetricsDown", "cert-manager", CERT_MANAGER_NAMESPACE,
     "DhakaCartCertificateExpiringSoon (cert-manager's certificate metrics)", "warning"),
    ("DhakaCartKubeStateMetricsDown", "kube-state-metrics", MONITORING_NAMESPACE,
     "every alert on pods, Deployments and replicas (kube-state-metrics)", "warning"),
    ("DhakaCartNodeExporterDown", "node-exporter", NODE_EXPORTER_NAMESPACE,
     "DhakaCartNodeDiskFilling (node-exporter's filesystem metrics)", "warning"),
    ("DhakaCartLokiDown", f"{MONITORING_NAMESPACE}/loki", MONITORING_NAMESPACE,
     "log storage and queries (Loki)", "warning"),
    ("DhakaCartAlloyDown", "alloy", MONITORING_NAMESPACE,
     "log shipping from the node's pods (Alloy)", "warning"),
]


def _target(job: str, namespace: str) -> str:
    return f'job="{job}", namespace="{namespace}"'


def runbook_url(alert: str) -> str:
    return f"{RUNBOOK_PATH}#{alert.lower()}"


def _rule(alert: str, expr: str, for_: str, severity: str, summary: str, description: str) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": " ".join(expr.split()),
        "for": for_,
        "labels": {"severity": severity, "team": "dhakacart"},
        "annotations": {
            "summary": summary,
            "description": f"{description} Runbook: {runbook_url(alert)}.",
            "runbook_url": runbook_url(alert),
        },
    }


ALERT_RULES: list[dict[str, Any]] = [
    _rule(
        "DhakaCartPodCpuNearLimit",
        f"""sum by (namespace, pod, container)
        (rate(container_cpu_usage_seconds_total{{{_SHOP_CONTAINERS}}}[5m]))
        / sum by (namespace, pod, container) (kube_pod_container_resource_limits{{{_SHOP}, resource="cpu"}})
        > 0.9""",
        "15m", "warning",
        "Pod {{ $labels.pod }} uses over 90% of its CPU limit",
        "Container {{ $labels.container }} in {{ $labels.pod }} has used {{ $value | humanizePercentage }} "
        "of its CPU limit for 15 minutes; it is being throttled and latency will suffer.",
    ),
    _rule(
        "DhakaCartPodMemoryNearLimit",
        f"""sum by (namespace, pod, container) (container_memory_working_set_bytes{{{_SHOP_CONTAINERS}}})
        / sum by (namespace, pod, container)
        (kube_pod_container_resource_limits{{{_SHOP}, resource="memory"}})
        > 0.9""",
        "10m", "warning",
        "Pod {{ $labels.pod }} uses over 90% of its memory limit",
        "Container {{ $labels.container }} in {{ $labels.pod }} has used {{ $value | humanizePercentage }} "
        "of its memory limit for 10 minutes; the kernel will OOM-kill it at the limit.",
    ),
    _rule(
        "DhakaCartPodRestarting",
        f"increase(kube_pod_container_status_restarts_total{{{_SHOP}}}[30m]) >= 3",
        "0m", "warning",
        "Pod {{ $labels.pod }} restarted {{ $value | humanize }} times in 30 minutes",
        "Container {{ $labels.container }} in {{ $labels.pod }} keeps restarting (crash, OOM kill or a "
        "failing liveness probe).",
    ),
    _rule(
        "DhakaCartDeploymentReplicasMismatch",
        f"""kube_deployment_spec_replicas{{{_SHOP}}}
        != kube_deployment_status_replicas_available{{{_SHOP}}}""",
        "15m", "warning",
        "Deployment {{ $labels.deployment }} is below its desired replicas",
        "Deployment {{ $labels.deployment }} has had fewer available replicas than desired for 15 minutes "
        "(pods pending, crashing or not ready).",
    ),
    _rule(
        "DhakaCartApiDown",
        f'absent(up{{{_SHOP}, service="dhakacart-api"}} == 1)',
        "2m", "critical",
        "No DhakaCart API pod answers Prometheus",
        "Prometheus has not scraped a single healthy dhakacart-api target for 2 minutes: the API is down "
        "or unreachable.",
    ),
    _rule(
        "DhakaCartHighErrorRatio",
        f"""sum(rate(dhakacart_http_requests_total{{{_SHOP}, status=~"5.."}}[5m]))
        / sum(rate(dhakacart_http_requests_total{{{_SHOP}}}[5m]))
        > 0.01""",
        "5m", "critical",
        "More than 1% of DhakaCart requests fail with 5xx",
        "{{ $value | humanizePercentage }} of requests over the last 5 minutes answered with a 5xx status.",
    ),
    _rule(
        "DhakaCartHighLatencyP95",
        f"""histogram_quantile(0.95,
        sum by (le) (rate(dhakacart_http_request_duration_seconds_bucket{{{_SHOP}}}[5m])))
        > 0.2""",
        "10m", "warning",
        "DhakaCart p95 latency is above 200 ms",
        "The 95th percentile of request duration has been {{ $value | humanizeDuration }} for 10 minutes "
        "(objective: 200 ms).",
    ),
    _rule(
        "DhakaCartReadinessFailing",
        f"""sum by (namespace, pod) (kube_pod_status_ready{{{_SHOP}, condition="true"}}) == 0
        and on (namespace, pod) kube_pod_status_phase{{{_SHOP}, phase="Running"}} == 1""",
        "5m", "critical",
        "Pod {{ $labels.pod }} is running but not ready",
        "{{ $labels.pod }} has failed its readiness probe for 5 minutes; the probe checks the database, "
        "so PostgreSQL is most likely unreachable from the pod.",
    ),
    _rule(
        "DhakaCartCertificateExpiringSoon",
        "certmanager_certificate_expiration_timestamp_seconds - time() < 14 * 24 * 3600",
        "1h", "warning",
        "Certificate {{ $labels.name }} expires in less than 14 days",
        "cert-manager has not renewed certificate {{ $labels.namespace }}/{{ $labels.name }}, which expires "
        "in {{ $value | humanizeDuration }}.",
    ),
    _rule(
        "DhakaCartNodeDiskFilling",
        """node_filesystem_avail_bytes{mountpoint="/", fstype!~"tmpfs|overlay|squashfs"}
        / node_filesystem_size_bytes{mountpoint="/", fstype!~"tmpfs|overlay|squashfs"} < 0.2
        and predict_linear(node_filesystem_avail_bytes{mountpoint="/", fstype!~"tmpfs|overlay|squashfs"}[6h],
        24 * 3600) < 0""",
        "1h", "warning",
        "Node {{ $labels.instance }} root disk will fill within 24 hours",
        "Less than 20% of the root filesystem on {{ $labels.instance }} is free and the trend of the last "
        "6 hours fills it within a day (logs, images, Prometheus or Loki data).",
    ),
    *(
        _rule(
            alert,
            f'up{{{_target(job, namespace)}}} == 0 or absent(up{{{_target(job, namespace)}}})',
            "5m", severity,
            f"Prometheus cannot scrape {job} in {namespace}",
            f"Prometheus has had no healthy {job} target in namespace {namespace} for 5 minutes (none "
            f"found, or up is 0); what it feeds is blind: {what}.",
        )
        for alert, job, namespace, what, severity in SCRAPE_TARGETS
    ),
]
