"""The kubeconfig dynamic provider's waiting logic, against moto's SSM and a fake clock (no real sleeps)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import dill
import pytest
import requests
import yaml
from moto import mock_aws

from dhakacart_infra.aws import kubeconfig as kc
from dhakacart_infra.aws.kubeconfig import (
    Backoff,
    KubeconfigProvider,
    KubeconfigTimeout,
    kubeconfig_origin,
    wait_until,
)
from dhakacart_infra.plan.dynamic_outputs import k3s_kubeconfig_outputs

REGION = "ap-south-1"
PARAMETER = "/dhakacart/dev/k3s/kubeconfig"
INSTANCE = "i-0123456789abcdef0"
SERVERS = [INSTANCE, "i-0123456789abcdef1", "i-0123456789abcdef2"]
CLUSTER = "5eb1c1e2d3a4f506"
SERVER = "https://dhakacart-dev-k3s-0123.elb.ap-south-1.amazonaws.com:6443"


def published_kubeconfig(instance_id: str = INSTANCE, cluster: str = CLUSTER) -> str:
    """A kubeconfig shaped exactly like the one every server publishes (the offline plan's answer)."""
    return k3s_kubeconfig_outputs(
        "k3s-kubeconfig",
        {
            "server_url": SERVER,
            "cluster_fingerprint": cluster,
            "server_instance_ids": [instance_id],
        },
    )["kubeconfig"]


@dataclass
class FakeTime:
    """A clock that only moves when the code under test sleeps; `at` runs actions at given times."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)
    at: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds
        for when, action in list(self.at):
            if self.now >= when:
                action()
                self.at.remove((when, action))


@dataclass
class FakeResponse:
    status_code: int


@dataclass
class FakeApi:
    """Answers /readyz with the given statuses in turn (an exception instance is raised instead)."""

    answers: list[object]
    calls: list[dict] = field(default_factory=list)

    def get(self, url: str, **kwargs) -> FakeResponse:
        self.calls.append(
            {
                "url": url,
                **kwargs,
                "files": {
                    "ca": Path(kwargs["verify"]).read_text(),
                    "cert": Path(kwargs["cert"][0]).read_text(),
                    "key": Path(kwargs["cert"][1]).read_text(),
                },
            }
        )
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return FakeResponse(answer)


@pytest.fixture
def ssm(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)


def props(**overrides) -> dict:
    return {
        "parameter_name": PARAMETER,
        "region": REGION,
        "server_url": SERVER,
        "cluster_fingerprint": CLUSTER,
        "server_instance_ids": SERVERS,
        "parameter_timeout_seconds": 900,
        "api_timeout_seconds": 300,
        "kubeconfig": None,
        **overrides,
    }


def provider(time: FakeTime, api: FakeApi) -> KubeconfigProvider:
    # boto3 inside the provider (as the engine would run it), inside moto's mock.
    return KubeconfigProvider(sleep=time.sleep, clock=time.clock, http_get=api.get)


def publish(ssm, value: str) -> None:
    ssm.put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


def test_parameter_that_appears_late_is_waited_for_with_growing_delays(ssm):
    time, api = FakeTime(), FakeApi([200])
    time.at.append((time.now + 100, lambda: publish(ssm, published_kubeconfig())))
    result = provider(time, api).create(props())
    assert result.id == PARAMETER
    assert result.outs["kubeconfig"] == published_kubeconfig()
    assert time.sleeps[:5] == [2, 4, 8, 16, 30]  # exponential, capped at 30 s
    assert all(s <= 30 for s in time.sleeps)
    assert 100 <= time.now - 1000 < 130
    assert api.calls[0]["url"] == f"{SERVER}/readyz"


def test_parameter_that_never_appears_times_out_with_a_clear_error(ssm):
    time, api = FakeTime(), FakeApi([200])
    with pytest.raises(KubeconfigTimeout) as caught:
        provider(time, api).create(props(parameter_timeout_seconds=120))
    message = str(caught.value)
    assert PARAMETER in message and "after 120s" in message and "does not exist yet" in message
    assert "cloud-init-output.log" in message
    assert time.now - 1000 == pytest.approx(120)  # bounded: the last sleep is cut to the deadline
    assert api.calls == []


def test_a_replaced_servers_stale_kubeconfig_is_not_taken(ssm):
    publish(ssm, published_kubeconfig("i-0000000000000old0"))
    time, api = FakeTime(), FakeApi([200])
    time.at.append((time.now + 60, lambda: publish(ssm, published_kubeconfig())))
    result = provider(time, api).create(props())
    assert kubeconfig_origin(result.outs["kubeconfig"]) == (CLUSTER, INSTANCE)
    assert time.now - 1000 >= 60


def test_any_current_server_may_have_published_it(ssm):
    publish(ssm, published_kubeconfig(SERVERS[2]))
    result = provider(FakeTime(), FakeApi([200])).create(props())
    assert kubeconfig_origin(result.outs["kubeconfig"]) == (CLUSTER, SERVERS[2])


def test_stale_kubeconfig_only_times_out_naming_the_instance(ssm):
    publish(ssm, published_kubeconfig("i-0000000000000old0"))
    time = FakeTime()
    with pytest.raises(KubeconfigTimeout, match="published by i-0000000000000old0, not one of"):
        provider(time, FakeApi([200])).create(props(parameter_timeout_seconds=30))


def test_another_clusters_kubeconfig_is_never_taken(ssm):
    # A new token is a new cluster: the old cluster's servers may still have published last.
    publish(ssm, published_kubeconfig(INSTANCE, cluster="0ldc1u5ter000000"))
    with pytest.raises(KubeconfigTimeout, match="another cluster's kubeconfig"):
        provider(FakeTime(), FakeApi([200])).create(props(parameter_timeout_seconds=30))


def test_a_kubeconfig_that_names_no_origin_is_not_taken(ssm):
    publish(ssm, "apiVersion: v1\nkind: Config\n")
    with pytest.raises(KubeconfigTimeout, match="does not say which cluster and server"):
        provider(FakeTime(), FakeApi([200])).create(props(parameter_timeout_seconds=10))


def test_api_not_ready_is_waited_for_until_readyz_answers_200(ssm):
    publish(ssm, published_kubeconfig())
    time = FakeTime()
    api = FakeApi([requests.ConnectionError("connection refused"), 503, 500, 200])
    result = provider(time, api).create(props())
    assert result.outs["kubeconfig"] == published_kubeconfig()
    assert len(api.calls) == 4 and time.sleeps == [2, 4, 8]


def test_api_that_never_gets_ready_times_out_with_the_last_answer(ssm):
    publish(ssm, published_kubeconfig())
    time = FakeTime()
    with pytest.raises(KubeconfigTimeout) as caught:
        provider(time, FakeApi([503])).create(props(api_timeout_seconds=60))
    assert f"the Kubernetes API at {SERVER}" in str(caught.value)
    assert "HTTP 503" in str(caught.value)


def test_unauthorized_is_not_taken_for_ready(ssm):
    publish(ssm, published_kubeconfig())
    with pytest.raises(KubeconfigTimeout, match="HTTP 401"):
        provider(FakeTime(), FakeApi([401])).create(props(api_timeout_seconds=10))


def test_readyz_trusts_only_the_k3s_ca_and_presents_the_admin_certificate(ssm):
    publish(ssm, published_kubeconfig())
    api = FakeApi([200])
    provider(FakeTime(), api).create(props())
    call = api.calls[0]
    doc = yaml.safe_load(published_kubeconfig())
    ca = base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    cert = base64.b64decode(doc["users"][0]["user"]["client-certificate-data"]).decode()
    key = base64.b64decode(doc["users"][0]["user"]["client-key-data"]).decode()
    assert call["files"] == {"ca": ca, "cert": cert, "key": key}
    assert call["timeout"] == 10
    assert not Path(call["verify"]).exists()  # the key material is removed after the probe


def test_delete_removes_only_this_clusters_parameter(ssm):
    time, api = FakeTime(), FakeApi([200])
    publish(ssm, published_kubeconfig(cluster="c0ffee0000000000"))
    provider(time, api).delete(PARAMETER, props())
    assert ssm.get_parameter(Name=PARAMETER)["Parameter"]["Name"] == PARAMETER  # a new cluster's: kept
    publish(ssm, published_kubeconfig())
    provider(time, api).delete(PARAMETER, props())
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=PARAMETER)
    provider(time, api).delete(PARAMETER, props())  # already gone: no error


def test_read_refreshes_the_value_and_reports_a_deleted_parameter(ssm):
    publish(ssm, published_kubeconfig())
    p = provider(FakeTime(), FakeApi([200]))
    assert p.read(PARAMETER, props()).outs["kubeconfig"] == published_kubeconfig()
    ssm.delete_parameter(Name=PARAMETER)
    assert p.read(PARAMETER, props()).id == ""


def test_diff_replaces_when_the_server_changes_and_updates_timeouts_in_place():
    p = KubeconfigProvider()
    replaced = p.diff(PARAMETER, props(), props(server_instance_ids=[*SERVERS[:2], "i-0000000000000new0"]))
    assert replaced.changes and replaced.replaces == ["server_instance_ids"]
    in_place = p.diff(PARAMETER, props(), props(api_timeout_seconds=600))
    assert in_place.changes and not in_place.replaces
    assert not p.diff(PARAMETER, props(), props()).changes


def test_a_malformed_kubeconfig_is_a_clear_error_not_a_wait(ssm):
    publish(ssm, f"{kc.ORIGIN_MARKER}cluster={CLUSTER} server={INSTANCE}\napiVersion: v1\nkind: Config\n")
    with pytest.raises(kc.KubeconfigError, match="not a K3s admin kubeconfig"):
        provider(FakeTime(), FakeApi([200])).create(props())


def test_wait_until_returns_at_once_when_ready():
    time = FakeTime()
    assert wait_until(lambda: ("ok", ""), "thing", Backoff(timeout=10), time.sleep, time.clock) == "ok"
    assert time.sleeps == []


def test_the_provider_survives_dill_serialisation_like_the_engine_does():
    restored = dill.loads(dill.dumps(KubeconfigProvider(), recurse=True))
    assert isinstance(restored, KubeconfigProvider)
    assert restored.ssm_client is None  # no client captured: one is created inside each method


# Run by a fresh interpreter that cannot import this repository: it loads the provider exactly as the
# engine's dynamic-provider process does (dill.loads of the base64 the SDK wrote), then drives create,
# diff and delete with stand-ins for SSM, HTTP and time defined here, outside the repository.
FRESH_PROCESS_SCRIPT = r"""
import base64, importlib.util, json, sys
import dill

assert importlib.util.find_spec("dhakacart_infra") is None, sys.path
request = json.load(sys.stdin)

class ParameterNotFound(Exception):
    pass

class FakeSsm:
    class exceptions:
        ParameterNotFound = ParameterNotFound
    def __init__(self):
        self.values = {request["parameter"]: request["kubeconfig"]}
        self.deleted = []
    def get_parameter(self, Name, WithDecryption):
        if Name not in self.values:
            raise ParameterNotFound(Name)
        return {"Parameter": {"Value": self.values[Name]}}
    def delete_parameter(self, Name):
        self.deleted.append(self.values.pop(Name) and Name)

class Ok:
    status_code = 200

ssm = FakeSsm()
provider = dill.loads(base64.b64decode(request["serialized"]))
provider.ssm_client = lambda region: ssm
provider.http_get = lambda url, **kwargs: Ok()
provider.sleep = lambda seconds: None
props = request["props"]
created = provider.create(props)
moved = provider.diff(created.id, props, {**props, "server_instance_ids": ["i-replacement"]})
provider.delete(created.id, created.outs)
print(json.dumps({
    "class_module": type(provider).__module__,
    "id": created.id,
    "kubeconfig": created.outs["kubeconfig"],
    "replaces": moved.replaces,
    "deleted": ssm.deleted,
    "repo_modules": sorted(m for m in sys.modules if m.startswith("dhakacart")),
}))
"""


def serialized_like_the_sdk(provider) -> str:
    from pulumi.dynamic.dynamic import serialize_provider
    from pulumi.runtime._serialization import _serialize

    serialized, _contains_secrets = _serialize(True, serialize_provider, provider)
    return serialized


def test_the_serialised_provider_runs_in_a_process_that_cannot_import_this_repository(tmp_path):
    import json
    import subprocess
    import sys

    serialized = serialized_like_the_sdk(kc.provider_class_by_value()())
    props = {
        "parameter_name": PARAMETER,
        "region": REGION,
        "server_url": SERVER,
        "cluster_fingerprint": CLUSTER,
        "server_instance_ids": SERVERS,
        "parameter_timeout_seconds": 5,
        "api_timeout_seconds": 5,
    }
    request = {
        "serialized": serialized,
        "parameter": PARAMETER,
        "kubeconfig": published_kubeconfig(),
        "props": props,
    }
    # -I: no PYTHONPATH, no user site, not even the working directory (the tmp dir) on sys.path.
    result = subprocess.run(
        [sys.executable, "-I", "-c", FRESH_PROCESS_SCRIPT],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["class_module"] == kc.BY_VALUE_MODULE and outcome["repo_modules"] == []
    assert outcome["id"] == PARAMETER and outcome["kubeconfig"] == published_kubeconfig()
    assert outcome["replaces"] == ["server_instance_ids"]
    assert outcome["deleted"] == [PARAMETER]


def test_a_provider_serialised_by_reference_would_not_load_there(tmp_path):
    """Why the by-value copy exists: the ordinary class is pickled as a reference to this repository."""
    import subprocess
    import sys

    by_reference = serialized_like_the_sdk(KubeconfigProvider())
    loader = "import base64, sys, dill; dill.loads(base64.b64decode(sys.stdin.read()))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", loader],
        input=by_reference,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode != 0 and "No module named 'dhakacart_infra'" in result.stderr


def test_the_resource_hands_pulumi_the_by_value_provider():
    assert kc.provider_class_by_value().__module__ == kc.BY_VALUE_MODULE
    assert kc.BY_VALUE_MODULE not in __import__("sys").modules  # so dill cannot look it up by name
    # The same code as the importable class, so the tests above and below exercise what runs.
    assert kc.provider_class_by_value().create.__code__.co_code == KubeconfigProvider.create.__code__.co_code
