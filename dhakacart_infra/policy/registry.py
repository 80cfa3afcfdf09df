"""The registry: every policy's name, description, enforcement and rule, shared by both adapters.

A resource rule judges one resource: `(type token, props, stack name) -> [violation message, ...]`.
`props` are the resource's inputs as the engine sends them to a policy pack: camelCase keys, plain
dicts and lists, secrets already revealed. A stack rule judges relations between resources (every
VPC has a flow log): `(resources, stack name) -> [StackViolation, ...]`. Two adapters feed them:

* `pack.py` (`pulumi preview --policy-pack policies`), where values that depend on resources not yet
  created are `UNKNOWN`;
* `dhakacart_infra/plan/policy_report.py` (`make plan`), over the resources recorded under mocks.

Both hand every AWS resource its effective tags (`aws_rules.with_provider_default_tags`), from which
`environment.py` decides what is production: a `production_only` policy applies only there. Nothing
here imports Pulumi, so the rules run anywhere Python does.

Adding a rule: write the function in `aws_rules.py`, `kubernetes_rules.py` (a judgement of one
container: decorate it with `@each_container()`) or `stack_rules.py`, then add one entry to
`POLICIES` below naming it, its description and the types it judges (`production_only=True` for a
production rule). Its good and bad case go in `tests/policy/test_<module>.py`, whose coverage test
fails until they do, and its row in the policy table of docs/PROVING_A_CHANGE.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import aws_rules as aws
from . import kubernetes_rules as k8s
from . import stack_rules
from .environment import in_production
from .stack_rules import StackResource, StackViolation

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
    production_only: bool = False  # applies only where environment.in_production says so

    def __post_init__(self) -> None:
        untagged = [t for t in self.resource_types if t not in aws.TAGGABLE_AWS_TYPES]
        if self.production_only and self.kind == "resource" and untagged:
            # A resource rule sees only its resource: without AWS tags it could never be production.
            raise ValueError(f"{self.name}: production-only resource policies judge tagged AWS types only, "
                             f"not {', '.join(untagged)}: make it a stack policy, which sees the "
                             "stack's environment")

    @property
    def kind(self) -> Literal["resource", "stack"]:
        return "stack" if self.stack_check is not None else "resource"

    def applies_to(self, resource_type: str) -> bool:
        if self.check is None:
            return False
        return any(resource_type == t or (t.endswith("*") and resource_type.startswith(t[:-1]))
                   for t in self.resource_types)

    def _in_scope(self, tagged: Iterable[Mapping[str, Any]]) -> bool:
        """False only for a production-only policy outside production."""
        return not self.production_only or in_production(tagged)

    def judge(self, resource_type: str, props: Mapping[str, Any], stack: str) -> list[str]:
        """A resource policy's violations by one resource (none for types it does not judge)."""
        if not self.applies_to(resource_type) or not self._in_scope([props]):
            return []
        assert self.check is not None
        return self.check(resource_type, props, stack)

    def judge_stack(self, resources: Sequence[StackResource], stack: str) -> list[StackViolation]:
        """A stack policy's violations by the whole stack (none for a resource policy)."""
        if self.stack_check is None or not self._in_scope(r.props for r in resources):
            return []
        return self.stack_check(resources, stack)


def resource_policy(
    name: str, description: str, types: Iterable[str], check: ResourceRule, *, production_only: bool = False,
) -> Policy:
    return Policy(name, description, tuple(types), check=check, production_only=production_only)


def stack_policy(name: str, description: str, check: StackRule, *, production_only: bool = False) -> Policy:
    return Policy(name, description, stack_check=check, production_only=production_only)


POLICIES: tuple[Policy, ...] = (
    # AWS: encryption at rest
    resource_policy("aws-ebs-encrypted", "EBS volumes (instance root and data volumes) are encrypted.",
                    (aws.EC2_INSTANCE, aws.EBS_VOLUME, aws.EC2_LAUNCH_TEMPLATE), aws.ebs_encrypted),
    resource_policy("aws-rds-storage-encrypted", "Database storage is encrypted.",
                    aws.RDS_TYPES, aws.rds_storage_encrypted),
    stack_policy("aws-s3-encrypted", "Every S3 bucket has default server-side encryption.",
                 stack_rules.s3_encryption),
    resource_policy("aws-log-group-kms-encrypted", "CloudWatch log groups are encrypted with a KMS key.",
                    (aws.LOG_GROUP,), aws.log_group_encrypted),
    resource_policy("aws-log-group-retention", "CloudWatch log groups expire their logs.",
                    (aws.LOG_GROUP,), aws.log_group_retention),
    resource_policy("aws-kms-key-rotation", "Symmetric KMS keys rotate yearly.",
                    (aws.KMS_KEY,), aws.kms_key_rotation),
    # AWS: exposure
    resource_policy("aws-rds-not-public", "Databases are not publicly accessible.",
                    aws.RDS_TYPES, aws.rds_not_public),
    stack_policy("aws-s3-public-access-blocked", "Every S3 bucket blocks public ACLs and policies "
                 "(the service-account issuer's bucket: ACLs only, its policy is public on purpose).",
                 stack_rules.s3_public_access_block),
    stack_policy("aws-public-bucket-only-oidc-issuer", "Nothing in S3 is readable by everyone except the "
                 "service-account issuer's discovery document and JWKS.",
                 stack_rules.s3_public_read_only_issuer),
    resource_policy("aws-security-group-no-world-open-ports",
                    "Only TCP 80 and 443 accept traffic from 0.0.0.0/0 or ::/0.",
                    aws.SECURITY_GROUP_TYPES, aws.security_group_no_world_open_ports),
    resource_policy("aws-subnet-no-auto-public-ip", "Subnets do not hand out public IPs on launch.",
                    (aws.SUBNET,), aws.subnet_no_auto_public_ip),
    resource_policy("aws-ec2-imdsv2", "Instances and launch templates require IMDSv2 tokens.",
                    (aws.EC2_INSTANCE, aws.EC2_LAUNCH_TEMPLATE), aws.ec2_imdsv2),
    resource_policy("aws-iam-no-wildcard-actions", "IAM policies grant listed actions, never service:* or *.",
                    aws.IAM_POLICY_TYPES, aws.iam_no_wildcard_actions),
    # AWS: production resilience
    resource_policy("aws-rds-multi-az-in-production", "Production databases are multi-AZ.",
                    aws.RDS_TYPES, aws.rds_multi_az_in_production, production_only=True),
    resource_policy("aws-rds-deletion-protection-in-production",
                    "Production databases have deletion protection.",
                    aws.RDS_TYPES, aws.rds_deletion_protection_in_production, production_only=True),
    resource_policy("aws-rds-backups-in-production",
                    f"Production databases keep backups for {aws.PRODUCTION_BACKUP_RETENTION_DAYS}+ days "
                    "and a final snapshot.", aws.RDS_TYPES, aws.rds_backups_in_production,
                    production_only=True),
    # AWS: observability and ownership
    resource_policy("aws-rds-performance-insights-in-production",
                    "Production databases record Performance Insights.",
                    aws.RDS_TYPES, aws.rds_performance_insights_in_production, production_only=True),
    stack_policy("aws-vpc-flow-logs", "Every VPC records flow logs.", stack_rules.vpc_flow_logs),
    resource_policy("aws-required-tags",
                    "Taggable AWS resources carry project, environment, stack and managed-by.",
                    ("aws:*",), aws.required_tags),
    # Kubernetes: restricted security context
    resource_policy("k8s-run-as-non-root", "Containers run as a non-root user.",
                    k8s.WORKLOADS, k8s.run_as_non_root),
    resource_policy("k8s-no-privilege-escalation", "Containers cannot gain privileges.",
                    k8s.WORKLOADS, k8s.no_privilege_escalation),
    resource_policy("k8s-drop-all-capabilities", "Containers drop every Linux capability.",
                    k8s.WORKLOADS, k8s.drop_all_capabilities),
    resource_policy("k8s-read-only-root-filesystem", "Containers have a read-only root filesystem.",
                    k8s.WORKLOADS, k8s.read_only_root_filesystem),
    resource_policy("k8s-seccomp-runtime-default", "Pods run under the RuntimeDefault seccomp profile.",
                    k8s.WORKLOADS, k8s.seccomp_runtime_default),
    resource_policy("k8s-no-privileged-containers", "No container runs privileged.",
                    k8s.WORKLOADS, k8s.no_privileged_containers),
    # Kubernetes: operability
    resource_policy("k8s-probes", "Long-running containers have readiness and liveness probes.",
                    k8s.LONG_RUNNING_WORKLOADS, k8s.probes),
    resource_policy("k8s-resources", "Every container sets CPU and memory requests and limits.",
                    k8s.WORKLOADS, k8s.container_resources),
    resource_policy("k8s-image-pinned",
                    "Images are pinned by a version tag or digest, never latest or untagged.",
                    k8s.WORKLOADS, k8s.image_pinned),
    # Kubernetes: isolation
    resource_policy("k8s-namespace-pod-security", "Namespaces carry a Pod Security enforce label.",
                    (k8s.NAMESPACE,), k8s.namespace_pod_security),
    stack_policy("k8s-application-namespaces-restricted",
                 "Namespaces with this program's workloads enforce the restricted Pod Security level.",
                 stack_rules.application_namespaces_restricted),
    stack_policy("k8s-default-deny-network-policy",
                 "Every application namespace has default-deny Ingress and Egress NetworkPolicies.",
                 stack_rules.default_deny_network_policy),
    resource_policy("k8s-no-host-namespaces",
                    "Pods share no host network, PID or IPC namespace, nor host ports.",
                    k8s.WORKLOADS, k8s.no_host_namespaces),
    resource_policy("k8s-no-host-path", "Pods mount no hostPath volume.",
                    k8s.WORKLOADS, k8s.no_host_path),
    resource_policy("k8s-no-default-namespace", "Namespaced objects never land in the default namespace.",
                    k8s.NAMESPACED_KINDS, k8s.no_default_namespace),
    resource_policy("k8s-ingress-tls", "Every Ingress serves all its hosts over TLS.",
                    (k8s.INGRESS,), k8s.ingress_tls),
    resource_policy("k8s-helm-chart-pinned",
                    "Helm charts are pinned to an exact version from an https:// or oci:// repository.",
                    k8s.HELM_RELEASE_TYPES, k8s.helm_chart_pinned),
    # Kubernetes: secrets
    resource_policy("k8s-no-secrets-in-config-maps",
                    "ConfigMaps hold no passwords, tokens, keys or credential URLs.",
                    (k8s.CONFIG_MAP,), k8s.no_secrets_in_config_maps),
    resource_policy("k8s-no-secret-env-literals",
                    "Secret-looking environment variables come from Secrets, never literals.",
                    k8s.WORKLOADS, k8s.no_secret_env_literals),
)

POLICIES_BY_NAME = {p.name: p for p in POLICIES}
assert len(POLICIES_BY_NAME) == len(POLICIES), "policy names must be unique"
