"""Metrics, dashboards and alert routing: kube-prometheus-stack on the K3s node.

One official chart (prometheus-community/kube-prometheus-stack, pinned) brings the Prometheus
operator, Prometheus, Alertmanager, Grafana, node-exporter and kube-state-metrics. The values are
tuned for one small K3s node: scrape targets K3s does not expose separately are off, every
component has requests and memory limits, and Prometheus keeps its data on a local-path PVC sized
from the stack config.

Secrets never enter the Helm values (which Pulumi and Helm both store): Grafana's admin password
is a `pulumi_random` password in a Kubernetes Secret the chart references by name, and the
Alertmanager's Slack webhook URL and SMTP password live in a Secret that the Alertmanager mounts
and reads through `*_file` settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..errors import DhakacartError
from .helm import helm_release
from .labels import pod_security_labels, recommended_labels
from .middlewares import ROUTER_MIDDLEWARES_ANNOTATION, IngressMiddlewares, IngressMiddlewaresArgs
from .network_policies import deny_instance_metadata
from .tls import TRAEFIK_INGRESS_CLASS

MONITORING_NAMESPACE = "monitoring"
# node-exporter alone needs the host's namespaces and filesystem, so it gets a namespace of its own
# and `monitoring` can enforce a stricter Pod Security level than node-exporter allows.
NODE_EXPORTER_NAMESPACE = "monitoring-node-exporter"
CERT_MANAGER_NAMESPACE = "cert-manager"
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

ALERTMANAGER_SECRET = "alertmanager-receivers"  # noqa: S105
# The operator mounts each Secret listed in alertmanagerSpec.secrets here.
ALERTMANAGER_SECRETS_DIR = f"/etc/alertmanager/secrets/{ALERTMANAGER_SECRET}"
SLACK_WEBHOOK_KEY = "slack-webhook-url"
SMTP_PASSWORD_KEY = "smtp-password"  # noqa: S105
NULL_RECEIVER = "null"
NOTIFY_RECEIVER = "dhakacart-oncall"

_DURATION = re.compile(r"^[1-9][0-9]*(ms|s|m|h|d|w|y)$")
_SMARTHOST = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")


class MonitoringConfigError(DhakacartError, ValueError):
    """Monitoring or alerting configuration the stack cannot be built from."""


@dataclass
class AlertReceivers:
    """Where Alertmanager sends notifications; nothing set means alerts stay in its UI and Grafana."""

    slack_webhook_url: pulumi.Input[str] | None = None
    """`dhakacart:alertSlackWebhookUrl` (secret)."""
    email_to: str | None = None
    smtp_smarthost: str | None = None
    """host:port of the SMTP relay (STARTTLS is required)."""
    smtp_from: str | None = None
    """Sender address; also the SMTP login unless smtp_username is set."""
    smtp_password: pulumi.Input[str] | None = None
    """`dhakacart:alertSmtpPassword` (secret); None for relays that need no authentication."""
    smtp_username: str | None = None
    """`dhakacart:alertSmtpUsername`: SMTP login when it differs from smtp_from (Amazon SES)."""

    @property
    def slack(self) -> bool:
        return self.slack_webhook_url is not None

    @property
    def email(self) -> bool:
        return bool(self.email_to)

    def validate(self) -> None:
        if not self.email:
            if self.smtp_smarthost or self.smtp_from or self.smtp_username or self.smtp_password is not None:
                raise MonitoringConfigError(
                    "alertSmtpSmarthost/alertSmtpFrom/alertSmtpUsername/alertSmtpPassword are set but "
                    "alertEmailTo is not: "
                    "set `dhakacart:alertEmailTo` to the address that should receive alerts, or remove them."
                )
            return
        missing = [key for key, value in (("alertSmtpSmarthost", self.smtp_smarthost),
                                          ("alertSmtpFrom", self.smtp_from)) if not value]
        if missing:
            raise MonitoringConfigError(
                f"alertEmailTo is set, so e-mail alerts need {' and '.join(missing)}: "
                "`pulumi config set dhakacart:alertSmtpSmarthost smtp.example.com:587` and "
                "`pulumi config set dhakacart:alertSmtpFrom alerts@example.com`."
            )
        if not _SMARTHOST.match(self.smtp_smarthost or ""):
            raise MonitoringConfigError(
                f"alertSmtpSmarthost {self.smtp_smarthost!r} must be host:port, e.g. smtp.example.com:587."
            )
        for key, address in (("alertEmailTo", self.email_to), ("alertSmtpFrom", self.smtp_from)):
            local, _, domain = (address or "").partition("@")
            if not local or "." not in domain:
                raise MonitoringConfigError(f"{key} {address!r} is not an e-mail address.")


@dataclass
class MonitoringArgs:
    grafana_host: pulumi.Input[str]
    """Host Grafana is served on (hosts.grafana_host)."""
    cluster_issuer_name: pulumi.Input[str]
    """The ClusterIssuer that signs Grafana's certificate (Tls.cluster_issuer_name)."""
    prometheus_retention: str
    """How long Prometheus keeps samples, e.g. "15d" (`dhakacart:prometheusRetention`)."""
    prometheus_storage_gb: int
    """Size of Prometheus's PVC (`dhakacart:prometheusStorageGb`)."""
    loki_url: str
    """In-cluster URL of Loki for Grafana's data source (logging.loki_gateway_url())."""
    alerting: AlertReceivers = field(default_factory=AlertReceivers)
    storage_class: str = STORAGE_CLASS
    instance_role_pods: Mapping[str, str] | None = None
    """Labels of the only pods here that may reach the instance metadata service and so the node's
    instance role: logging.LOKI_SERVER_POD_LABELS when Loki keeps its data in S3. None: no pod."""


def alertmanager_config(receivers: AlertReceivers) -> dict[str, Any]:
    """Alertmanager's configuration: plain data, secrets only referenced by file path."""
    receivers.validate()
    notify: dict[str, Any] = {"name": NOTIFY_RECEIVER}
    if receivers.slack:
        notify["slack_configs"] = [{
            "api_url_file": f"{ALERTMANAGER_SECRETS_DIR}/{SLACK_WEBHOOK_KEY}",
            "send_resolved": True,
            "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
            "text": ("{{ range .Alerts }}{{ .Annotations.summary }}\n"
                     "{{ .Annotations.description }}\n{{ end }}"),
        }]
    if receivers.email:
        email: dict[str, Any] = {
            "to": receivers.email_to,
            "from": receivers.smtp_from,
            "smarthost": receivers.smtp_smarthost,
            "require_tls": True,
            "send_resolved": True,
        }
        if receivers.smtp_password is not None:
            email["auth_username"] = receivers.smtp_username or receivers.smtp_from
            email["auth_password_file"] = f"{ALERTMANAGER_SECRETS_DIR}/{SMTP_PASSWORD_KEY}"
        notify["email_configs"] = [email]
    configured = receivers.slack or receivers.email
    default_receiver = NOTIFY_RECEIVER if configured else NULL_RECEIVER
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": default_receiver,
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                # The chart's always-firing heartbeat and its inhibitor helper notify nobody.
                {"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"']},
                {"receiver": NULL_RECEIVER, "matchers": ['alertname = "InfoInhibitor"']},
                {"receiver": default_receiver, "matchers": ['severity = "critical"'],
                 "repeat_interval": "1h"},
            ],
        },
        "inhibit_rules": [{
            # A critical alert silences the warning of the same name for the same object.
            "source_matchers": ['severity = "critical"'],
            "target_matchers": ['severity = "warning"'],
            "equal": ["alertname", "namespace", "pod"],
        }],
        "receivers": [{"name": NULL_RECEIVER}, *([notify] if configured else [])],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    # No CPU limits: throttling a scraper or a query makes gaps; memory limits protect the node.
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def _checked_retention(retention: str) -> str:
    if not _DURATION.match(retention or ""):
        raise MonitoringConfigError(
            f"prometheusRetention {retention!r} is not a Prometheus duration: use e.g. \"15d\" or \"72h\"."
        )
    return retention


def _checked_storage_gb(size: int) -> int:
    if not isinstance(size, int) or size < 2:
        raise MonitoringConfigError(
            f"prometheusStorageGb {size!r} must be a whole number of GiB, at least 2 (e.g. 20)."
        )
    return size


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
    retention = _checked_retention(args.prometheus_retention)
    storage_gb = _checked_storage_gb(args.prometheus_storage_gb)
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
            "resources": _resources("50m", "96Mi", "256Mi"),
            # The config-reloader sidecars the operator adds to Prometheus and Alertmanager: the
            # operator sets no memory limit unless told ("0" by default).
            "prometheusConfigReloader": {"resources": _resources("10m", "32Mi", "64Mi")},
            # The pre-install Jobs that create and patch the admission webhook's certificate.
            "admissionWebhooks": {"patch": {"resources": _resources("10m", "32Mi", "64Mi")}},
        },
        "kube-state-metrics": {"resources": _resources("20m", "64Mi", "192Mi")},
        "prometheus-node-exporter": {
            "namespaceOverride": node_exporter_namespace,
            "resources": _resources("20m", "32Mi", "96Mi"),
        },
        "prometheus": {"prometheusSpec": {
            "retention": retention,
            # Stop before the volume is full: Prometheus cannot write its WAL on a full disk.
            "retentionSize": f"{int(storage_gb * 0.85)}GB",
            "storageSpec": pvc(f"{storage_gb}Gi"),
            "scrapeInterval": "30s",
            "resources": _resources("100m", "512Mi", "1536Mi"),
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
                "resources": _resources("10m", "48Mi", "128Mi"),
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
            "resources": _resources("50m", "128Mi", "384Mi"),
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
                "resources": _resources("10m", "64Mi", "128Mi"),
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


def grafana_admin_password_command(namespace: str = MONITORING_NAMESPACE) -> str:
    return (f"kubectl -n {namespace} get secret {GRAFANA_ADMIN_SECRET} "
            "-o jsonpath='{.data.admin-password}' | base64 -d")


class Monitoring(pulumi.ComponentResource):
    """The `monitoring` and node-exporter namespaces, kube-prometheus-stack, Grafana's admin Secret and
    alert routing."""

    namespace: k8s.core.v1.Namespace
    release: k8s.helm.v3.Release
    grafana_url: pulumi.Output[str]
    grafana_admin_password_command: str

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = recommended_labels("monitoring", "observability")

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": MONITORING_NAMESPACE,
                "labels": {
                    **labels,
                    # Every pod the charts render here meets `restricted` (tests/infra/charts checks
                    # the recorded renders; Grafana no longer chowns its volume as root), so it is
                    # enforced. node-exporter, which needs the host, has its own namespace.
                    **pod_security_labels(enforce="restricted"),
                },
            },
            opts=child,
        )
        namespace = self.namespace.metadata["name"]
        self.node_exporter_namespace = k8s.core.v1.Namespace(
            f"{name}-node-exporter-namespace",
            metadata={
                "name": NODE_EXPORTER_NAMESPACE,
                "labels": {
                    **recommended_labels("node-exporter", "observability"),
                    # node-exporter needs hostNetwork, hostPID and read-only hostPath mounts of /,
                    # /proc and /sys to report the node's own disks, CPU and memory; baseline and
                    # restricted forbid all three, so only `privileged` can be enforced. It is the
                    # only workload in this namespace.
                    **pod_security_labels(enforce="privileged"),
                },
            },
            opts=child,
        )

        # Before any chart's pod starts: no pod here reaches the node's instance role through the
        # metadata service (the hop limit of 2 would let it). node-exporter gets no such policy: it
        # runs in the host's network namespace, which NetworkPolicy does not govern; the node's own
        # firewall (aws/k3s-cloud-init.yaml.tmpl) keeps every non-root process, it included, away.
        self.metadata_policies = deny_instance_metadata(
            name, namespace, labels, child, except_pods=args.instance_role_pods
        )

        self.grafana_admin_password = random.RandomPassword(
            f"{name}-grafana-admin-password", length=32, special=False, opts=child,
        )
        self.grafana_admin_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata={"name": GRAFANA_ADMIN_SECRET, "namespace": namespace,
                      "labels": recommended_labels("grafana", "observability")},
            type="Opaque",
            string_data={
                "admin-user": GRAFANA_ADMIN_USER,
                "admin-password": pulumi.Output.secret(self.grafana_admin_password.result),
            },
            opts=child,
        )

        receiver_secrets: dict[str, pulumi.Input[str]] = {}
        if args.alerting.slack_webhook_url is not None:
            receiver_secrets[SLACK_WEBHOOK_KEY] = pulumi.Output.secret(args.alerting.slack_webhook_url)
        if args.alerting.email and args.alerting.smtp_password is not None:
            receiver_secrets[SMTP_PASSWORD_KEY] = pulumi.Output.secret(args.alerting.smtp_password)
        self.alertmanager_secret: k8s.core.v1.Secret | None = None
        if receiver_secrets:
            self.alertmanager_secret = k8s.core.v1.Secret(
                f"{name}-alertmanager-receivers",
                metadata={"name": ALERTMANAGER_SECRET, "namespace": namespace,
                          "labels": recommended_labels("alertmanager", "observability")},
                type="Opaque",
                string_data=receiver_secrets,
                opts=child,
            )

        # Traefik serves every Ingress on port 80 too: redirect Grafana there to HTTPS, as the shop does,
        # so the admin password is never typed into a plain-HTTP form.
        self.ingress_middlewares = IngressMiddlewares(
            f"{name}-middlewares", IngressMiddlewaresArgs(namespace=namespace), opts=child,
        )
        values = kube_prometheus_stack_values(
            args, ALERTMANAGER_SECRET if receiver_secrets else None,
            node_exporter_namespace=self.node_exporter_namespace.metadata["name"],
            grafana_router_middlewares=self.ingress_middlewares.router_middlewares,
        )
        self.release = helm_release(
            f"{name}-kube-prometheus-stack",
            release_name=RELEASE_NAME,
            chart=KUBE_PROMETHEUS_STACK_CHART,
            version=KUBE_PROMETHEUS_STACK_VERSION,
            repository=PROMETHEUS_COMMUNITY_REPOSITORY,
            namespace=namespace,
            values=values,
            timeout_seconds=900,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *(s for s in (self.grafana_admin_secret, self.alertmanager_secret) if s),
                    *self.metadata_policies,
                ],
            ),
        )

        # Needs the operator's CRDs, which the release installs.
        self.cert_manager_monitor = k8s.apiextensions.CustomResource(
            f"{name}-cert-manager-servicemonitor",
            api_version="monitoring.coreos.com/v1",
            kind="ServiceMonitor",
            metadata={"name": "cert-manager", "namespace": namespace,
                      "labels": recommended_labels("cert-manager", "observability")},
            spec=cert_manager_service_monitor_spec(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
        )

        self.grafana_url = pulumi.Output.concat("https://", pulumi.Output.from_input(args.grafana_host))
        self.grafana_admin_password_command = grafana_admin_password_command()
        self.namespace_name = namespace
        self.register_outputs({
            "namespace": namespace,
            "node_exporter_namespace": self.node_exporter_namespace.metadata["name"],
            "grafana_url": self.grafana_url,
            "grafana_admin_password_command": self.grafana_admin_password_command,
            "chart_version": KUBE_PROMETHEUS_STACK_VERSION,
        })
