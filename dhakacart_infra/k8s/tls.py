"""TLS for everything the cluster serves: cert-manager and a Let's Encrypt ClusterIssuer.

cert-manager comes from its official chart through `helm.v3.Release` (which waits until the
webhook Deployment is ready), and the ClusterIssuer depends on that release, so it is never sent
to an API server whose cert-manager webhook cannot admit it yet. Challenges are HTTP-01 through
K3s's bundled Traefik. Dev uses Let's Encrypt's staging server (generous rate limits, untrusted
certificates); prod uses the production server.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..errors import ComponentInputError
from ..names import CERT_MANAGER_NAMESPACE
from .helm import container_resources, helm_release
from .labels import pod_security_labels, recommended_labels
from .network_policies import deny_instance_metadata

CERT_MANAGER_CHART = "cert-manager"
CERT_MANAGER_CHART_VERSION = "v1.21.1"
CERT_MANAGER_REPOSITORY = "https://charts.jetstack.io"

TRAEFIK_INGRESS_CLASS = "traefik"

STAGING_ISSUER = "letsencrypt-staging"
PRODUCTION_ISSUER = "letsencrypt-production"
ACME_SERVERS = {
    STAGING_ISSUER: "https://acme-staging-v02.api.letsencrypt.org/directory",
    PRODUCTION_ISSUER: "https://acme-v02.api.letsencrypt.org/directory",
}

# Small on purpose: cert-manager is idle almost all the time. Memory limits stop a leak from
# starving the node; no CPU limits, so renewals are never throttled.
_CONTROLLER_RESOURCES = container_resources("10m", "64Mi", "256Mi")
_SIDECAR_RESOURCES = container_resources("10m", "32Mi", "128Mi")


@dataclass
class TlsArgs:
    acme_email: str
    """Let's Encrypt sends expiry warnings here."""
    issuer_name: str
    """PRODUCTION_ISSUER, or STAGING_ISSUER (untrusted certificates, generous rate limits)."""


def cert_manager_values() -> dict:
    """The chart values, as plain data (tests and the offline plan read them from the release)."""
    return {
        # The chart's current switch for CRDs (`installCRDs` is deprecated), and keep them when the
        # release is removed: deleting the CRDs would delete every Certificate in the cluster.
        "crds": {"enabled": True, "keep": True},
        # Leader election inside its own namespace rather than kube-system.
        "global": {"leaderElection": {"namespace": CERT_MANAGER_NAMESPACE}},
        "resources": _CONTROLLER_RESOURCES,
        "webhook": {"resources": _SIDECAR_RESOURCES},
        "cainjector": {"resources": _SIDECAR_RESOURCES},
        "startupapicheck": {"resources": _SIDECAR_RESOURCES},
        # Metrics are exposed; the monitoring stack scrapes them with its own ServiceMonitor, so the
        # shop's TLS never depends on the Prometheus operator's CRDs.
        "prometheus": {"enabled": True, "servicemonitor": {"enabled": False}},
    }


class Tls(pulumi.ComponentResource):
    """cert-manager plus the ClusterIssuer that Ingresses name in `cert-manager.io/cluster-issuer`."""

    cluster_issuer_name: pulumi.Output[str]
    issuer: k8s.apiextensions.CustomResource
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: TlsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:k8s:Tls", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        issuer_name = args.issuer_name
        if issuer_name not in ACME_SERVERS:
            known = ", ".join(ACME_SERVERS)
            raise ComponentInputError(f"Tls: unknown issuer_name {issuer_name!r}: one of {known}")
        local, _, domain = (args.acme_email or "").partition("@")
        if not local or "." not in domain:
            raise ComponentInputError(f"Tls: acme_email {args.acme_email!r} is not an e-mail address")

        # cert-manager's chart runs under the `restricted` Pod Security Standard.
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": CERT_MANAGER_NAMESPACE,
                "labels": {
                    **recommended_labels("cert-manager", "tls", part_of="dhakacart"),
                    **pod_security_labels(enforce="restricted"),
                },
            },
            opts=child,
        )
        # cert-manager needs the API server and the ACME server, never the node's instance role.
        self.metadata_policies = deny_instance_metadata(
            name, self.namespace.metadata["name"], recommended_labels("cert-manager", "tls"), child
        )

        # helm_release waits for every workload (above all the webhook) to be ready before
        # anything that depends on the release is created, and rolls back a half-installed one.
        self.release = helm_release(
            f"{name}-cert-manager",
            release_name="cert-manager",
            chart=CERT_MANAGER_CHART,
            version=CERT_MANAGER_CHART_VERSION,
            repository=CERT_MANAGER_REPOSITORY,
            namespace=self.namespace.metadata["name"],
            values=cert_manager_values(),
            timeout_seconds=600,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.metadata_policies),
        )

        self.issuer = k8s.apiextensions.CustomResource(
            f"{name}-cluster-issuer",
            api_version="cert-manager.io/v1",
            kind="ClusterIssuer",
            metadata={"name": issuer_name, "labels": recommended_labels("cert-manager", "tls")},
            spec={
                "acme": {
                    "server": ACME_SERVERS[issuer_name],
                    "email": args.acme_email,
                    # The ACME account key cert-manager generates and keeps in this Secret.
                    "privateKeySecretRef": {"name": f"{issuer_name}-account-key"},
                    "solvers": [{"http01": {"ingress": {"ingressClassName": TRAEFIK_INGRESS_CLASS}}}],
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.release]),
        )

        # Derived from the issuer's id, so whoever uses the name also waits for the issuer.
        self.cluster_issuer_name = self.issuer.id.apply(lambda _: issuer_name)
        self.register_outputs({
            "cluster_issuer_name": self.cluster_issuer_name,
            "cert_manager_version": CERT_MANAGER_CHART_VERSION,
        })
