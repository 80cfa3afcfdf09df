"""K3sAgents: a launch template and an Auto Scaling group over the zones that the cluster
autoscaler finds by its tags and may scale, and nothing else; agents hardened like the servers."""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from dhakacart_infra.aws.agents import autoscaler_discovery_tags
from dhakacart_infra.plan.mocks import is_secret, reveal

GROUP = "aws:autoscaling/group:Group"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BOUNDS = {"dev": (0, 2), "prod": (3, 8)}


def agent_config(plan) -> dict:
    user_data = yaml.safe_load(base64.b64decode(reveal(plan.one(TEMPLATE).inputs["userData"])))
    written = {f["path"]: f["content"] for f in user_data["write_files"]}
    return yaml.safe_load(written["/etc/rancher/k3s/config.yaml"])


def test_the_group_spans_every_zone_between_the_configured_bounds(stack_plan):
    group = stack_plan.one(GROUP).inputs
    assert (group["minSize"], group["maxSize"]) == BOUNDS[stack_plan.stack]
    public = {
        s.id for s in stack_plan.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("network-public-")
    }
    assert set(group["vpcZoneIdentifiers"]) == public
    assert group["targetGroupArns"] and len(group["targetGroupArns"]) == 2  # http and https


def test_the_autoscaler_owns_the_desired_count(stack_plan):
    group = stack_plan.one(GROUP)
    assert "desiredCapacity" not in group.inputs
    assert "desiredCapacity" in group.ignore_changes


def test_a_new_template_rolls_the_group_new_node_first(stack_plan):
    refresh = stack_plan.one(GROUP).inputs["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    assert refresh["preferences"]["minHealthyPercentage"] == 100
    assert refresh["preferences"]["maxHealthyPercentage"] == 200
    template = stack_plan.one(GROUP).inputs["mixedInstancesPolicy"]["launchTemplate"]
    assert template["launchTemplateSpecification"]["version"] == "$Latest"


def test_the_group_carries_the_standard_and_discovery_tags_to_its_instances(stack_plan):
    tags = {t["key"]: t for t in stack_plan.one(GROUP).inputs["tags"]}
    expected = {
        "Project": "dhakacart",
        "Environment": stack_plan.stack,
        "Stack": stack_plan.stack,
        "ManagedBy": "pulumi",
        "Role": "k3s-agent",
        **autoscaler_discovery_tags(f"dhakacart-{stack_plan.stack}"),
    }
    for key, value in expected.items():
        assert tags[key]["value"] == value and tags[key]["propagateAtLaunch"] is True


def test_agents_are_hardened_like_the_servers(stack_plan):
    template = stack_plan.one(TEMPLATE).inputs
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert "keyName" not in template  # no SSH key: SSM only
    (disk,) = template["blockDeviceMappings"]
    assert disk["ebs"]["encrypted"] == "true" and disk["ebs"]["volumeType"] == "gp3"
    assert "instance-profile/k3s-agents-profile" in template["iamInstanceProfile"]["arn"]
    assert is_secret(template["userData"])  # it holds the agent token


def test_agents_join_through_the_load_balancer_with_the_agent_token(stack_plan):
    config = agent_config(stack_plan)
    assert config["server"] == f"https://{stack_plan.outputs['loadBalancerDnsName']}:6443"
    assert config["token"] and "agent-token" not in config


def test_the_agent_role_may_use_ssm_and_nothing_of_the_cluster(stack_plan):
    agent_roles = [r for r in stack_plan.of_type("aws:iam/role:Role") if r.name == "k3s-agents-role"]
    (role,) = agent_roles
    names = {role.id, role.state.get("name")}
    inline = [p.name for p in stack_plan.of_type(ROLE_POLICY) if p.inputs["role"] in names]
    assert inline == []  # the autoscaler's rights sit on a role of its own
    attachments = [
        a.inputs["policyArn"]
        for a in stack_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.parent_name == "k3s-agents" or a.name.startswith("k3s-agents")
    ]
    assert attachments == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]


def test_the_autoscaler_may_scale_only_this_group(stack_plan):
    (policy,) = [p for p in stack_plan.of_type(ROLE_POLICY) if p.name == "k3s-agents-autoscaler-policy"]
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    scale = statements["ScaleOnlyTheAgents"]
    assert scale["Resource"] == stack_plan.one(GROUP).state["arn"]
    assert set(scale["Action"]) == {
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    }
    cluster = f"dhakacart-{stack_plan.stack}"
    assert scale["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"
    }
    # everything else it may do is read-only
    assert all(
        a.split(":")[1].startswith(("Describe", "Get")) for a in statements["DiscoverGroups"]["Action"]
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"k3sAgentMinSize": "5", "k3sAgentMaxSize": "4"}, "k3sAgentMaxSize"),
        ({"k3sAgentMinSize": "2"}, "k3sAgentMinSize"),  # strict spread in prod: one per zone at least
    ],
)
def test_bounds_that_cannot_work_are_refused(run_stack, overrides, message):
    from dhakacart_infra.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        run_stack("prod", overrides=overrides)


def _agent_k3s_version(plan) -> str:
    user_data = yaml.safe_load(base64.b64decode(reveal(plan.one(TEMPLATE).inputs["userData"])))
    env = next(f["content"] for f in user_data["write_files"] if f["path"] == "/etc/dhakacart/node.env")
    return dict(line.split("=", 1) for line in env.splitlines())["K3S_VERSION"]


def test_new_agents_install_what_the_cluster_runs_not_what_it_is_being_upgraded_to(run_stack):
    # A new stack: the configured release.
    assert _agent_k3s_version(run_stack("prod")) == "v1.35.8+k3s1"
    # An upgrade in flight: the Plans move to v1.36, agents that join meanwhile stay on v1.35, so a
    # kubelet is never newer than the servers and the template does not roll the group mid-upgrade.
    upgrading = run_stack(
        "prod", overrides={"k3sVersion": "v1.36.4+k3s1"}, last_outputs={"clusterK3sVersion": "v1.35.8+k3s1"}
    )
    assert _agent_k3s_version(upgrading) == "v1.35.8+k3s1"
    # The next pulumi up, the upgrade deployed: agents join on the new release.
    after = run_stack(
        "prod", overrides={"k3sVersion": "v1.36.4+k3s1"}, last_outputs={"clusterK3sVersion": "v1.36.4+k3s1"}
    )
    assert _agent_k3s_version(after) == "v1.36.4+k3s1"
