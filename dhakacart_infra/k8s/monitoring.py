"""Metrics, dashboards and alert routing: the Monitoring component (kube-prometheus-stack).

One official chart (prometheus-community/kube-prometheus-stack, pinned) brings the Prometheus
operator, Prometheus, Alertmanager, Grafana, node-exporter and kube-state-metrics; its values are in
monitoring_values.py and the alert routing in alertmanager.py. Grafana's admin password is a
`pulumi_random` password in a Kubernetes Secret the chart references by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..names import MONITORING_NAMESPACE, NODE_EXPORTER_NAMESPACE
from .alertmanager import ALERTMANAGER_SECRET, SLACK_WEBHOOK_KEY, SMTP_PASSWORD_KEY, AlertReceivers
from .helm import helm_release
from .labels import pod_security_labels, recommended_labels
from .middlewares import IngressMiddlewares, IngressMiddlewaresArgs
from .monitoring_values import (
    GRAFANA_ADMIN_SECRET,
    GRAFANA_ADMIN_USER,
    KUBE_PROMETHEUS_STACK_CHART,
    KUBE_PROMETHEUS_STACK_VERSION,
    PROMETHEUS_COMMUNITY_REPOSITORY,
    RELEASE_NAME,
    STORAGE_CLASS,
    cert_manager_service_monitor_spec,
    kube_prometheus_stack_values,
)
from .network_policies import deny_instance_metadata


@dataclass
class MonitoringArgs:
    grafana_host: pulumi.Input[str]
    """Host Grafana is served on (hosts.grafana_host)."""
    cluster_issuer_name: pulumi.Input[str]
    """The ClusterIssuer that signs Grafana's certificate (Tls.cluster_issuer_name)."""
    prometheus_retention: str
    """How long Prometheus keeps samples, a Prometheus duration such as "15d"."""
    prometheus_storage_gb: int
    """Size of Prometheus's PVC in GiB."""
    loki_url: str
    """In-cluster URL of Loki for Grafana's data source (logging.loki_gateway_url())."""
    alerting: AlertReceivers = field(default_factory=AlertReceivers)
    storage_class: pulumi.Input[str] = STORAGE_CLASS
    """The class of Prometheus's, Alertmanager's and Grafana's volumes (Storage.data_storage_class,
    which also makes the release wait for the EBS CSI driver)."""


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
        # metadata service. node-exporter gets no such policy: it runs in the host's network
        # namespace, which NetworkPolicy does not govern; the node's own firewall
        # (aws/node_files/imds-root-only.nft) keeps every non-root process, it included, away.
        self.metadata_policies = deny_instance_metadata(name, namespace, labels, child)

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
