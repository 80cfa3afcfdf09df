"""The shop as the whole program deploys it, for both stack files: wiring, ordering, dev vs prod."""

from __future__ import annotations

import kubernetes_validate
import pytest

from dhakacart_infra.plan.manifests import is_custom_resource, validate_manifest, write_manifests
from dhakacart_infra.plan.mocks import is_secret, reveal
from dhakacart_infra.plan.runner import read_stack_config
from tests.infra.k8s.kube import (
    CLUSTER_ISSUER,
    INGRESS,
    JOB,
    RELEASE,
    SECRET,
    container,
    hpa,
    named,
    policies,
)

RDS_INSTANCE = "aws:rds/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"


def _k3s_version(stack: str) -> str:
    return read_stack_config(stack).cluster.k3s_version


def test_every_kubernetes_resource_goes_through_the_clusters_provider(stack_plan):
    providers = stack_plan.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 1, [p.name for p in providers]
    [k3s] = providers
    assert reveal(k3s.inputs.get("kubeconfig")), "the provider must get the cluster's kubeconfig"
    kube = [r for r in stack_plan.resources if r.type.startswith("kubernetes:")]
    assert any(r.type == RELEASE for r in kube) and any(r.type == INGRESS for r in kube)
    for record in kube:
        assert record.provider_urn == k3s.urn, f"{record.type} {record.name} does not use the K3s provider"


def test_dev_uses_lets_encrypt_staging_and_prod_production(dev_plan, prod_plan):
    assert dev_plan.one(CLUSTER_ISSUER).revealed()["metadata"]["name"] == "letsencrypt-staging"
    assert prod_plan.one(CLUSTER_ISSUER).revealed()["metadata"]["name"] == "letsencrypt-production"
    for plan, issuer in ((dev_plan, "letsencrypt-staging"), (prod_plan, "letsencrypt-production")):
        annotations = plan.one(INGRESS).revealed()["metadata"]["annotations"]
        assert annotations["cert-manager.io/cluster-issuer"] == issuer


@pytest.mark.parametrize("component", ["web", "api"])
def test_replicas_and_resources_come_from_the_stack_file(stack_plan, component):
    wanted = getattr(read_stack_config(stack_plan.stack).app, component)
    spec = hpa(stack_plan, component)["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (wanted.min_replicas, wanted.max_replicas)
    assert container(stack_plan, component)["resources"] == {
        "requests": {"cpu": wanted.cpu_request, "memory": wanted.memory_request},
        "limits": {"cpu": wanted.cpu_limit, "memory": wanted.memory_limit},
    }


@pytest.mark.parametrize("component", ["web", "api"])
def test_dev_is_smaller_than_prod(dev_plan, prod_plan, component):
    dev, prod = hpa(dev_plan, component)["spec"], hpa(prod_plan, component)["spec"]
    assert dev["maxReplicas"] < prod["maxReplicas"]
    assert dev["minReplicas"] <= prod["minReplicas"]


def test_prod_autoscales_as_the_issue_asks(prod_plan):
    # Two pods per zone at the least (a drain leaves one in every zone), the HPAs' maxima above.
    for component, bounds in (("api", (6, 15)), ("web", (6, 12))):
        spec = hpa(prod_plan, component)["spec"]
        assert (spec["minReplicas"], spec["maxReplicas"]) == bounds


def test_the_app_secret_is_the_databases_tls_connection_url(stack_plan):
    secret = stack_plan.one(SECRET, "shop-app-secret")
    assert is_secret(secret.inputs["stringData"])
    url = reveal(secret.inputs["stringData"])["DATABASE_URL"]
    rds = stack_plan.one(RDS_INSTANCE)
    address = rds.state["address"]
    assert url.startswith("postgresql+psycopg://")
    assert f"@{address}:5432/" in url
    assert url.endswith("?sslmode=require")


def test_database_egress_is_exactly_the_private_subnets(stack_plan):
    private = sorted(
        s.revealed()["cidrBlock"] for s in stack_plan.of_type(SUBNET)
        if s.revealed()["tags"]["Tier"] == "private"
    )
    assert private
    for name in ("allow-app-to-database", "allow-migration-to-database"):
        [rule] = policies(stack_plan)[name]["egress"]
        assert sorted(peer["ipBlock"]["cidr"] for peer in rule["to"]) == private
        assert rule["ports"] == [{"protocol": "TCP", "port": 5432}]


def test_database_then_secret_then_migration_then_deployments(stack_plan):
    rds = stack_plan.one(RDS_INSTANCE)
    secret = stack_plan.one(SECRET, "shop-app-secret")
    job = stack_plan.one(JOB)
    assert stack_plan.waits_for(secret, rds)
    assert stack_plan.waits_for(job, secret)
    for component in ("web", "api"):
        deployment = named(stack_plan, "kubernetes:apps/v1:Deployment", f"dhakacart-{component}")
        assert job.urn in deployment.dependencies


def test_cert_manager_then_cluster_issuer_then_ingress(stack_plan):
    release = stack_plan.one(RELEASE, "tls-cert-manager")
    issuer = stack_plan.one(CLUSTER_ISSUER)
    ingress = stack_plan.one(INGRESS)
    assert release.urn in issuer.dependencies
    assert issuer.urn in ingress.dependencies


def test_the_shop_waits_for_no_helm_release(stack_plan):
    # Not cert-manager (only the Ingress needs it) and not the monitoring stack.
    releases = stack_plan.of_type(RELEASE)
    shop_workloads = [stack_plan.one(JOB), *(
        named(stack_plan, "kubernetes:apps/v1:Deployment", f"dhakacart-{c}") for c in ("web", "api"))]
    for workload in shop_workloads:
        for release in releases:
            assert not stack_plan.waits_for(workload, release), f"{workload.name} waits for {release.name}"


def test_the_cluster_and_the_shop_secret_do_not_wait_for_each_other_beyond_need(stack_plan):
    # The database (RDS) never waits for anything on Kubernetes.
    rds = stack_plan.one(RDS_INSTANCE)
    for record in stack_plan.resources:
        if record.type.startswith("kubernetes:"):
            assert not stack_plan.waits_for(rds, record), record.name


def test_outputs_name_the_shop(dev_plan, prod_plan):
    public_ip = dev_plan.outputs["ingressAddresses"][0]
    assert dev_plan.outputs["storefrontUrl"] == f"https://{public_ip.replace('.', '-')}.sslip.io"
    assert dev_plan.outputs["apiUrl"] == dev_plan.outputs["storefrontUrl"] + "/api"
    domain = read_stack_config("prod").app.domain_name
    assert prod_plan.outputs["storefrontUrl"] == f"https://{domain}"
    assert prod_plan.outputs["apiUrl"] == f"https://{domain}/api"
    for plan in (dev_plan, prod_plan):
        assert plan.outputs["namespace"] == "dhakacart"
        for key in ("storefrontUrl", "apiUrl", "namespace"):
            assert not is_secret(plan.outputs[key])


def test_the_ingress_serves_the_stacks_host_with_tls(stack_plan):
    host = stack_plan.outputs["storefrontUrl"].removeprefix("https://")
    spec = stack_plan.one(INGRESS).revealed()["spec"]
    assert spec["rules"][0]["host"] == host
    assert spec["tls"][0]["hosts"] == [host]


def test_the_image_is_the_configured_one(stack_plan):
    image = read_stack_config(stack_plan.stack).app.app_image
    assert container(stack_plan, "web")["image"] == image
    assert container(stack_plan, "api")["image"] == image
    job = stack_plan.one(JOB).revealed()
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_every_manifest_of_the_stack_is_valid_for_its_pinned_k3s(stack_plan, tmp_path):
    version = _k3s_version(stack_plan.stack)
    written = write_manifests(stack_plan, tmp_path)
    assert len(written.objects) == len(stack_plan.kubernetes_objects())
    import yaml

    failures, validated = [], 0
    for path in written.objects:
        body = yaml.safe_load(path.read_text())
        if is_custom_resource(body):
            continue
        try:
            validate_manifest(body, version)
            validated += 1
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            failures.append(f"{path.name}: {getattr(error, 'message', error)}")
    assert failures == []
    assert validated >= 20
    assert all("Mock" not in p.read_text() for p in [*written.objects, *written.releases])


def test_the_shop_namespace_names_its_environment(dev_plan, prod_plan):
    for plan, environment in ((dev_plan, "dev"), (prod_plan, "prod")):
        labels = named(plan, "kubernetes:core/v1:Namespace", "dhakacart").revealed()["metadata"]["labels"]
        assert labels["dhakacart/environment"] == environment


def test_no_binding_in_the_program_grants_the_shops_service_account_anything(stack_plan):
    # The whole program, not only the shop's component: a binding added by any other component
    # (monitoring, logging) to the app's account or its namespace's accounts would also count.
    shop_accounts = {
        ("ServiceAccount", "dhakacart", "dhakacart"),
        ("Group", "system:serviceaccounts", None),
        ("Group", "system:serviceaccounts:dhakacart", None),
        ("Group", "system:authenticated", None),
    }
    for record in stack_plan.resources:
        if not record.type.endswith(("v1:RoleBinding", "v1:ClusterRoleBinding")):
            continue
        for subject in record.revealed().get("subjects") or []:
            key = (subject.get("kind"), subject.get("name"), subject.get("namespace"))
            assert key not in shop_accounts, f"{record.name} binds {key}"
    account = named(stack_plan, "kubernetes:core/v1:ServiceAccount", "dhakacart").revealed()
    assert account["automountServiceAccountToken"] is False
