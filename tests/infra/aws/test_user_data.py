"""The nodes' cloud-init: valid cloud-config for the first server, a joining server and an agent;
K3s's settings as the cluster needs them; the scripts shellcheck-clean; the metadata firewall."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dhakacart_infra.aws import user_data as ud

API_HOST = "dhakacart-prod-k3s-0123456789abcdef.elb.ap-south-1.amazonaws.com"
ETCD = ud.EtcdSnapshots("dhakacart-prod-etcd-abc", "ap-south-1", "etcd-snapshots", "0 */6 * * *", 28)
ISSUER = ud.ServiceAccountIssuerSettings(
    issuer_url="https://dhakacart-prod-oidc-abc.s3.ap-south-1.amazonaws.com",
    signing_key_parameter="/dhakacart-prod/k3s/service-account-signing-key",
    public_key_pem="-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
)
IMDS_RULES = "/etc/dhakacart/imds-root-only.nft"
IMDS_UNIT = "/etc/systemd/system/dhakacart-imds-root-only.service"


def server(first: bool = True, dedicated: bool = True) -> str:
    return ud.server_user_data(
        ud.ServerSettings(
            k3s_version="v1.35.8+k3s1",
            region="ap-south-1",
            token="S" * 48,
            agent_token="A" * 48,
            api_host=API_HOST,
            extra_sans=["13.232.1.2", "13.232.1.3"],
            kubeconfig_parameter="/dhakacart/prod/k3s/kubeconfig",
            etcd=ETCD,
            dedicated=dedicated,
            may_initialise=first,
            service_accounts=ISSUER,
        )
    )


def agent() -> str:
    return ud.agent_user_data(
        ud.AgentSettings(
            k3s_version="v1.35.8+k3s1",
            region="ap-south-1",
            agent_token="A" * 48,
            api_host=API_HOST,
        )
    )


def files(text: str) -> dict[str, dict]:
    return {f["path"]: f for f in yaml.safe_load(text)["write_files"]}


def env(text: str) -> dict[str, str]:
    content = files(text)["/etc/dhakacart/node.env"]["content"]
    return dict(line.split("=", 1) for line in content.splitlines())


def k3s_config(text: str) -> dict:
    return yaml.safe_load(files(text)["/etc/rancher/k3s/config.yaml"]["content"])


VARIANTS = {"first-server": server(first=True), "joining-server": server(first=False), "agent": agent()}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_valid_cloud_config(variant, tmp_path):
    cloud_init = shutil.which("cloud-init")
    assert cloud_init, "cloud-init is missing: run make bootstrap (scripts/bootstrap.sh installs it)"
    path = tmp_path / "user-data"
    path.write_text(VARIANTS[variant])
    result = subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr
    path.write_text(VARIANTS[variant].replace("package_update: true", "package_update: sometimes"))
    broken = subprocess.run(
        [cloud_init, "schema", "--config-file", str(path)], capture_output=True, text=True, check=False
    )
    assert broken.returncode != 0  # the check can fail


@pytest.mark.parametrize("script", sorted(p.name for p in ud.NODE_FILES.glob("*.sh")))
def test_every_node_script_is_shellcheck_clean(script, tmp_path):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: run make bootstrap (scripts/bootstrap.sh installs it)"
    result = subprocess.run(
        [shellcheck, "--severity=style", str(ud.NODE_FILES / script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    unquoted = tmp_path / "bad.sh"
    unquoted.write_text("#!/bin/bash\nrm -rf $1/*\n")
    assert subprocess.run([shellcheck, str(unquoted)], capture_output=True, check=False).returncode != 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_scripts_are_written_as_the_files_are(variant):
    written = files(VARIANTS[variant])
    install = written["/usr/local/sbin/dhakacart-k3s-install"]
    assert install["content"] == (ud.NODE_FILES / "dhakacart-k3s-install.sh").read_text()
    assert install["permissions"] == "0700"
    for secret_file in ("/etc/dhakacart/node.env", "/etc/rancher/k3s/config.yaml"):
        assert written[secret_file]["permissions"] == "0600"


def test_the_first_server_may_start_the_cluster_and_the_others_only_join():
    assert env(server(first=True))["MAY_INITIALISE"] == "true"
    assert env(server(first=False))["MAY_INITIALISE"] == "false"
    for text in (server(first=True), server(first=False)):
        assert env(text)["REGISTRATION_URL"] == f"https://{API_HOST}:6443"
    script = (ud.NODE_FILES / "dhakacart-k3s-install.sh").read_text()
    # Only when nobody answers at the registration address: a replaced first server joins.
    assert 'if [ "$MAY_INITIALISE" = true ] && ! curl -skf --max-time 5 "$REGISTRATION_URL/ping"' in script
    assert 'echo "cluster-init: true"' in script and 'echo "server: \\"$REGISTRATION_URL\\""' in script


def test_servers_run_embedded_etcd_snapshotted_to_s3_behind_the_load_balancer():
    config = k3s_config(server())
    assert config["token"] == "S" * 48 and config["agent-token"] == "A" * 48
    assert config["tls-san"] == [API_HOST, "13.232.1.2", "13.232.1.3"]
    assert config["etcd-s3"] is True and config["etcd-s3-bucket"] == "dhakacart-prod-etcd-abc"
    assert (config["etcd-s3-region"], config["etcd-s3-folder"]) == ("ap-south-1", "etcd-snapshots")
    assert (config["etcd-snapshot-schedule-cron"], config["etcd-snapshot-retention"]) == ("0 */6 * * *", 28)
    assert config["secrets-encryption"] is True and config["write-kubeconfig-mode"] == "0600"
    # The load balancer brings traffic in; volumes are EBS, so no local-path default class.
    assert config["disable"] == ["servicelb", "local-storage"]
    assert not {"etcd-s3-access-key", "etcd-s3-secret-key"} & set(config)  # the instance role, no keys


def test_dedicated_servers_are_tainted_and_keep_traefik_off():
    assert k3s_config(server(dedicated=True))["node-taint"] == [ud.DEDICATED_SERVER_TAINT]
    assert "node-taint" not in k3s_config(server(dedicated=False))
    manifest = "/var/lib/rancher/k3s/server/manifests/dhakacart-traefik-config.yaml"
    for dedicated in (True, False):
        chart = yaml.safe_load(files(server(dedicated=dedicated))[manifest]["content"])
        assert chart["kind"] == "HelmChartConfig" and chart["metadata"] == {
            "name": "traefik",
            "namespace": "kube-system",
        }
        values = yaml.safe_load(chart["spec"]["valuesContent"])
        assert values["deployment"]["kind"] == "DaemonSet"
        assert values["service"] == {"type": "NodePort", "spec": {"externalTrafficPolicy": "Local"}}
        assert values["ports"] == {"web": {"nodePort": 30080}, "websecure": {"nodePort": 30443}}
        assert ("tolerations" in values) is dedicated


def test_agents_join_with_the_agent_token_and_never_see_the_server_token():
    text = agent()
    assert k3s_config(text) == {
        "server": f"https://{API_HOST}:6443",
        "token": "A" * 48,
        "kubelet-arg": ud.kubelet_args(),
    }
    assert "S" * 48 not in text
    assert env(text)["DHAKACART_ROLE"] == "agent"
    assert "/usr/local/sbin/dhakacart-publish-kubeconfig" not in files(text)


def test_every_node_reserves_resources_for_the_system_and_k3s():
    for text in VARIANTS.values():
        assert k3s_config(text)["kubelet-arg"] == [
            "system-reserved=cpu=100m,memory=256Mi",
            "kube-reserved=cpu=100m,memory=256Mi",
            "eviction-hard=memory.available<100Mi,nodefs.available<10%",
            "shutdown-grace-period=75s",
            "shutdown-grace-period-critical-pods=15s",
        ]


def test_a_node_shutting_down_gives_the_shop_its_whole_termination_grace():
    from dhakacart_infra.k8s.storefront.pods import TERMINATION_GRACE_PERIOD_SECONDS

    ordinary = ud.NODE_SHUTDOWN_GRACE_SECONDS - ud.NODE_SHUTDOWN_GRACE_CRITICAL_SECONDS
    assert ordinary >= TERMINATION_GRACE_PERIOD_SECONDS


def test_every_node_labels_its_zone_from_the_metadata_service():
    script = (ud.NODE_FILES / "dhakacart-k3s-install.sh").read_text()
    assert "metadata placement/availability-zone" in script
    assert "topology.kubernetes.io/zone=%s" in script and '"$drop_ins/20-topology.yaml"' in script


def test_servers_republish_the_kubeconfig_naming_cluster_and_server():
    written = files(server())
    path_unit = written["/etc/systemd/system/dhakacart-publish-kubeconfig.path"]["content"]
    assert "PathChanged=/etc/rancher/k3s/k3s.yaml" in path_unit
    publish = written["/usr/local/sbin/dhakacart-publish-kubeconfig"]["content"]
    assert 'echo "# dhakacart-k3s: cluster=$CLUSTER_FINGERPRINT server=$instance_id"' in publish
    assert 'sed "s#https://127.0.0.1:6443#$API_URL#"' in publish
    assert "> /etc/rancher/k3s/k3s.yaml" not in publish  # publishing never triggers itself
    assert env(server())["CLUSTER_FINGERPRINT"] == ud.token_fingerprint("S" * 48)
    assert "S" * 48 not in written["/etc/dhakacart/node.env"]["content"]


def test_a_value_the_scripts_would_misread_is_refused():
    with pytest.raises(ValueError, match="plain word"):
        ud.agent_user_data(
            ud.AgentSettings(
                k3s_version="v1.35.8+k3s1; rm -rf /", region="ap-south-1", agent_token="A", api_host=API_HOST
            )
        )


# --- the metadata firewall (only root reaches 169.254.169.254) ------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_root_on_the_node_reaches_the_instance_metadata_service(variant):
    # Host-network pods (node-exporter) are outside NetworkPolicy; an OUTPUT rule on the node covers
    # them, loaded by its own unit on every boot before K3s, in a table of its own.
    doc = yaml.safe_load(VARIANTS[variant])
    written = {f["path"]: f["content"] for f in doc["write_files"]}
    assert "nftables" in doc["packages"]
    assert "ip daddr 169.254.169.254 meta skuid != 0 counter reject" in written[IMDS_RULES]
    assert "flush ruleset" not in written[IMDS_RULES]
    unit = written[IMDS_UNIT]
    assert "Before=k3s.service k3s-agent.service" in unit and "WantedBy=multi-user.target" in unit
    commands = doc["runcmd"]
    enable = commands.index(["systemctl", "enable", "--now", "dhakacart-imds-root-only.service"])
    assert enable < commands.index(["/usr/local/sbin/dhakacart-k3s-install"])


def _nft() -> str:
    nft = shutil.which("nft")
    assert nft, "nft is missing: run make bootstrap (scripts/bootstrap.sh installs nftables)"
    return nft


def test_the_metadata_rules_are_valid_nftables(tmp_path):
    rules = tmp_path / "imds.nft"
    rules.write_text((ud.NODE_FILES / "imds-root-only.nft").read_text())
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


def test_the_rules_let_root_through_and_refuse_any_other_user(tmp_path: Path):
    # In a network namespace of its own: the metadata address on loopback with a listener, the rules
    # loaded as cloud-init writes them, then one connection as root and one as nobody (uid 65534,
    # node-exporter's user).
    rules = tmp_path / "imds.nft"
    rules.write_text((ud.NODE_FILES / "imds-root-only.nft").read_text())
    script = (
        f"ip link set lo up && ip addr add 169.254.169.254/32 dev lo && {_nft()} -f {rules} && "
        f"{sys.executable} -c '{_CONNECT_AS}'"
    )
    unshare = shutil.which("unshare")
    assert unshare and os.geteuid() == 0, "needs root and unshare (util-linux), as CI has"
    result = subprocess.run(
        [unshare, "--net", "bash", "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["connected", "ECONNREFUSED"]


# --- per-pod identity: the API server signs as the published issuer ---------------------------------


def test_servers_sign_service_account_tokens_as_the_published_issuer_and_keep_k3s_own_accepted():
    for text in (VARIANTS["first-server"], VARIANTS["joining-server"]):
        args = k3s_config(text)["kube-apiserver-arg"]
        assert f"service-account-issuer-={ISSUER.issuer_url}" in args  # prepended: it signs
        assert f"service-account-jwks-uri={ISSUER.issuer_url}/keys.json" in args
        assert f"service-account-signing-key-file={ud.SERVICE_ACCOUNT_SIGNING_KEY}" in args
        assert f"service-account-key-file+={ud.SERVICE_ACCOUNT_PUBLIC_KEY}" in args  # appended: K3s's stays
        written = files(text)
        assert written[ud.SERVICE_ACCOUNT_PUBLIC_KEY]["content"] == ISSUER.public_key_pem
        # The private half never travels in the user data: the server reads it from SSM at boot.
        assert ud.SERVICE_ACCOUNT_SIGNING_KEY not in written
        assert env(text)["SERVICE_ACCOUNT_KEY_PARAMETER"] == ISSUER.signing_key_parameter
        assert env(text)["SERVICE_ACCOUNT_SIGNING_KEY"] == ud.SERVICE_ACCOUNT_SIGNING_KEY


def test_agents_get_no_signing_key_and_no_api_server_flags():
    assert "kube-apiserver-arg" not in k3s_config(VARIANTS["agent"])
    assert "SERVICE_ACCOUNT_KEY_PARAMETER" not in env(VARIANTS["agent"])


def test_the_install_script_fetches_the_signing_key_before_k3s_starts_and_names_the_node_for_ebs():
    script = (ud.NODE_FILES / "dhakacart-k3s-install.sh").read_text()
    fetch = script.index('--name "$SERVICE_ACCOUNT_KEY_PARAMETER"')
    assert fetch < script.index("sh /run/k3s-install.sh")
    assert "--with-decryption" in script and 'test -s "$SERVICE_ACCOUNT_SIGNING_KEY"' in script
    # The EBS CSI node plugin reads the instance from the Node's provider ID (no metadata service).
    assert "provider-id=aws:///%s/%s" in script
    assert script.index("umask 077") < fetch  # the key file is written 0600
