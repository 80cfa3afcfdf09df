"""Each Kubernetes resource policy fires on a minimal bad object and passes on a good one."""

from __future__ import annotations

from typing import Any

import pytest

from dhakacart_infra.policy import kubernetes_rules
from dhakacart_infra.policy.kubernetes_rules import image_reference_problem, is_secret_name
from dhakacart_infra.policy.plain_data import UNKNOWN
from dhakacart_infra.policy.registry import POLICIES_BY_NAME
from tests.policy.samples import (
    DEPLOYMENT,
    ResourceCase,
    assert_fires_on_bad_and_passes_good,
    case_id,
    container,
    deployment,
    policies_defined_in,
    security_context,
)

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
GOOD_RELEASE = {
    "chart": "kube-prometheus-stack",
    "version": "79.7.1",
    "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
    "namespace": "monitoring",
}
GOOD_INGRESS = {
    "metadata": {"name": "shop", "namespace": "dhakacart"},
    "spec": {
        "tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
        "rules": [{"host": "shop.example.com"}],
    },
}

KUBERNETES_CASES: list[ResourceCase] = [
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


@pytest.mark.parametrize("case", KUBERNETES_CASES, ids=[case_id(c) for c in KUBERNETES_CASES])
def test_kubernetes_policy_fires_on_bad_and_passes_good(case: ResourceCase) -> None:
    assert_fires_on_bad_and_passes_good(case)


def test_every_kubernetes_resource_policy_has_a_bad_and_good_case() -> None:
    assert {c[0] for c in KUBERNETES_CASES} == policies_defined_in(kubernetes_rules)


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


def test_unknown_values_are_no_secret_literals() -> None:
    unknown_env = deployment(env=[{"name": "DB_PASSWORD", "value": UNKNOWN}])
    assert POLICIES_BY_NAME["k8s-no-secret-env-literals"].judge(DEPLOYMENT, unknown_env, "dev") == []


def test_helm_chart_rule_waits_for_values_unknown_during_preview() -> None:
    policy = POLICIES_BY_NAME["k8s-helm-chart-pinned"]
    assert policy.judge(HELM_RELEASE, {**GOOD_RELEASE, "version": UNKNOWN}, "dev") == []
    assert policy.judge(HELM_RELEASE, {**GOOD_RELEASE, "repositoryOpts": {"repo": UNKNOWN}}, "dev") == []
    (message,) = policy.judge(HELM_RELEASE, {**GOOD_RELEASE, "version": "~1.2"}, "dev")
    assert "kube-prometheus-stack" in message and "exact version" in message
