"""Brings the K3s cluster's kubeconfig into the Pulumi graph (a dynamic provider written with boto3).

Every server publishes an admin kubeconfig addressed to the load balancer, first line
`# dhakacart-k3s: cluster=<token fingerprint> server=<instance id>`, as an SSM SecureString.
`K3sKubeconfig` waits, with bounded exponential backoff, until that parameter holds *this*
cluster's kubeconfig from one of its *current* servers (another cluster's or a replaced server's
stale value is ignored), then until the API answers `/readyz`, and returns it as a secret output.

The provider's code is in kubeconfig_provider.py. Pulumi 3.x's Python SDK pickles a dynamic
provider with dill (`serialize_provider`: `dill.dumps(provider, recurse=True)`, no by-value option)
and the engine's dynamic-provider process unpickles it. dill stores a class from an importable
module by reference, so the provider would only load where `dhakacart_infra` is importable, which
that process does not promise (pulumi/pulumi#7453, #7960). `K3sKubeconfig` therefore hands Pulumi
an instance of a private copy of that module (loaded from its file, not in `sys.modules`): dill
cannot find it by name and serialises its class and helpers by value, so the state holds a
self-contained provider. boto3 clients are created inside the methods, never captured; clock and
sleep are attributes so tests can replace them. It uses the AWS credentials of the environment
`pulumi up` runs in (AWS_PROFILE etc.).
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.dynamic import ResourceProvider

from .kubeconfig_provider import (  # noqa: F401 - the provider's API, re-exported for callers and tests
    DEFAULT_API_TIMEOUT_SECONDS,
    DEFAULT_PARAMETER_TIMEOUT_SECONDS,
    ORIGIN_MARKER,
    REPLACE_ON,
    Backoff,
    KubeconfigError,
    KubeconfigProvider,
    KubeconfigTimeout,
    kubeconfig_origin,
    parameter_probe,
    readyz_probe,
    wait_until,
)

TYPE_TOKEN = "pulumi-python:dynamic/dhakacart:K3sKubeconfig"  # noqa: S105 - a type name, not a secret
PROVIDER_SOURCE = Path(__file__).with_name("kubeconfig_provider.py")
# The private copy's module name: importable nowhere, so dill cannot store anything in it by reference.
BY_VALUE_MODULE = "_dhakacart_k3s_kubeconfig_provider_by_value"


@functools.cache
def provider_class_by_value() -> type[ResourceProvider]:
    """KubeconfigProvider from a private copy of kubeconfig_provider.py (see the module docstring)."""
    spec = importlib.util.spec_from_file_location(BY_VALUE_MODULE, PROVIDER_SOURCE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the kubeconfig provider from {PROVIDER_SOURCE}")
    module = importlib.util.module_from_spec(spec)
    # Registered only while it runs (dataclasses look their module up while they are created), then
    # removed, so that nothing can find it by name afterwards.
    sys.modules[BY_VALUE_MODULE] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[BY_VALUE_MODULE]
    return module.KubeconfigProvider


@dataclass
class K3sKubeconfigArgs:
    parameter_name: pulumi.Input[str]
    region: pulumi.Input[str]
    server_url: pulumi.Input[str]
    cluster_fingerprint: pulumi.Input[str]
    """Names the cluster (token_fingerprint of its token): another cluster's kubeconfig is never taken."""
    server_instance_ids: pulumi.Input[list[str]]
    """The current servers: a kubeconfig published by a replaced one is never taken."""
    parameter_timeout_seconds: int = DEFAULT_PARAMETER_TIMEOUT_SECONDS
    api_timeout_seconds: int = DEFAULT_API_TIMEOUT_SECONDS


class K3sKubeconfig(pulumi.dynamic.Resource, module="dhakacart", name="K3sKubeconfig"):
    kubeconfig: pulumi.Output[str]

    def __init__(
        self, name: str, args: K3sKubeconfigArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        props = {
            "parameter_name": args.parameter_name,
            "region": args.region,
            "server_url": args.server_url,
            "cluster_fingerprint": args.cluster_fingerprint,
            "server_instance_ids": args.server_instance_ids,
            "parameter_timeout_seconds": args.parameter_timeout_seconds,
            "api_timeout_seconds": args.api_timeout_seconds,
            "kubeconfig": None,
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["kubeconfig"])
        provider = provider_class_by_value()()
        super().__init__(provider, name, props, pulumi.ResourceOptions.merge(opts, secret))
