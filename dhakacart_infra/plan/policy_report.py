"""The policy rules judged on the offline plan: the findings `make plan` reports and fails on.

The same registry the policy pack runs (`dhakacart_infra.policy.registry.POLICIES`), fed the resources
recorded under mocks: inputs with secrets revealed (the rules must see values to judge them; only
the rules' messages are written), `tagsAll` as the mocks recorded it in the resource's state and
merged with the explicit AWS provider's `defaultTags`, and the stack name of the plan. `judge`
evaluates, writes `policy-report.json` and returns the findings; what to print and which exit code
follows is the CLI's decision (`__main__.py`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from dhakacart_infra.policy.aws_rules import is_taggable, with_provider_default_tags
from dhakacart_infra.policy.registry import POLICIES
from dhakacart_infra.policy.stack_rules import StackResource

from .mocks import RecordedResource, reveal
from .runner import PlanResult

REPORT_FILE = "policy-report.json"


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    message: str
    urn: str
    resource_type: str
    resource_name: str


def _judged_resources(plan: PlanResult) -> list[RecordedResource]:
    """Resources a policy pack is sent: custom resources, not providers nor component wrappers."""
    return [r for r in plan.resources if r.custom and not r.type.startswith("pulumi:providers:")]


def policy_props(plan: PlanResult, record: RecordedResource) -> dict[str, Any]:
    """A recorded resource's props as the engine would hand them to the policy pack."""
    props = reveal(record.inputs)
    state_tags = record.state.get("tagsAll")
    if state_tags is not None and "tagsAll" not in props and is_taggable(record.type, props):
        props["tagsAll"] = reveal(state_tags)
    provider_props = None
    if record.provider_urn:
        provider = next((r for r in plan.resources if r.urn == record.provider_urn), None)
        provider_props = reveal(provider.inputs) if provider is not None else None
    return with_provider_default_tags(record.type, props, provider_props)


def evaluate(plan: PlanResult) -> list[Violation]:
    """Every violation of every policy in the plan, resource policies first, in registration order."""
    records = _judged_resources(plan)
    props = {r.urn: policy_props(plan, r) for r in records}
    found: list[Violation] = []
    for policy in POLICIES:
        if policy.kind != "resource":
            continue
        for r in records:
            for message in policy.judge(r.type, props[r.urn], plan.stack):
                found.append(Violation(policy.name, policy.enforcement, message, r.urn, r.type, r.name))
    stack_resources = [StackResource(r.type, r.name, r.urn, props[r.urn], r.property_dependencies)
                       for r in records]
    by_urn = {r.urn: r for r in records}
    for policy in POLICIES:
        for v in policy.judge_stack(stack_resources, plan.stack):
            subject = by_urn.get(v.urn)
            found.append(Violation(policy.name, policy.enforcement, v.message, v.urn,
                                   subject.type if subject else "", subject.name if subject else ""))
    return found


def write_report(plan: PlanResult, violations: list[Violation], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / REPORT_FILE
    path.write_text(json.dumps({
        "stack": plan.stack,
        "policies": [{"name": p.name, "description": p.description, "enforcement": p.enforcement,
                      "kind": p.kind} for p in POLICIES],
        "judged_resources": len(_judged_resources(plan)),
        "violations": [asdict(v) for v in violations],
    }, indent=2) + "\n")
    return path


@dataclass(frozen=True)
class PolicyFindings:
    """What judging one plan found, and where its report is."""

    stack: str
    policy_count: int
    judged_resources: int
    violations: list[Violation]
    report: Path

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == "mandatory"]


def judge(plan: PlanResult, out_dir: Path) -> PolicyFindings:
    """Judges the plan and writes `policy-report.json` to `out_dir`; the caller acts on the findings."""
    violations = evaluate(plan)
    path = write_report(plan, violations, out_dir)
    return PolicyFindings(plan.stack, len(POLICIES), len(_judged_resources(plan)), violations, path)


def markdown_summary(stack_out_dir: Path) -> str:
    """A GitHub job summary of one stack's offline plan, from the files `make plan` wrote there
    (and checkov's JSON reports, when CI put them in `<stack_out_dir>/checkov/`)."""
    lines: list[str] = []
    resources_file, report_file = stack_out_dir / "resources.json", stack_out_dir / REPORT_FILE
    if not resources_file.exists():
        return f"### Offline plan: no plan in {stack_out_dir} (the plan failed before writing it)\n"
    resources = json.loads(resources_file.read_text())
    custom = [r for r in resources["resources"] if r.get("custom")]
    lines.append(f"### Offline plan of stack `{resources['stack']}`: {len(custom)} resources")
    lines.append("")
    lines.append("| type | count |\n| --- | ---: |")
    lines.extend(f"| `{t}` | {n} |" for t, n in sorted(resources.get("types", {}).items()))
    lines.append("")
    if report_file.exists():
        report = json.loads(report_file.read_text())
        violations = report["violations"]
        lines.append(f"**Policies**: {len(report['policies'])} judged {report['judged_resources']} "
                     f"resources, {len(violations)} violation(s).")
        lines.extend(f"- `{v['policy']}` {v['resource_type']} `{v['resource_name']}`: {v['message']}"
                     for v in violations)
    else:
        lines.append("**Policies**: no report (the plan stopped before judging).")
    for scan in sorted((stack_out_dir / "checkov").glob("*.json")):
        data = json.loads(scan.read_text())
        for run in data if isinstance(data, list) else [data]:
            counts = {k: run.get("summary", {}).get(k, 0) for k in ("passed", "failed", "resource_count")}
            lines.append(f"\n**checkov {run.get('check_type', scan.stem)}**: {counts['passed']} passed, "
                         f"{counts['failed']} failed, {counts['resource_count']} resources.")
            lines.extend(f"- `{c['check_id']}` {c['resource']}: {c['check_name']}"
                         for c in run.get("results", {}).get("failed_checks", []))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # python -m dhakacart_infra.plan.policy_report build/plan/dev >> "$GITHUB_STEP_SUMMARY"
    for directory in sys.argv[1:]:
        print(markdown_summary(Path(directory)))
