"""K3sCluster: SSM-only access, least-privilege role, EIP before the server, hardened instance,
cloud-init rendered from its template, and the kubeconfig brought back as a secret."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from dhakacart_infra.aws import cluster as cluster_module
from dhakacart_infra.aws.cluster import CLOUD_INIT_TEMPLATE, render_cloud_init
from dhakacart_infra.plan.mocks import MOCK_ACCOUNT_ID, MOCK_UBUNTU_AMI_ID, is_secret, reveal
from dhakacart_infra.plan.runner import REPO_ROOT

INSTANCE = "aws:ec2/instance:Instance"
KUBECONFIG = "pulumi-python:dynamic/dhakacart:K3sKubeconfig"


def _render(**overrides) -> str:
    values = {
        "k3s_version": "v1.35.8+k3s1",
        "k3s_token": "Tok3n",
        "public_ip": "13.232.1.2",
        "parameter_name": "/dhakacart/dev/k3s/kubeconfig",
        "region": "ap-south-1",
        **overrides,
    }
    return render_cloud_init(**values)


def test_cloud_init_is_valid_cloud_config_with_every_value_rendered():
    text = _render()
    assert text.startswith("#cloud-config\n") and "@@" not in text
    doc = yaml.safe_load(text)
    files = {f["path"]: f for f in doc["write_files"]}
    k3s = yaml.safe_load(files["/etc/rancher/k3s/config.yaml"]["content"])
    assert k3s == {
        "token": "Tok3n",
        "tls-san": ["13.232.1.2"],
        "node-external-ip": "13.232.1.2",
        "secrets-encryption": True,
        "write-kubeconfig-mode": "0600",
    }
    assert files["/etc/rancher/k3s/config.yaml"]["permissions"] == "0600"
    commands = " ".join(" ".join(c) if isinstance(c, list) else c for c in doc["runcmd"])
    assert "INSTALL_K3S_VERSION='v1.35.8+k3s1'" in commands
    assert "disable" not in commands  # K3s's Traefik stays: it is the ingress controller
    assert "snap install aws-cli --classic" in commands
    publish = files["/usr/local/sbin/dhakacart-publish-kubeconfig"]["content"]
    assert "put-parameter" in publish and "--type SecureString" in publish and "--overwrite" in publish
    assert '--name "/dhakacart/dev/k3s/kubeconfig"' in publish and '--region "ap-south-1"' in publish
    assert "s#https://127.0.0.1:6443#https://13.232.1.2:6443#" in publish
    assert "dhakacart-k3s-instance" in publish


def test_the_server_republishes_its_kubeconfig_whenever_k3s_rewrites_it():
    # K3s renews its year-long client certificates on a start near expiry and rewrites k3s.yaml;
    # without republishing, the kubeconfig in SSM and in Pulumi's state would stop working.
    doc = yaml.safe_load(_render())
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    path_unit = files["/etc/systemd/system/dhakacart-publish-kubeconfig.path"]
    service = files["/etc/systemd/system/dhakacart-publish-kubeconfig.service"]
    assert "PathChanged=/etc/rancher/k3s/k3s.yaml" in path_unit and "WantedBy=multi-user.target" in path_unit
    assert "ExecStart=/usr/local/sbin/dhakacart-publish-kubeconfig" in service
    assert "Type=oneshot" in service
    commands = [c if isinstance(c, list) else [c] for c in doc["runcmd"]]
    first_publish = commands.index(["/usr/local/sbin/dhakacart-publish-kubeconfig"])
    assert commands[first_publish + 1:] == [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "dhakacart-publish-kubeconfig.path"],
    ]
    # The script writes its copy elsewhere, so publishing never triggers itself.
    publish = files["/usr/local/sbin/dhakacart-publish-kubeconfig"]
    assert "> /etc/rancher/k3s/k3s.yaml" not in publish


def test_cloud_init_template_is_a_real_file_and_a_missing_value_fails_loudly():
    assert CLOUD_INIT_TEMPLATE.is_file()
    with pytest.raises(TypeError):
        render_cloud_init(k3s_version="v1.35.8+k3s1")  # type: ignore[call-arg]
    with pytest.raises(KeyError):
        cluster_module.CloudInitTemplate(CLOUD_INIT_TEMPLATE.read_text()).substitute(
            k3s_version="v1.35.8+k3s1"
        )


def test_instance_is_hardened(stack_plan):
    server = stack_plan.one(INSTANCE)
    inputs = server.inputs
    assert inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 2,
    }
    root = inputs["rootBlockDevice"]
    assert root["volumeType"] == "gp3" and root["encrypted"] is True
    assert root["volumeSize"] == {"dev": 40, "prod": 80}[stack_plan.stack]
    assert inputs["monitoring"] is True
    assert inputs["instanceType"] == {"dev": "t3.medium", "prod": "t3.xlarge"}[stack_plan.stack]
    assert not inputs.get("keyName")  # no SSH key: access is through SSM Session Manager
    assert inputs["disableApiTermination"] is (stack_plan.stack == "prod")
    assert set(server.ignore_changes) == {"ami", "userData"}  # never stop or replace the only server


def test_instance_uses_the_latest_ubuntu_lts_ami_from_canonical(stack_plan):
    assert stack_plan.one(INSTANCE).inputs["ami"] == MOCK_UBUNTU_AMI_ID
    assert cluster_module.CANONICAL_OWNER_ID == "099720109477"
    assert cluster_module.UBUNTU_LTS_VERSION == "26.04"
    assert cluster_module.UBUNTU_LTS_AMI_NAME == "ubuntu/images/hvm-ssd-gp3/ubuntu-*-26.04-amd64-server-*"


# K3s's OS validation of Ubuntu 26.04 (k3s-io/k3s#14576): per Kubernetes minor, the first patch.
K3S_VALIDATED_ON_UBUNTU = {"26.04": {(1, 34): 11, (1, 35): 8, (1, 36): 4}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_stacks_k3s_release_is_validated_on_the_servers_ubuntu(stack):
    from dhakacart_infra.plan.runner import read_stack_config

    release = re.match(r"v(\d+)\.(\d+)\.(\d+)\+k3s\d+$", read_stack_config(stack).cluster.k3s_version)
    major, minor, patch = map(int, release.groups())
    first_validated = K3S_VALIDATED_ON_UBUNTU[cluster_module.UBUNTU_LTS_VERSION]
    assert (major, minor) in first_validated and patch >= first_validated[(major, minor)]


# EC2 name filters match `*` like fnmatch; real names of Canonical's images (owner 099720109477).
@pytest.mark.parametrize(
    ("image_name", "wanted"),
    [
        ("ubuntu/images/hvm-ssd-gp3/ubuntu-resolute-26.04-amd64-server-20260423", True),
        ("ubuntu/images/hvm-ssd-gp3/ubuntu-resolute-26.04-amd64-server-20261101.1", True),
        ("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20261015", False),  # previous LTS
        ("ubuntu/images/hvm-ssd-gp3/ubuntu-resolute-26.04-arm64-server-20261101", False),  # Graviton
        ("ubuntu/images/hvm-ssd/ubuntu-resolute-26.04-amd64-server-20261101", False),  # gp2 root volume
        ("ubuntu-minimal/images/hvm-ssd-gp3/ubuntu-resolute-26.04-amd64-minimal-20261101", False),
        ("ubuntu/images-testing/hvm-ssd-gp3/ubuntu-resolute-daily-amd64-server-20261124", False),
    ],
)
def test_the_ami_name_filter_finds_only_the_26_04_amd64_server_image(image_name, wanted):
    assert fnmatch.fnmatchcase(image_name, cluster_module.UBUNTU_LTS_AMI_NAME) is wanted


def test_instance_sits_in_a_public_subnet_behind_the_cluster_security_group(stack_plan):
    server = stack_plan.one(INSTANCE)
    public_ids = {
        s.id for s in stack_plan.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "public"
    }
    assert server.inputs["subnetId"] in public_ids
    cluster_sg = stack_plan.one("aws:ec2/securityGroup:SecurityGroup", "network-cluster-sg")
    assert server.inputs["vpcSecurityGroupIds"] == [cluster_sg.id]


def test_user_data_is_secret_and_carries_the_eip_and_token(stack_plan):
    server = stack_plan.one(INSTANCE)
    assert is_secret(server.inputs["userData"])
    user_data = reveal(server.inputs["userData"])
    eip = stack_plan.one("aws:ec2/eip:Eip")
    token = stack_plan.one("random:index/randomPassword:RandomPassword", "k3s-token")
    assert f'- "{eip.state["publicIp"]}"' in user_data
    assert f'token: "{reveal(token.state["result"])}"' in user_data
    assert f"/dhakacart/{stack_plan.stack}/k3s/kubeconfig" in user_data
    assert token.inputs["length"] >= 32 and token.inputs["special"] is False
    # The EIP is allocated before the instance exists: the instance's user data depends on it.
    assert eip.urn in server.property_dependencies["userData"]


def test_eip_is_associated_after_the_instance_exists(stack_plan):
    association = stack_plan.one("aws:ec2/eipAssociation:EipAssociation")
    eip, server = stack_plan.one("aws:ec2/eip:Eip"), stack_plan.one(INSTANCE)
    assert association.inputs["allocationId"] == eip.state["allocationId"]
    assert association.inputs["instanceId"] == server.id
    assert eip.inputs["domain"] == "vpc"


def test_role_allows_ssm_session_manager_and_only_writing_its_own_parameter(stack_plan):
    role = stack_plan.one("aws:iam/role:Role", "k3s-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    attachments = stack_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    attached = [a.inputs["policyArn"] for a in attachments if a.parent_name == "k3s"]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    inline = [p for p in stack_plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.parent_name == "k3s"]
    assert len(inline) == 1
    (statement,) = json.loads(inline[0].inputs["policy"])["Statement"]
    assert statement["Action"] == "ssm:PutParameter"
    assert statement["Resource"] == (
        f"arn:aws:ssm:ap-south-1:{MOCK_ACCOUNT_ID}:parameter/dhakacart/{stack_plan.stack}/k3s/kubeconfig"
    )
    profile = stack_plan.one("aws:iam/instanceProfile:InstanceProfile")
    assert stack_plan.one(INSTANCE).inputs["iamInstanceProfile"] == profile.state["name"]
    assert profile.inputs["role"] == role.state["name"]


def test_kubeconfig_waits_for_the_eip_association_and_is_secret(stack_plan):
    dynamic = stack_plan.one(KUBECONFIG)
    association = stack_plan.one("aws:ec2/eipAssociation:EipAssociation")
    assert association.urn in dynamic.dependencies
    eip = stack_plan.one("aws:ec2/eip:Eip")
    assert dynamic.inputs["server_url"] == f"https://{eip.state['publicIp']}:6443"
    assert dynamic.inputs["instance_id"] == stack_plan.one(INSTANCE).id
    assert "kubeconfig" in dynamic.additional_secret_outputs
    assert is_secret(dynamic.state["kubeconfig"])
    assert is_secret(dynamic.inputs["__provider"])


def test_kubernetes_provider_is_built_from_the_secret_kubeconfig(stack_plan):
    provider = stack_plan.one("pulumi:providers:kubernetes", "k3s-k8s")
    assert is_secret(provider.inputs["kubeconfig"])
    kubeconfig = yaml.safe_load(reveal(provider.inputs["kubeconfig"]))
    eip = stack_plan.one("aws:ec2/eip:Eip")
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{eip.state['publicIp']}:6443"


def test_cluster_component_exposes_its_outputs(stack_plan):
    outputs = stack_plan.one("dhakacart:aws:K3sCluster").outputs
    assert is_secret(outputs["kubeconfig"])
    plain = reveal(outputs)
    server = stack_plan.one(INSTANCE)
    assert plain["instance_id"] == server.id and plain["k3s_version"] == "v1.35.8+k3s1"
    assert plain["public_ip"] == stack_plan.one("aws:ec2/eip:Eip").state["publicIp"]
    assert plain["instance_role_arn"].startswith(f"arn:aws:iam::{MOCK_ACCOUNT_ID}:role/")
    assert plain["instance_role_name"]
    assert (
        plain["ssm_start_session_command"]
        == f"aws ssm start-session --region ap-south-1 --target {server.id}"
    )



def test_documented_in_place_k3s_upgrade_uses_the_installer_and_pin_cloud_init_uses():
    """The docs tell operators to upgrade K3s over SSM because the instance ignores user-data
    changes; their commands must install the way cloud-init installed the server."""
    template = CLOUD_INIT_TEMPLATE.read_text()
    (installer_url,) = set(re.findall(r"https://get\.k3s\.io", template))
    assert "INSTALL_K3S_VERSION=" in template
    upgrade = re.compile(r"sudo INSTALL_K3S_VERSION='?v1\.\d+\.\d+\+k3s\d+'? sh /tmp/k3s-install\.sh server")
    for doc in ("README.md", "docs/DEPLOYMENT_GUIDE.md"):
        text = (REPO_ROOT / doc).read_text()
        assert f"curl -sfL {installer_url} -o /tmp/k3s-install.sh" in text, doc
        assert upgrade.search(text), doc


def test_the_ami_lookup_asks_canonical_for_the_newest_ubuntu_lts_amd64_image(monkeypatch):
    # The mock answers any getAmi the same way, so the request itself is what proves the lookup.
    import pulumi

    from dhakacart_infra.aws.cluster import K3sCluster, K3sClusterArgs
    from dhakacart_infra.plan.mocks import PlanMocks
    from dhakacart_infra.plan.runner import run_program

    requests: list[dict] = []
    answer = PlanMocks.call

    def recording_call(self, args):
        if args.token == "aws:ec2/getAmi:getAmi":
            requests.append(reveal(dict(args.args)))
        return answer(self, args)

    monkeypatch.setattr(PlanMocks, "call", recording_call)

    def program() -> None:
        K3sCluster("k3s", K3sClusterArgs(
            name_prefix="dhakacart-dev", region="ap-south-1", subnet_id="subnet-1", security_group_id="sg-1",
            instance_type="t3.medium", root_volume_gb=40, k3s_version="v1.35.8+k3s1",
            termination_protection=False,
        ))
        pulumi.export("done", True)

    run_program("dev", program=program)
    [lookup] = requests
    assert lookup["owners"] == ["099720109477"]  # Canonical
    assert lookup["mostRecent"] is True
    filters = {f["name"]: f["values"] for f in lookup["filters"]}
    assert filters["name"] == [cluster_module.UBUNTU_LTS_AMI_NAME]
    assert filters["architecture"] == ["x86_64"]
    lts_amd64 = r"ubuntu/images/hvm-ssd-gp3/ubuntu-\*-\d\d\.04-amd64-server-\*"
    assert re.fullmatch(lts_amd64, filters["name"][0])


IMDS_RULES = "/etc/dhakacart/imds-root-only.nft"
IMDS_UNIT = "/etc/systemd/system/dhakacart-imds-root-only.service"


def test_only_root_on_the_node_reaches_the_instance_metadata_service():
    # Host-network pods (node-exporter) are outside NetworkPolicy; an OUTPUT rule on the node covers
    # them, loaded by its own unit on every boot before K3s, in a table of its own.
    doc = yaml.safe_load(_render())
    files = {f["path"]: f["content"] for f in doc["write_files"]}
    assert "nftables" in doc["packages"]
    rules = files[IMDS_RULES]
    assert "ip daddr 169.254.169.254 meta skuid != 0 counter reject" in rules
    assert "type filter hook output" in rules and "flush ruleset" not in rules
    unit = files[IMDS_UNIT]
    assert "Before=k3s.service" in unit and "WantedBy=multi-user.target" in unit
    assert f"ExecStart=/usr/sbin/nft -f {IMDS_RULES}" in unit and "RemainAfterExit=yes" in unit
    commands = [c if isinstance(c, list) else [c] for c in doc["runcmd"]]
    enable = commands.index(["systemctl", "enable", "--now", "dhakacart-imds-root-only.service"])
    install = next(i for i, c in enumerate(commands) if "k3s-install.sh server" in " ".join(c))
    assert commands[enable - 1] == ["systemctl", "daemon-reload"] and enable < install


def _nft() -> str:
    nft = shutil.which("nft")
    assert nft, "nft is missing: run make bootstrap (scripts/bootstrap.sh installs nftables)"
    return nft


def test_the_metadata_rules_are_valid_nftables(tmp_path):
    rules = tmp_path / "imds.nft"
    rules.write_text({f["path"]: f["content"] for f in yaml.safe_load(_render())["write_files"]}[IMDS_RULES])
    checked = subprocess.run([_nft(), "-c", "-f", str(rules)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    rules.write_text(rules.read_text().replace("!=", "!=="))
    assert subprocess.run([_nft(), "-c", "-f", str(rules)], capture_output=True, check=False).returncode != 0


_CONNECT_AS = """
import errno, os, socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("169.254.169.254", 80)); server.listen(5)
def attempt():
    s = socket.socket(); s.settimeout(2)
    try:
        s.connect(("169.254.169.254", 80)); return "connected"
    except OSError as e:
        return errno.errorcode.get(e.errno, "timeout")
results = {"root": attempt()}
read, write = os.pipe()
if os.fork() == 0:
    os.setgid(65534); os.setuid(65534); os.write(write, attempt().encode()); os._exit(0)
os.wait(); results["nobody"] = os.read(read, 100).decode()
print(results["root"], results["nobody"])
"""


def test_the_rules_let_root_through_and_refuse_any_other_user(tmp_path):
    # In a network namespace of its own: the metadata address on loopback with a listener, the rules
    # loaded as cloud-init writes them, then one connection as root and one as nobody (uid 65534,
    # node-exporter's user).
    rules = tmp_path / "imds.nft"
    rules.write_text({f["path"]: f["content"] for f in yaml.safe_load(_render())["write_files"]}[IMDS_RULES])
    script = (f"ip link set lo up && ip addr add 169.254.169.254/32 dev lo && {_nft()} -f {rules} && "
              f"{sys.executable} -c '{_CONNECT_AS}'")
    unshare = shutil.which("unshare")
    assert unshare and os.geteuid() == 0, "needs root and unshare (util-linux), as CI has"
    result = subprocess.run([unshare, "--net", "bash", "-c", script], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["connected", "ECONNREFUSED"]
