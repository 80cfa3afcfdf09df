"""The Storefront component: what the shop's pods, Services, autoscalers, budgets and Ingress are."""

from __future__ import annotations

import pytest

from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.k8s.storefront import GUNICORN_GRACEFUL_TIMEOUT_SECONDS
from dhakacart_infra.plan.mocks import contains_secret, is_secret, reveal
from tests.infra.k8s.conftest import DATABASE_URL, IMAGE, Size
from tests.infra.k8s.kube import (
    CONFIG_MAP,
    INGRESS,
    JOB,
    NAMESPACE,
    PDB,
    SECRET,
    SERVICE,
    SERVICE_ACCOUNT,
    container,
    deployment,
    hpa,
    named,
    pod_spec,
    replicas_after,
)

COMPONENTS = ("web", "api")


# --- namespace, account, secrets ------------------------------------------------------------------

def test_the_namespace_enforces_audits_and_warns_on_the_restricted_standard(shop_plan):
    labels = named(shop_plan, NAMESPACE, "dhakacart").revealed()["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"]


def test_the_service_account_mounts_no_token(shop_plan):
    account = named(shop_plan, SERVICE_ACCOUNT, "dhakacart").revealed()
    assert account["automountServiceAccountToken"] is False
    for component in COMPONENTS:
        spec = pod_spec(shop_plan, component)
        assert spec["serviceAccountName"] == "dhakacart"
        assert spec["automountServiceAccountToken"] is False


def test_the_app_has_no_kubernetes_api_rights(shop_plan):
    bindings = [r for r in shop_plan.resources if r.type.endswith(("RoleBinding", ":ClusterRoleBinding"))]
    assert bindings == []


def test_the_secret_holds_the_database_url_and_a_generated_key_as_pulumi_secrets(shop_plan):
    secret = shop_plan.one(SECRET)
    assert is_secret(secret.inputs["stringData"])
    data = reveal(secret.inputs["stringData"])
    assert data["DATABASE_URL"] == DATABASE_URL
    assert "sslmode=require" in data["DATABASE_URL"]
    password = shop_plan.one("random:index/randomPassword:RandomPassword")
    assert password.revealed()["length"] == 64
    assert len(data["SECRET_KEY"]) == 64
    assert password.parent_name == "shop"


def test_secret_values_reach_containers_only_through_secret_key_refs(shop_plan):
    job_container = shop_plan.one(JOB).revealed()["spec"]["template"]["spec"]["containers"][0]
    for c in (container(shop_plan, "web"), container(shop_plan, "api"), job_container):
        env = {e["name"]: e for e in c["env"]}
        for key in ("DATABASE_URL", "SECRET_KEY"):
            assert "value" not in env[key]
            assert env[key]["valueFrom"]["secretKeyRef"]["key"] == key
        assert [src["configMapRef"]["name"] for src in c["envFrom"]]
    # No secret value appears anywhere but in the Secret.
    for record in shop_plan.kubernetes_objects():
        if record.type != SECRET:
            assert "s3cr3t-pw" not in repr(record.revealed()), record.name
            assert not contains_secret(record.inputs), record.name


def test_the_config_map_carries_the_rest_of_the_environment(shop_plan):
    data = shop_plan.one(CONFIG_MAP).revealed()["data"]
    assert data == {
        "DHAKACART_ENV": "production",
        "LOG_LEVEL": "INFO",
        "CORS_ORIGINS": "https://13-232-10-20.sslip.io",
        "METRICS_PORT": "9102",
        "PROMETHEUS_MULTIPROC_DIR": "/tmp/prometheus",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "30",
        "TRUSTED_PROXY_HOPS": "1",
    }


@pytest.mark.parametrize("sizes", [
    {"web": Size(0, 3), "api": Size(1, 3)},
    {"web": Size(3, 8), "api": Size(4, 3)},
])
def test_replica_bounds_that_cannot_work_are_refused_naming_the_argument(run_shop, sizes):
    with pytest.raises(ComponentInputError, match=r"Storefront: (web|api) replicas .*min_replicas") as caught:
        run_shop(sizes=sizes)
    assert "dhakacart:" not in str(caught.value)  # a component never names a config key


# --- migrations -------------------------------------------------------------------------------------

def test_the_migration_job_runs_flask_db_upgrade_in_the_app_directory(shop_plan):
    job = shop_plan.one(JOB).revealed()
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == ["flask", "--app", "dhakacart", "db", "upgrade"]
    assert c["workingDir"] == "/app"
    assert c["image"] == IMAGE
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_the_migration_job_is_bounded_and_stays_visible_until_pulumi_saw_it_finish(shop_plan):
    spec = shop_plan.one(JOB).revealed()["spec"]
    assert 1 <= spec["backoffLimit"] <= 6
    assert 0 < spec["activeDeadlineSeconds"] <= 1800
    assert "ttlSecondsAfterFinished" not in spec


def test_the_migration_job_runs_under_the_same_restrictions_as_the_app(shop_plan):
    spec = shop_plan.one(JOB).revealed()["spec"]["template"]["spec"]
    web = pod_spec(shop_plan, "web")
    assert spec["securityContext"] == web["securityContext"]
    assert spec["containers"][0]["securityContext"] == web["containers"][0]["securityContext"]
    assert spec["automountServiceAccountToken"] is False


def test_the_migration_waits_for_the_secret_and_its_network_policy(shop_plan):
    job = shop_plan.one(JOB)
    assert shop_plan.waits_for(job, shop_plan.one(SECRET))
    policy = named(shop_plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow-migration-to-database")
    assert shop_plan.waits_for(job, policy)


@pytest.mark.parametrize("component", COMPONENTS)
def test_deployments_roll_out_only_after_the_migration_job(shop_plan, component):
    record = named(shop_plan, "kubernetes:apps/v1:Deployment", f"dhakacart-{component}")
    assert shop_plan.one(JOB).urn in record.dependencies


# --- workloads ------------------------------------------------------------------------------------

@pytest.mark.parametrize("component", COMPONENTS)
def test_workloads_run_the_configured_image_with_their_component_labels(shop_plan, component):
    d = deployment(shop_plan, component)
    assert d["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "dhakacart", "app.kubernetes.io/component": component}
    labels = d["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == component
    assert labels["app.kubernetes.io/version"] == "1.4.2"
    assert container(shop_plan, component)["image"] == IMAGE


@pytest.mark.parametrize("component", COMPONENTS)
def test_probes_use_the_apps_health_endpoints(shop_plan, component):
    c = container(shop_plan, component)
    assert c["startupProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # Liveness must be more patient than readiness: a slow database should not restart pods.
    live, ready = c["livenessProbe"], c["readinessProbe"]
    patience = live["periodSeconds"] * live["failureThreshold"]
    assert patience > ready["periodSeconds"] * ready["failureThreshold"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_ports_are_named_http_and_metrics(shop_plan, component):
    ports = {p["name"]: p["containerPort"] for p in container(shop_plan, component)["ports"]}
    assert ports == {"http": 8000, "metrics": 9102}


@pytest.mark.parametrize("component", COMPONENTS)
def test_requests_and_limits_come_from_the_sizing(shop_plan, component):
    assert container(shop_plan, component)["resources"] == {
        "requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"cpu": "500m", "memory": "384Mi"}}


@pytest.mark.parametrize("component", COMPONENTS)
def test_the_security_context_is_restricted(shop_plan, component):
    spec = pod_spec(shop_plan, component)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(shop_plan, component)["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("component", COMPONENTS)
def test_tmp_is_a_writable_empty_dir(shop_plan, component):
    spec = pod_spec(shop_plan, component)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert volumes[mounts["/tmp"]]["emptyDir"]["sizeLimit"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_pods_spread_over_nodes_and_zones_but_still_schedule_on_one_node(shop_plan, component):
    constraints = pod_spec(shop_plan, component)["topologySpreadConstraints"]
    keys = {c["topologyKey"] for c in constraints}
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    for c in constraints:
        assert c["whenUnsatisfiable"] == "ScheduleAnyway"
        assert c["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == component
        # Tainted nodes the pods cannot use (dedicated servers) must not count as empty domains.
        assert c["nodeTaintsPolicy"] == "Honor"


@pytest.mark.parametrize("component", COMPONENTS)
def test_rolling_updates_never_go_below_the_current_capacity(shop_plan, component):
    strategy = deployment(shop_plan, component)["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1


@pytest.mark.parametrize("component", COMPONENTS)
def test_a_pre_stop_pause_drains_the_pod_before_gunicorn_stops(shop_plan, component):
    spec = pod_spec(shop_plan, component)
    pause = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pause >= 5
    graceful = int(shop_plan.one(CONFIG_MAP).revealed()["data"]["GUNICORN_GRACEFUL_TIMEOUT"])
    assert graceful == GUNICORN_GRACEFUL_TIMEOUT_SECONDS
    assert spec["terminationGracePeriodSeconds"] > pause + graceful


@pytest.mark.parametrize("component", COMPONENTS)
def test_the_hpa_owns_the_replica_count(shop_plan, component):
    assert "replicas" not in deployment(shop_plan, component)["spec"]


# --- services, autoscaling, disruption budgets ------------------------------------------------------

@pytest.mark.parametrize("component", COMPONENTS)
def test_services_expose_http_and_metrics_to_the_component(shop_plan, component):
    svc = named(shop_plan, SERVICE, f"dhakacart-{component}").revealed()["spec"]
    assert svc["type"] == "ClusterIP"
    assert svc["selector"] == {
        "app.kubernetes.io/name": "dhakacart", "app.kubernetes.io/component": component}
    assert {p["name"]: (p["port"], p["targetPort"]) for p in svc["ports"]} == {
        "http": (8000, "http"), "metrics": (9102, "metrics")}


@pytest.mark.parametrize(("component", "cpu", "memory", "minimum", "maximum"), [
    ("api", 70, 80, 3, 10),
    ("web", 75, 85, 3, 8),
])
def test_autoscalers_target_cpu_and_memory_within_the_configured_bounds(
    shop_plan, component, cpu, memory, minimum, maximum
):
    spec = hpa(shop_plan, component)["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": f"dhakacart-{component}"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (minimum, maximum)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in spec["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": cpu},
        "memory": {"type": "Utilization", "averageUtilization": memory},
    }


@pytest.mark.parametrize("component", COMPONENTS)
def test_autoscalers_can_reach_their_maximum_within_a_minute(shop_plan, component):
    spec = hpa(shop_plan, component)["spec"]
    scale_up = spec["behavior"]["scaleUp"]
    assert scale_up["stabilizationWindowSeconds"] == 0
    assert replicas_after(60, spec["minReplicas"], spec["maxReplicas"], scale_up) == spec["maxReplicas"]


def test_the_reach_check_would_notice_a_scale_up_that_is_too_slow():
    slow = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    assert replicas_after(60, 3, 10, slow) == 4


@pytest.mark.parametrize("component", COMPONENTS)
def test_autoscalers_scale_down_gently(shop_plan, component):
    down = hpa(shop_plan, component)["spec"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] >= 120
    for policy in down["policies"]:
        assert policy["periodSeconds"] >= 60
        assert (policy["type"] == "Percent" and policy["value"] <= 50) or (policy["type"] == "Pods")


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_deployment_has_a_disruption_budget(shop_plan, component):
    spec = named(shop_plan, PDB, f"dhakacart-{component}").revealed()["spec"]
    selected = deployment(shop_plan, component)["spec"]["selector"]["matchLabels"]
    assert spec["selector"]["matchLabels"] == selected
    assert spec.get("maxUnavailable") == 1 or spec.get("minAvailable") == 1


# --- ingress --------------------------------------------------------------------------------------

def test_the_ingress_serves_tls_from_the_cluster_issuer(shop_plan):
    ingress = shop_plan.one(INGRESS).revealed()
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-production"
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["tls"] == [{"hosts": ["13-232-10-20.sslip.io"], "secretName": "dhakacart-tls"}]


def test_the_ingress_applies_the_redirect_and_header_middlewares(shop_plan):
    annotation = shop_plan.one(INGRESS).revealed()["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"]
    assert annotation == "dhakacart-https-redirect@kubernetescrd,dhakacart-security-headers@kubernetescrd"


def test_the_ingress_routes_api_and_health_to_api_and_the_rest_to_web(shop_plan):
    rule = shop_plan.one(INGRESS).revealed()["spec"]["rules"][0]
    assert rule["host"] == "13-232-10-20.sslip.io"
    routes = {(p["path"], p["pathType"]): p["backend"]["service"] for p in rule["http"]["paths"]}
    assert routes[("/api", "Prefix")]["name"] == "dhakacart-api"
    assert routes[("/healthz", "Exact")]["name"] == "dhakacart-api"
    assert routes[("/readyz", "Exact")]["name"] == "dhakacart-api"
    assert routes[("/", "Prefix")]["name"] == "dhakacart-web"
    assert {s["port"]["name"] for s in routes.values()} == {"http"}


def test_the_ingress_waits_for_the_cluster_issuer(shop_plan):
    ingress = shop_plan.one(INGRESS)
    issuer = shop_plan.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    assert issuer.urn in ingress.dependencies
    assert shop_plan.waits_for(ingress, shop_plan.one("kubernetes:helm.sh/v3:Release"))


def test_a_configured_domain_is_the_ingress_host(run_shop):
    plan = run_shop(domain_name="shop.dhakacart.com")
    assert plan.one(INGRESS).revealed()["spec"]["rules"][0]["host"] == "shop.dhakacart.com"
    assert plan.outputs["storefrontUrl"] == "https://shop.dhakacart.com"


# --- outputs and providers ------------------------------------------------------------------------

def test_outputs_are_the_urls_and_the_namespace(shop_plan):
    assert shop_plan.outputs == {
        "storefrontUrl": "https://13-232-10-20.sslip.io",
        "apiUrl": "https://13-232-10-20.sslip.io/api",
        "namespace": "dhakacart",
    }


def test_every_kubernetes_resource_uses_the_k3s_provider(shop_plan):
    provider = shop_plan.one("pulumi:providers:kubernetes", "k3s")
    kube = [r for r in shop_plan.resources if r.type.startswith("kubernetes:")]
    assert len(kube) > 20
    for record in kube:
        assert record.provider_urn == provider.urn, f"{record.type} {record.name} uses {record.provider!r}"


def test_every_object_carries_the_recommended_labels(shop_plan):
    for record in shop_plan.kubernetes_objects():
        labels = record.revealed()["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/managed-by") == "pulumi", record.name
        assert labels.get("app.kubernetes.io/part-of") == "dhakacart", record.name


def test_the_shop_does_not_wait_for_cert_manager_except_through_the_ingress(shop_plan):
    release = shop_plan.one("kubernetes:helm.sh/v3:Release")
    for component in COMPONENTS:
        record = named(shop_plan, "kubernetes:apps/v1:Deployment", f"dhakacart-{component}")
        assert not shop_plan.waits_for(record, release)
    assert not shop_plan.waits_for(shop_plan.one(JOB), release)
    # ...while the same check does see the Ingress's chain to it.
    assert shop_plan.waits_for(shop_plan.one(INGRESS), release)
