"""cert-manager from its chart, a Let's Encrypt ClusterIssuer after it, staging in dev."""

from __future__ import annotations

import pytest

from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.k8s.tls import ACME_SERVERS, CERT_MANAGER_CHART_VERSION

RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER_ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"


def test_cert_manager_comes_from_the_official_chart_at_a_pinned_version(shop_plan):
    release = shop_plan.one(RELEASE).revealed()
    assert release["chart"] == "cert-manager"
    assert release["repositoryOpts"] == {"repo": "https://charts.jetstack.io"}
    assert release["version"] == CERT_MANAGER_CHART_VERSION
    assert CERT_MANAGER_CHART_VERSION.startswith("v1.")
    assert release["namespace"] == "cert-manager"


def test_crds_are_installed_through_the_current_value_and_kept(shop_plan):
    values = shop_plan.one(RELEASE).revealed()["values"]
    assert values["crds"] == {"enabled": True, "keep": True}
    assert "installCRDs" not in values


def test_the_release_waits_for_its_workloads(shop_plan):
    release = shop_plan.one(RELEASE).revealed()
    assert release.get("skipAwait", False) is False
    assert release["atomic"] is True


def test_every_cert_manager_workload_has_resources(shop_plan):
    values = shop_plan.one(RELEASE).revealed()["values"]
    for section in (values, values["webhook"], values["cainjector"], values["startupapicheck"]):
        assert section["resources"]["requests"]["memory"]
        assert section["resources"]["limits"]["memory"]


def test_cert_manager_does_not_create_a_servicemonitor(shop_plan):
    # The shop must not depend on the Prometheus operator's CRDs; monitoring scrapes cert-manager.
    assert shop_plan.one(RELEASE).revealed()["values"]["prometheus"]["servicemonitor"]["enabled"] is False


def test_cert_manager_namespace_enforces_the_restricted_pod_security_standard(shop_plan):
    ns = shop_plan.one("kubernetes:core/v1:Namespace", "tls-namespace").revealed()["metadata"]
    assert ns["name"] == "cert-manager"
    assert ns["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_release_is_installed_into_the_namespace_after_it_exists(shop_plan):
    release = shop_plan.one(RELEASE)
    namespace = shop_plan.one("kubernetes:core/v1:Namespace", "tls-namespace")
    assert shop_plan.waits_for(release, namespace)


def test_the_cluster_issuer_waits_for_the_cert_manager_release(shop_plan):
    issuer = shop_plan.one(CLUSTER_ISSUER)
    release = shop_plan.one(RELEASE)
    assert release.urn in issuer.dependencies


def test_prod_issues_from_lets_encrypt_production(shop_plan):
    issuer = shop_plan.one(CLUSTER_ISSUER).revealed()
    assert issuer["metadata"]["name"] == "letsencrypt-production"
    assert issuer["spec"]["acme"]["server"] == "https://acme-v02.api.letsencrypt.org/directory"


def test_dev_issues_from_lets_encrypt_staging(staging_shop_plan):
    issuer = staging_shop_plan.one(CLUSTER_ISSUER).revealed()
    assert issuer["metadata"]["name"] == "letsencrypt-staging"
    assert issuer["spec"]["acme"]["server"] == ACME_SERVERS["letsencrypt-staging"]
    assert "staging" in issuer["spec"]["acme"]["server"]


def test_challenges_are_http01_through_traefik(shop_plan):
    acme = shop_plan.one(CLUSTER_ISSUER).revealed()["spec"]["acme"]
    assert acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
    assert acme["email"] == "ops@dhakacart.example"
    assert acme["privateKeySecretRef"]["name"]


def test_an_acme_email_that_is_not_an_address_is_refused_before_anything_is_declared(component_root):
    import pulumi
    import pulumi_kubernetes as k8s

    from dhakacart_infra.k8s.tls import STAGING_ISSUER, Tls, TlsArgs
    from dhakacart_infra.plan.runner import run_program

    def program():
        provider = k8s.Provider("k3s", kubeconfig="x")
        Tls("tls", TlsArgs(acme_email="not-an-email", issuer_name=STAGING_ISSUER),
            opts=pulumi.ResourceOptions(provider=provider))

    with pytest.raises(ComponentInputError, match="Tls: acme_email 'not-an-email'"):
        run_program("components", root=component_root, program=program)


def test_middlewares_redirect_to_https_and_set_security_headers(shop_plan):
    middlewares = {r.revealed()["metadata"]["name"]: r.revealed()
                   for r in shop_plan.of_type("kubernetes:traefik.io/v1alpha1:Middleware")}
    assert middlewares["https-redirect"]["spec"] == {"redirectScheme": {"scheme": "https", "permanent": True}}
    headers = middlewares["security-headers"]["spec"]["headers"]
    assert headers["stsSeconds"] >= 15_552_000  # at least 180 days
    assert headers["contentTypeNosniff"] is True
    assert headers["frameDeny"] is True
    assert headers["referrerPolicy"]
    assert {m["metadata"]["namespace"] for m in middlewares.values()} == {"dhakacart"}

