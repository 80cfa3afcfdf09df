"""`python -m dhakacart_infra.plan --stack dev [--out build/plan]`: what `pulumi up` would create.

Runs the program under the shared mocks with `Pulumi.<stack>.yaml` (no AWS account, no Pulumi
CLI), prints the resource tree (type, name, under its parent) and the stack outputs with secrets
masked, and writes the artifacts under `<out>/<stack>/`. Each further artifact is one call in
`main` below. Last, it judges the plan's policies (policy_report.py) and prints what they found.
Then it checks the cluster the plan describes: the worst case fits the nodes (capacity.py), the
loss of any one zone leaves the shop running (resilience.py), and what it all costs a month (cost.py).
Exit codes: 0 planned, 1 a mandatory policy is violated, 2 unknown stack or invalid configuration,
3 the worst case does not fit the nodes, or a production stack does not survive a zone's loss.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ..errors import ConfigError
from ..names import StackOutput
from . import capacity, cost, resilience
from .manifests import write_plan_manifests
from .mocks import mask_secrets, to_json
from .policy_report import PolicyFindings
from .policy_report import judge as judge_policies
from .quantities import servers
from .runner import REPO_ROOT, PlanResult, StackFileError, run_program
from .tfplan import write_tfplan
from .tree import resource_tree, type_counts

EXIT_OK = 0
EXIT_POLICY_VIOLATION = 1
EXIT_BAD_INPUT = 2
EXIT_CLUSTER_SHORTFALL = 3


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dhakacart_infra.plan", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--stack", default="dev", help="stack file to plan: Pulumi.<stack>.yaml (default dev)"
    )
    parser.add_argument(
        "--out",
        default=str(REPO_ROOT / "build" / "plan"),
        help="artifact directory; files go to <out>/<stack>/ (default build/plan)",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="try a config value without editing the stack file (repeatable), e.g. --config dbMultiAz=false",
    )
    args = parser.parse_args(argv)
    args.overrides = {}
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--config expects KEY=VALUE, got {item!r}")
        args.overrides[key] = value
    return args


def print_tree(plan: PlanResult) -> None:
    print(
        f"Resources ({sum(1 for r in plan.resources if r.custom)} to create, "
        f"{sum(1 for r in plan.resources if not r.custom)} components):"
    )
    print("\n".join(resource_tree(plan.resources, f"pulumi:pulumi:Stack  {plan.project}-{plan.stack}")))


def print_outputs(plan: PlanResult) -> None:
    print("\nOutputs (secrets masked):")
    width = max((len(k) for k in plan.outputs), default=0)
    for key in sorted(plan.outputs):
        value = mask_secrets(plan.outputs[key])
        shown = value if isinstance(value, str) else json.dumps(value)
        print(f"  {key.ljust(width)}  {shown}")


def print_policy_findings(findings: PolicyFindings) -> None:
    """Every violation on stdout; the verdict on a mandatory one on stderr."""
    if not findings.violations:
        print(f"policies: {findings.policy_count} policies, {findings.judged_resources} resources, "
              f"no violations ({findings.report})")
        return
    print(f"policies: {len(findings.violations)} violation(s) of {findings.policy_count} policies on stack "
          f"{findings.stack} ({findings.report}):")
    for v in findings.violations:
        subject = f"{v.resource_type} {v.resource_name}" if v.resource_name else "stack"
        print(f"  [{v.enforcement}] {v.policy}: {subject}: {v.message}")
    if findings.mandatory:
        print(f"{len(findings.mandatory)} mandatory policy violation(s) on stack {findings.stack}: "
              f"fix them before `pulumi up` (details above and in {findings.report})", file=sys.stderr)


def policy_exit_code(findings: PolicyFindings) -> int:
    """`make plan` fails on a mandatory violation only; advisory ones are printed, not fatal."""
    return EXIT_POLICY_VIOLATION if findings.mandatory else EXIT_OK


def write_resources(plan: PlanResult, out_dir: Path) -> Path:
    """resources.json: every registration (URN, type, name, parent, provider, options, explicit and
    property dependencies, masked inputs) and the masked outputs, sorted by URN so that two runs of
    the same program give the same file: a restructuring is proven by an unchanged resources.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "resources.json"
    path.write_text(
        to_json(
            {
                "stack": plan.stack,
                "project": plan.project,
                "resources": [
                    {
                        "urn": r.urn,
                        "type": r.type,
                        "name": r.name,
                        "parent": r.parent_name,
                        "custom": r.custom,
                        "provider": r.provider_urn.rsplit("::", 1)[-1],
                        "dependencies": sorted(set(r.dependencies)),
                        "propertyDependencies": {
                            key: sorted(set(urns)) for key, urns in r.property_dependencies.items() if urns
                        },
                        "options": {
                            "protect": r.protect,
                            "deleteBeforeReplace": r.delete_before_replace,
                            "ignoreChanges": sorted(r.ignore_changes),
                            "additionalSecretOutputs": sorted(r.additional_secret_outputs),
                            "aliases": r.aliases,
                        },
                        "inputs": r.inputs,
                    }
                    for r in sorted(plan.resources, key=lambda r: r.urn)
                ],
                "types": type_counts(plan.resources),
                "outputs": plan.outputs,
            }
        )
        + "\n"
    )
    return path


def write_json(out_dir: Path, name: str, content: dict) -> Path:
    path = out_dir / name
    path.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    return path


def check_cluster(plan: PlanResult, out_dir: Path, written: list[Path]) -> bool:
    """Prints the capacity, zone-loss and cost reports, writes them as JSON; False if the plan must
    not go ahead (the worst case does not fit, or production would not survive a zone's loss)."""
    if not servers(plan):
        print("\ncluster checks: this plan has no K3s servers, so no capacity, zone-loss or cost report")
        return True
    fit = capacity.assess(plan)
    zones = resilience.assess(plan)
    priced = cost.assess(plan, region=str(plan.outputs.get(StackOutput.REGION, "ap-south-1")))
    written.append(write_json(out_dir, "capacity.json", fit.as_dict()))
    written.append(write_json(out_dir, "zone-loss.json", zones.as_dict()))
    written.append(write_json(out_dir, "cost.json", priced.as_dict()))
    print(f"\ncapacity: at every HPA's maximum the pods request {fit.needed.describe()}; "
          f"the nodes offer {fit.available.describe()}")
    for problem in fit.problems:
        print(f"  does not fit: {problem}", file=sys.stderr)
    production = plan.outputs.get(StackOutput.ENVIRONMENT) == "prod"
    print(zones.summary(), file=sys.stdout if zones.survives_any_zone_loss or not production else sys.stderr)
    print(f"\nmonthly cost, USD (prices of {priced.recorded}; min-max with the agents' bounds):")
    print("\n".join(priced.table()))
    for warning in priced.warnings:
        print(f"  warning: {warning}")
    return fit.fits and (zones.survives_any_zone_loss or not production)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan = run_program(args.stack, overrides=args.overrides)
    except StackFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConfigError as exc:
        print(f"error: Pulumi.{args.stack}.yaml cannot be deployed.\n{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out_dir = Path(args.out) / args.stack

    print_tree(plan)
    print_outputs(plan)
    written = [write_resources(plan, out_dir)]
    written.append(write_tfplan(plan, out_dir))
    written.append(write_plan_manifests(plan, out_dir))
    # Later artifacts: one call each, appending what they wrote to `written`.
    cluster_ok = check_cluster(plan, out_dir, written)

    print("\nWritten:")
    for path in written:
        print(f"  {path}")
    findings = judge_policies(plan, out_dir)  # writes policy-report.json
    print_policy_findings(findings)
    if findings.mandatory:
        return policy_exit_code(findings)
    return EXIT_OK if cluster_ok else EXIT_CLUSTER_SHORTFALL


if __name__ == "__main__":
    sys.exit(main())
