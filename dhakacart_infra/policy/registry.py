"""The platform's policy rules as pure functions, shared by the Pulumi policy pack and the offline plan.

A resource rule judges one resource: `(type token, props, stack name) -> [violation message, ...]`.
`props` are the resource's inputs as the engine sends them to a policy pack: camelCase keys, plain
dicts and lists, secrets already revealed. Two adapters feed them:

* `policies/__main__.py` (`pulumi preview --policy-pack policies`), where the AWS provider's Check has
  merged the provider's `defaultTags` into `tags`/`tagsAll` and values that depend on resources not
  yet created are `UNKNOWN`;
* `dhakacart_infra/plan/policy_report.py` (`make plan`), over the resources recorded under mocks.

A stack rule judges relations between resources (every VPC has a flow log, every application
namespace has a default-deny NetworkPolicy): `(resources, stack name) -> [StackViolation, ...]`.

Rules read the stack name, never a flag: production rules apply to the stacks `is_production_stack`
names. Nothing here imports Pulumi, so the rules run anywhere Python does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .aws_rules import (
    EBS_VOLUME,
    EC2_INSTANCE,
    EC2_LAUNCH_TEMPLATE,
    IAM_POLICY_TYPES,
    KMS_KEY,
    LOG_GROUP,
    PRODUCTION_BACKUP_RETENTION_DAYS,
    RDS_CLUSTER,
    RDS_INSTANCE,
    SECURITY_GROUP,
    SECURITY_GROUP_INGRESS_RULE,
    SECURITY_GROUP_RULE,
    SUBNET,
    ebs_encrypted,
    ec2_imdsv2,
    iam_no_wildcard_actions,
    kms_key_rotation,
    log_group_encrypted,
    log_group_retention,
    rds_backups_in_production,
    rds_deletion_protection_in_production,
    rds_multi_az_in_production,
    rds_not_public,
    rds_performance_insights_in_production,
    rds_storage_encrypted,
    required_tags,
    security_group_no_world_open_ports,
    subnet_no_auto_public_ip,
)
from .kubernetes_rules import (
    CONFIG_MAP,
    HELM_RELEASE_TYPES,
    INGRESS,
    LONG_RUNNING_WORKLOADS,
    NAMESPACE,
    NETWORK_POLICY,
    WORKLOADS,
    _drop_all_capabilities,
    _each_container,
    _no_privilege_escalation,
    _no_secret_env_literals,
    _not_privileged,
    _pinned_image,
    _probes,
    _read_only_root_filesystem,
    _resources,
    _run_as_non_root,
    _seccomp_runtime_default,
    helm_chart_pinned,
    ingress_tls,
    namespace_pod_security,
    no_default_namespace,
    no_host_namespaces,
    no_host_path,
    no_secrets_in_config_maps,
)
from .stack_rules import (
    StackResource,
    StackViolation,
    application_namespaces_restricted,
    default_deny_network_policy,
    s3_encryption,
    s3_public_access_block,
    vpc_flow_logs,
)

# --------------------------------------------------------------------------------------------------
# The registry

ResourceRule = Callable[[str, Mapping[str, Any], str], list[str]]
StackRule = Callable[[Sequence[StackResource], str], list[StackViolation]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    resource_types: tuple[str, ...] = ()  # resource policies: exact tokens, or "aws:*"
    check: ResourceRule | None = None
    stack_check: StackRule | None = None
    enforcement: str = "mandatory"

    def applies_to(self, resource_type: str) -> bool:
        if self.check is None:
            return False
        return any(resource_type == t or (t.endswith("*") and resource_type.startswith(t[:-1]))
                   for t in self.resource_types)

    def judge(self, resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
        if not self.applies_to(resource_type):
            return []
        assert self.check is not None
        return self.check(resource_type, props, stack)


def _resource(name: str, description: str, types: Iterable[str], check: ResourceRule) -> Policy:
    return Policy(name, description, tuple(types), check=check)


def _stack(name: str, description: str, check: StackRule) -> Policy:
    return Policy(name, description, stack_check=check)


RDS_TYPES = (RDS_INSTANCE, RDS_CLUSTER)
SG_TYPES = (SECURITY_GROUP, SECURITY_GROUP_RULE, SECURITY_GROUP_INGRESS_RULE)

POLICIES: tuple[Policy, ...] = (
    # AWS: encryption at rest
    _resource("aws-ebs-encrypted", "EBS volumes (instance root and data volumes) are encrypted.",
              (EC2_INSTANCE, EBS_VOLUME, EC2_LAUNCH_TEMPLATE), ebs_encrypted),
    _resource("aws-rds-storage-encrypted", "Database storage is encrypted.", RDS_TYPES,
              rds_storage_encrypted),
    _stack("aws-s3-encrypted", "Every S3 bucket has default server-side encryption.", s3_encryption),
    _resource("aws-log-group-kms-encrypted", "CloudWatch log groups are encrypted with a KMS key.",
              (LOG_GROUP,), log_group_encrypted),
    _resource("aws-log-group-retention", "CloudWatch log groups expire their logs.", (LOG_GROUP,),
              log_group_retention),
    _resource("aws-kms-key-rotation", "Symmetric KMS keys rotate yearly.", (KMS_KEY,), kms_key_rotation),
    # AWS: exposure
    _resource("aws-rds-not-public", "Databases are not publicly accessible.", RDS_TYPES, rds_not_public),
    _stack("aws-s3-public-access-blocked", "Every S3 bucket blocks public ACLs and policies.",
           s3_public_access_block),
    _resource("aws-security-group-no-world-open-ports",
              "Only TCP 80 and 443 accept traffic from 0.0.0.0/0 or ::/0.", SG_TYPES,
              security_group_no_world_open_ports),
    _resource("aws-subnet-no-auto-public-ip", "Subnets do not hand out public IPs on launch.", (SUBNET,),
              subnet_no_auto_public_ip),
    _resource("aws-ec2-imdsv2", "Instances and launch templates require IMDSv2 tokens.",
              (EC2_INSTANCE, EC2_LAUNCH_TEMPLATE), ec2_imdsv2),
    _resource("aws-iam-no-wildcard-actions", "IAM policies grant listed actions, never service:* or *.",
              IAM_POLICY_TYPES, iam_no_wildcard_actions),
    # AWS: production resilience (by stack name)
    _resource("aws-rds-multi-az-in-production", "Production databases are multi-AZ.", RDS_TYPES,
              rds_multi_az_in_production),
    _resource("aws-rds-deletion-protection-in-production", "Production databases have deletion protection.",
              RDS_TYPES, rds_deletion_protection_in_production),
    _resource("aws-rds-backups-in-production",
              f"Production databases keep backups for {PRODUCTION_BACKUP_RETENTION_DAYS}+ days and a final "
              "snapshot.", RDS_TYPES, rds_backups_in_production),
    # AWS: observability and ownership
    _resource("aws-rds-performance-insights-in-production",
              "Production databases record Performance Insights.", RDS_TYPES,
              rds_performance_insights_in_production),
    _stack("aws-vpc-flow-logs", "Every VPC records flow logs.", vpc_flow_logs),
    _resource("aws-required-tags", "Taggable AWS resources carry project, environment, stack and managed-by.",
              ("aws:*",), required_tags),
    # Kubernetes: restricted security context
    _resource("k8s-run-as-non-root", "Containers run as a non-root user.", WORKLOADS,
              _each_container(_run_as_non_root)),
    _resource("k8s-no-privilege-escalation", "Containers cannot gain privileges.", WORKLOADS,
              _each_container(_no_privilege_escalation)),
    _resource("k8s-drop-all-capabilities", "Containers drop every Linux capability.", WORKLOADS,
              _each_container(_drop_all_capabilities)),
    _resource("k8s-read-only-root-filesystem", "Containers have a read-only root filesystem.", WORKLOADS,
              _each_container(_read_only_root_filesystem)),
    _resource("k8s-seccomp-runtime-default", "Pods run under the RuntimeDefault seccomp profile.", WORKLOADS,
              _each_container(_seccomp_runtime_default)),
    _resource("k8s-no-privileged-containers", "No container runs privileged.", WORKLOADS,
              _each_container(_not_privileged)),
    # Kubernetes: operability
    _resource("k8s-probes", "Long-running containers have readiness and liveness probes.",
              LONG_RUNNING_WORKLOADS, _each_container(_probes, init=False)),
    _resource("k8s-resources", "Every container sets CPU and memory requests and limits.", WORKLOADS,
              _each_container(_resources)),
    _resource("k8s-image-pinned", "Images are pinned by a version tag or digest, never latest or untagged.",
              WORKLOADS, _each_container(_pinned_image)),
    # Kubernetes: isolation
    _resource("k8s-namespace-pod-security", "Namespaces carry a Pod Security enforce label.", (NAMESPACE,),
              namespace_pod_security),
    _stack("k8s-application-namespaces-restricted",
           "Namespaces with this program's workloads enforce the restricted Pod Security level.",
           application_namespaces_restricted),
    _stack("k8s-default-deny-network-policy",
           "Every application namespace has default-deny Ingress and Egress NetworkPolicies.",
           default_deny_network_policy),
    _resource("k8s-no-host-namespaces", "Pods share no host network, PID or IPC namespace, nor host ports.",
              WORKLOADS, no_host_namespaces),
    _resource("k8s-no-host-path", "Pods mount no hostPath volume.", WORKLOADS, no_host_path),
    _resource("k8s-no-default-namespace", "Namespaced objects never land in the default namespace.",
              (*WORKLOADS, CONFIG_MAP, "kubernetes:core/v1:Secret", "kubernetes:core/v1:Service", INGRESS,
               NETWORK_POLICY, "kubernetes:core/v1:ServiceAccount"), no_default_namespace),
    _resource("k8s-ingress-tls", "Every Ingress serves all its hosts over TLS.", (INGRESS,), ingress_tls),
    _resource("k8s-helm-chart-pinned",
              "Helm charts are pinned to an exact version from an https:// or oci:// repository.",
              HELM_RELEASE_TYPES, helm_chart_pinned),
    # Kubernetes: secrets
    _resource("k8s-no-secrets-in-config-maps",
              "ConfigMaps hold no passwords, tokens, keys or credential URLs.",
              (CONFIG_MAP,), no_secrets_in_config_maps),
    _resource("k8s-no-secret-env-literals",
              "Secret-looking environment variables come from Secrets, never literals.", WORKLOADS,
              _each_container(_no_secret_env_literals)),
)

POLICIES_BY_NAME = {p.name: p for p in POLICIES}
assert len(POLICIES_BY_NAME) == len(POLICIES), "policy names must be unique"

