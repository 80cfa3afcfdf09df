"""Traefik middlewares every public Ingress uses: HTTP -> HTTPS redirect and security headers.

K3s bundles Traefik with its CRDs (traefik.io/v1alpha1). The middlewares live in the namespace of
the Ingresses that use them: a same-namespace reference works whatever Traefik's
`allowCrossNamespace` setting is. An Ingress names them in the annotation
`traefik.ingress.kubernetes.io/router.middlewares` as "<namespace>-<name>@kubernetescrd".
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .labels import recommended_labels

TRAEFIK_API_VERSION = "traefik.io/v1alpha1"
ROUTER_MIDDLEWARES_ANNOTATION = "traefik.ingress.kubernetes.io/router.middlewares"

HSTS_SECONDS = 31_536_000  # one year


@dataclass
class IngressMiddlewaresArgs:
    namespace: pulumi.Input[str]
    part_of: str = "dhakacart"


def middleware_reference(namespace: str, name: str) -> str:
    return f"{namespace}-{name}@kubernetescrd"


class IngressMiddlewares(pulumi.ComponentResource):
    """`https-redirect` and `security-headers` in one namespace; `router_middlewares` is the
    annotation value that applies both (redirect first)."""

    router_middlewares: pulumi.Output[str]

    def __init__(
        self, name: str, args: IngressMiddlewaresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:k8s:IngressMiddlewares", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = recommended_labels("traefik-middlewares", "ingress", part_of=args.part_of)

        self.https_redirect = k8s.apiextensions.CustomResource(
            f"{name}-https-redirect",
            api_version=TRAEFIK_API_VERSION,
            kind="Middleware",
            metadata={"name": "https-redirect", "namespace": args.namespace, "labels": labels},
            # Requests that are already HTTPS pass through unchanged.
            spec={"redirectScheme": {"scheme": "https", "permanent": True}},
            opts=child,
        )
        self.security_headers = k8s.apiextensions.CustomResource(
            f"{name}-security-headers",
            api_version=TRAEFIK_API_VERSION,
            kind="Middleware",
            metadata={"name": "security-headers", "namespace": args.namespace, "labels": labels},
            spec={
                "headers": {
                    "stsSeconds": HSTS_SECONDS,
                    "stsIncludeSubdomains": True,
                    "contentTypeNosniff": True,
                    "frameDeny": True,
                    "referrerPolicy": "strict-origin-when-cross-origin",
                }
            },
            opts=child,
        )

        self.router_middlewares = pulumi.Output.all(
            args.namespace, self.https_redirect.id, self.security_headers.id
        ).apply(lambda v: ",".join(
            middleware_reference(str(v[0]), n) for n in ("https-redirect", "security-headers")
        ))
        self.register_outputs({"router_middlewares": self.router_middlewares})
