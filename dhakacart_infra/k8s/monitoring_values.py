"""kube-prometheus-stack's values: what the chart is installed with, as plain data and non-secret Outputs.

Tuned for a small K3s cluster: scrape targets K3s does not expose separately are off, every
container has requests and a memory limit (tests/infra/charts proves it on the rendered chart), and
Prometheus keeps its data on a PVC sized from the stack config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi

from ..names import CERT_MANAGER_NAMESPACE, NODE_EXPORTER_NAMESPACE
from .alertmanager import alertmanager_config
from .helm import EVERY_NODE_TOLERATIONS, container_resources
from .middlewares import ROUTER_MIDDLEWARES_ANNOTATION
from .tls import TRAEFIK_INGRESS_CLASS

if TYPE_CHECKING:
    from .monitoring import MonitoringArgs

# The name cert-manager's chart gives the controller Service's metrics port (9402) since v1.21.0
# (before: tcp-prometheus-servicemonitor); the recorded chart facts prove it (tests/infra/charts).
CERT_MANAGER_METRICS_PORT = "http-metrics"

KUBE_PROMETHEUS_STACK_CHART = "kube-prometheus-stack"
KUBE_PROMETHEUS_STACK_VERSION = "79.7.1"
PROMETHEUS_COMMUNITY_REPOSITORY = "https://prometheus-community.github.io/helm-charts"
RELEASE_NAME = "kube-prometheus-stack"

STORAGE_CLASS = "local-path"  # K3s's bundled local-path provisioner

# Names of Kubernetes Secrets and of keys in them, not secret values.
GRAFANA_ADMIN_SECRET = "grafana-admin"  # noqa: S105
GRAFANA_ADMIN_USER = "admin"
GRAFANA_TLS_SECRET = "grafana-tls"  # noqa: S105
PROMETHEUS_DATASOURCE_UID = "prometheus"
LOKI_DATASOURCE_UID = "loki"
DASHBOARD_LABEL = "grafana_dashboard"


def kube_prometheus_stack_values(
    args: MonitoringArgs,
    alertmanager_secret: str | None,
    node_exporter_namespace: pulumi.Input[str] = NODE_EXPORTER_NAMESPACE,
    grafana_router_middlewares: pulumi.Input[str] | None = None,
) -> dict[str, Any]:
    """The chart's values: plain data and non-secret Outputs only.

    `grafana_router_middlewares` is the Traefik annotation value (IngressMiddlewares) that redirects
    plain HTTP to HTTPS: without it Traefik also serves Grafana's login form on port 80.
    """
    retention = args.prometheus_retention
    storage_gb = args.prometheus_storage_gb
    host = pulumi.Output.from_input(args.grafana_host)

    def pvc(size: str) -> dict[str, Any]:
        return {"volumeClaimTemplate": {"spec": {
            "storageClassName": args.storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
        }}}

    return {
        "cleanPrometheusOperatorObjectNames": True,
        # K3s runs etcd (or SQLite), the controller manager, the scheduler and kube-proxy inside its
        # one server process: there are no separate endpoints to scrape, and their rules would only
        # ever report them down.
        "kubeEtcd": {"enabled": False},
        "kubeControllerManager": {"enabled": False},
        "kubeScheduler": {"enabled": False},
        "kubeProxy": {"enabled": False},
        "defaultRules": {"rules": {
            "etcd": False, "kubeControllerManager": False, "kubeProxy": False,
            "kubeSchedulerAlerting": False, "kubeSchedulerRecording": False,
        }},
        "prometheusOperator": {
            "resources": container_resources("50m", "96Mi", "256Mi"),
            # The config-reloader sidecars the operator adds to Prometheus and Alertmanager: the
            # operator sets no memory limit unless told ("0" by default).
            "prometheusConfigReloader": {"resources": container_resources("10m", "32Mi", "64Mi")},
            # The pre-install Jobs that create and patch the admission webhook's certificate.
            "admissionWebhooks": {"patch": {"resources": container_resources("10m", "32Mi", "64Mi")}},
        },
        "kube-state-metrics": {"resources": container_resources("20m", "64Mi", "192Mi")},
        "prometheus-node-exporter": {
            "namespaceOverride": node_exporter_namespace,
            "tolerations": EVERY_NODE_TOLERATIONS,
            "resources": container_resources("20m", "32Mi", "96Mi"),
        },
        "prometheus": {"prometheusSpec": {
            "retention": retention,
            # Stop before the volume is full: Prometheus cannot write its WAL on a full disk.
            "retentionSize": f"{int(storage_gb * 0.85)}GB",
            "storageSpec": pvc(f"{storage_gb}Gi"),
            "scrapeInterval": "30s",
            "resources": container_resources("100m", "512Mi", "1536Mi"),
            # Select every ServiceMonitor, PodMonitor, Probe and PrometheusRule in the cluster, not
            # only those labelled for this release: the shop's live in its own namespace.
            "serviceMonitorSelectorNilUsesHelmValues": False,
            "podMonitorSelectorNilUsesHelmValues": False,
            "probeSelectorNilUsesHelmValues": False,
            "ruleSelectorNilUsesHelmValues": False,
            "scrapeConfigSelectorNilUsesHelmValues": False,
        }},
        "alertmanager": {
            "config": alertmanager_config(args.alerting),
            "alertmanagerSpec": {
                "retention": "120h",
                "storage": pvc("1Gi"),
                "resources": container_resources("10m", "48Mi", "128Mi"),
                "secrets": [alertmanager_secret] if alertmanager_secret else [],
            },
        },
        "grafana": {
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET,
                "userKey": "admin-user",
                "passwordKey": "admin-password",
            },
            "grafana.ini": {
                "server": {"root_url": pulumi.Output.concat("https://", host)},
                "auth.anonymous": {"enabled": False},
                "users": {"allow_sign_up": False},
                "security": {"cookie_secure": True, "disable_gravatar": True},
                "analytics": {"reporting_enabled": False, "check_for_updates": False},
            },
            "defaultDashboardsTimezone": "browser",
            "persistence": {
                "enabled": True, "type": "pvc", "storageClassName": args.storage_class,
                "accessModes": ["ReadWriteOnce"], "size": "2Gi",
            },
            "resources": container_resources("50m", "128Mi", "384Mi"),
            # No root init container that chowns the volume: the pod's fsGroup (472, the chart's
            # default) owns it, and K3s's local-path provisioner creates volume directories 0777,
            # as Prometheus's and Alertmanager's non-root pods on the same class already rely on.
            "initChownData": {"enabled": False},
            "ingress": {
                "enabled": True,
                "ingressClassName": TRAEFIK_INGRESS_CLASS,
                "annotations": {
                    "cert-manager.io/cluster-issuer": args.cluster_issuer_name,
                    **({ROUTER_MIDDLEWARES_ANNOTATION: grafana_router_middlewares}
                       if grafana_router_middlewares is not None else {}),
                },
                "hosts": [host],
                "path": "/",
                "tls": [{"secretName": GRAFANA_TLS_SECRET, "hosts": [host]}],
            },
            "sidecar": {
                "resources": container_resources("10m", "64Mi", "128Mi"),
                "dashboards": {
                    "enabled": True,
                    "label": DASHBOARD_LABEL,
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                },
                "datasources": {
                    "enabled": True,
                    "defaultDatasourceEnabled": True,
                    "isDefaultDatasource": True,
                    "uid": PROMETHEUS_DATASOURCE_UID,
                },
            },
            "additionalDataSources": [{
                "name": "Loki",
                "type": "loki",
                "uid": LOKI_DATASOURCE_UID,
                "access": "proxy",
                "url": args.loki_url,
                "jsonData": {"maxLines": 1000},
            }],
        },
    }


def cert_manager_service_monitor_spec() -> dict[str, Any]:
    """Scrapes cert-manager's controller (certificate expiry, ACME errors) from its own namespace."""
    return {
        "namespaceSelector": {"matchNames": [CERT_MANAGER_NAMESPACE]},
        "selector": {"matchLabels": {
            "app.kubernetes.io/name": "cert-manager",
            "app.kubernetes.io/component": "controller",
        }},
        "endpoints": [{"port": CERT_MANAGER_METRICS_PORT, "path": "/metrics", "interval": "60s"}],
    }
