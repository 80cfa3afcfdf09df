"""Every taggable AWS resource carries the four standard tags, set in one place: the provider."""

from __future__ import annotations

import importlib
import inspect

from dhakacart_infra.tags import TAG_KEYS, standard_tags


def _python_class(type_token: str):
    """aws:ec2/vpc:Vpc -> pulumi_aws.ec2.Vpc."""
    _, module_path, class_name = type_token.split(":")
    module = importlib.import_module(f"pulumi_aws.{module_path.split('/')[0]}")
    return getattr(module, class_name)


def _taggable(type_token: str) -> bool:
    return "tags" in inspect.signature(_python_class(type_token)._internal_init).parameters


def test_every_taggable_aws_resource_has_the_four_tags_through_the_provider(stack_plan):
    (provider,) = stack_plan.of_type("pulumi:providers:aws")
    expected = standard_tags("dhakacart", stack_plan.stack, stack_plan.stack)
    taggable = [r for r in stack_plan.resources if r.type.startswith("aws:") and _taggable(r.type)]
    assert len(taggable) >= 20
    for record in taggable:
        assert record.provider_urn == provider.urn, f"{record.name} does not use the tagged provider"
        if record.type == AUTO_SCALING_GROUP:
            continue  # below
        tags_all = record.state["tagsAll"]
        assert {k: tags_all.get(k) for k in TAG_KEYS} == expected, record.name


# The provider's default tags never reach an Auto Scaling group (its tags are a list of blocks) nor
# the instances it launches: the group names the standard tags itself, and passes them on.
AUTO_SCALING_GROUP = "aws:autoscaling/group:Group"


def test_an_auto_scaling_group_carries_the_standard_tags_to_its_instances(stack_plan):
    expected = standard_tags("dhakacart", stack_plan.stack, stack_plan.stack)
    groups = stack_plan.of_type(AUTO_SCALING_GROUP)
    assert groups
    for group in groups:
        tags = {t["key"]: t for t in group.inputs["tags"]}
        assert {k: tags[k]["value"] for k in TAG_KEYS} == expected
        assert all(tags[k]["propagateAtLaunch"] for k in TAG_KEYS)


def test_untaggable_aws_resources_also_use_the_provider(stack_plan):
    (provider,) = stack_plan.of_type("pulumi:providers:aws")
    for record in stack_plan.resources:
        if record.type.startswith("aws:"):
            assert record.provider_urn == provider.urn, record.name


def test_standard_tags_are_not_repeated_in_resource_inputs(stack_plan):
    for record in stack_plan.resources:
        if record.type.startswith("aws:") and record.type != AUTO_SCALING_GROUP:
            assert not set(record.inputs.get("tags") or {}) & set(TAG_KEYS), record.name


def test_the_provider_carries_the_standard_tags_and_the_region(stack_plan):
    import json

    (provider,) = stack_plan.of_type("pulumi:providers:aws")
    default_tags = provider.inputs["defaultTags"]
    default_tags = json.loads(default_tags) if isinstance(default_tags, str) else default_tags
    assert default_tags["tags"] == standard_tags("dhakacart", stack_plan.stack, stack_plan.stack)
    assert provider.inputs["region"] == "ap-south-1"
