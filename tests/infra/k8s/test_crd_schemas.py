"""Custom resources checked against the published schemas (@kubernetes-models, pinned in
tools/crd-schemas), by running the repository's node validator on the objects the program sends."""

from __future__ import annotations

import copy

from dhakacart_infra.plan.mocks import reveal
from tests.infra.k8s.observability_helpers import validate_custom_resources, write_objects

BUILT_IN_GROUPS = ("v1", "apps/", "batch/", "policy/", "autoscaling/")


FIELDS = ("apiVersion", "kind", "metadata", "spec")


def custom_resources(plan) -> list[dict]:
    """Every object whose API group is served by a CRD rather than by Kubernetes itself."""
    objects = []
    for r in plan.kubernetes_objects():
        inputs = reveal(r.inputs)
        api_version = inputs.get("apiVersion", "v1")
        if not api_version.startswith(BUILT_IN_GROUPS) and ".k8s.io/" not in api_version:
            objects.append({k: inputs[k] for k in FIELDS if k in inputs})
    return objects


def test_every_custom_resource_matches_its_published_schema(observability_plan, tmp_path):
    objects = custom_resources(observability_plan)
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ClusterIssuer", "Middleware", "Middleware", "PrometheusRule", "ServiceMonitor",
                     "ServiceMonitor"]
    write_objects(objects, tmp_path)
    result = validate_custom_resources(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 custom resource(s) valid, 0 invalid" in result.stdout


def test_the_validator_rejects_a_broken_resource_and_names_it(observability_plan, tmp_path):
    monitor = next(o for o in custom_resources(observability_plan) if o["kind"] == "ServiceMonitor")
    broken = copy.deepcopy(monitor)
    broken["spec"]["endpoints"][0]["port"] = 9102  # the schema wants the port's name
    write_objects([broken], tmp_path)
    result = validate_custom_resources(tmp_path)
    assert result.returncode == 1
    assert "ServiceMonitor" in result.stderr and "port must be string" in result.stderr


def test_the_validator_rejects_a_custom_resource_it_has_no_schema_for(tmp_path):
    write_objects([{"apiVersion": "example.com/v1", "kind": "Widget",
                    "metadata": {"name": "x"}, "spec": {}}], tmp_path)
    result = validate_custom_resources(tmp_path)
    assert result.returncode == 1 and "no schema for example.com/v1 Widget" in result.stderr
