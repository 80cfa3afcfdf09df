"""The GitHub Actions workflows and Dependabot's config: valid against GitHub's JSON schemas (the ones
check-jsonschema ships, so offline), every step's shell parses, actions are pinned, and each
workflow does what docs/PROVING_A_CHANGE.md promises."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """`on:` (PyYAML reads the bare key `on` as the boolean True, as YAML 1.1 says)."""
    return workflow.get("on", workflow.get(True))


def steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def uses(workflow: dict[str, Any], job: str, action: str) -> list[dict[str, Any]]:
    return [s for s in steps(workflow, job) if s.get("uses", "").split("@")[0] == action]


def runs(workflow: dict[str, Any], job: str) -> str:
    return "\n".join(s.get("run", "") for s in steps(workflow, job))


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"pr.yml", "main.yml", "security.yml"}


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-workflows", WORKFLOWS),
        ("vendor.dependabot", [REPO / ".github" / "dependabot.yml"]),
    ],
)
def test_files_match_githubs_schema(schema: str, files: list[Path]) -> None:
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_version_or_commit(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{path.name}: {step['uses']} is not pinned"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_run_step_is_valid_bash(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text())
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                script = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"])
                result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
                assert result.returncode == 0, f"{path.name} {name}: {result.stderr}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_default_to_read_only_token(path: Path) -> None:
    assert yaml.safe_load(path.read_text())["permissions"] == {"contents": "read"}


def test_pull_requests_lint_test_and_plan_both_stacks() -> None:
    pr = load("pr.yml")
    assert "ruff check" in runs(pr, "lint")
    assert "make test" in runs(pr, "test")
    plan = pr["jobs"]["offline-plan"]
    assert plan["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert "make plan STACK=${{ matrix.stack }}" in runs(pr, "offline-plan")
    assert "GITHUB_STEP_SUMMARY" in runs(pr, "offline-plan")
    script = runs(pr, "offline-plan")
    assert (
        "--framework kubernetes --skip-download" in script
        and "--framework terraform_plan --skip-download" in script
    )
    upload = uses(pr, "offline-plan", "actions/upload-artifact")
    assert upload and upload[0]["with"]["path"] == "build/plan/${{ matrix.stack }}"
    assert upload[0]["if"] == "${{ !cancelled() }}"  # also when a policy violation failed the plan


def test_pull_requests_preview_with_the_policy_pack_through_oidc() -> None:
    pr = load("pr.yml")
    job = pr["jobs"]["preview"]
    assert job["permissions"]["id-token"] == "write" and job["permissions"]["pull-requests"] == "write"
    [aws] = uses(pr, "preview", "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    [pulumi] = uses(pr, "preview", "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["policyPacks"] == "policies"
    assert pulumi["with"]["comment-on-pr"] is True
    gate = steps(pr, "preview")[0]
    assert "::notice" in gate["run"] and "fork" in gate["run"]
    for step in steps(pr, "preview")[1:]:
        assert step["if"] == "steps.gate.outputs.run == 'true'", step


def _gate_output(env: dict[str, str], tmp_path: Path) -> tuple[str, str]:
    gate = steps(load("pr.yml"), "preview")[0]
    output = tmp_path / "output"
    output.write_text("")
    script = gate["run"].replace("${{ matrix.stack }}", "dev")
    result = subprocess.run(
        ["bash", "-c", script],
        env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(output), **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return output.read_text().strip(), result.stdout


@pytest.mark.parametrize(
    ("env", "run", "why"),
    [
        (
            {"FROM_FORK": "true", "ROLE": "arn:aws:iam::1:role/ci", "HAS_PULUMI_TOKEN": "true"},
            "false",
            "fork",
        ),
        ({"FROM_FORK": "false", "ROLE": "", "HAS_PULUMI_TOKEN": "true"}, "false", "AWS_ROLE_ARN"),
        (
            {
                "FROM_FORK": "false",
                "ROLE": "arn:aws:iam::1:role/ci",
                "HAS_PULUMI_TOKEN": "false",
                "BACKEND_URL": "",
            },
            "false",
            "PULUMI_ACCESS_TOKEN",
        ),
        (
            {
                "FROM_FORK": "false",
                "ROLE": "arn:aws:iam::1:role/ci",
                "HAS_PULUMI_TOKEN": "false",
                "BACKEND_URL": "s3://state",
            },
            "true",
            "",
        ),
        ({"FROM_FORK": "false", "ROLE": "arn:aws:iam::1:role/ci", "HAS_PULUMI_TOKEN": "true"}, "true", ""),
    ],
)
def test_preview_gate_says_why_it_skips(env: dict[str, str], run: str, why: str, tmp_path: Path) -> None:
    output, stdout = _gate_output(env, tmp_path)
    assert output == f"run={run}"
    if why:
        assert stdout.startswith("::notice title=pulumi preview skipped (dev)::") and why in stdout
    else:
        assert stdout == ""


def test_main_deploys_dev_then_prod_behind_the_protected_environment() -> None:
    main = load("main.yml")
    assert triggers(main)["push"]["branches"] == ["main"]
    image = main["jobs"]["image"]
    assert image["permissions"]["packages"] == "write"
    assert "ghcr.io/" in runs(main, "image") and "sha-" in runs(main, "image")
    assert "docker push" in runs(main, "image") and "--exit-code 1" in runs(main, "image")
    dev, prod = main["jobs"]["deploy-dev"], main["jobs"]["deploy-prod"]
    assert dev["environment"] == "dev" and "image" in dev["needs"]
    assert prod["environment"] == "production" and "deploy-dev" in prod["needs"]
    for job in ("deploy-dev", "deploy-prod"):
        script = runs(main, job)
        assert 'pulumi config set --stack "$STACK" dhakacart:appImage "$IMAGE"' in script
        assert "pulumi up" in script and "--policy-pack policies" in script
        [aws] = uses(main, job, "aws-actions/configure-aws-credentials")
        assert aws["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
        assert main["jobs"][job]["permissions"]["id-token"] == "write"
        env = next(s["env"] for s in steps(main, job) if "pulumi up" in s.get("run", ""))
        assert env["IMAGE"] == "${{ needs.image.outputs.image }}"


def test_security_audits_dependencies_secrets_and_the_image() -> None:
    security = load("security.yml")
    audited = security["jobs"]["pip-audit"]["strategy"]["matrix"]["requirements"]
    tracked = subprocess.run(["git", "ls-files", "*requirements*.txt"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert {"requirements.txt", "app/requirements.txt", "requirements-scanners.txt"} <= set(tracked)
    assert sorted(audited) == sorted(tracked), "pip-audit must cover every requirements file"
    assert "pip-audit==" in runs(security, "pip-audit")
    assert "gitleaks git" in runs(security, "gitleaks")
    assert steps(security, "gitleaks")[0]["with"]["fetch-depth"] == 0
    assert "--exit-code 1" in runs(security, "trivy") and "dhakacart-shop:scan" in runs(security, "trivy")
    assert "schedule" in triggers(security)


def test_dependabot_covers_every_ecosystem_in_the_repository() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    updates = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert {e for e, _ in updates} >= {"pip", "npm", "github-actions", "docker"}
    for ecosystem, directory in updates:
        folder = REPO / directory.lstrip("/")
        marker = {"pip": "requirements.txt", "npm": "package.json", "docker": "Dockerfile"}.get(ecosystem)
        if marker:
            assert (folder / marker).exists(), (
                f"dependabot {ecosystem} points at {directory} without {marker}"
            )


def test_drills_run_weekly_through_oidc_and_keep_their_records() -> None:
    drills = load("drills.yml")
    [schedule] = triggers(drills)["schedule"]
    _minute, _hour, day_of_month, month, day_of_week = schedule["cron"].split()
    assert (day_of_month, month) == ("*", "*") and day_of_week.isdigit()  # once a week
    assert "workflow_dispatch" in triggers(drills)
    job = drills["jobs"]["drill"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert job["strategy"]["matrix"]["drill"] == ["database", "etcd"]
    assert job["strategy"]["fail-fast"] is False
    [aws] = uses(drills, "drill", "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ vars.DRILL_ROLE_ARN }}"
    script = runs(drills, "drill")
    for drill in ("database", "etcd"):
        assert f'python -m dhakacart_infra.ops drill {drill} --stack "$STACK"' in script
    assert "app/requirements.txt" in script  # alembic, SQLAlchemy and psycopg for the schema check
    [upload] = uses(drills, "drill", "actions/upload-artifact")
    assert upload["with"]["path"] == "build/drills/" and upload["if"] == "${{ !cancelled() }}"


def test_the_drill_commands_of_the_workflow_parse() -> None:
    from click.testing import CliRunner

    from dhakacart_infra.ops.cli import cli

    for drill in ("database", "etcd"):
        result = CliRunner().invoke(cli, ["drill", drill, "--help"])
        assert result.exit_code == 0, result.output
        assert "--stack" in result.output and "--created-by" in result.output
