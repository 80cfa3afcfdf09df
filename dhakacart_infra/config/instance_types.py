"""The EC2 instance types the cluster may run on, with what the config checks need to know of them."""

from __future__ import annotations

from dataclasses import dataclass


# vCPUs and memory (GiB) of the x86_64 instance types the cluster's nodes may use. A built-in table rather
# than `aws.ec2.get_instance_type`: validation must finish, synchronously and offline, before any
# resource is declared, and it must give the same clear ConfigError in `pulumi preview`, in the
# offline plan and in tests. An invoke would need AWS credentials and would only answer inside an
# Output, after resources were already being planned. Graviton (t4g, m7g...) types are left out on
# purpose: the AMI lookup is for amd64 Ubuntu. Add a row here to allow another type.
@dataclass(frozen=True)
class InstanceType:
    vcpus: int
    memory_gib: float


INSTANCE_TYPES: dict[str, InstanceType] = {
    "t2.nano": InstanceType(1, 0.5),
    "t2.micro": InstanceType(1, 1),
    "t2.small": InstanceType(1, 2),
    "t2.medium": InstanceType(2, 4),
    "t2.large": InstanceType(2, 8),
    "t2.xlarge": InstanceType(4, 16),
    "t2.2xlarge": InstanceType(8, 32),
    "t3.nano": InstanceType(2, 0.5),
    "t3.micro": InstanceType(2, 1),
    "t3.small": InstanceType(2, 2),
    "t3.medium": InstanceType(2, 4),
    "t3.large": InstanceType(2, 8),
    "t3.xlarge": InstanceType(4, 16),
    "t3.2xlarge": InstanceType(8, 32),
    "t3a.nano": InstanceType(2, 0.5),
    "t3a.micro": InstanceType(2, 1),
    "t3a.small": InstanceType(2, 2),
    "t3a.medium": InstanceType(2, 4),
    "t3a.large": InstanceType(2, 8),
    "t3a.xlarge": InstanceType(4, 16),
    "t3a.2xlarge": InstanceType(8, 32),
    "m5.large": InstanceType(2, 8),
    "m5.xlarge": InstanceType(4, 16),
    "m5.2xlarge": InstanceType(8, 32),
    "m5a.large": InstanceType(2, 8),
    "m5a.xlarge": InstanceType(4, 16),
    "m6i.large": InstanceType(2, 8),
    "m6i.xlarge": InstanceType(4, 16),
    "m6i.2xlarge": InstanceType(8, 32),
    "m6a.large": InstanceType(2, 8),
    "m6a.xlarge": InstanceType(4, 16),
    "m7i.large": InstanceType(2, 8),
    "m7i.xlarge": InstanceType(4, 16),
    "m7i.2xlarge": InstanceType(8, 32),
    "c5.large": InstanceType(2, 4),
    "c5.xlarge": InstanceType(4, 8),
    "c5.2xlarge": InstanceType(8, 16),
    "c6i.large": InstanceType(2, 4),
    "c6i.xlarge": InstanceType(4, 8),
    "c6i.2xlarge": InstanceType(8, 16),
    "c7i.large": InstanceType(2, 4),
    "c7i.xlarge": InstanceType(4, 8),
    "c7i.2xlarge": InstanceType(8, 16),
    "r5.large": InstanceType(2, 16),
    "r5.xlarge": InstanceType(4, 32),
    "r6i.large": InstanceType(2, 16),
    "r6i.xlarge": InstanceType(4, 32),
}
INSTANCE_MEMORY_GIB: dict[str, float] = {name: t.memory_gib for name, t in INSTANCE_TYPES.items()}
MIN_K3S_MEMORY_GIB = 4
