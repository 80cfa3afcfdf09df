"""Loki (single binary, volume in dev, S3 in prod) and Alloy as the release values say."""

from __future__ import annotations

import re

import pytest

from dhakacart_infra.k8s import logging as logs
from dhakacart_infra.plan.mocks import contains_secret
from tests.infra.k8s.observability import release

PINNED_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def loki_values(plan) -> dict:
    return release(plan, "loki").revealed()["values"]


@pytest.mark.parametrize(("chart", "version"), [("loki", logs.LOKI_CHART_VERSION),
                                                 ("alloy", logs.ALLOY_CHART_VERSION)])
def test_charts_are_pinned_from_grafanas_repository(observability_plan, chart, version):
    inputs = release(observability_plan, chart).revealed()
    assert inputs["version"] == version and PINNED_VERSION.match(version)
    assert inputs["repositoryOpts"]["repo"] == "https://grafana.github.io/helm-charts"
    assert inputs["namespace"] == "monitoring"
    assert not contains_secret(release(observability_plan, chart).inputs)


def test_loki_runs_as_one_binary_with_the_other_targets_at_zero(observability_plan):
    values = loki_values(observability_plan)
    assert values["deploymentMode"] == "SingleBinary"
    assert values["singleBinary"]["replicas"] == 1
    assert all(values[t]["replicas"] == 0 for t in ("read", "write", "backend"))
    assert values["loki"]["commonConfig"]["replication_factor"] == 1


def test_dev_keeps_logs_on_an_ebs_volume_that_outlives_its_claim(observability_plan):
    values = loki_values(observability_plan)
    assert values["loki"]["storage"] == {"type": "filesystem"}
    assert values["loki"]["schemaConfig"]["configs"][0]["object_store"] == "filesystem"
    assert values["singleBinary"]["persistence"] == {"enabled": True, "size": "10Gi",
                                                     "storageClass": "gp3-retain",
                                                     "whenDeleted": "Retain", "whenScaled": "Retain"}


def test_prod_keeps_logs_in_the_bucket_with_no_keys(run_observability):
    values = loki_values(run_observability("prod", s3=True))
    storage = values["loki"]["storage"]
    assert storage["type"] == "s3"
    assert set(storage["bucketNames"].values()) == {"dhakacart-prod-loki-abc"}
    assert storage["s3"]["region"] == "ap-south-1"
    assert not {"accessKeyId", "secretAccessKey"} & set(storage["s3"])
    assert values["loki"]["schemaConfig"]["configs"][0]["object_store"] == "s3"
    assert values["loki"]["compactor"]["delete_request_store"] == "s3"


@pytest.mark.parametrize(("days", "hours"), [(1, 24), (7, 168), (28, 672)])
def test_retention_is_enforced_by_the_compactor(run_observability, days, hours):
    loki = loki_values(run_observability(loki_retention_days=days))["loki"]
    assert loki["compactor"]["retention_enabled"] is True
    assert loki["limits_config"]["retention_period"] == f"{hours}h"


def test_alloy_ships_with_the_repositorys_config_file_to_the_loki_gateway(observability_plan):
    values = release(observability_plan, "alloy").revealed()["values"]
    assert values["controller"]["type"] == "daemonset"
    config_map_record = observability_plan.one("kubernetes:core/v1:ConfigMap", "logging-alloy-config")
    config_map = config_map_record.revealed()
    # The program's ConfigMap (auto-named, so a changed file is a new one), not the chart's, whose tpl
    # would evaluate config.alloy's braces.
    assert values["alloy"]["configMap"]["create"] is False
    assert values["alloy"]["configMap"]["name"].startswith("logging-alloy-config-")
    assert values["alloy"]["configMap"]["key"] == "config.alloy"
    assert observability_plan.waits_for(release(observability_plan, "alloy"), config_map_record)
    assert config_map["data"] == {"config.alloy": logs.ALLOY_CONFIG_FILE.read_text()}
    assert config_map["immutable"] is True
    assert values["configReloader"] == {"enabled": False}
    env = {e["name"]: e for e in values["alloy"]["extraEnv"]}
    assert env["LOKI_PUSH_URL"]["value"] == "http://loki-gateway.monitoring.svc.cluster.local/loki/api/v1/push"
    assert env["NODE_NAME"]["valueFrom"] == {"fieldRef": {"fieldPath": "spec.nodeName"}}
    assert values["alloy"]["mounts"] == {"varlog": False, "dockercontainers": False}
    assert values["alloy"]["securityContext"]["runAsNonRoot"] is True


def test_logging_waits_for_the_operator_crds_and_alloy_for_loki(observability_plan):
    kps, loki, alloy = (release(observability_plan, c) for c in ("kube-prometheus-stack", "loki", "alloy"))
    assert observability_plan.waits_for(loki, kps)
    assert observability_plan.waits_for(alloy, loki)
