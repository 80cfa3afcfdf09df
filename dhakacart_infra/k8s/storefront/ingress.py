"""The shop's Ingress: /api and the probes to the api pods, everything else to the web pods, over TLS."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ...names import API_COMPONENT, SHOP_APP_NAME, WEB_COMPONENT
from ..labels import recommended_labels
from ..middlewares import ROUTER_MIDDLEWARES_ANNOTATION
from ..tls import TRAEFIK_INGRESS_CLASS

HEALTH_PATHS = ("/healthz", "/readyz")
TLS_SECRET = f"{SHOP_APP_NAME}-tls"


def shop_ingress(
    name: str,
    *,
    namespace: pulumi.Input[str],
    host: pulumi.Output[str],
    services: dict[str, k8s.core.v1.Service],
    cluster_issuer_name: pulumi.Input[str],
    router_middlewares: pulumi.Input[str],
    version: str | None,
    issuer: pulumi.Resource,
    parent: pulumi.Resource,
) -> k8s.networking.v1.Ingress:
    """Waits for the ClusterIssuer (`issuer`), so cert-manager can issue the certificate at once."""

    def backend(component: str) -> dict:
        return {"service": {"name": services[component].metadata["name"], "port": {"name": "http"}}}

    paths = [{"path": "/api", "pathType": "Prefix", "backend": backend(API_COMPONENT)}]
    paths += [{"path": p, "pathType": "Exact", "backend": backend(API_COMPONENT)} for p in HEALTH_PATHS]
    paths.append({"path": "/", "pathType": "Prefix", "backend": backend(WEB_COMPONENT)})
    return k8s.networking.v1.Ingress(
        name,
        metadata={
            "name": SHOP_APP_NAME,
            "namespace": namespace,
            "labels": recommended_labels(SHOP_APP_NAME, "ingress", version=version),
            "annotations": {
                "cert-manager.io/cluster-issuer": cluster_issuer_name,
                ROUTER_MIDDLEWARES_ANNOTATION: router_middlewares,
            },
        },
        spec={
            "ingressClassName": TRAEFIK_INGRESS_CLASS,
            "tls": [{"hosts": [host], "secretName": TLS_SECRET}],
            "rules": [{"host": host, "http": {"paths": paths}}],
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[issuer]),
    )
