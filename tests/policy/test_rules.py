"""Each policy fires on a minimal bad resource and passes on a good one (one row per policy)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dhakacart_infra.policy.aws_rules import with_provider_default_tags
from dhakacart_infra.policy.kubernetes_rules import image_reference_problem, is_secret_name
from dhakacart_infra.policy.plain_data import UNKNOWN
from dhakacart_infra.policy.registry import POLICIES, POLICIES_BY_NAME, resource_policy, stack_policy
from dhakacart_infra.policy.stack_rules import StackResource, StackViolation

TAGS = {"project": "dhakacart", "environment": "dev", "stack": "dev", "managed-by": "pulumi"}
PROD_TAGS = {**TAGS, "environment": "prod", "stack": "prod"}


def container(**overrides: Any) -> dict[str, Any]:
    c = {
        "name": "web",
        "image": "ghcr.io/dhakacart/shop:1.4.2",
        "ports": [{"name": "http", "containerPort": 8000}],
        "env": [
            {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}},
            {"name": "LOG_LEVEL", "value": "info"},
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz/live", "port": "http"}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    c.update(overrides)
    return c


def deployment(pod_overrides: dict[str, Any] | None = None, **container_overrides: Any) -> dict[str, Any]:
    pod = {
        "containers": [container(**container_overrides)],
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    pod.update(pod_overrides or {})
    return {
        "metadata": {"name": "dhakacart-web", "namespace": "dhakacart"},
        "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod}},
    }


def security_context(**changes: Any) -> dict[str, Any]:
    ctx = copy.deepcopy(container()["securityContext"])
    ctx.update(changes)
    return ctx


DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
GOOD_RELEASE = {
    "chart": "kube-prometheus-stack",
    "version": "79.7.1",
    "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
    "namespace": "monitoring",
}
INSTANCE = "aws:ec2/instance:Instance"
RDS = "aws:rds/instance:Instance"
SG = "aws:ec2/securityGroup:SecurityGroup"
GOOD_INSTANCE = {
    "rootBlockDevice": {"encrypted": True, "volumeSize": 30},
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
    "tags": TAGS,
}
GOOD_RDS = {
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "multiAz": True,
    "deletionProtection": True,
    "backupRetentionPeriod": 7,
    "skipFinalSnapshot": False,
    "performanceInsightsEnabled": True,
    "tags": TAGS,
}
PROD_RDS = {**GOOD_RDS, "tags": PROD_TAGS}
HTTPS_INGRESS = {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
GOOD_INGRESS = {
    "metadata": {"name": "shop", "namespace": "dhakacart"},
    "spec": {
        "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
        "rules": [{"host": "shop.example.com"}],
    },
}

# (policy, resource type, stack, good props, bad props)
RESOURCE_CASES: list[tuple[str, str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "aws-ebs-encrypted",
        INSTANCE,
        "dev",
        GOOD_INSTANCE,
        {**GOOD_INSTANCE, "rootBlockDevice": {"encrypted": False}},
    ),
    ("aws-ebs-encrypted", "aws:ec2/volume:Volume", "dev", {"encrypted": True}, {"size": 10}),
    (
        "aws-ebs-encrypted",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "dev",
        {"blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"encrypted": "true"}}]},
        {"blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"encrypted": "false"}}]},
    ),
    ("aws-rds-storage-encrypted", RDS, "dev", GOOD_RDS, {**GOOD_RDS, "storageEncrypted": False}),
    (
        "aws-log-group-kms-encrypted",
        "aws:cloudwatch/logGroup:LogGroup",
        "dev",
        {"kmsKeyId": "arn:aws:kms:ap-south-1:123456789012:key/k", "retentionInDays": 30},
        {"retentionInDays": 30},
    ),
    (
        "aws-log-group-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        "dev",
        {"kmsKeyId": "k", "retentionInDays": 30},
        {"kmsKeyId": "k"},
    ),
    ("aws-kms-key-rotation", "aws:kms/key:Key", "dev", {"enableKeyRotation": True}, {"description": "rds"}),
    ("aws-rds-not-public", RDS, "dev", GOOD_RDS, {**GOOD_RDS, "publiclyAccessible": True}),
    (
        "aws-security-group-no-world-open-ports",
        SG,
        "dev",
        {"ingress": [HTTPS_INGRESS]},
        {"ingress": [HTTPS_INGRESS, {**HTTPS_INGRESS, "fromPort": 22, "toPort": 22}]},
    ),
    (
        "aws-security-group-no-world-open-ports",
        SG,
        "dev",
        {"ingress": [{**HTTPS_INGRESS, "fromPort": 6443, "toPort": 6443, "cidrBlocks": ["203.0.113.7/32"]}]},
        {"ingress": [{**HTTPS_INGRESS, "protocol": "-1", "fromPort": 0, "toPort": 0}]},
    ),
    (
        "aws-security-group-no-world-open-ports",
        "aws:ec2/securityGroupRule:SecurityGroupRule",
        "dev",
        {"type": "ingress", "protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["0.0.0.0/0"]},
        {"type": "ingress", "protocol": "tcp", "fromPort": 80, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]},
    ),
    (
        "aws-security-group-no-world-open-ports",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "dev",
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv6": "::/0"},
        {"ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432, "cidrIpv6": "::/0"},
    ),
    (
        "aws-subnet-no-auto-public-ip",
        "aws:ec2/subnet:Subnet",
        "dev",
        {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": False},
        {"cidrBlock": "10.0.0.0/24", "mapPublicIpOnLaunch": True},
    ),
    (
        "aws-ec2-imdsv2",
        INSTANCE,
        "dev",
        GOOD_INSTANCE,
        {**GOOD_INSTANCE, "metadataOptions": {"httpTokens": "optional"}},
    ),
    (
        "aws-iam-no-wildcard-actions",
        "aws:iam/rolePolicy:RolePolicy",
        "dev",
        {
            "policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}]}'
        },
        {
            "policy": '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", '
            '"Resource": "*"}]}'
        },
    ),
    ("aws-rds-multi-az-in-production", RDS, "prod", PROD_RDS, {**PROD_RDS, "multiAz": False}),
    (
        "aws-rds-deletion-protection-in-production",
        RDS,
        "prod",
        PROD_RDS,
        {**PROD_RDS, "deletionProtection": False},
    ),
    ("aws-rds-backups-in-production", RDS, "prod", PROD_RDS, {**PROD_RDS, "backupRetentionPeriod": 1}),
    ("aws-rds-performance-insights-in-production", RDS, "prod", PROD_RDS,
     {**PROD_RDS, "performanceInsightsEnabled": False}),
    ("aws-rds-backups-in-production", RDS, "prod", PROD_RDS, {**PROD_RDS, "skipFinalSnapshot": True}),
    (
        "aws-required-tags",
        "aws:ec2/vpc:Vpc",
        "dev",
        {"cidrBlock": "10.0.0.0/16", "tagsAll": TAGS},
        {"cidrBlock": "10.0.0.0/16", "tags": {"Name": "x"}},
    ),
    ("aws-required-tags", "aws:ec2/vpc:Vpc", "dev", {"tags": TAGS}, {"tags": {**TAGS, "stack": "prod"}}),
    (
        "k8s-run-as-non-root",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment({"securityContext": {}}, securityContext=security_context(runAsNonRoot=None)),
    ),
    (
        "k8s-run-as-non-root",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(securityContext=security_context(runAsUser=0)),
    ),
    (
        "k8s-no-privilege-escalation",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(securityContext=security_context(allowPrivilegeEscalation=True)),
    ),
    (
        "k8s-drop-all-capabilities",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(securityContext=security_context(capabilities={"drop": ["NET_RAW"]})),
    ),
    (
        "k8s-drop-all-capabilities",
        DEPLOYMENT,
        "dev",
        deployment(
            securityContext=security_context(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
        ),
        deployment(securityContext=security_context(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})),
    ),
    (
        "k8s-read-only-root-filesystem",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(securityContext=security_context(readOnlyRootFilesystem=False)),
    ),
    (
        "k8s-seccomp-runtime-default",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(
            {"securityContext": {"runAsNonRoot": True}},
            securityContext=security_context(seccompProfile={"type": "Unconfined"}),
        ),
    ),
    (
        "k8s-no-privileged-containers",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(securityContext=security_context(privileged=True)),
    ),
    ("k8s-probes", DEPLOYMENT, "dev", deployment(), deployment(livenessProbe=None)),
    (
        "k8s-resources",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(resources={"requests": {"cpu": "100m", "memory": "128Mi"}}),
    ),
    ("k8s-image-pinned", DEPLOYMENT, "dev", deployment(), deployment(image="ghcr.io/dhakacart/shop:latest")),
    (
        "k8s-image-pinned",
        "kubernetes:batch/v1:Job",
        "dev",
        deployment(image="registry.local:5000/shop@sha256:" + "a" * 64),
        deployment(image="registry.local:5000/shop"),
    ),
    (
        "k8s-namespace-pod-security",
        "kubernetes:core/v1:Namespace",
        "dev",
        {"metadata": {"name": "dhakacart", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
        {"metadata": {"name": "dhakacart", "labels": {}}},
    ),
    ("k8s-no-host-namespaces", DEPLOYMENT, "dev", deployment(), deployment({"hostNetwork": True})),
    (
        "k8s-no-host-namespaces",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(ports=[{"containerPort": 8000, "hostPort": 8000}]),
    ),
    (
        "k8s-no-host-path",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}),
    ),
    (
        "k8s-no-default-namespace",
        "kubernetes:core/v1:Service",
        "dev",
        {"metadata": {"name": "web", "namespace": "dhakacart"}},
        {"metadata": {"name": "web"}},
    ),
    (
        "k8s-ingress-tls",
        "kubernetes:networking.k8s.io/v1:Ingress",
        "dev",
        GOOD_INGRESS,
        {"metadata": GOOD_INGRESS["metadata"], "spec": {"rules": [{"host": "shop.example.com"}]}},
    ),
    (
        "k8s-ingress-tls",
        "kubernetes:networking.k8s.io/v1:Ingress",
        "dev",
        GOOD_INGRESS,
        {
            "metadata": GOOD_INGRESS["metadata"],
            "spec": {
                **GOOD_INGRESS["spec"],
                "rules": [{"host": "shop.example.com"}, {"host": "admin.example.com"}],
            },
        },
    ),
    (
        "k8s-no-secrets-in-config-maps",
        "kubernetes:core/v1:ConfigMap",
        "dev",
        {
            "metadata": {"namespace": "dhakacart"},
            "data": {"LOG_LEVEL": "info", "SECRET_KEY_FILE": "/run/s/key"},
        },
        {"metadata": {"namespace": "dhakacart"}, "data": {"SECRET_KEY": "hunter2"}},
    ),
    (
        "k8s-no-secrets-in-config-maps",
        "kubernetes:core/v1:ConfigMap",
        "dev",
        {"metadata": {"namespace": "dhakacart"}, "data": {"DATABASE_HOST": "db.internal"}},
        {"metadata": {"namespace": "dhakacart"}, "data": {"DATABASE_URL": "postgresql://shop:pw@db/shop"}},
    ),
    (
        "k8s-no-secret-env-literals",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(env=[{"name": "API_TOKEN", "value": "abc123"}]),
    ),
    (
        "k8s-no-secret-env-literals",
        DEPLOYMENT,
        "dev",
        deployment(),
        deployment(env=[{"name": "DATABASE_URL", "value": "postgresql+psycopg://shop:pw@db:5432/shop"}]),
    ),
    ("k8s-helm-chart-pinned", HELM_RELEASE, "dev", GOOD_RELEASE, {**GOOD_RELEASE, "version": ""}),
    ("k8s-helm-chart-pinned", HELM_RELEASE, "dev", GOOD_RELEASE, {**GOOD_RELEASE, "version": "^79.7.0"}),
    ("k8s-helm-chart-pinned", HELM_RELEASE, "dev", GOOD_RELEASE, {**GOOD_RELEASE, "version": "79.x"}),
    (
        "k8s-helm-chart-pinned",
        HELM_RELEASE,
        "dev",
        GOOD_RELEASE,
        {**GOOD_RELEASE, "repositoryOpts": {"repo": "http://prometheus-community.github.io/helm-charts"}},
    ),
    (
        "k8s-helm-chart-pinned",
        HELM_RELEASE,
        "dev",
        GOOD_RELEASE,
        {"chart": "prometheus-community/kube-prometheus-stack", "version": "79.7.1"},
    ),
    (
        "k8s-helm-chart-pinned",
        "kubernetes:helm.sh/v4:Chart",
        "dev",
        {"chart": "oci://ghcr.io/example/charts/shop", "version": "1.4.2-rc.1"},
        {"chart": "oci://ghcr.io/example/charts/shop"},
    ),
]

S3_BUCKET = StackResource(
    "aws:s3/bucketV2:BucketV2", "backups", "urn:bucket", {"bucket": "dhakacart-backups"}
)
SSE = StackResource(
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "backups-sse",
    "urn:sse",
    {"bucket": UNKNOWN, "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
    {"bucket": ["urn:bucket"]},
)
PAB_FLAGS = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}
PAB = StackResource(
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "backups-pab",
    "urn:pab",
    {"bucket": "dhakacart-backups", **PAB_FLAGS},
)
VPC = StackResource("aws:ec2/vpc:Vpc", "main", "urn:vpc", {"cidrBlock": "10.0.0.0/16"})
FLOW_LOG = StackResource(
    "aws:ec2/flowLog:FlowLog", "main", "urn:fl", {"vpcId": UNKNOWN}, {"vpcId": ["urn:vpc"]}
)
NS_RESTRICTED = StackResource(
    "kubernetes:core/v1:Namespace",
    "dhakacart",
    "urn:ns",
    {"metadata": {"name": "dhakacart", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
)
NS_PRIVILEGED = StackResource(
    "kubernetes:core/v1:Namespace",
    "dhakacart",
    "urn:ns",
    {"metadata": {"name": "dhakacart", "labels": {"pod-security.kubernetes.io/enforce": "privileged"}}},
)
WORKLOAD = StackResource(DEPLOYMENT, "web", "urn:web", deployment())
DENY_ALL = StackResource(
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "deny",
    "urn:deny",
    {
        "metadata": {"name": "default-deny-all", "namespace": "dhakacart"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    },
)
DENY_INGRESS_ONLY = StackResource(
    "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    "deny",
    "urn:deny",
    {
        "metadata": {"name": "default-deny", "namespace": "dhakacart"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    },
)

# (policy, stack, good resources, bad resources)
STACK_CASES: list[tuple[str, str, list[StackResource], list[StackResource]]] = [
    ("aws-s3-encrypted", "dev", [S3_BUCKET, SSE], [S3_BUCKET]),
    (
        "aws-s3-public-access-blocked",
        "dev",
        [S3_BUCKET, PAB],
        [S3_BUCKET, StackResource(PAB.type, PAB.name, PAB.urn, {**PAB.props, "blockPublicPolicy": False})],
    ),
    ("aws-vpc-flow-logs", "dev", [VPC, FLOW_LOG], [VPC]),
    ("k8s-application-namespaces-restricted", "dev", [NS_RESTRICTED, WORKLOAD], [NS_PRIVILEGED, WORKLOAD]),
    ("k8s-application-namespaces-restricted", "dev", [NS_RESTRICTED, WORKLOAD], [WORKLOAD]),
    (
        "k8s-default-deny-network-policy",
        "dev",
        [NS_RESTRICTED, WORKLOAD, DENY_ALL],
        [NS_RESTRICTED, WORKLOAD, DENY_INGRESS_ONLY],
    ),
]


def _case_id(case: tuple) -> str:
    return f"{case[0]}-{case[1].rsplit(':', 1)[-1]}"


@pytest.mark.parametrize("case", RESOURCE_CASES, ids=[_case_id(c) for c in RESOURCE_CASES])
def test_resource_policy_fires_on_bad_and_passes_good(case: tuple) -> None:
    name, resource_type, stack, good, bad = case
    policy = POLICIES_BY_NAME[name]
    assert policy.judge(resource_type, good, stack) == []
    assert policy.judge(resource_type, bad, stack), f"{name} did not fire on {bad}"


@pytest.mark.parametrize("case", STACK_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_policy_fires_on_bad_and_passes_good(case: tuple) -> None:
    name, stack, good, bad = case
    policy = POLICIES_BY_NAME[name]
    assert policy.stack_check is not None
    assert policy.stack_check(good, stack) == []
    assert policy.stack_check(bad, stack), f"{name} did not fire"


def test_every_policy_has_a_bad_and_good_case() -> None:
    covered = {c[0] for c in RESOURCE_CASES} | {c[0] for c in STACK_CASES}
    assert covered == set(POLICIES_BY_NAME)


def test_at_least_25_mandatory_policies_with_descriptions() -> None:
    mandatory = [p for p in POLICIES if p.enforcement == "mandatory"]
    assert len(mandatory) >= 25
    assert all(p.description and (p.check or p.stack_check) for p in POLICIES)
    assert all((p.check is None) != (p.stack_check is None) for p in POLICIES)


@pytest.mark.parametrize(
    "name",
    [
        "aws-rds-multi-az-in-production",
        "aws-rds-deletion-protection-in-production",
        "aws-rds-backups-in-production",
        "aws-rds-performance-insights-in-production",
    ],
)
def test_production_rules_read_the_environment_tag_not_the_stack_name(name: str) -> None:
    weak = {
        **GOOD_RDS,
        "multiAz": False,
        "deletionProtection": False,
        "backupRetentionPeriod": 1,
        "skipFinalSnapshot": True,
        "performanceInsightsEnabled": False,
    }
    policy = POLICIES_BY_NAME[name]
    assert policy.production_only
    assert policy.judge(RDS, weak, "dev") == []
    assert policy.judge(RDS, {**weak, "tags": PROD_TAGS}, "prod")
    staging = {"Project": "dhakacart", "Environment": "prod", "Stack": "staging", "ManagedBy": "pulumi"}
    assert policy.judge(RDS, {**weak, "tagsAll": staging}, "staging")
    prod_test = {**staging, "Environment": "dev", "Stack": "prod-test"}
    assert policy.judge(RDS, {**weak, "tagsAll": prod_test}, "prod-test") == []


def test_a_production_only_resource_policy_must_judge_tagged_aws_types() -> None:
    def always(resource_type: str, props: Any, stack: str) -> list[str]:
        return ["violated"]

    with pytest.raises(ValueError, match="make it a stack policy"):
        resource_policy("k8s-prod-only", "Never fires.", (DEPLOYMENT,), always, production_only=True)
    aws_only = resource_policy("aws-prod-only", "Fires in prod.", (RDS,), always, production_only=True)
    assert aws_only.judge(RDS, PROD_RDS, "staging") == ["violated"]
    assert aws_only.judge(RDS, GOOD_RDS, "prod-test") == []


def test_a_production_only_stack_policy_reads_the_stacks_aws_tags() -> None:
    """Kubernetes objects carry no AWS tags: a production-only rule over them is a stack rule, and
    the stack is production when its AWS resources say so."""
    def every_workload(resources: list[StackResource], stack: str) -> list[StackViolation]:
        return [StackViolation(f"{r.name} in {stack}") for r in resources if r.type == DEPLOYMENT]

    policy = stack_policy("k8s-prod-only", "Judges workloads in prod.", every_workload, production_only=True)
    prod_vpc = StackResource(VPC.type, VPC.name, VPC.urn, {"tagsAll": {**TAGS, "Environment": "prod"}})
    dev_vpc = StackResource(VPC.type, VPC.name, VPC.urn, {"tagsAll": TAGS})
    assert policy.judge_stack([prod_vpc, WORKLOAD], "staging") == [StackViolation("web in staging")]
    assert policy.judge_stack([dev_vpc, WORKLOAD], "prod-test") == []
    assert policy.judge_stack([WORKLOAD], "prod") == []  # no AWS resource: no environment known


def test_policies_ignore_other_resource_types() -> None:
    assert (
        POLICIES_BY_NAME["k8s-probes"].judge("kubernetes:batch/v1:Job", deployment(livenessProbe=None), "dev")
        == []
    )
    assert POLICIES_BY_NAME["aws-rds-storage-encrypted"].judge(INSTANCE, {}, "dev") == []


def test_init_containers_are_judged_for_security_but_need_no_probes() -> None:
    init = container(name="wait", readinessProbe=None, livenessProbe=None)
    good = deployment({"initContainers": [init]})
    assert POLICIES_BY_NAME["k8s-probes"].judge(DEPLOYMENT, good, "dev") == []
    bad = deployment({"initContainers": [container(name="wait", securityContext={})]})
    messages = POLICIES_BY_NAME["k8s-no-privilege-escalation"].judge(DEPLOYMENT, bad, "dev")
    assert messages == ["init container wait: set securityContext.allowPrivilegeEscalation=false"]


def test_cronjob_pod_template_is_found() -> None:
    bad = {
        "metadata": {"namespace": "dhakacart"},
        "spec": {
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [container(image="busybox")]}}}}
        },
    }
    assert POLICIES_BY_NAME["k8s-image-pinned"].judge("kubernetes:batch/v1:CronJob", bad, "dev")


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("nginx", False),
        ("nginx:latest", False),
        ("localhost:5000/shop", False),
        ("nginx:1.27.2", True),
        ("localhost:5000/shop:1.0", True),
        ("ghcr.io/a/b@sha256:" + "0" * 64, True),
        (UNKNOWN, True),
    ],
)
def test_image_references(image: Any, pinned: bool) -> None:
    assert (image_reference_problem(image) is None) is pinned


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("PASSWORD", True),
        ("DB_PASSWORD", True),
        ("SECRET_KEY", True),
        ("apiToken", True),
        ("STRIPE_API_KEY", True),
        ("SECRET_KEY_FILE", False),
        ("KMS_KEY_ID", False),
        ("DATABASE_URL", False),
        ("LOG_LEVEL", False),
        ("METRICS_PORT", False),
        ("MONKEY", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_unknown_values_do_not_pass_a_required_literal() -> None:
    unknown_rds = {**GOOD_RDS, "storageEncrypted": UNKNOWN}
    assert POLICIES_BY_NAME["aws-rds-storage-encrypted"].judge(RDS, unknown_rds, "dev")
    unknown_env = deployment(env=[{"name": "DB_PASSWORD", "value": UNKNOWN}])
    assert POLICIES_BY_NAME["k8s-no-secret-env-literals"].judge(DEPLOYMENT, unknown_env, "dev") == []


def test_provider_default_tags_count_as_the_resources_tags() -> None:
    provider = {
        "defaultTags": '{"tags": {"project": "dhakacart", "environment": "dev", "stack": "dev", '
        '"managed-by": "pulumi"}}'
    }
    props = with_provider_default_tags("aws:ec2/vpc:Vpc", {"tags": {"Name": "main"}}, provider)
    assert props["tagsAll"] == {**TAGS, "Name": "main"}
    assert POLICIES_BY_NAME["aws-required-tags"].judge("aws:ec2/vpc:Vpc", props, "dev") == []
    untaggable = with_provider_default_tags(
        "aws:ec2/routeTableAssociation:RouteTableAssociation", {}, provider
    )
    assert "tagsAll" not in untaggable
    assert (
        POLICIES_BY_NAME["aws-required-tags"].judge(
            "aws:ec2/routeTableAssociation:RouteTableAssociation", untaggable, "dev"
        )
        == []
    )


def test_required_tags_accept_any_casing_of_the_keys() -> None:
    aws_style = {"Project": "dhakacart", "Environment": "dev", "Stack": "dev", "ManagedBy": "pulumi"}
    assert POLICIES_BY_NAME["aws-required-tags"].judge("aws:ec2/vpc:Vpc", {"tagsAll": aws_style}, "dev") == []
    assert POLICIES_BY_NAME["aws-required-tags"].judge(
        "aws:ec2/vpc:Vpc", {"tagsAll": {**aws_style, "ManagedBy": ""}}, "dev"
    )


def test_helm_chart_rule_waits_for_values_unknown_during_preview() -> None:
    policy = POLICIES_BY_NAME["k8s-helm-chart-pinned"]
    assert policy.judge(HELM_RELEASE, {**GOOD_RELEASE, "version": UNKNOWN}, "dev") == []
    assert policy.judge(HELM_RELEASE, {**GOOD_RELEASE, "repositoryOpts": {"repo": UNKNOWN}}, "dev") == []
    (message,) = policy.judge(HELM_RELEASE, {**GOOD_RELEASE, "version": "~1.2"}, "dev")
    assert "kube-prometheus-stack" in message and "exact version" in message
