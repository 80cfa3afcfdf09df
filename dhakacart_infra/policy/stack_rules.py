"""The stack rules: relations between resources, `(resources, stack name) -> [StackViolation, ...]`.

One resource refers to another by a property dependency (the engine records it even while the value
is unknown during preview) or by an equal known value (`_refers_to`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .aws_rules import FLOW_LOG, S3_BUCKET_POLICY, S3_BUCKETS, S3_PUBLIC_ACCESS_BLOCK, S3_SSE_CONFIGS, VPC
from .kubernetes_rules import NAMESPACE, NETWORK_POLICY, POD_SECURITY_ENFORCE, SYSTEM_NAMESPACES, WORKLOADS
from .plain_data import UNKNOWN, as_mapping, list_of, value_at


@dataclass(frozen=True)
class StackResource:
    """One resource as a stack rule sees it (built from a PolicyResource or a RecordedResource)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class StackViolation:
    message: str
    urn: str = ""


def _depends_on_property(resource: StackResource, prop: str, target: StackResource) -> bool:
    return target.urn in resource.property_dependencies.get(prop, ())


def _refers_to(resource: StackResource, prop: str, target: StackResource, *target_props: str) -> bool:
    """True when `resource.prop` is wired to `target` (by dependency, or by an equal known value)."""
    if _depends_on_property(resource, prop, target):
        return True
    value = resource.props.get(prop)
    if value in (None, UNKNOWN):
        return False
    known = [target.props.get(p) for p in target_props if target.props.get(p) not in (None, UNKNOWN)]
    return value in known


def vpc_flow_logs(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    flow_logs = [r for r in resources if r.type == FLOW_LOG]
    return [StackViolation(f"VPC {vpc.name} has no flow log: add an aws.ec2.FlowLog with vpc_id=vpc.id",
                           vpc.urn)
            for vpc in resources if vpc.type == VPC
            if not any(_refers_to(f, "vpcId", vpc, "id") for f in flow_logs)]


def _sse_algorithms(config: StackResource) -> list[Any]:
    return [value_at(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
            for rule in list_of(config.props.get("rules"))]


def s3_encryption(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    configs = [r for r in resources if r.type in S3_SSE_CONFIGS]
    found = []
    for bucket in (r for r in resources if r.type in S3_BUCKETS):
        inline = value_at(bucket.props, "serverSideEncryptionConfiguration", "rule",
                          "applyServerSideEncryptionByDefault", "sseAlgorithm")
        algorithms = [inline] if inline else [
            a for c in configs if _refers_to(c, "bucket", bucket, "bucket", "id") for a in _sse_algorithms(c)]
        if not algorithms:
            found.append(StackViolation(f"bucket {bucket.name} has no default encryption: add a "
                                        "BucketServerSideEncryptionConfiguration (aws:kms)", bucket.urn))
        # Only the issuer's public documents may do without a KMS key (anonymous readers cannot use one).
        elif any(a not in ("aws:kms", "aws:kms:dsse", UNKNOWN) for a in algorithms) \
                and not _publishes_issuer_documents_only(resources, bucket):
            found.append(StackViolation(f"bucket {bucket.name} is encrypted with {algorithms}: use aws:kms "
                                        "with a customer-managed key", bucket.urn))
    return found


# The one public read the platform makes: the ServiceAccount issuer's two documents, which STS
# fetches without credentials (aws/service_account_issuer.py). Nothing else may be public.
OIDC_ISSUER_DOCUMENTS = (".well-known/openid-configuration", "keys.json")
ACL_FLAGS = ("blockPublicAcls", "ignorePublicAcls")
POLICY_FLAGS = ("blockPublicPolicy", "restrictPublicBuckets")


def _public_statements(policy: Any) -> list[Mapping[str, Any]] | None:
    """The Allow statements of a bucket policy open to everyone; None while the policy is unknown."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return None
    if not isinstance(policy, Mapping):
        return None
    return [st for st in list_of(policy.get("Statement")) if isinstance(st, Mapping)
            and st.get("Effect") == "Allow" and st.get("Principal") in ("*", {"AWS": "*"})]


def _one_or_many(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list_of(value)


def _only_issuer_documents(statements: Sequence[Mapping[str, Any]]) -> bool:
    for st in statements:
        actions = _one_or_many(st.get("Action"))
        resources = _one_or_many(st.get("Resource"))
        if actions != ["s3:GetObject"] or not resources or "Condition" in st:
            return False
        if not all(isinstance(r, str) and r.split("/", 1)[-1] in OIDC_ISSUER_DOCUMENTS
                   and "/" in r for r in resources):
            return False
    return True


def _bucket_policies(resources: Sequence[StackResource], bucket: StackResource) -> list[StackResource]:
    return [r for r in resources
            if r.type == S3_BUCKET_POLICY and _refers_to(r, "bucket", bucket, "bucket", "id")]


def _publishes_issuer_documents_only(resources: Sequence[StackResource], bucket: StackResource) -> bool:
    public = [st for p in _bucket_policies(resources, bucket)
              for st in (_public_statements(p.props.get("policy")) or [])]
    return bool(public) and _only_issuer_documents(public)


def s3_public_access_block(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    blocks = [r for r in resources if r.type == S3_PUBLIC_ACCESS_BLOCK]
    found = []
    for bucket in (r for r in resources if r.type in S3_BUCKETS):
        mine = [b for b in blocks if _refers_to(b, "bucket", bucket, "bucket", "id")]
        # The issuer's bucket may allow its public policy; ACLs stay blocked everywhere.
        flags = ACL_FLAGS if _publishes_issuer_documents_only(resources, bucket) else ACL_FLAGS + POLICY_FLAGS
        if not any(all(b.props.get(f) is True for f in flags) for b in mine):
            found.append(StackViolation(
                f"bucket {bucket.name} is not shielded from public access: add a "
                f"BucketPublicAccessBlock with {', '.join(flags)} all True", bucket.urn))
    return found


def s3_public_read_only_issuer(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    found = []
    for policy in (r for r in resources if r.type == S3_BUCKET_POLICY):
        public = _public_statements(policy.props.get("policy"))
        if public and not _only_issuer_documents(public):
            found.append(StackViolation(
                f"bucket policy {policy.name} lets everyone in beyond s3:GetObject of the issuer documents "
                f"({', '.join(OIDC_ISSUER_DOCUMENTS)}): grant a named role instead", policy.urn))
    return found


def _namespace_of(resource: StackResource) -> Any:
    return value_at(resource.props, "metadata", "namespace")


def application_namespaces(resources: Sequence[StackResource]) -> set[str]:
    """Namespaces where this program itself declares workloads.

    Workloads that Helm releases render (cert-manager, the monitoring stack's node-exporter, which
    needs the host's namespaces) are the charts' own and never reach a policy pack as objects: no
    rule sees them, only the release itself (k8s-helm-chart-pinned judges which chart it installs).
    The namespaces that only hold them are platform namespaces, not application ones.
    """
    return {ns for r in resources if r.type in WORKLOADS
            for ns in [_namespace_of(r)] if isinstance(ns, str) and ns not in SYSTEM_NAMESPACES}


def _is_default_deny(policy: StackResource, direction: str) -> bool:
    spec = value_at(policy.props, "spec", default={})
    selector = value_at(spec, "podSelector", default={})
    selects_all = not value_at(selector, "matchLabels") and not value_at(selector, "matchExpressions")
    rules_key = "ingress" if direction == "Ingress" else "egress"
    return selects_all and direction in list_of(spec.get("policyTypes")) and not list_of(spec.get(rules_key))


def default_deny_network_policy(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    policies = [r for r in resources if r.type == NETWORK_POLICY]
    found = []
    for namespace in sorted(application_namespaces(resources)):
        mine = [p for p in policies if _namespace_of(p) == namespace]
        for direction in ("Ingress", "Egress"):
            if not any(_is_default_deny(p, direction) for p in mine):
                found.append(StackViolation(
                    f"namespace {namespace} has no default-deny {direction} NetworkPolicy (podSelector {{}}, "
                    f"policyTypes [{direction}], no rules): every allowed flow must be explicit"))
    return found


def application_namespaces_restricted(resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
    declared = {value_at(r.props, "metadata", "name"): r for r in resources if r.type == NAMESPACE}
    found = []
    for namespace in sorted(application_namespaces(resources)):
        ns = declared.get(namespace)
        if ns is None:
            found.append(StackViolation(
                f"application namespace {namespace} is not declared by this program, so its Pod "
                "Security labels are not managed: declare the Namespace"))
            continue
        level = as_mapping(value_at(ns.props, "metadata", "labels")).get(POD_SECURITY_ENFORCE)
        if level != "restricted" and level is not UNKNOWN:
            found.append(StackViolation(f"application namespace {namespace} enforces Pod Security {level!r}: "
                                        "application namespaces enforce 'restricted'", ns.urn))
    return found

