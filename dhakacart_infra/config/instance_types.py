"""The EC2 instance types the cluster may run on, with what the config checks need to know of them."""

from __future__ import annotations

# Memory (GiB) of the x86_64 instance types that can host the K3s server. A built-in table rather
# than `aws.ec2.get_instance_type`: validation must finish, synchronously and offline, before any
# resource is declared, and it must give the same clear ConfigError in `pulumi preview`, in the
# offline plan and in tests. An invoke would need AWS credentials and would only answer inside an
# Output, after resources were already being planned. Graviton (t4g, m7g...) types are left out on
# purpose: the AMI lookup is for amd64 Ubuntu. Add a row here to allow another type.
INSTANCE_MEMORY_GIB: dict[str, float] = {
    "t2.nano": 0.5,
    "t2.micro": 1,
    "t2.small": 2,
    "t2.medium": 4,
    "t2.large": 8,
    "t2.xlarge": 16,
    "t2.2xlarge": 32,
    "t3.nano": 0.5,
    "t3.micro": 1,
    "t3.small": 2,
    "t3.medium": 4,
    "t3.large": 8,
    "t3.xlarge": 16,
    "t3.2xlarge": 32,
    "t3a.nano": 0.5,
    "t3a.micro": 1,
    "t3a.small": 2,
    "t3a.medium": 4,
    "t3a.large": 8,
    "t3a.xlarge": 16,
    "t3a.2xlarge": 32,
    "m5.large": 8,
    "m5.xlarge": 16,
    "m5.2xlarge": 32,
    "m5a.large": 8,
    "m5a.xlarge": 16,
    "m6i.large": 8,
    "m6i.xlarge": 16,
    "m6i.2xlarge": 32,
    "m6a.large": 8,
    "m6a.xlarge": 16,
    "m7i.large": 8,
    "m7i.xlarge": 16,
    "m7i.2xlarge": 32,
    "c5.large": 4,
    "c5.xlarge": 8,
    "c5.2xlarge": 16,
    "c6i.large": 4,
    "c6i.xlarge": 8,
    "c6i.2xlarge": 16,
    "c7i.large": 4,
    "c7i.xlarge": 8,
    "c7i.2xlarge": 16,
    "r5.large": 16,
    "r5.xlarge": 32,
    "r6i.large": 16,
    "r6i.xlarge": 32,
}
MIN_K3S_MEMORY_GIB = 4
