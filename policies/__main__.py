"""DhakaCart's policy pack: `pulumi preview --policy-pack policies` (from the repository root).

The rules live in `dhakacart_infra/policy/` (the registry, `registry.POLICIES`, and the rules by
area), the same code `make plan` judges the offline plan with, so a rule is written once. The
Pulumi CLI runs this file with `policies/` as its working directory and its own virtual
environment, where the `dhakacart_infra` package is not installed;
putting the repository root first on sys.path imports the rules from this checkout (the rules are
pure Python with no dependencies beyond pulumi-policy and pulumi, pinned in requirements.txt here).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from dhakacart_infra.policy.pack import PACK_NAME, pulumi_policies

PolicyPack(
    name=PACK_NAME,
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=pulumi_policies(),
)
