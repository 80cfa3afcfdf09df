"""Monitoring and logging as the whole program wires them, for both stack files."""

from __future__ import annotations

import json

from dhakacart_infra.plan.manifests import write_manifests
from dhakacart_infra.plan.mocks import contains_secret, is_secret, reveal
from tests.infra.k8s.observability import release
from tests.infra.k8s.observability_helpers import validate_custom_resources

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
MONITORING_COMPONENTS = ("dhakacart:k8s:Monitoring", "dhakacart:k8s:Logging",
                         "dhakacart:k8s:ShopObservability")
SLACK = "https://hooks.slack.com/services/T1/B1/whole-program-test"
SMTP_PASSWORD = "whole-program-smtp-password"


def monitoring_resources(plan):
    components = [r for r in plan.resources if r.type in MONITORING_COMPONENTS]
    assert len(components) == 3
    return components + [r for c in components for r in plan.children_of(c)]


def test_nothing_the_shop_deploys_waits_for_the_monitoring_stack(stack_plan):
    """Not only the Deployments: the migration Job, network policies, Ingress and HPAs neither."""
    monitoring = monitoring_resources(stack_plan)
    (storefront,) = [r for r in stack_plan.resources if r.type == "dhakacart:k8s:Storefront"]
    shop, pending = [], [storefront]
    while pending:
        children = stack_plan.children_of(pending.pop())
        shop += children
        pending += children
    kinds = {r.type for r in shop}
    assert {"kubernetes:batch/v1:Job", "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            "kubernetes:networking.k8s.io/v1:Ingress", DEPLOYMENT} <= kinds
    for resource in shop:
        for other in monitoring:
            assert not stack_plan.waits_for(resource, other), (resource.name, other.name)


def test_stack_outputs_grafana_url_and_password_command(stack_plan):
    outputs = stack_plan.outputs
    host = "grafana.shop.dhakacart.example" if stack_plan.stack == "prod" else "grafana.13-232-"
    assert outputs["grafanaUrl"].startswith(f"https://{host}")
    assert not is_secret(outputs["grafanaUrl"])
    assert outputs["grafanaAdminPasswordCommand"] == (
        "kubectl -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d")


def test_grafana_shares_the_shops_host_name(stack_plan):
    ingress = release(stack_plan, "kube-prometheus-stack").revealed()["values"]["grafana"]["ingress"]
    assert [f"https://{h}" for h in ingress["hosts"]] == [stack_plan.outputs["grafanaUrl"]]
    assert stack_plan.outputs["storefrontUrl"].removeprefix("https://") in ingress["hosts"][0]


def test_shop_workloads_do_not_depend_on_the_monitoring_stack(stack_plan):
    monitoring = monitoring_resources(stack_plan)
    deployments = stack_plan.of_type(DEPLOYMENT)
    assert {d.revealed()["metadata"]["name"] for d in deployments} >= {"dhakacart-web", "dhakacart-api"}
    for deployment in deployments:
        for resource in monitoring:
            assert not stack_plan.waits_for(deployment, resource), (deployment.name, resource.name)


def test_config_reaches_prometheus_and_loki(stack_plan):
    expected = {"dev": ("7d", "10Gi", "168h"), "prod": ("15d", "50Gi", "720h")}[stack_plan.stack]
    spec = release(stack_plan, "kube-prometheus-stack").revealed()["values"]["prometheus"]["prometheusSpec"]
    loki = release(stack_plan, "loki").revealed()["values"]["loki"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert (spec["retention"], claim["resources"]["requests"]["storage"],
            loki["limits_config"]["retention_period"]) == expected


def test_dev_keeps_logs_on_the_node_and_creates_no_bucket(dev_plan):
    assert release(dev_plan, "loki").revealed()["values"]["loki"]["storage"]["type"] == "filesystem"
    assert not dev_plan.of_type("dhakacart:aws:LokiBucket")


def test_prod_keeps_logs_in_the_bucket_only_lokis_own_role_may_use(prod_plan):
    bucket = prod_plan.one("aws:s3/bucket:Bucket", "loki-logs-bucket")
    storage = release(prod_plan, "loki").revealed()["values"]["loki"]["storage"]
    assert storage["type"] == "s3"
    assert storage["bucketNames"]["chunks"] == bucket.state["bucket"]
    assert storage["s3"]["region"] == "ap-south-1"
    # Wherever Loki runs, it uses its own role, which only its ServiceAccount can assume; the
    # release waits for that role and for the webhook that hands it to the pod.
    role = prod_plan.one("aws:iam/role:Role", "loki-logs-role-role")
    values = release(prod_plan, "loki").revealed()["values"]
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == role.state["arn"]
    assert values["singleBinary"]["podLabels"] == {"dhakacart.io/aws-identity": "true"}
    assert prod_plan.waits_for(release(prod_plan, "loki"), role)
    assert prod_plan.waits_for(
        release(prod_plan, "loki"),
        prod_plan.one("kubernetes:admissionregistration.k8s.io/v1:MutatingWebhookConfiguration"),
    )
    node_roles = [prod_plan.one("aws:iam/role:Role", r) for r in ("k3s-agents-role", "k3s-server-role")]
    attachments = prod_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    assert not [a for a in attachments if "loki" in a.name]
    assert all(not prod_plan.waits_for(n, prod_plan.one("aws:s3/bucket:Bucket", "loki-logs-bucket"))
               for n in node_roles)
    lifecycle = prod_plan.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                              "loki-logs-lifecycle").revealed()
    expiry = next(r for r in lifecycle["rules"] if r["id"] == "expire-after-loki-retention")
    assert expiry["expiration"]["days"] == 31  # 720h retention + one day


def test_prod_without_receivers_configured_secrets_still_routes_email(prod_plan):
    config = release(prod_plan, "kube-prometheus-stack").revealed()["values"]["alertmanager"]["config"]
    assert config["route"]["receiver"] == "dhakacart-oncall"
    (email,) = next(r for r in config["receivers"] if r["name"] == "dhakacart-oncall")["email_configs"]
    assert email["to"] == "oncall@dhakacart.example"


def test_secret_receivers_from_stack_config_never_reach_helm_values(run_stack):
    plan = run_stack(
        "prod", secret_overrides={"alertSlackWebhookUrl": SLACK, "alertSmtpPassword": SMTP_PASSWORD}
    )
    for r in plan.of_type("kubernetes:helm.sh/v3:Release"):
        assert not contains_secret(r.inputs), r.name
        text = json.dumps(reveal(r.inputs))
        assert SLACK not in text and SMTP_PASSWORD not in text, r.name
    secret = plan.one("kubernetes:core/v1:Secret", "monitoring-alertmanager-receivers")
    data = secret.inputs["stringData"]
    assert is_secret(data) or all(is_secret(v) for v in data.values())
    assert reveal(data) == {"slack-webhook-url": SLACK, "smtp-password": SMTP_PASSWORD}


def test_every_custom_resource_the_plan_writes_matches_its_schema(stack_plan, tmp_path):
    write_manifests(stack_plan, tmp_path)
    result = validate_custom_resources(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for kind in ("ClusterIssuer", "ServiceMonitor", "PrometheusRule"):
        assert f" {kind}/" in result.stdout, kind
    assert ", 0 invalid" in result.stdout


def _selects(selector: dict, labels: dict) -> bool:
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_service_monitor_selects_both_shop_services_and_their_metrics_port(stack_plan):
    monitor = stack_plan.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
                             "shop-observability-servicemonitor").revealed()
    services = [s.revealed() for s in stack_plan.of_type("kubernetes:core/v1:Service")
                if s.revealed()["metadata"].get("namespace") == monitor["metadata"]["namespace"]]
    selected = {s["metadata"]["name"]: s for s in services
                if _selects(monitor["spec"]["selector"], s["metadata"].get("labels", {}))}
    assert set(selected) == {"dhakacart-web", "dhakacart-api"}
    (endpoint,) = monitor["spec"]["endpoints"]
    for service in selected.values():
        ports = {p.get("name"): p["port"] for p in service["spec"]["ports"]}
        assert ports[endpoint["port"]] == 9102


def test_api_down_alert_matches_the_api_services_name(stack_plan):
    rule = stack_plan.one("kubernetes:monitoring.coreos.com/v1:PrometheusRule").revealed()
    (expr,) = [r["expr"] for r in rule["spec"]["groups"][0]["rules"] if r["alert"] == "DhakaCartApiDown"]
    names = {s.revealed()["metadata"]["name"] for s in stack_plan.of_type("kubernetes:core/v1:Service")}
    assert 'service="dhakacart-api"' in expr and "dhakacart-api" in names
