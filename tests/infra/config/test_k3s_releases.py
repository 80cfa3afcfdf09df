"""Which K3s releases the config accepts, and which upgrades of a running cluster it refuses."""

from __future__ import annotations

import pytest

from dhakacart_infra.aws.nodes import UBUNTU_LTS_VERSION
from dhakacart_infra.config.k3s_releases import (
    VALIDATED_ON_UBUNTU,
    K3sRelease,
    upgrade_refusal,
    validated_reason,
)
from dhakacart_infra.errors import ConfigError
from dhakacart_infra.plan.runner import read_stack_config


def test_the_nodes_ubuntu_has_a_list_of_validated_releases():
    assert VALIDATED_ON_UBUNTU[UBUNTU_LTS_VERSION]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stacks_release_is_validated_on_the_nodes_ubuntu(stack):
    assert validated_reason(read_stack_config(stack).cluster.k3s_version) is None


@pytest.mark.parametrize(
    ("release", "accepted"),
    [
        ("v1.35.8+k3s1", True),
        ("v1.35.9+k3s2", True),
        ("v1.34.11+k3s1", True),
        ("v1.36.4+k3s1", True),
        ("v1.35.7+k3s1", False),  # before K3s validated 26.04 for this minor
        ("v1.33.9+k3s1", False),  # a minor not validated at all
        ("v1.37.0+k3s1", False),
    ],
)
def test_only_releases_validated_on_the_ubuntu_are_accepted(release, accepted):
    reason = validated_reason(release)
    assert (reason is None) is accepted
    if not accepted:
        assert "is not validated by K3s on Ubuntu 26.04" in reason and "v1.35.8+" in reason


def test_an_unvalidated_release_is_a_config_error_with_the_fix(run_stack):
    with pytest.raises(ConfigError) as error:
        run_stack("prod", overrides={"k3sVersion": "v1.35.7+k3s1"})
    text = str(error.value)
    assert "k3sVersion = 'v1.35.7+k3s1'" in text and "is not validated by K3s on Ubuntu 26.04" in text
    assert "pulumi config set --stack prod k3sVersion" in text


@pytest.mark.parametrize(
    ("running", "wanted", "refused"),
    [
        (None, "v1.36.4+k3s1", None),  # a new cluster may start on any validated release
        ("v1.35.8+k3s1", "v1.35.8+k3s1", None),
        ("v1.35.8+k3s1", "v1.35.9+k3s1", None),  # a patch
        ("v1.35.8+k3s1", "v1.35.8+k3s2", None),  # a K3s rebuild
        ("v1.35.8+k3s1", "v1.36.4+k3s1", None),  # one minor
        ("v1.35.8+k3s2", "v1.35.8+k3s1", "downgrade"),
        ("v1.36.4+k3s1", "v1.35.9+k3s1", "downgrade"),
        ("v1.34.11+k3s1", "v1.36.4+k3s1", "skips a minor"),
    ],
)
def test_upgrades_go_forward_one_minor_at_a_time(running, wanted, refused):
    reason = upgrade_refusal(running, wanted)
    if refused is None:
        assert reason is None
    else:
        assert refused in reason and str(K3sRelease.parse(running)) in reason
