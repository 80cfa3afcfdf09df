"""Which resources and stacks are production: the `Environment` tag, never the stack's name.

The program tags every AWS resource through its explicit AWS provider's `default_tags` with the
stack's `environment` (`dhakacart:environment`, `dev` or `prod`; dhakacart_infra/tags.py). Both
adapters hand the rules each AWS resource's effective tags (`tagsAll`: the provider's default tags,
then the resource's own, as AWS applies them; see `aws_rules.with_provider_default_tags`), so:

* a resource is production when its effective tags say `Environment=prod` (the key in any casing,
  the value exactly `prod`, as the config accepts it);
* a stack is production when any AWS resource it declares is production: Kubernetes objects carry
  no AWS tags, so they take their stack's environment, which only a stack rule can see.

The registry applies production-only policies accordingly (`Policy.production_only`) and refuses a
production-only resource policy over a type without AWS tags, which could never fire.

A stack named `staging` with environment `prod` is production; one named `prod-test` with
environment `dev` is not. A resource whose `Environment` tag is missing or unknown during preview
is not production, and `aws-required-tags` (mandatory) already rejects it, so no production
resource goes unjudged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .plain_data import as_mapping

ENVIRONMENT_TAG = "environment"
PRODUCTION_ENVIRONMENT = "prod"


def tag_key(key: str) -> str:
    """Project, project, managed-by, ManagedBy, managed_by: one tag, however it is cased."""
    return re.sub(r"[^a-z0-9]", "", key.lower())


def effective_tags(props: Mapping[str, Any]) -> dict[str, Any]:
    """What AWS will carry: `tagsAll` (resource tags plus the provider's default tags) over `tags`."""
    tags = dict(as_mapping(props.get("tags")))
    tags.update(as_mapping(props.get("tagsAll")))
    return tags


def environment_of(props: Mapping[str, Any]) -> str | None:
    """The resource's `Environment` tag; None when it has none or it is unknown during preview."""
    tags = {tag_key(k): v for k, v in effective_tags(props).items()}
    value = tags.get(tag_key(ENVIRONMENT_TAG))
    return value if isinstance(value, str) and value else None


def in_production(tagged: Iterable[Mapping[str, Any]]) -> bool:
    """True when any of these resources' props say `Environment=prod`: pass one resource's props for
    a resource rule, every resource's for a stack rule."""
    return any(environment_of(props) == PRODUCTION_ENVIRONMENT for props in tagged)
