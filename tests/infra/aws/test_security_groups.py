"""Who may talk to whom, read from the rules the program declares (no rule is inline)."""

from __future__ import annotations

SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
ADMINS = {"dev": ["203.0.113.0/24"], "prod": ["203.0.113.0/24", "198.51.100.0/24"]}


def _flows(plan, rule_type: str) -> set[tuple[str, str, str]]:
    """(group, peer, port): peer is a group's short name or a CIDR; port 'all' for every protocol."""
    names = {r.id: r.name.removeprefix("network-").removesuffix("-sg") for r in plan.of_type(SG)}
    flows = set()
    for rule in plan.of_type(rule_type):
        i = rule.inputs
        peer = names.get(i.get("referencedSecurityGroupId")) or i.get("cidrIpv4")
        port = "all" if i["ipProtocol"] == "-1" else f"{i['ipProtocol']}/{int(i['fromPort'])}"
        assert i["ipProtocol"] == "-1" or int(i["fromPort"]) == int(i["toPort"]), rule.name
        flows.add((names[i["securityGroupId"]], peer, port))
    return flows


def test_no_group_has_inline_rules(stack_plan):
    # Inline rules and rule resources on one group fight each other on every `pulumi up`.
    for group in stack_plan.of_type(SG):
        assert not group.inputs.get("ingress") and not group.inputs.get("egress"), group.name


def test_exactly_the_intended_traffic_may_enter(stack_plan):
    expected = {
        ("load-balancer", "0.0.0.0/0", "tcp/80"),
        ("load-balancer", "0.0.0.0/0", "tcp/443"),
        ("load-balancer", "cluster", "tcp/6443"),
        ("cluster", "load-balancer", "tcp/30080"),
        ("cluster", "load-balancer", "tcp/30443"),
        ("cluster", "load-balancer", "tcp/6443"),
        ("cluster", "cluster", "all"),
        ("database", "cluster", "tcp/5432"),
        *(("load-balancer", cidr, "tcp/6443") for cidr in ADMINS[stack_plan.stack]),
    }
    assert _flows(stack_plan, INGRESS) == expected


def test_nodes_accept_nothing_from_the_internet_and_no_ssh(stack_plan):
    for group, peer, port in _flows(stack_plan, INGRESS):
        if group in ("cluster", "database"):
            assert "/" not in peer, f"{group} open to {peer} on {port}"
        assert port != "tcp/22"


def test_the_load_balancer_reaches_only_the_nodes_and_the_database_sends_nothing(stack_plan):
    assert _flows(stack_plan, EGRESS) == {
        ("load-balancer", "cluster", "tcp/30080"),
        ("load-balancer", "cluster", "tcp/30443"),
        ("load-balancer", "cluster", "tcp/6443"),
        ("cluster", "0.0.0.0/0", "all"),
        # The etcd drill's scratch server (aws/etcd_drill.py): HTTPS out only, nothing in.
        ("etcd-drill", "0.0.0.0/0", "tcp/443"),
    }
