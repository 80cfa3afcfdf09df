"""The offline plan's manifests: one YAML file per object, secrets masked, strictly schema-valid."""

from __future__ import annotations

import base64
import copy
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from dhakacart_infra.plan import manifests
from dhakacart_infra.plan.manifests import (
    SECRET_PLACEHOLDER,
    UnsupportedKubernetesVersion,
    is_custom_resource,
    kubernetes_minor,
    manifest_of,
    require_schemas_for,
    validate_manifest,
    write_manifests,
)
from dhakacart_infra.plan.mocks import RecordedResource
from dhakacart_infra.plan.runner import PlanResult

K3S_VERSION = "v1.35.8+k3s1"


@pytest.fixture(scope="module")
def written(shop_plan: PlanResult, tmp_path_factory: pytest.TempPathFactory) -> manifests.WrittenManifests:
    return write_manifests(shop_plan, tmp_path_factory.mktemp("manifests"))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_one_file_per_kubernetes_object_named_namespace_kind_name(shop_plan, written):
    assert len(written.objects) == len(shop_plan.kubernetes_objects())
    names = {p.name for p in written.objects}
    assert "dhakacart__Deployment__dhakacart-web.yaml" in names
    assert "dhakacart__NetworkPolicy__default-deny-all.yaml" in names
    assert "cluster__Namespace__dhakacart.yaml" in names
    assert "cluster__ClusterIssuer__letsencrypt-production.yaml" in names
    for path in written.objects:
        body = _load(path)
        namespace = body["metadata"].get("namespace", "cluster")
        assert path.name == f"{namespace}__{body['kind']}__{body['metadata']['name']}.yaml"
        assert list(body)[:3] == ["apiVersion", "kind", "metadata"]


def test_auto_named_objects_get_the_name_the_provider_generates(written):
    jobs = [p for p in written.objects if "__Job__" in p.name]
    assert len(jobs) == 1 and jobs[0].name.startswith("dhakacart__Job__shop-migrate-")


def test_helm_releases_are_written_separately_with_their_values(written):
    assert [p.name for p in written.releases] == ["cert-manager.release.yaml"]
    release = _load(written.releases[0])
    assert release["chart"] == "cert-manager"
    assert release["repository"] == "https://charts.jetstack.io"
    assert release["version"].startswith("v1.")
    assert release["values"]["crds"] == {"enabled": True, "keep": True}
    # The chart's own objects stay inside the release; the program adds only its egress policy.
    in_namespace = [p.name for p in written.objects if p.name.startswith("cert-manager__")]
    assert in_namespace == ["cert-manager__NetworkPolicy__deny-instance-metadata.yaml"]


def test_no_secret_reaches_the_disk(written):
    for path in [*written.objects, *written.releases]:
        text = path.read_text()
        assert "s3cr3t-pw" not in text, path.name
        assert "Mock" not in text, path.name  # the mocked RandomPassword result starts with "Mock"


def test_a_secrets_keys_stay_and_its_values_become_placeholders(written):
    secrets = [_load(p) for p in written.objects if "__Secret__" in p.name]
    by_keys = {tuple(sorted(s["stringData"])): s for s in secrets}
    assert set(by_keys) == {("DATABASE_URL", "RATELIMIT_STORAGE_URI", "SECRET_KEY"), ("valkey.conf",)}
    for secret in secrets:
        assert set(secret["stringData"].values()) == {SECRET_PLACEHOLDER}


def test_secret_data_is_masked_with_valid_base64():
    from pulumi.runtime import rpc

    record = RecordedResource(
        urn="urn:x", type="kubernetes:core/v1:Secret", name="s", custom=True, parent="", provider="",
        dependencies=[], property_dependencies={}, protect=False, delete_before_replace=False,
        ignore_changes=[], additional_secret_outputs=[],
        inputs={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
                "data": rpc.wrap_rpc_secret({"password": base64.b64encode(b"hunter2").decode()})},
    )
    body = manifest_of(record)
    assert base64.b64decode(body["data"]["password"], validate=True) == SECRET_PLACEHOLDER.encode()
    validate_manifest(body, K3S_VERSION)


def test_numbers_are_written_as_integers(written):
    name = "dhakacart__Deployment__dhakacart-api.yaml"
    deployment = _load(next(p for p in written.objects if p.name == name))
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 45
    assert isinstance(deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], int)


def test_every_built_in_object_is_valid_for_the_pinned_kubernetes_strictly(written):
    validated, custom = 0, 0
    for path in written.objects:
        body = _load(path)
        if is_custom_resource(body):
            custom += 1
            continue
        try:
            validate_manifest(body, K3S_VERSION)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{path.name}: {error.message} at {'/'.join(map(str, error.absolute_path))}")
        validated += 1
    assert validated >= 20
    assert custom == 3  # ClusterIssuer and two Traefik Middlewares: left to tools/crd-schemas


def test_strict_validation_refuses_an_unknown_field(written):
    body = _load(next(p for p in written.objects if p.name == "dhakacart__Deployment__dhakacart-web.yaml"))
    broken = copy.deepcopy(body)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_manifest(broken, K3S_VERSION)


def test_a_wrong_type_is_refused(written):
    body = _load(next(p for p in written.objects if "__HorizontalPodAutoscaler__dhakacart-api" in p.name))
    body["spec"]["maxReplicas"] = "ten"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_manifest(body, K3S_VERSION)


def test_a_kind_kubernetes_does_not_serve_is_not_silently_passed():
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert not is_custom_resource(body)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        validate_manifest(body, K3S_VERSION)


def test_custom_resources_are_refused_by_the_kubernetes_validator_with_a_pointer():
    with pytest.raises(ValueError, match="crd-schemas"):
        issuer = {"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {}}
        validate_manifest(issuer, K3S_VERSION)


def test_the_kubernetes_minor_comes_from_the_k3s_release_name():
    assert kubernetes_minor("v1.33.5+k3s1") == "1.33"
    assert require_schemas_for("v1.33.5+k3s1") == "1.33"


def test_a_k3s_version_newer_than_the_schemas_fails_clearly_instead_of_using_another():
    with pytest.raises(UnsupportedKubernetesVersion, match=r"Kubernetes 1\.99.*only ships schemas for"):
        require_schemas_for("v1.99.0+k3s1")


@pytest.mark.parametrize("bad", ["1.33.5", "v1.33", "latest", ""])
def test_a_version_that_is_not_a_k3s_release_is_refused(bad):
    with pytest.raises(UnsupportedKubernetesVersion, match="K3s release name"):
        kubernetes_minor(bad)


def test_writing_again_removes_files_of_objects_that_are_gone(shop_plan, tmp_path):
    (tmp_path / "dhakacart__Deployment__removed.yaml").write_text("kind: Deployment\n")
    write_manifests(shop_plan, tmp_path)
    assert not (tmp_path / "dhakacart__Deployment__removed.yaml").exists()
