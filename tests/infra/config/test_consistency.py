"""Every value the config accepts is accepted by the whole program: components never re-check a key
with a rule of their own (issue 12: lokiRetention was refused by one and accepted by another)."""

from __future__ import annotations

import pytest

from dhakacart_infra.config import KEYS
from dhakacart_infra.plan.runner import run_program

EDGE_VALUES = [
    (key.name, value)
    for key in KEYS
    if key.namespace == "dhakacart" and not key.secret
    for value in key.kind.accepted_examples()
]
# An edge value that a cross-key rule judges together with another key's value.
# Edge values that cross-key rules accept only together with others (keyed by the value's text).
NEEDS_COMPANY = {
    ("dbAllocatedStorageGb", "65535"): {"dbMaxAllocatedStorageGb": 65536},
    ("k3sAgentMinSize", "100"): {"k3sAgentMaxSize": 100},
    ("zoneSpread", "strict"): {
        "k3sAgentMinSize": 2,
        "web": '{"minReplicas": 4, "maxReplicas": 6}',
        "api": '{"minReplicas": 4, "maxReplicas": 6}',
    },
}


def test_every_key_with_limits_offers_values_at_its_edges():
    offered = {name for name, _ in EDGE_VALUES}
    silent = [k.name for k in KEYS if k.namespace == "dhakacart" and not k.secret and k.name not in offered]
    # Free-form keys: an e-mail, a host:port, an SMTP login, a required list, a workload object.
    assert sorted(silent) == sorted(
        [
            "adminCidrs",
            "acmeEmail",
            "alertEmailTo",
            "alertSmtpFrom",
            "alertSmtpSmarthost",
            "alertSmtpUsername",
            "web",
            "api",
            "prometheusRetention",
            "dbInstanceClass",
            "k3sVersion",
            "etcdSnapshotSchedule",
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize(("key", "value"), EDGE_VALUES, ids=[f"{k}={v}" for k, v in EDGE_VALUES])
def test_a_value_the_config_accepts_is_accepted_by_every_component(key, value):
    overrides = {key: value, **NEEDS_COMPANY.get((key, str(value)), {})}
    plan = run_program("dev", overrides=overrides)
    assert plan.resources, f"{key}={value!r} declared nothing"
