"""K3sCluster: an odd number of hardened servers over the zones, etcd snapshots to a private bucket
only they may write, the kubeconfig from whichever server is up, a provider that knows its cluster."""

from __future__ import annotations

import json

import pytest
import yaml

from dhakacart_infra.aws import cluster as cluster_module
from dhakacart_infra.aws.cluster import cluster_identifier, server_zone_index
from dhakacart_infra.aws.user_data import token_fingerprint
from dhakacart_infra.plan.mocks import MOCK_ACCOUNT_ID, MOCK_UBUNTU_AMI_ID, is_secret, reveal
from dhakacart_infra.plan.runner import read_stack_config

INSTANCE = "aws:ec2/instance:Instance"
KUBECONFIG = "pulumi-python:dynamic/dhakacart:K3sKubeconfig"
ATTACHMENT = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
SERVERS = {"dev": 1, "prod": 3}


def servers(plan):
    return sorted(
        (r for r in plan.of_type(INSTANCE) if r.inputs["tags"].get("Role") == "k3s-server"),
        key=lambda r: r.name,
    )


def subnet_zone(plan, subnet_id: str) -> str:
    return next(
        s.inputs["availabilityZone"] for s in plan.of_type("aws:ec2/subnet:Subnet") if s.id == subnet_id
    )


def user_data(server) -> dict:
    return yaml.safe_load(reveal(server.inputs["userData"]))


def test_servers_are_odd_in_number_and_one_per_zone(stack_plan):
    found = servers(stack_plan)
    assert len(found) == SERVERS[stack_plan.stack]
    zones = [subnet_zone(stack_plan, s.inputs["subnetId"]) for s in found]
    assert len(set(zones)) == len(zones)  # never two in one zone (while there are zones enough)
    public = {
        s.id for s in stack_plan.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "public"
    }
    assert all(s.inputs["subnetId"] in public for s in found)


def test_servers_take_the_zones_in_turn():
    assert [server_zone_index(i, 3) for i in range(5)] == [0, 1, 2, 0, 1]


def test_only_the_first_server_may_start_the_cluster(stack_plan):
    flags = []
    for server in servers(stack_plan):
        node_env = {f["path"]: f["content"] for f in user_data(server)["write_files"]}[
            "/etc/dhakacart/node.env"
        ]
        flags.append("MAY_INITIALISE=true" in node_env)
    assert flags == [True] + [False] * (SERVERS[stack_plan.stack] - 1)


def test_servers_are_hardened(stack_plan):
    for server in servers(stack_plan):
        inputs = server.inputs
        assert inputs["metadataOptions"]["httpTokens"] == "required"
        root = inputs["rootBlockDevice"]
        assert root["volumeType"] == "gp3" and root["encrypted"] is True and root["volumeSize"] == 40
        assert inputs["instanceType"] == "t3.medium" and inputs["monitoring"] is True
        assert not inputs.get("keyName")  # no SSH key: access is through SSM Session Manager
        assert inputs["disableApiTermination"] is (stack_plan.stack == "prod")
        assert set(server.ignore_changes) == {"ami", "userData"}
        assert inputs["ami"] == MOCK_UBUNTU_AMI_ID and is_secret(inputs["userData"])


def test_one_server_is_replaced_old_first_and_of_several_new_first(dev_plan, prod_plan):
    # A lone server's replacement starts a new cluster; with three, the new one joins before the
    # old one leaves, so etcd keeps its quorum.
    assert [s.delete_before_replace for s in servers(dev_plan)] == [True]
    assert [s.delete_before_replace for s in servers(prod_plan)] == [False, False, False]


def test_prod_servers_are_tainted_and_serve_only_the_api(dev_plan, prod_plan):
    for plan, dedicated in ((dev_plan, False), (prod_plan, True)):
        for server in servers(plan):
            config = {f["path"]: f["content"] for f in user_data(server)["write_files"]}
            assert ("node-taint" in yaml.safe_load(config["/etc/rancher/k3s/config.yaml"])) is dedicated
        ports = sorted(int(a.inputs["port"]) for a in plan.of_type(ATTACHMENT))
        expected = [6443] * SERVERS[plan.stack] + ([] if dedicated else [30080, 30443] * SERVERS[plan.stack])
        assert ports == sorted(expected)


def test_the_server_role_publishes_its_kubeconfig_and_writes_only_its_snapshots(stack_plan):
    policy = json.loads(stack_plan.one("aws:iam/rolePolicy:RolePolicy", "k3s-server-access").inputs["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    bucket = next(
        b for b in stack_plan.of_type("aws:s3/bucket:Bucket") if b.name == "k3s-etcd-snapshots-bucket"
    )
    arn = bucket.state["arn"]
    assert statements["PublishKubeconfig"]["Resource"] == (
        f"arn:aws:ssm:ap-south-1:{MOCK_ACCOUNT_ID}:parameter/dhakacart/{stack_plan.stack}/k3s/kubeconfig"
    )
    assert statements["ReadWriteSnapshots"]["Resource"] == f"{arn}/etcd-snapshots/*"
    assert statements["ListSnapshots"]["Resource"] == arn
    assert not any("*" in a for s in policy["Statement"] for a in s["Action"] if isinstance(a, str))


def test_etcd_snapshots_go_to_a_private_encrypted_versioned_bucket(stack_plan):
    component = stack_plan.one("dhakacart:aws:PrivateBucket", "k3s-etcd-snapshots")
    inside = {r.type.rsplit(":", 1)[-1] for r in stack_plan.descendants_of(component)}
    assert {"Bucket", "BucketPublicAccessBlock", "BucketVersioning", "BucketPolicy", "Key"} <= inside
    cfg = read_stack_config(stack_plan.stack)
    k3s = yaml.safe_load(
        next(
            f["content"]
            for f in user_data(servers(stack_plan)[0])["write_files"]
            if f["path"] == "/etc/rancher/k3s/config.yaml"
        )
    )
    assert k3s["etcd-snapshot-retention"] == cfg.cluster.servers.etcd_snapshot_retention
    assert k3s["etcd-s3-folder"] == cluster_module.ETCD_SNAPSHOT_FOLDER


def test_the_kubeconfig_waits_for_this_clusters_current_servers(stack_plan):
    dynamic = stack_plan.one(KUBECONFIG)
    nlb = stack_plan.one("aws:lb/loadBalancer:LoadBalancer")
    assert dynamic.inputs["server_url"] == f"https://{nlb.state['dnsName']}:6443"
    assert dynamic.inputs["server_instance_ids"] == [s.id for s in servers(stack_plan)]
    token = stack_plan.one("random:index/randomPassword:RandomPassword", "k3s-token")
    assert dynamic.inputs["cluster_fingerprint"] == token_fingerprint(reveal(token.state["result"]))
    assert not is_secret(dynamic.inputs["cluster_fingerprint"])
    assert is_secret(dynamic.state["kubeconfig"]) and "kubeconfig" in dynamic.additional_secret_outputs


def test_the_provider_knows_its_cluster_by_token_and_with_one_server_by_that_server(stack_plan):
    provider = stack_plan.one("pulumi:providers:kubernetes", "k3s-k8s")
    assert is_secret(provider.inputs["kubeconfig"])
    kubeconfig = yaml.safe_load(reveal(provider.inputs["kubeconfig"]).split("\n", 1)[1])
    nlb = stack_plan.one("aws:lb/loadBalancer:LoadBalancer")
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{nlb.state['dnsName']}:6443"
    token = reveal(stack_plan.one("random:index/randomPassword:RandomPassword", "k3s-token").state["result"])
    ids = [s.id for s in servers(stack_plan)]
    assert provider.inputs["clusterIdentifier"] == cluster_identifier(
        token_fingerprint(token), ids, single_server=len(ids) == 1
    )


@pytest.mark.parametrize(
    ("servers_now", "servers_then", "token_then", "new_cluster"),
    [
        (["i-a"], ["i-b"], "same", True),  # dev's only server replaced
        (["i-a", "i-b", "i-c"], ["i-a", "i-b", "i-d"], "same", False),  # one server of three replaced
        (["i-a", "i-b", "i-c"], ["i-a", "i-b", "i-c"], "new", True),  # a new token: a new cluster
        (["i-a"], ["i-a"], "same", False),  # nothing changed
    ],
)
def test_the_cluster_identifier_changes_when_and_only_when_the_cluster_is_new(
    servers_now, servers_then, token_then, new_cluster
):
    now = cluster_identifier("tok", servers_now, single_server=len(servers_now) == 1)
    then = cluster_identifier(
        "tok" if token_then == "same" else "tok2", servers_then, single_server=len(servers_then) == 1
    )
    assert (now != then) is new_cluster


def test_cluster_component_exposes_its_outputs(stack_plan):
    outputs = stack_plan.one("dhakacart:aws:K3sCluster").outputs
    assert is_secret(outputs["kubeconfig"])
    plain = reveal(outputs)
    assert plain["server_instance_ids"] == [s.id for s in servers(stack_plan)]
    assert plain["api_url"].endswith(".elb.ap-south-1.amazonaws.com:6443")
    assert plain["etcd_snapshot_bucket"] and plain["server_role_name"]
