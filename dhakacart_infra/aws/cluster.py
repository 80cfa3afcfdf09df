"""The K3s control plane: an odd number of servers with embedded etcd, one per zone in turn.

The first server starts the cluster and the others join it through the load balancer's stable
address, all with the same token; agents (agents.py) join with their own token. etcd snapshots
go, on K3s's own schedule, to a private bucket of the stack that only the servers may write. The
kubeconfig comes back into the graph through SSM (kubeconfig.py), addressed to the load balancer
and published by whichever server is up, and feeds the Kubernetes provider, whose
`cluster_identifier` changes when, and only when, the cluster is really new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..names import HTTP_NODE_PORT, HTTPS_NODE_PORT, KUBERNETES_API_PORT
from ..tags import with_name
from .iam import policy_document
from .kubeconfig import K3sKubeconfig, K3sKubeconfigArgs
from .nodes import metadata_options, node_role, ubuntu_ami
from .private_bucket import PrivateBucket, PrivateBucketArgs
from .user_data import (
    EtcdSnapshots,
    ServerSettings,
    ServiceAccountIssuerSettings,
    server_user_data,
    token_fingerprint,
)

ETCD_SNAPSHOT_FOLDER = "etcd-snapshots"
# Objects K3s's retention somehow left behind (a server that was removed prunes nothing) expire.
ETCD_SNAPSHOT_EXPIRY_DAYS = 35
TOKEN_LENGTH = 48


@dataclass(frozen=True)
class ServerPoolSettings:
    """What the stack configuration decides about the servers (the k3s* and etcd* keys)."""

    count: int
    instance_type: str
    volume_gb: int
    k3s_version: str
    dedicated: bool
    """Tainted: only the control plane runs on them; the shop and the platform run on agents."""
    termination_protection: bool
    etcd_snapshot_schedule: str
    etcd_snapshot_retention: int


def kubeconfig_parameter_name(name_prefix: str) -> str:
    return f"/{name_prefix.replace('-', '/', 1)}/k3s/kubeconfig"


def server_zone_index(server: int, zone_count: int) -> int:
    """Servers take the zones in turn: three servers over three zones, one in each."""
    return server % zone_count


def cluster_identifier(fingerprint: str, server_ids: Sequence[str], single_server: bool) -> str:
    """What makes this cluster this cluster: its token, and with one server that server (replacing
    it starts a new, empty cluster); with several, replacing one keeps the cluster."""
    identity = fingerprint if not single_server else f"{fingerprint}-{server_ids[0]}"
    return "k3s-" + hashlib.sha256(identity.encode()).hexdigest()[:16]


@dataclass
class K3sClusterArgs:
    name_prefix: str
    region: str
    subnet_ids: pulumi.Input[list[str]]
    """One public subnet per zone."""
    zone_count: int
    security_group_id: pulumi.Input[str]
    servers: ServerPoolSettings
    api_host: pulumi.Input[str]
    """The load balancer's DNS name: registration address and the API's stable endpoint."""
    api_addresses: pulumi.Input[list[str]]
    """The load balancer's fixed addresses, also in the API certificate."""
    api_target_group_arn: pulumi.Input[str]
    ingress_target_group_arns: pulumi.Input[list[str]]
    """Servers serve ingress too when they are not dedicated (dev's one server)."""
    service_account_issuer_url: pulumi.Input[str]
    """The published issuer (ServiceAccountIssuer.issuer_url) the API server signs tokens as."""
    service_account_key_parameter_name: str
    service_account_key_parameter_arn: pulumi.Input[str]
    service_account_key_kms_key_arn: pulumi.Input[str]
    service_account_public_key_pem: pulumi.Input[str]


class K3sCluster(pulumi.ComponentResource):
    server_instance_ids: pulumi.Output[list[str]]
    kubeconfig: pulumi.Output[str]  # secret
    provider: k8s.Provider
    api_url: pulumi.Output[str]
    agent_token: pulumi.Output[str]  # secret
    server_role_name: pulumi.Output[str]
    server_role_arn: pulumi.Output[str]
    etcd_snapshot_bucket: pulumi.Output[str]
    etcd_snapshot_folder: str
    etcd_snapshot_bucket_arn: pulumi.Output[str]
    etcd_snapshot_kms_key_arn: pulumi.Output[str]
    server_token: pulumi.Output[str]  # secret
    ami_id: pulumi.Output[str]
    kubeconfig_parameter_name: str

    def __init__(self, name: str, args: K3sClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:K3sCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix, servers = args.name_prefix, args.servers
        parameter_name = kubeconfig_parameter_name(prefix)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition

        token = random.RandomPassword(f"{name}-token", length=TOKEN_LENGTH, special=False, opts=child)
        agent_token = random.RandomPassword(
            f"{name}-agent-token", length=TOKEN_LENGTH, special=False, opts=child
        )
        snapshots = PrivateBucket(
            f"{name}-etcd-snapshots",
            PrivateBucketArgs(
                bucket_prefix=f"{prefix}-etcd-",
                key_description=f"{prefix}: encrypts the K3s cluster's etcd snapshots",
                expire_after_days=ETCD_SNAPSHOT_EXPIRY_DAYS,
                expiry_rule_id="expire-forgotten-snapshots",
                # The snapshots are the cluster's only backup: an overwrite or delete stays undoable.
                versioned=True,
                noncurrent_version_days=7,
            ),
            opts=child,
        )

        access = node_role(
            f"{name}-server", f"{prefix}: the K3s servers (SSM, kubeconfig, etcd snapshots)", self
        )
        parameter_arn = pulumi.Output.all(partition, account).apply(
            lambda v: f"arn:{v[0]}:ssm:{args.region}:{v[1]}:parameter{parameter_name}"
        )
        aws.iam.RolePolicy(
            f"{name}-server-access",
            role=access.role.id,
            policy=pulumi.Output.all(
                parameter_arn,
                snapshots.bucket_arn,
                snapshots.kms_key_arn,
                args.service_account_key_parameter_arn,
                args.service_account_key_kms_key_arn,
            ).apply(lambda v: server_policy(*v)),
            opts=child,
        )

        ami = ubuntu_ami(self)
        subnets = pulumi.Output.from_input(args.subnet_ids)
        etcd = pulumi.Output.from_input(snapshots.bucket_name).apply(
            lambda bucket: EtcdSnapshots(
                bucket,
                args.region,
                ETCD_SNAPSHOT_FOLDER,
                servers.etcd_snapshot_schedule,
                servers.etcd_snapshot_retention,
            )
        )
        self._instances: list[aws.ec2.Instance] = []
        for index in range(servers.count):
            user_data = pulumi.Output.all(
                token.result,
                agent_token.result,
                args.api_host,
                args.api_addresses,
                etcd,
                args.service_account_issuer_url,
                args.service_account_public_key_pem,
            ).apply(
                lambda v, first=index == 0: server_user_data(
                    ServerSettings(
                        k3s_version=servers.k3s_version,
                        region=args.region,
                        token=v[0],
                        agent_token=v[1],
                        api_host=v[2],
                        extra_sans=v[3],
                        kubeconfig_parameter=parameter_name,
                        etcd=v[4],
                        dedicated=servers.dedicated,
                        may_initialise=first,
                        service_accounts=ServiceAccountIssuerSettings(
                            issuer_url=v[5],
                            signing_key_parameter=args.service_account_key_parameter_name,
                            public_key_pem=v[6],
                        ),
                    )
                )
            )
            instance = aws.ec2.Instance(
                f"{name}-server-{index}",
                ami=ami,
                instance_type=servers.instance_type,
                subnet_id=subnets.apply(lambda ids, i=index: ids[server_zone_index(i, args.zone_count)]),
                vpc_security_group_ids=[args.security_group_id],
                iam_instance_profile=access.profile.name,
                # A public address for the node's own egress (images, K3s, AWS APIs) without a NAT
                # gateway; its security group lets nothing in but the load balancer and the cluster.
                associate_public_ip_address=True,
                user_data=pulumi.Output.secret(user_data),
                monitoring=True,
                ebs_optimized=True,
                disable_api_termination=servers.termination_protection,
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(**metadata_options()),
                root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                    volume_type="gp3",
                    volume_size=servers.volume_gb,
                    encrypted=True,
                    delete_on_termination=True,
                    tags=with_name(f"{prefix}-k3s-server-{index}-root"),
                ),
                tags=with_name(f"{prefix}-k3s-server-{index}", Role="k3s-server"),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # A newer image or K3s release never replaces a running server: servers are
                    # replaced one at a time on purpose (RUNBOOK "Server replacement") and upgraded
                    # in place by the system-upgrade-controller.
                    ignore_changes=["ami", "userData"],
                    # One server is the whole cluster: its replacement must start a new one, so the
                    # old server goes first. Of several, the new one joins before the old leaves.
                    delete_before_replace=servers.count == 1,
                ),
            )
            self._instances.append(instance)
            aws.lb.TargetGroupAttachment(
                f"{name}-server-{index}-api",
                target_group_arn=args.api_target_group_arn,
                target_id=instance.id,
                port=KUBERNETES_API_PORT,
                opts=child,
            )
            if not servers.dedicated:
                for port_index, port in enumerate(INGRESS_PORTS):
                    aws.lb.TargetGroupAttachment(
                        f"{name}-server-{index}-ingress-{port}",
                        target_group_arn=pulumi.Output.from_input(args.ingress_target_group_arns).apply(
                            lambda arns, j=port_index: arns[j]
                        ),
                        target_id=instance.id,
                        port=port,
                        opts=child,
                    )

        server_ids = pulumi.Output.all(*[i.id for i in self._instances])
        self.api_url = pulumi.Output.from_input(args.api_host).apply(
            lambda h: f"https://{h}:{KUBERNETES_API_PORT}"
        )
        fingerprint = pulumi.Output.unsecret(token.result.apply(token_fingerprint))
        published = K3sKubeconfig(
            f"{name}-kubeconfig",
            K3sKubeconfigArgs(
                parameter_name=parameter_name,
                region=args.region,
                server_url=self.api_url,
                cluster_fingerprint=fingerprint,
                server_instance_ids=server_ids,
            ),
            opts=child,
        )
        self.kubeconfig = pulumi.Output.secret(published.kubeconfig)
        self.cluster_identifier = pulumi.Output.all(fingerprint, server_ids).apply(
            lambda v: cluster_identifier(v[0], v[1], single_server=servers.count == 1)
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            cluster_identifier=self.cluster_identifier,
            opts=child,
        )

        self.server_instance_ids = server_ids
        # A shell on the first server (any server answers for the cluster), no SSH.
        self.ssm_start_session_command = self._instances[0].id.apply(
            lambda i: f"aws ssm start-session --region {args.region} --target {i}"
        )
        self.agent_token = pulumi.Output.secret(agent_token.result)
        self.server_role_name = access.role.name
        self.server_role_arn = access.role.arn
        self.etcd_snapshot_bucket = snapshots.bucket_name
        self.etcd_snapshot_folder = ETCD_SNAPSHOT_FOLDER
        # For the etcd restore drill (etcd_drill.py): what a scratch server restores with.
        self.etcd_snapshot_bucket_arn = snapshots.bucket_arn
        self.etcd_snapshot_kms_key_arn = snapshots.kms_key_arn
        self.server_token = pulumi.Output.secret(token.result)
        self.ami_id = ami
        self.kubeconfig_parameter_name = parameter_name
        self.register_outputs(
            {
                "server_instance_ids": self.server_instance_ids,
                "kubeconfig": self.kubeconfig,
                "api_url": self.api_url,
                "cluster_identifier": self.cluster_identifier,
                "server_role_name": self.server_role_name,
                "etcd_snapshot_bucket": self.etcd_snapshot_bucket,
            }
        )


INGRESS_PORTS = (HTTP_NODE_PORT, HTTPS_NODE_PORT)


def server_policy(
    parameter_arn: str,
    bucket_arn: str,
    key_arn: str,
    signing_key_parameter_arn: str,
    signing_kms_key_arn: str,
) -> str:
    """Publishing its own kubeconfig, reading the ServiceAccount signing key, and the etcd snapshots
    in their folder of their bucket."""
    return policy_document(
        {
            "Sid": "PublishKubeconfig",
            "Effect": "Allow",
            "Action": "ssm:PutParameter",
            "Resource": parameter_arn,
        },
        {
            "Sid": "ReadServiceAccountSigningKey",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": signing_key_parameter_arn,
        },
        {
            "Sid": "DecryptServiceAccountSigningKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": signing_kms_key_arn,
            "Condition": {"StringLike": {"kms:ViaService": "ssm.*.amazonaws.com"}},
        },
        {
            "Sid": "ListSnapshots",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arn,
        },
        {
            "Sid": "ReadWriteSnapshots",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": f"{bucket_arn}/{ETCD_SNAPSHOT_FOLDER}/*",
        },
        {
            "Sid": "SnapshotEncryption",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key_arn,
        },
    )
