"""The pod identity webhook: pods get the AWS role their ServiceAccount names, never a node's.

amazon-eks-pod-identity-webhook (AWS's own, the piece EKS runs for IRSA) mutates a new pod whose
ServiceAccount carries `eks.amazonaws.com/role-arn`: it projects a ServiceAccount token for the
audience `sts.amazonaws.com` and sets AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, which every
AWS SDK turns into the role's credentials (AssumeRoleWithWebIdentity, trusted through the cluster's
issuer: aws/service_account_issuer.py, aws/workload_role.py).

There is no official chart, so these are the objects of the project's deploy/ manifests at the
pinned release, written out and tightened:
* it sees only pods labelled AWS_IDENTITY_POD_LABEL (names.py), and for those it is required
  (failurePolicy Fail): a pod that should have a role cannot start without one, instead of
  starting with no credentials; every other pod never waits for it;
* its serving certificate comes from cert-manager (a self-signed Issuer of its own namespace; the
  CA injector puts the certificate into the webhook configuration), so it needs no right to
  create CertificateSigningRequests or Secrets: only to read ServiceAccounts;
* two replicas on the servers when there are two or more servers (one per server, a PDB keeps
  one), restricted Pod Security, no metadata service.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from ..aws.workload_role import STS_AUDIENCE
from ..names import AWS_IDENTITY_POD_LABEL, KUBERNETES_API_PORT, MONITORING_NAMESPACE, POD_IDENTITY_NAMESPACE
from .cluster_autoscaler import SERVER_NODE_SELECTOR, SERVER_TOLERATIONS
from .labels import pod_security_labels, recommended_labels, selector_labels
from .network_policies import ANY_IPV4, INSTANCE_METADATA_CIDR, NAMESPACE_NAME_LABEL
from .storefront.pods import container_security_context, pod_security_context

APP_NAME = "pod-identity-webhook"
WEBHOOK_VERSION = "v0.6.9"
WEBHOOK_IMAGE = f"public.ecr.aws/eks/amazon-eks-pod-identity-webhook:{WEBHOOK_VERSION}"
SERVICE_NAME = APP_NAME
CERTIFICATE_SECRET = f"{APP_NAME}-cert"
CERT_DIR = "/etc/webhook/certs"
SERVING_PORT = 9443  # not the image's default 443: the webhook runs without any capability
METRICS_PORT = 9999
RUN_AS_USER = 65534
ANNOTATION_PREFIX = "eks.amazonaws.com"
# v0.6.9 answers AdmissionReview v1beta1 only (v1 came after the release).
ADMISSION_REVIEW_VERSIONS = ["v1beta1"]
WEBHOOK_NAME = "pod-identity-webhook.amazonaws.com"


def webhook_command(namespace: str, region: str) -> list[str]:
    """The webhook's flags (tests check each against the release's main.go, recorded in
    charts/crd_facts/pod-identity-webhook-v0.6.9.json)."""
    return [
        "/webhook",
        "--in-cluster=false",  # certificates from files (cert-manager), not the CSR API
        f"--namespace={namespace}",
        f"--service-name={SERVICE_NAME}",
        f"--annotation-prefix={ANNOTATION_PREFIX}",
        f"--token-audience={STS_AUDIENCE}",
        f"--aws-default-region={region}",
        "--sts-regional-endpoint=true",  # the region's STS, not the global endpoint
        f"--port={SERVING_PORT}",
        f"--metrics-port={METRICS_PORT}",
        f"--tls-cert={CERT_DIR}/tls.crt",
        f"--tls-key={CERT_DIR}/tls.key",
        "--logtostderr",
    ]


API_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 - a path, not a secret
API_TOKEN_SECONDS = 3600


def api_token_volume() -> dict:
    """What the kubelet would automount: a short-lived, rotated token for the API server, its CA and
    the namespace."""
    return {
        "name": "api-token",
        "projected": {
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": API_TOKEN_SECONDS}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {
                    "downwardAPI": {
                        "items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                    }
                },
            ]
        },
    }


def webhook_replicas(servers: int) -> int:
    return 2 if servers >= 2 else 1


@dataclass
class PodIdentityWebhookArgs:
    region: str
    servers: int
    cert_manager: pulumi.Resource
    """The cert-manager release (Tls.release): its CRDs and CA injector."""


class PodIdentityWebhook(pulumi.ComponentResource):
    webhook: k8s.admissionregistration.v1.MutatingWebhookConfiguration
    ready: pulumi.Output[str]
    """Resolves once the webhook is configured: pods that need a role wait for it."""

    def __init__(
        self, name: str, args: PodIdentityWebhookArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dhakacart:k8s:PodIdentityWebhook", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        namespace = POD_IDENTITY_NAMESPACE
        labels = recommended_labels(APP_NAME, "webhook")
        selector = selector_labels(APP_NAME, "webhook")
        metadata = {"name": APP_NAME, "namespace": namespace, "labels": labels}

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": namespace, "labels": {**labels, **pod_security_labels(enforce="restricted")}},
            opts=child,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        def network_policy(suffix: str, spec: dict) -> k8s.networking.v1.NetworkPolicy:
            return k8s.networking.v1.NetworkPolicy(
                f"{name}-{suffix}",
                metadata={"name": suffix, "namespace": namespace, "labels": labels},
                spec=spec,
                opts=in_namespace,
            )

        # Nothing in or out but the API server, both ways, and Prometheus's scrape.
        network_policy("default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
        network_policy(
            "allow-api-server",
            {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                # The kubernetes Service is DNATed to a server's API port before the policy applies.
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": ANY_IPV4, "except": [INSTANCE_METADATA_CIDR]}}],
                        "ports": [{"port": KUBERNETES_API_PORT, "protocol": "TCP"}],
                    }
                ],
            },
        )
        account = k8s.core.v1.ServiceAccount(f"{name}-service-account", metadata=metadata, opts=in_namespace)
        # It reads ServiceAccounts (their role annotations); nothing else.
        reader = k8s.rbac.v1.ClusterRole(
            f"{name}-reader",
            metadata={"name": APP_NAME, "labels": labels},
            rules=[{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["get", "list", "watch"]}],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-reader-binding",
            metadata={"name": APP_NAME, "labels": labels},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": reader.metadata["name"],
            },
            subjects=[{"kind": "ServiceAccount", "name": account.metadata["name"], "namespace": namespace}],
            opts=child,
        )

        with_cert_manager = pulumi.ResourceOptions(
            parent=self, depends_on=[self.namespace, args.cert_manager]
        )
        issuer = k8s.apiextensions.CustomResource(
            f"{name}-issuer",
            api_version="cert-manager.io/v1",
            kind="Issuer",
            metadata={"name": f"{APP_NAME}-selfsigned", "namespace": namespace, "labels": labels},
            spec={"selfSigned": {}},
            opts=with_cert_manager,
        )
        service_dns = f"{SERVICE_NAME}.{namespace}.svc"
        certificate = k8s.apiextensions.CustomResource(
            f"{name}-certificate",
            api_version="cert-manager.io/v1",
            kind="Certificate",
            metadata=metadata,
            spec={
                "secretName": CERTIFICATE_SECRET,
                "commonName": service_dns,
                "dnsNames": [SERVICE_NAME, f"{SERVICE_NAME}.{namespace}", service_dns],
                # Self-signed: the serving certificate is its own CA, injected as the caBundle.
                "isCA": True,
                "duration": "2160h",
                "renewBefore": "720h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": {"name": issuer.metadata["name"], "kind": "Issuer", "group": "cert-manager.io"},
            },
            opts=with_cert_manager,
        )

        replicas = webhook_replicas(args.servers)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec={
                "replicas": replicas,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": {**labels, "app.kubernetes.io/version": WEBHOOK_VERSION}},
                    "spec": {
                        "serviceAccountName": account.metadata["name"],
                        # Its one API credential is mounted explicitly below (it watches
                        # ServiceAccounts), in the place client-go looks; nothing else gets one.
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "priorityClassName": "system-cluster-critical",
                        # On the servers: an agent's scale-down never takes it away.
                        "nodeSelector": SERVER_NODE_SELECTOR,
                        "tolerations": SERVER_TOLERATIONS,
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "DoNotSchedule",
                                "labelSelector": {"matchLabels": selector},
                            }
                        ],
                        "securityContext": pod_security_context(RUN_AS_USER),
                        "containers": [
                            {
                                "name": "webhook",
                                "image": WEBHOOK_IMAGE,
                                "imagePullPolicy": "IfNotPresent",
                                "command": webhook_command(namespace, args.region),
                                "ports": [
                                    {"name": "https", "containerPort": SERVING_PORT, "protocol": "TCP"},
                                    {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
                                ],
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
                                    "periodSeconds": 5,
                                },
                                "livenessProbe": {
                                    "httpGet": {"path": "/healthz", "port": "https", "scheme": "HTTPS"},
                                    "periodSeconds": 10,
                                },
                                "resources": {
                                    "requests": {"cpu": "10m", "memory": "32Mi"},
                                    "limits": {"cpu": "200m", "memory": "128Mi"},
                                },
                                "securityContext": container_security_context(RUN_AS_USER),
                                "volumeMounts": [
                                    {"name": "cert", "mountPath": CERT_DIR, "readOnly": True},
                                    {"name": "api-token", "mountPath": API_TOKEN_DIR, "readOnly": True},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "cert", "secret": {"secretName": CERTIFICATE_SECRET}},
                            api_token_volume(),
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[certificate]),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={**metadata, "name": SERVICE_NAME},
            spec={
                "selector": selector,
                "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}],
            },
            opts=in_namespace,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec={"maxUnavailable": 1, "selector": {"matchLabels": selector}},
            opts=in_namespace,
        )
        # The API server (on the host) calls it; Prometheus scrapes its metrics.
        k8s.networking.v1.NetworkPolicy(
            f"{name}-ingress",
            metadata={**metadata, "name": f"{APP_NAME}-ingress"},
            spec={
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {"ports": [{"port": SERVING_PORT, "protocol": "TCP"}]},
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {NAMESPACE_NAME_LABEL: MONITORING_NAMESPACE}
                                }
                            }
                        ],
                        "ports": [{"port": METRICS_PORT, "protocol": "TCP"}],
                    },
                ],
            },
            opts=in_namespace,
        )
        self.webhook = k8s.admissionregistration.v1.MutatingWebhookConfiguration(
            f"{name}-configuration",
            metadata={
                "name": APP_NAME,
                "labels": labels,
                "annotations": {"cert-manager.io/inject-ca-from": f"{namespace}/{APP_NAME}"},
            },
            webhooks=[
                {
                    "name": WEBHOOK_NAME,
                    "clientConfig": {
                        "service": {"name": SERVICE_NAME, "namespace": namespace, "path": "/mutate"}
                    },
                    "rules": [
                        {
                            "operations": ["CREATE"],
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "resources": ["pods"],
                            "scope": "Namespaced",
                        }
                    ],
                    "objectSelector": {"matchLabels": dict(AWS_IDENTITY_POD_LABEL)},
                    "failurePolicy": "Fail",
                    "sideEffects": "None",
                    "timeoutSeconds": 10,
                    "admissionReviewVersions": ADMISSION_REVIEW_VERSIONS,
                }
            ],
            # Configured only once it can answer: a labelled pod created meanwhile would be refused.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment, service, certificate]),
        )
        self.ready = self.webhook.metadata.apply(lambda m: m["name"])
        self.register_outputs({"ready": self.ready})

    def role_for_pods(self, role_arn: pulumi.Input[str]) -> pulumi.Output[str]:
        """A role ARN for a ServiceAccount annotation that resolves only once the webhook is configured,
        so the release that uses it (and its labelled pods) waits for the webhook."""
        return pulumi.Output.all(role_arn, self.ready).apply(lambda v: v[0])
