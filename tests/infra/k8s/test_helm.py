"""Every Helm release of both stacks is installed the same careful way (dhakacart_infra/k8s/helm.py)."""

from __future__ import annotations

import re

from dhakacart_infra.k8s.helm import MAX_HISTORY

RELEASE = "kubernetes:helm.sh/v3:Release"


def test_every_release_is_pinned_waited_for_and_rolled_back_when_it_fails(stack_plan):
    releases = stack_plan.of_type(RELEASE)
    names = {r.revealed()["name"] for r in releases}
    assert names >= {"cert-manager", "kube-prometheus-stack", "loki", "alloy"}
    for release in releases:
        inputs = release.revealed()
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", inputs["version"]), release.name
        assert inputs["repositoryOpts"]["repo"].startswith("https://"), release.name
        assert inputs["createNamespace"] is False and inputs["skipAwait"] is False, release.name
        assert inputs["atomic"] is True and inputs["cleanupOnFail"] is True, release.name
        assert inputs["maxHistory"] == MAX_HISTORY and inputs["timeout"] >= 600, release.name
