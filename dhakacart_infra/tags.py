"""The one place that decides how DhakaCart's AWS resources are tagged.

Tags are applied through the AWS provider's `default_tags`, so every taggable resource created
through that provider (every AWS resource in this program: components pass it to their children
with `parent=self`) carries them without repeating them in each resource's inputs.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

MANAGED_BY = "pulumi"
TAG_KEYS = ("Project", "Environment", "Stack", "ManagedBy")


def standard_tags(project: str, environment: str, stack: str) -> dict[str, str]:
    """The four tags every AWS resource of this program carries."""
    return {"Project": project, "Environment": environment, "Stack": stack, "ManagedBy": MANAGED_BY}


def with_name(name: str, **extra: str) -> dict[str, str]:
    """The resource-specific tags (its console `Name`, plus any extra): the standard four come from
    the provider's default tags and must not be repeated here."""
    return {"Name": name, **extra}


def aws_provider(name: str, *, region: str, tags: dict[str, str]) -> aws.Provider:
    """The explicit AWS provider every component uses (pass it with `ResourceOptions(provider=...)`)."""
    return aws.Provider(
        name,
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=tags),
        opts=pulumi.ResourceOptions(),
    )
