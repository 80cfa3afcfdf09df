from __future__ import annotations

import pulumi
import pytest

from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.k8s.hosts import grafana_host, shop_host, sslip_host
from dhakacart_infra.k8s.labels import image_version, pod_security_labels, recommended_labels
from dhakacart_infra.plan.mocks import resolve


def test_recommended_labels_are_the_app_kubernetes_io_set():
    assert recommended_labels("dhakacart", "web") == {
        "app.kubernetes.io/name": "dhakacart",
        "app.kubernetes.io/component": "web",
        "app.kubernetes.io/part-of": "dhakacart",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def test_recommended_labels_carry_a_version_only_when_given():
    assert recommended_labels("dhakacart", "api", version="1.4.2")["app.kubernetes.io/version"] == "1.4.2"
    assert "app.kubernetes.io/version" not in recommended_labels("dhakacart", "api")


@pytest.mark.parametrize("bad", ["-leading", "has space", "x" * 64, "trailing."])
def test_a_value_kubernetes_would_refuse_is_an_error_naming_the_label(bad):
    with pytest.raises(ComponentInputError, match=r"app\.kubernetes\.io/component"):
        recommended_labels("dhakacart", bad)


@pytest.mark.parametrize(("image", "version"), [
    ("ghcr.io/dhakacart/shop:1.4.2", "1.4.2"),
    ("localhost:5000/shop:v2", "v2"),
    ("ghcr.io/dhakacart/shop", None),
    ("ghcr.io/dhakacart/shop@sha256:" + "a" * 64, None),
    ("localhost:5000/shop", None),
])
def test_image_version_is_the_tag_or_nothing(image, version):
    assert image_version(image) == version


def test_sslip_host_encodes_the_ip_with_dashes():
    assert sslip_host("13.232.10.20") == "13-232-10-20.sslip.io"


def test_sslip_host_refuses_something_that_is_not_an_ipv4_address():
    with pytest.raises(ComponentInputError, match="give the shop a domain name"):
        sslip_host("ec2-13-232.compute.amazonaws.com")


def test_shop_host_without_a_domain_uses_the_public_ip():
    assert resolve(shop_host(None, pulumi.Output.from_input("3.6.9.12"))) == "3-6-9-12.sslip.io"


def test_shop_host_with_a_domain_is_the_domain_normalised():
    assert resolve(shop_host("Shop.DhakaCart.com.", "3.6.9.12")) == "shop.dhakacart.com"


def test_grafana_host_is_a_subdomain_of_the_shop_host():
    assert resolve(grafana_host(None, "3.6.9.12")) == "grafana.3-6-9-12.sslip.io"
    assert resolve(grafana_host("dhakacart.com", "3.6.9.12")) == "grafana.dhakacart.com"


def test_pod_security_labels_name_every_mode_and_pin_the_standard():
    labels = pod_security_labels(enforce="privileged")
    assert labels == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
    }


def test_an_unknown_pod_security_level_is_refused():
    with pytest.raises(ComponentInputError, match="enforce level 'strict'"):
        pod_security_labels(enforce="strict")
