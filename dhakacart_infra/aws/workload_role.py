"""An IAM role for exactly one Kubernetes ServiceAccount (per-pod identity, the IRSA pattern on K3s).

The cluster's API server signs the ServiceAccount tokens the pod identity webhook projects into a
pod (k8s/pod_identity.py); STS trusts them through the IAM OIDC provider of the cluster's issuer
(service_account_issuer.py). Each role's trust policy names one namespace and one ServiceAccount
(`<issuer>:sub`) and the audience (`<issuer>:aud`), so no other pod can assume it; its one inline
policy names only its workload's own resources. Nothing runs with a node's instance role any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..errors import ComponentInputError
from .iam import policy_document

# The audience the webhook puts into the projected token (its --token-audience), and STS checks.
STS_AUDIENCE = "sts.amazonaws.com"
# The ServiceAccount annotation the pod identity webhook reads (its --annotation-prefix + /role-arn).
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
IAM_ROLE_NAME_LIMIT = 64


@dataclass(frozen=True)
class ServiceAccountRef:
    namespace: str
    name: str

    @property
    def subject(self) -> str:
        """The `sub` claim of this ServiceAccount's tokens."""
        return f"system:serviceaccount:{self.namespace}:{self.name}"


@dataclass
class ServiceAccountTrust:
    """What a WorkloadRole trusts: the cluster's issuer (ServiceAccountIssuer), and the prefix of the
    stack's role names. The program makes one and hands it to every component that grants a workload
    access; it refuses a second role of the same name, which AWS would otherwise report only at
    `pulumi up` (EntityAlreadyExists), or not at all if one trust policy silently replaced another."""

    name_prefix: str
    oidc_provider_arn: pulumi.Input[str]
    issuer_host: pulumi.Input[str]
    _claimed: dict[str, ServiceAccountRef] = field(default_factory=dict, repr=False)

    def role_args(
        self, workload: str, service_account: ServiceAccountRef, description: str, policy: pulumi.Input[str]
    ) -> WorkloadRoleArgs:
        role_name = f"{self.name_prefix}-{workload}"
        if role_name in self._claimed:
            raise ComponentInputError(
                f"WorkloadRole: role name {role_name!r} is already taken by the ServiceAccount "
                f"{self._claimed[role_name].subject}; every workload needs a role of its own"
            )
        self._claimed[role_name] = service_account
        return WorkloadRoleArgs(
            role_name=role_name,
            description=description,
            service_account=service_account,
            oidc_provider_arn=self.oidc_provider_arn,
            issuer_host=self.issuer_host,
            policy=policy,
        )


@dataclass
class WorkloadRoleArgs:
    role_name: str
    """The role's full IAM name (`<namePrefix>-<workload>`): one per workload, unique in the account."""
    description: str
    service_account: ServiceAccountRef
    oidc_provider_arn: pulumi.Input[str]
    issuer_host: pulumi.Input[str]
    """The issuer URL without `https://` (the condition keys' prefix)."""
    policy: pulumi.Input[str]
    """The workload's permissions: a policy document naming its own resources only."""


def web_identity_trust_policy(provider_arn: str, issuer_host: str, service_account: ServiceAccountRef) -> str:
    """Only tokens of this one ServiceAccount, minted for STS, may assume the role."""
    return policy_document(
        {
            "Sid": "OneServiceAccount",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer_host}:sub": service_account.subject,
                    f"{issuer_host}:aud": STS_AUDIENCE,
                }
            },
        }
    )


def _checked_role_name(role_name: str, owner: str) -> str:
    if not role_name or len(role_name) > IAM_ROLE_NAME_LIMIT:
        raise ComponentInputError(
            f"WorkloadRole {owner}: role name {role_name!r} must be 1 to {IAM_ROLE_NAME_LIMIT} characters; "
            "shorten namePrefix"
        )
    return role_name


class WorkloadRole(pulumi.ComponentResource):
    """The role and its policy; `role_arn` resolves once both exist (annotate the ServiceAccount with it)."""

    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        sa = args.service_account
        if not sa.namespace or not sa.name:
            raise ComponentInputError(
                f"WorkloadRole {name}: a role is for one ServiceAccount; give both its namespace and name"
            )
        _checked_role_name(args.role_name, name)
        super().__init__("dhakacart:aws:WorkloadRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            description=args.description,
            assume_role_policy=pulumi.Output.all(args.oidc_provider_arn, args.issuer_host).apply(
                lambda v: web_identity_trust_policy(v[0], v[1], sa)
            ),
            # Web identity sessions of an hour; the SDKs refresh them from the projected token.
            max_session_duration=3600,
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(f"{name}-policy", role=self.role.id, policy=args.policy, opts=child)
        # A pod annotated with the ARN must find its permissions in place when it starts.
        self.role_arn = pulumi.Output.all(self.role.arn, self.policy.id).apply(lambda v: v[0])
        self.role_name = self.role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
