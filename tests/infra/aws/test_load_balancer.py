"""ClusterEntryPoints: one network load balancer over the zones, a fixed address in each, health
checks that take a node out before it gets traffic, and the client's address kept for the ingress."""

from __future__ import annotations

import pytest

from dhakacart_infra.names import HTTP_NODE_PORT, HTTPS_NODE_PORT, KUBERNETES_API_PORT

LB = "aws:lb/loadBalancer:LoadBalancer"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
EIP = "aws:ec2/eip:Eip"
SUBNET = "aws:ec2/subnet:Subnet"
ZONES = {"dev": 2, "prod": 3}


def groups(plan):
    return {r.inputs["port"]: r for r in plan.of_type(TARGET_GROUP)}


def test_one_internet_facing_nlb_with_an_elastic_ip_in_every_public_subnet(stack_plan):
    balancer = stack_plan.one(LB).inputs
    assert balancer["loadBalancerType"] == "network" and balancer["internal"] is False
    assert balancer["enableCrossZoneLoadBalancing"] is True
    mappings = balancer["subnetMappings"]
    public = {s.id for s in stack_plan.of_type(SUBNET) if s.name.startswith("network-public-")}
    assert {m["subnetId"] for m in mappings} == public
    assert len(mappings) == ZONES[stack_plan.stack]
    allocations = {r.id for r in stack_plan.of_type(EIP)}
    assert {m["allocationId"] for m in mappings} == allocations
    assert balancer["securityGroups"]  # so the nodes can admit the balancer by group


def test_deletion_protection_follows_the_environment(dev_plan, prod_plan):
    assert dev_plan.one(LB).inputs["enableDeletionProtection"] is False
    assert prod_plan.one(LB).inputs["enableDeletionProtection"] is True


def test_each_listener_forwards_to_its_target_group(stack_plan):
    by_arn = {g.state["arn"]: g for g in stack_plan.of_type(TARGET_GROUP)}
    listeners = {int(r.inputs["port"]): r.inputs for r in stack_plan.of_type(LISTENER)}
    expected = {KUBERNETES_API_PORT: KUBERNETES_API_PORT, 80: HTTP_NODE_PORT, 443: HTTPS_NODE_PORT}
    assert set(listeners) == set(expected)
    for port, listener in listeners.items():
        assert listener["protocol"] == "TCP"
        (action,) = listener["defaultActions"]
        assert action["type"] == "forward"
        assert int(by_arn[action["targetGroupArn"]].inputs["port"]) == expected[port]


def test_the_api_is_health_checked_on_k3s_ping_and_not_hairpinned(stack_plan):
    api = groups(stack_plan)[KUBERNETES_API_PORT].inputs
    check = api["healthCheck"]
    assert (check["protocol"], check["path"], check["matcher"]) == ("HTTPS", "/ping", "200")
    # nodes register through this address: with the client's address kept, a server could be
    # routed to itself and the NLB would drop the connection
    assert api["preserveClientIp"] == "false"


@pytest.mark.parametrize("port", [HTTP_NODE_PORT, HTTPS_NODE_PORT])
def test_the_ingress_keeps_the_clients_address_and_drops_a_node_without_traefik(stack_plan, port):
    group = groups(stack_plan)[port].inputs
    assert group["preserveClientIp"] == "true"
    check = group["healthCheck"]
    assert check["protocol"] == "TCP" and check["port"] == "traffic-port"
    # out after 2 failed checks 10 s apart, before the next connections go to it
    assert check["unhealthyThreshold"] * check["interval"] <= 30
    assert group["deregistrationDelay"] <= 60


def test_the_api_address_goes_into_the_servers_certificate(stack_plan):
    import yaml

    from dhakacart_infra.plan.mocks import reveal

    dns = stack_plan.outputs["loadBalancerDnsName"]
    for server in stack_plan.of_type("aws:ec2/instance:Instance"):
        user_data = yaml.safe_load(reveal(server.inputs["userData"]))
        config = next(f for f in user_data["write_files"] if f["path"] == "/etc/rancher/k3s/config.yaml")
        assert dns in yaml.safe_load(config["content"])["tls-san"]
