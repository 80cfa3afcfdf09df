"""The K3s server: one EC2 instance reached through SSM (no SSH), its Elastic IP, and its kubeconfig."""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from ..tags import with_name
from .iam import policy_document, service_assume_role_policy
from .kubeconfig import K3sKubeconfig, K3sKubeconfigArgs

CANONICAL_OWNER_ID = "099720109477"
# The Ubuntu LTS release the server runs: Canonical's server image for amd64 on gp3, newest build
# first (most_recent). The codename sits between "ubuntu-" and the version (26.04 is "resolute");
# matching it with `*` keeps the lookup right without spelling it. Move to the next LTS here (and
# in the docs) once K3s validates the pinned k3sVersion on it (26.04: v1.34.11, v1.35.8,
# v1.36.4 and later, k3s-io/k3s#14576).
UBUNTU_LTS_VERSION = "26.04"
UBUNTU_LTS_AMI_NAME = f"ubuntu/images/hvm-ssd-gp3/ubuntu-*-{UBUNTU_LTS_VERSION}-amd64-server-*"
CLOUD_INIT_TEMPLATE = Path(__file__).with_name("k3s-cloud-init.yaml.tmpl")
SSM_MANAGED_INSTANCE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


class CloudInitTemplate(string.Template):
    """`@@{name}` placeholders: shell `$...` in the template stays untouched."""

    delimiter = "@@"


def render_cloud_init(
    *, k3s_version: str, k3s_token: str, public_ip: str, parameter_name: str, region: str
) -> str:
    """The server's user data; a missing placeholder value raises KeyError instead of shipping a
    half-rendered script."""
    return CloudInitTemplate(CLOUD_INIT_TEMPLATE.read_text()).substitute(
        k3s_version=k3s_version,
        k3s_token=k3s_token,
        public_ip=public_ip,
        parameter_name=parameter_name,
        region=region,
    )


def kubeconfig_parameter_name(name_prefix: str) -> str:
    return f"/{name_prefix.replace('-', '/', 1)}/k3s/kubeconfig"


@dataclass
class K3sClusterArgs:
    name_prefix: str
    region: str
    subnet_id: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    instance_type: str
    root_volume_gb: int
    k3s_version: str
    termination_protection: bool


class K3sCluster(pulumi.ComponentResource):
    instance_id: pulumi.Output[str]
    public_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]  # secret
    provider: k8s.Provider
    k3s_version: pulumi.Output[str]
    instance_role_name: pulumi.Output[str]
    instance_role_arn: pulumi.Output[str]
    ssm_start_session_command: pulumi.Output[str]
    kubeconfig_parameter_name: str

    def __init__(self, name: str, args: K3sClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("dhakacart:aws:K3sCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        parameter_name = kubeconfig_parameter_name(prefix)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition

        role = aws.iam.Role(
            f"{name}-role",
            description=f"{prefix}: the K3s server (SSM Session Manager, its kubeconfig parameter)",
            assume_role_policy=service_assume_role_policy("ec2.amazonaws.com"),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm-core", role=role.name, policy_arn=SSM_MANAGED_INSTANCE_POLICY, opts=child
        )
        parameter_arn = pulumi.Output.all(partition, account).apply(
            lambda v: f"arn:{v[0]}:ssm:{args.region}:{v[1]}:parameter{parameter_name}"
        )
        # Only writing its own parameter. SecureString with the AWS-managed aws/ssm key needs no KMS
        # statement: that key's policy already allows use through SSM by the account's principals.
        aws.iam.RolePolicy(
            f"{name}-publish-kubeconfig",
            role=role.id,
            policy=parameter_arn.apply(
                lambda arn: policy_document(
                    {"Sid": "PublishOwnKubeconfig", "Effect": "Allow", "Action": "ssm:PutParameter",
                     "Resource": arn}
                )
            ),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child)

        # Allocated before the instance so its address can go into K3s's certificate (--tls-san).
        eip = aws.ec2.Eip(f"{name}-eip", domain="vpc", tags=with_name(f"{prefix}-k3s"), opts=child)
        token = random.RandomPassword(f"{name}-token", length=48, special=False, opts=child)
        user_data = pulumi.Output.all(token.result, eip.public_ip).apply(
            lambda v: render_cloud_init(
                k3s_version=args.k3s_version,
                k3s_token=v[0],
                public_ip=v[1],
                parameter_name=parameter_name,
                region=args.region,
            )
        )
        ami = aws.ec2.get_ami_output(
            owners=[CANONICAL_OWNER_ID],
            most_recent=True,
            filters=[
                aws.ec2.GetAmiFilterArgs(name="name", values=[UBUNTU_LTS_AMI_NAME]),
                aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
                aws.ec2.GetAmiFilterArgs(name="architecture", values=["x86_64"]),
            ],
            opts=invoke,
        )

        instance = aws.ec2.Instance(
            f"{name}-server",
            ami=ami.id,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[args.security_group_id],
            iam_instance_profile=profile.name,
            # A public address from launch so cloud-init can download K3s before the EIP is attached.
            associate_public_ip_address=True,
            user_data=pulumi.Output.secret(user_data),
            monitoring=True,
            ebs_optimized=True,
            disable_api_termination=args.termination_protection,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # 2 hops, so a pod (one hop behind the node) can use IMDSv2: prod's Loki writes its
                # chunks to S3 with this instance role. The shop's namespace has default-deny egress,
                # so its pods cannot reach 169.254.169.254; only the logging stack uses the role.
                http_put_response_hop_limit=2,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3",
                volume_size=args.root_volume_gb,
                encrypted=True,
                delete_on_termination=True,
                tags=with_name(f"{prefix}-k3s-root"),
            ),
            tags=with_name(f"{prefix}-k3s"),
            opts=pulumi.ResourceOptions(
                parent=self,
                # The server is the cluster: a newer Ubuntu image or a changed k3sVersion must not
                # stop or replace it. Both apply when a server is created (cloud-init runs once);
                # OS patches come from unattended-upgrades, K3s upgrades as README describes.
                ignore_changes=["ami", "userData"],
            ),
        )
        association = aws.ec2.EipAssociation(
            f"{name}-eip-association", allocation_id=eip.allocation_id, instance_id=instance.id, opts=child
        )

        server_url = eip.public_ip.apply(lambda ip: f"https://{ip}:6443")
        published = K3sKubeconfig(
            f"{name}-kubeconfig",
            K3sKubeconfigArgs(
                parameter_name=parameter_name,
                region=args.region,
                server_url=server_url,
                instance_id=instance.id,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[association]),
        )
        self.kubeconfig = pulumi.Output.secret(published.kubeconfig)
        self.provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child
        )

        self.instance_id = instance.id
        self.public_ip = eip.public_ip
        self.private_ip = instance.private_ip
        self.k3s_version = pulumi.Output.from_input(args.k3s_version)
        self.instance_role_name = role.name
        self.instance_role_arn = role.arn
        self.kubeconfig_parameter_name = parameter_name
        self.ssm_start_session_command = instance.id.apply(
            lambda i: f"aws ssm start-session --region {args.region} --target {i}"
        )
        self.register_outputs(
            {
                "instance_id": self.instance_id,
                "public_ip": self.public_ip,
                "private_ip": self.private_ip,
                "kubeconfig": self.kubeconfig,
                "k3s_version": self.k3s_version,
                "instance_role_name": self.instance_role_name,
                "instance_role_arn": self.instance_role_arn,
                "ssm_start_session_command": self.ssm_start_session_command,
            }
        )
