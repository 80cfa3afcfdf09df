"""kube-prometheus-stack, Grafana and Alertmanager routing, as the Helm release receives them."""

from __future__ import annotations

import json
import re

import pytest

from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.k8s import alertmanager as am
from dhakacart_infra.k8s import monitoring as mon
from dhakacart_infra.k8s import monitoring_values as chart_values
from dhakacart_infra.k8s.alertmanager import AlertReceivers
from dhakacart_infra.plan.mocks import contains_secret, is_secret, reveal
from tests.infra.k8s.observability import GRAFANA_HOST, SLACK_WEBHOOK, SMTP_PASSWORD, release

PINNED_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")
SLACK = AlertReceivers(slack_webhook_url=SLACK_WEBHOOK)
EMAIL = AlertReceivers(email_to="oncall@example.com", smtp_smarthost="smtp.example.com:587",
                       smtp_from="alerts@example.com", smtp_password=SMTP_PASSWORD)


def secret_entry(secret, key: str):
    """(is it marked secret?, value) of one stringData entry; the SDK may mark the whole map."""
    data = secret.inputs["stringData"]
    marked = is_secret(data) or is_secret(data[key])
    return marked, reveal(data)[key]


def kps_values(plan) -> dict:
    return release(plan, "kube-prometheus-stack").revealed()["values"]


def test_chart_is_pinned_to_an_exact_version_from_the_official_repository(observability_plan):
    inputs = release(observability_plan, "kube-prometheus-stack").revealed()
    assert inputs["version"] == chart_values.KUBE_PROMETHEUS_STACK_VERSION
    assert PINNED_VERSION.match(inputs["version"])
    assert inputs["repositoryOpts"]["repo"] == "https://prometheus-community.github.io/helm-charts"
    assert inputs["namespace"] == "monitoring"
    assert inputs["atomic"] is True


def test_scrape_targets_k3s_does_not_expose_are_disabled(observability_plan):
    values = kps_values(observability_plan)
    for component in ("kubeEtcd", "kubeControllerManager", "kubeScheduler", "kubeProxy"):
        assert values[component] == {"enabled": False}, component
    rules = values["defaultRules"]["rules"]
    assert not any(rules[k] for k in ("etcd", "kubeControllerManager", "kubeProxy",
                                      "kubeSchedulerAlerting", "kubeSchedulerRecording"))


def test_every_component_requests_resources_and_limits_memory(observability_plan):
    values = kps_values(observability_plan)
    resources = [
        values["prometheusOperator"]["resources"], values["kube-state-metrics"]["resources"],
        values["prometheus-node-exporter"]["resources"], values["prometheus"]["prometheusSpec"]["resources"],
        values["alertmanager"]["alertmanagerSpec"]["resources"], values["grafana"]["resources"],
        values["grafana"]["sidecar"]["resources"],
    ]
    for r in resources:
        assert r["requests"]["cpu"] and r["requests"]["memory"] and r["limits"]["memory"]


def test_prometheus_retention_and_volume_come_from_config(run_observability):
    plan = run_observability(prometheus_retention="30d", prometheus_storage_gb=40)
    spec = kps_values(plan)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "30d"
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == "40Gi"
    assert claim["storageClassName"] == "gp3-retain"
    assert spec["retentionSize"] == "34GB"  # stops below the volume's size


def test_prometheus_selects_monitors_and_rules_from_every_namespace(observability_plan):
    spec = kps_values(observability_plan)["prometheus"]["prometheusSpec"]
    for key in ("serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues",
                "ruleSelectorNilUsesHelmValues"):
        assert spec[key] is False, key


def test_grafana_admin_comes_from_a_secret_the_program_creates(observability_plan):
    grafana = kps_values(observability_plan)["grafana"]
    assert grafana["admin"]["existingSecret"] == chart_values.GRAFANA_ADMIN_SECRET
    assert "adminPassword" not in grafana
    secret = observability_plan.one("kubernetes:core/v1:Secret", "monitoring-grafana-admin")
    assert secret.revealed()["metadata"] == {**secret.revealed()["metadata"], "name": "grafana-admin",
                                             "namespace": "monitoring"}
    marked, password = secret_entry(secret, "admin-password")
    assert marked
    assert len(password) == 32
    assert observability_plan.one("random:index/randomPassword:RandomPassword").revealed()["length"] == 32


def test_grafana_is_served_over_tls_on_its_host_with_anonymous_access_off(observability_plan):
    grafana = kps_values(observability_plan)["grafana"]
    ingress = grafana["ingress"]
    assert ingress["enabled"] is True and ingress["ingressClassName"] == "traefik"
    assert ingress["hosts"] == [GRAFANA_HOST]
    assert ingress["tls"] == [{"secretName": "grafana-tls", "hosts": [GRAFANA_HOST]}]
    assert ingress["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt-staging"
    assert grafana["grafana.ini"]["auth.anonymous"]["enabled"] is False
    assert grafana["grafana.ini"]["server"]["root_url"] == f"https://{GRAFANA_HOST}"


def test_grafana_redirects_plain_http_to_https(observability_plan):
    """Traefik serves every Ingress on port 80 as well; Grafana's login must not be one of them."""
    annotations = kps_values(observability_plan)["grafana"]["ingress"]["annotations"]
    assert annotations["traefik.ingress.kubernetes.io/router.middlewares"] == (
        "monitoring-https-redirect@kubernetescrd,monitoring-security-headers@kubernetescrd")
    middlewares = {m.revealed()["metadata"]["name"]: m.revealed()
                   for m in observability_plan.of_type("kubernetes:traefik.io/v1alpha1:Middleware")
                   if m.revealed()["metadata"]["namespace"] == "monitoring"}
    assert middlewares["https-redirect"]["spec"] == {"redirectScheme": {"scheme": "https", "permanent": True}}
    assert "security-headers" in middlewares


def test_grafana_waits_for_the_cluster_issuer(observability_plan):
    kps = release(observability_plan, "kube-prometheus-stack")
    issuer = observability_plan.one("kubernetes:cert-manager.io/v1:ClusterIssuer")
    assert observability_plan.waits_for(kps, issuer)


def test_grafana_provisions_prometheus_and_loki_and_loads_labelled_dashboards(observability_plan):
    grafana = kps_values(observability_plan)["grafana"]
    assert grafana["sidecar"]["datasources"]["uid"] == "prometheus"
    assert grafana["sidecar"]["datasources"]["defaultDatasourceEnabled"] is True
    (loki,) = grafana["additionalDataSources"]
    assert loki["type"] == "loki" and loki["uid"] == "loki"
    assert loki["url"] == "http://loki-gateway.monitoring.svc.cluster.local"
    dashboards = grafana["sidecar"]["dashboards"]
    assert dashboards["enabled"] is True
    assert (dashboards["label"], dashboards["labelValue"], dashboards["searchNamespace"]) == (
        "grafana_dashboard", "1", "ALL")


def test_without_receivers_alerts_go_to_the_null_receiver_and_no_secret_is_made(observability_plan):
    alertmanager = kps_values(observability_plan)["alertmanager"]
    config = alertmanager["config"]
    assert config["route"]["receiver"] == "null"
    assert config["receivers"] == [{"name": "null"}]
    assert alertmanager["alertmanagerSpec"]["secrets"] == []
    names = [r.name for r in observability_plan.of_type("kubernetes:core/v1:Secret")]
    assert "monitoring-alertmanager-receivers" not in names


def test_slack_receiver_reads_its_webhook_from_a_mounted_secret(run_observability):
    plan = run_observability(receivers=SLACK)
    alertmanager = kps_values(plan)["alertmanager"]
    config = alertmanager["config"]
    assert config["route"]["receiver"] == am.NOTIFY_RECEIVER
    notify = next(r for r in config["receivers"] if r["name"] == am.NOTIFY_RECEIVER)
    (slack,) = notify["slack_configs"]
    assert slack["api_url_file"] == "/etc/alertmanager/secrets/alertmanager-receivers/slack-webhook-url"
    assert "api_url" not in slack
    assert alertmanager["alertmanagerSpec"]["secrets"] == ["alertmanager-receivers"]
    secret = plan.one("kubernetes:core/v1:Secret", "monitoring-alertmanager-receivers")
    assert secret_entry(secret, "slack-webhook-url") == (True, SLACK_WEBHOOK)


def test_email_receiver_reads_its_smtp_password_from_a_mounted_secret(run_observability):
    plan = run_observability(receivers=EMAIL)
    config = kps_values(plan)["alertmanager"]["config"]
    notify = next(r for r in config["receivers"] if r["name"] == am.NOTIFY_RECEIVER)
    (email,) = notify["email_configs"]
    assert (email["to"], email["from"], email["smarthost"]) == (
        "oncall@example.com", "alerts@example.com", "smtp.example.com:587")
    assert email["require_tls"] is True
    assert email["auth_password_file"].endswith("/alertmanager-receivers/smtp-password")
    assert "auth_password" not in email
    secret = plan.one("kubernetes:core/v1:Secret", "monitoring-alertmanager-receivers")
    assert secret_entry(secret, "smtp-password") == (True, SMTP_PASSWORD)


@pytest.mark.parametrize("receivers", [SLACK, EMAIL], ids=["slack", "email"])
def test_no_secret_reaches_the_helm_values(run_observability, receivers):
    plan = run_observability(receivers=receivers)
    kps = release(plan, "kube-prometheus-stack")
    assert not contains_secret(kps.inputs["values"])
    text = json.dumps(kps.revealed())
    _, grafana_password = secret_entry(plan.one("kubernetes:core/v1:Secret", "monitoring-grafana-admin"),
                                       "admin-password")
    for secret in (SLACK_WEBHOOK, SMTP_PASSWORD, grafana_password):
        assert secret not in text
    for r in plan.of_type("kubernetes:helm.sh/v3:Release"):
        assert not contains_secret(r.inputs), r.name


# The config refuses these first, naming the keys (tests/infra/config); the component keeps its own
# invariant, in its own terms.
@pytest.mark.parametrize(("receivers", "message"), [
    (AlertReceivers(email_to="oncall@example.com"), "email_to needs smtp_smarthost and smtp_from"),
    (AlertReceivers(smtp_smarthost="smtp.example.com:587"), "SMTP settings without email_to"),
])
def test_incomplete_email_settings_are_refused(receivers, message):
    with pytest.raises(ComponentInputError, match=message) as caught:
        am.alertmanager_config(receivers)
    assert "dhakacart:" not in str(caught.value)


def _pod_security(plan, resource_name: str) -> dict:
    labels = plan.one("kubernetes:core/v1:Namespace", resource_name).revealed()["metadata"]["labels"]
    return {mode: labels[f"pod-security.kubernetes.io/{mode}"] for mode in ("enforce", "audit", "warn")}


def test_monitoring_namespace_enforces_restricted(observability_plan):
    # The recorded renders prove every pod there meets it (tests/infra/charts).
    assert _pod_security(observability_plan, "monitoring-namespace") == {
        "enforce": "restricted", "audit": "restricted", "warn": "restricted"}
    labels = observability_plan.one("kubernetes:core/v1:Namespace", "monitoring-namespace").revealed()[
        "metadata"]["labels"]
    assert labels["app.kubernetes.io/part-of"] == "dhakacart"


def test_only_node_exporter_runs_privileged_in_a_namespace_of_its_own(observability_plan):
    assert _pod_security(observability_plan, "monitoring-node-exporter-namespace") == {
        "enforce": "privileged", "audit": "restricted", "warn": "restricted"}
    node_exporter = kps_values(observability_plan)["prometheus-node-exporter"]
    assert node_exporter["namespaceOverride"] == "monitoring-node-exporter"
    # The chart's values point nowhere else: every other component stays in `monitoring`.
    values = kps_values(observability_plan)
    assert [key for key, value in values.items()
            if isinstance(value, dict) and "namespaceOverride" in value] == ["prometheus-node-exporter"]
    assert "namespaceOverride" not in values
    kps = release(observability_plan, "kube-prometheus-stack")
    namespace = observability_plan.one("kubernetes:core/v1:Namespace", "monitoring-node-exporter-namespace")
    assert observability_plan.waits_for(kps, namespace)


def test_cert_manager_is_scraped_by_the_monitoring_stack_after_its_crds_exist(observability_plan):
    monitor = observability_plan.one("kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
                                     "monitoring-cert-manager-servicemonitor")
    spec = monitor.revealed()["spec"]
    assert spec["namespaceSelector"] == {"matchNames": ["cert-manager"]}
    # cert-manager's chart names the port http-metrics since v1.21.0; tests/infra/charts proves
    # the controller Service has it.
    assert spec["endpoints"][0]["port"] == "http-metrics"
    assert observability_plan.waits_for(monitor, release(observability_plan, "kube-prometheus-stack"))


def test_every_kubernetes_object_and_release_uses_the_k3s_provider(observability_plan):
    (provider,) = observability_plan.of_type("pulumi:providers:kubernetes")
    for r in observability_plan.resources:
        if r.type.startswith("kubernetes:"):
            assert r.provider_urn == provider.urn, r.name


def test_admin_password_command_reads_the_admin_secret():
    command = mon.grafana_admin_password_command()
    assert command == ("kubectl -n monitoring get secret grafana-admin "
                       "-o jsonpath='{.data.admin-password}' | base64 -d")
