"""The K3s kubeconfig provider's implementation: waits for the server's published kubeconfig and its API.

The engine does not run this code from the repository: Pulumi's Python SDK serialises the provider
object with dill into the resource's state, and a separate dynamic-provider process deserialises
it for every check, diff, create, read and delete. dill stores a class or function by reference
(module and name, imported again when loaded) unless it cannot be found under that name, and only
then by value (its code). That process is not guaranteed to be able to import `dhakacart_infra`
(its working directory and sys.path are the engine's choice), and a reference would also make an
old state depend on today's code. So kubeconfig.py loads a private copy of this file that is not in
`sys.modules`: everything here is then serialised by value, and the state carries a self-contained
provider. For that to work this module imports only what the Pulumi runtime itself has (the
standard library, PyYAML, pulumi) at the top, and boto3 and requests inside the functions that use
them; it never imports `dhakacart_infra`. tests/infra/aws/test_kubeconfig.py proves it by loading a
serialised provider in a fresh Python process that cannot see this repository.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

# The first line every server writes above the kubeconfig it publishes (dhakacart-publish-kubeconfig.sh):
# which cluster (its token's fingerprint) and which server published it.
ORIGIN_MARKER = "# dhakacart-k3s: "
# First boot: apt update, the AWS CLI snap, the K3s install and its first start take 3 to 6 minutes.
DEFAULT_PARAMETER_TIMEOUT_SECONDS = 900
DEFAULT_API_TIMEOUT_SECONDS = 300
REPLACE_ON = ("parameter_name", "region", "server_url", "cluster_fingerprint", "server_instance_ids")


class KubeconfigTimeout(Exception):
    """The kubeconfig or the API server did not become available in time."""


class KubeconfigError(Exception):
    """The published kubeconfig cannot be used (not a K3s admin kubeconfig)."""


@dataclass(frozen=True)
class Backoff:
    """Delays of initial, initial*factor, ... capped at `maximum`, for at most `timeout` seconds."""

    timeout: float
    initial: float = 2.0
    factor: float = 2.0
    maximum: float = 30.0


def wait_until(
    probe: Callable[[], tuple[Any, str]],
    what: str,
    backoff: Backoff,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Any:
    """Calls `probe` (returning (value, "") when done, or (None, why-not)) until it is done or
    `backoff.timeout` has passed; then raises KubeconfigTimeout with the last reason."""
    deadline = clock() + backoff.timeout
    delay = backoff.initial
    attempts = 0
    while True:
        attempts += 1
        value, reason = probe()
        if value is not None:
            return value
        remaining = deadline - clock()
        if remaining <= 0:
            raise KubeconfigTimeout(
                f"gave up waiting for {what} after {backoff.timeout:g}s ({attempts} attempts); "
                f"last: {reason}. "
                "Look at the server's boot log: aws ssm start-session --target <instanceId>, then "
                "sudo tail -n 100 /var/log/cloud-init-output.log"
            )
        sleep(min(delay, remaining))
        delay = min(delay * backoff.factor, backoff.maximum)


def kubeconfig_origin(kubeconfig: str) -> tuple[str, str] | None:
    """(cluster fingerprint, server instance id) from the published kubeconfig's first line."""
    first_line = kubeconfig.split("\n", 1)[0]
    if not first_line.startswith(ORIGIN_MARKER):
        return None
    fields = dict(part.partition("=")[::2] for part in first_line[len(ORIGIN_MARKER) :].split())
    if not fields.get("cluster") or not fields.get("server"):
        return None
    return fields["cluster"], fields["server"]


def parameter_probe(
    ssm: Any, name: str, cluster: str, servers: list[str]
) -> Callable[[], tuple[str | None, str]]:
    """Done when the parameter holds this cluster's kubeconfig, published by one of its current
    servers: another cluster's (an old token) or a replaced server's is not taken."""

    def probe() -> tuple[str | None, str]:
        try:
            value = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return None, f"SSM parameter {name} does not exist yet"
        origin = kubeconfig_origin(value)
        if origin is None:
            return None, f"SSM parameter {name} does not say which cluster and server published it"
        if origin[0] != cluster:
            return (
                None,
                f"SSM parameter {name} holds another cluster's kubeconfig ({origin[0]}, not {cluster})",
            )
        if origin[1] not in servers:
            return None, f"SSM parameter {name} was published by {origin[1]}, not one of {', '.join(servers)}"
        return value, ""

    return probe


def _user_credentials(kubeconfig: str) -> tuple[str, str, str, str]:
    """(server, CA PEM, client certificate PEM, client key PEM) of the kubeconfig's current context."""
    try:
        doc = yaml.safe_load(kubeconfig)
        context_name = doc.get("current-context")
        context = next(c["context"] for c in doc["contexts"] if c["name"] == context_name)
        cluster = next(c["cluster"] for c in doc["clusters"] if c["name"] == context["cluster"])
        user = next(u["user"] for u in doc["users"] if u["name"] == context["user"])
        return (
            cluster["server"],
            base64.b64decode(cluster["certificate-authority-data"]).decode(),
            base64.b64decode(user["client-certificate-data"]).decode(),
            base64.b64decode(user["client-key-data"]).decode(),
        )
    except (yaml.YAMLError, AttributeError, KeyError, StopIteration, TypeError, ValueError) as exc:
        raise KubeconfigError(
            f"the published kubeconfig is not a K3s admin kubeconfig ({type(exc).__name__}: {exc}); "
            "check /etc/rancher/k3s/k3s.yaml and the publish script on the server"
        ) from exc


def readyz_probe(kubeconfig: str, http_get: Callable[..., Any]) -> Callable[[], tuple[bool | None, str]]:
    """Asks the API server's /readyz, trusting only the K3s CA and authenticating with the
    kubeconfig's client certificate. K3s runs its API server with anonymous auth disabled, so an
    anonymous /readyz would get 401 even from a healthy server: with the certificate, only a 200
    means ready, and 401/403 are reported (a wrong kubeconfig) rather than taken as "up"."""
    server, ca_pem, cert_pem, key_pem = _user_credentials(kubeconfig)

    def probe() -> tuple[bool | None, str]:
        with tempfile.TemporaryDirectory(prefix="dhakacart-k3s-") as tmp:
            paths = {}
            for label, pem in (("ca", ca_pem), ("cert", cert_pem), ("key", key_pem)):
                paths[label] = os.path.join(tmp, f"{label}.pem")
                with open(os.open(paths[label], os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
                    handle.write(pem)
            try:
                response = http_get(
                    f"{server}/readyz", verify=paths["ca"], cert=(paths["cert"], paths["key"]), timeout=10
                )
            except Exception as exc:  # connection refused, TLS handshake, timeout: not up yet
                return None, f"{server}/readyz: {type(exc).__name__}: {exc}"
        if response.status_code == 200:
            return True, ""
        return None, f"{server}/readyz answered HTTP {response.status_code}"

    return probe


def _requests_get(url: str, *, verify: str, cert: tuple[str, str], timeout: float) -> Any:
    import requests

    return requests.get(url, verify=verify, cert=cert, timeout=timeout)


class KubeconfigProvider(ResourceProvider):
    """CRUD for the published kubeconfig; `sleep`, `clock`, `http_get` and `ssm_client` are
    replaceable so the waiting logic can be tested without real time or a real cluster."""

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        http_get: Callable[..., Any] = _requests_get,
        ssm_client: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__()
        self.sleep = sleep
        self.clock = clock
        self.http_get = http_get
        self.ssm_client = ssm_client

    def _ssm(self, region: str) -> Any:
        if self.ssm_client is not None:
            return self.ssm_client(region)
        import boto3

        return boto3.client("ssm", region_name=region)

    def fetch(self, props: dict[str, Any]) -> str:
        ssm = self._ssm(props["region"])
        kubeconfig = wait_until(
            parameter_probe(
                ssm, props["parameter_name"], props["cluster_fingerprint"], list(props["server_instance_ids"])
            ),
            f"the kubeconfig in SSM parameter {props['parameter_name']}",
            Backoff(
                timeout=float(props.get("parameter_timeout_seconds") or DEFAULT_PARAMETER_TIMEOUT_SECONDS)
            ),
            self.sleep,
            self.clock,
        )
        wait_until(
            readyz_probe(kubeconfig, self.http_get),
            f"the Kubernetes API at {props['server_url']}",
            Backoff(timeout=float(props.get("api_timeout_seconds") or DEFAULT_API_TIMEOUT_SECONDS)),
            self.sleep,
            self.clock,
        )
        return kubeconfig

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["parameter_name"], outs={**props, "kubeconfig": self.fetch(props)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [
            k
            for k in (*REPLACE_ON, "parameter_timeout_seconds", "api_timeout_seconds")
            if olds.get(k) != news.get(k)
        ]
        replaces = [k for k in changed if k in REPLACE_ON]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, "kubeconfig": olds.get("kubeconfig")})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        ssm = self._ssm(props["region"])
        try:
            value = ssm.get_parameter(Name=id_, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return ReadResult(id_="", outs={})  # gone: Pulumi drops it from the state on refresh
        return ReadResult(id_=id_, outs={**props, "kubeconfig": value})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        # Only this cluster's parameter is removed: a new cluster may already have published its own.
        ssm = self._ssm(props["region"])
        try:
            value = ssm.get_parameter(Name=id_, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            return
        origin = kubeconfig_origin(value)
        if origin is not None and origin[0] == props.get("cluster_fingerprint"):
            ssm.delete_parameter(Name=id_)
