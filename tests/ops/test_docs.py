"""The operator documents: every command in them exists and parses, every alert has its section.

Commands are taken from fenced code blocks and inline code in docs/DEPLOYMENT_GUIDE.md,
docs/RUNBOOK.md and docs/OPERATIONS.md:
- `python -m dhakacart_infra.ops ...` lines are parsed by the tool's real click parser (options,
  types, required values; nothing runs);
- `make X` must name a target of the Makefile;
- `aws <service> <operation> --flags` must be an operation of botocore's service model (what the
  AWS CLI is generated from) with those parameters, or one of its waiters;
- `pulumi` and `kubectl` verbs (and pulumi's flags) must be ones those CLIs have;
- `k3s` lines must use a K3s subcommand, and `k3s server` only flags the platform itself gives K3s
  (the servers' config file keys, aws/user_data.py) or the restore the etcd drill runs (ops/drill_etcd.py).
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

import botocore.session
import click
import pytest
from botocore import xform_name

from dhakacart_infra.ops.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "docs" / "DEPLOYMENT_GUIDE.md", ROOT / "docs" / "RUNBOOK.md", ROOT / "docs" / "OPERATIONS.md"]
OPS_PREFIXES = ("python -m dhakacart_infra.ops", ".venv/bin/python -m dhakacart_infra.ops")


def doc_texts() -> dict[str, str]:
    return {p.name: p.read_text() for p in DOCS}


def command_lines(text: str) -> list[str]:
    """Shell lines from fenced blocks (continuations joined) and inline code spans."""
    lines: list[str] = []
    for block in re.findall(r"^\s*```(?:bash|sh|shell)?\n(.*?)^\s*```", text, re.S | re.M):
        lines.extend(line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip())
    prose = re.sub(r"^\s*```.*?^\s*```", "", text, flags=re.S | re.M)
    lines.extend(span.strip() for span in re.findall(r"`([^`\n]+)`", prose))
    return lines


def segments(line: str) -> list[str]:
    """The simple commands of a line: split on && || | ; (outside quotes), comments dropped."""
    out, current, quote = [], "", ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = ""
            current += ch
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == "#" and (not current or current[-1] == " "):
            break
        elif line.startswith(("&&", "||"), i):
            out.append(current)
            current = ""
            i += 1
        elif ch in "|;":
            out.append(current)
            current = ""
        else:
            current += ch
        i += 1
    out.append(current)
    cleaned = []
    for seg in out:
        seg = seg.strip()
        seg = re.sub(r"^(sudo\s+)?([A-Z_]+=\S+\s+)*", "", seg)
        if seg:
            cleaned.append(seg)
    return cleaned


def all_commands(tool: str) -> list[tuple[str, str]]:
    found = []
    for name, text in doc_texts().items():
        for line in command_lines(text):
            for seg in segments(line):
                if tool == "ops":
                    # a bare mention of the tool in prose is not a command to check
                    if seg.startswith(OPS_PREFIXES) and len(shlex.split(seg)) > 3:
                        found.append((name, seg))
                elif seg.split()[0] == tool and len(seg.split()) > 1:
                    found.append((name, seg))
    return found


@pytest.mark.parametrize(
    "bad",
    [
        ["backup", "lst"],
        ["restore", "pitr", "--latest"],
        ["smoke"],
        ["load", "--url", "u", "--users", "many"],
        ["backup", "prune", "--keep", "3"],
    ],
)
def test_the_parser_check_catches_wrong_commands(bad: list[str]) -> None:
    with pytest.raises((click.ClickException, AssertionError)):
        parse_ops(bad)


def test_the_documents_contain_commands_of_every_kind() -> None:
    for tool in ("ops", "make", "aws", "pulumi", "kubectl", "k3s"):
        assert all_commands(tool), f"no {tool} command found: the extraction is broken"
    used = {shlex.split(seg)[3] for _, seg in all_commands("ops") if len(shlex.split(seg)) > 3}
    assert {"backup", "restore", "export", "smoke", "load", "etcd", "drill"} <= used
    drills = {tuple(shlex.split(seg)[3:5]) for _, seg in all_commands("ops") if len(shlex.split(seg)) > 4}
    assert {("etcd", "list"), ("drill", "database"), ("drill", "etcd")} <= drills


def parse_ops(args: list[str]) -> None:
    command: click.Command = cli
    path = ["ops"]
    while isinstance(command, click.Group):
        assert args, f"`{' '.join(path)}` needs a subcommand"
        sub = command.get_command(click.Context(command), args[0])
        assert sub is not None, f"`{' '.join(path)}` has no subcommand {args[0]!r}"
        path.append(args[0])
        command, args = sub, args[1:]
    command.make_context(" ".join(path), list(args))  # raises on unknown options, bad types, missing values


@pytest.mark.parametrize(("doc", "command"), all_commands("ops"), ids=lambda v: v[:90])
def test_every_ops_command_parses(doc: str, command: str) -> None:
    args = shlex.split(command)
    args = args[3:]  # drop "python -m dhakacart_infra.ops"
    try:
        parse_ops(args)
    except click.ClickException as exc:
        pytest.fail(f"{doc}: `{command}` does not parse: {exc.format_message()}")


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), re.M))


@pytest.mark.parametrize(("doc", "command"), all_commands("make"), ids=lambda v: v[:60])
def test_every_make_command_is_a_target(doc: str, command: str) -> None:
    targets = [t for t in shlex.split(command)[1:] if "=" not in t and not t.startswith("-")]
    assert targets and set(targets) <= make_targets(), f"{doc}: `{command}`: targets {sorted(make_targets())}"


AWS_GLOBAL = {"--region", "--query", "--output", "--profile", "--no-cli-pager", "--debug"}
AWS_HIGH_LEVEL = {("s3", "ls"), ("s3", "cp"), ("s3", "rm"), ("s3", "sync"), ("s3", "mb")}
SESSION = botocore.session.get_session()


def aws_operation(service: str, command: str) -> tuple[str, object]:
    model = SESSION.get_service_model(service)
    by_cli = {xform_name(op, "-"): op for op in model.operation_names}
    assert command in by_cli, f"aws {service} has no command {command!r}"
    return by_cli[command], model.operation_model(by_cli[command])


@pytest.mark.parametrize(("doc", "command"), all_commands("aws"), ids=lambda v: v[:90])
def test_every_aws_command_exists_with_its_flags(doc: str, command: str) -> None:
    args = shlex.split(command)
    service, verb = args[1], args[2]
    if (service, verb) in AWS_HIGH_LEVEL:
        return
    if verb == "wait":
        waiters = SESSION.get_waiter_model(service)
        by_cli = {xform_name(w, "-"): w for w in waiters.waiter_names}
        assert args[3] in by_cli, f"{doc}: aws {service} wait has no {args[3]!r}"
        operation = SESSION.get_service_model(service).operation_model(
            waiters.get_waiter(by_cli[args[3]]).operation
        )
    else:
        _, operation = aws_operation(service, verb)
    members = {xform_name(m, "-") for m in operation.input_shape.members} if operation.input_shape else set()
    for flag in (a for a in args if a.startswith("--")):
        name = flag.split("=", 1)[0]
        if name in AWS_GLOBAL:
            continue
        bare = name[2:].removeprefix("no-")
        assert bare in members, f"{doc}: `{command}`: {name} is not a parameter of {operation.name}"


PULUMI = {
    "login": set(),
    "preview": {"--diff", "--replace", "--stack"},
    "up": {"--replace", "--stack", "--yes"},
    "destroy": {"--stack", "--yes"},
    "refresh": {"--stack", "--yes"},
    "import": {"--parent", "--provider", "--generate-code", "--protect", "--stack"},
    "stack": {"--show-urns", "--show-name", "--stack"},  # --show-name: what the ops tool runs too
    "config": {"--secret", "--path", "--stack", "--plaintext"},
    "state": {"--force", "--stack", "--target-dependents"},
}
PULUMI_SUB = {
    "stack": {"init", "select", "output", "history", "ls", "rm"},
    "config": {"set", "get", "rm"},
    "state": {"delete", "unprotect"},
}
STACK_OUTPUT_FLAGS = {"--json", "--show-secrets", "--stack"}


@pytest.mark.parametrize(("doc", "command"), all_commands("pulumi"), ids=lambda v: v[:90])
def test_every_pulumi_command_exists(doc: str, command: str) -> None:
    args = shlex.split(command)
    verb = args[1]
    assert verb in PULUMI, f"{doc}: `{command}`: unknown pulumi verb {verb!r}"
    allowed = set(PULUMI[verb])
    positional = [a for a in args[2:] if not a.startswith("-")]
    if verb in PULUMI_SUB and positional and positional[0] in PULUMI_SUB[verb]:
        if positional[0] == "output":
            allowed |= STACK_OUTPUT_FLAGS
    elif verb in ("config", "state"):
        pytest.fail(f"{doc}: `{command}`: pulumi {verb} needs one of {sorted(PULUMI_SUB[verb])}")
    for flag in (a.split("=", 1)[0] for a in args[2:] if a.startswith("--")):
        assert flag in allowed, f"{doc}: `{command}`: {flag} is not a flag of pulumi {verb}"


KUBECTL_VERBS = {
    "get",
    "describe",
    "logs",
    "top",
    "rollout",
    "scale",
    "delete",
    "run",
    "exec",
    "auth",
    "create",
    "apply",
    "cordon",
    "drain",
    "uncordon",
    "annotate",
    "label",
    "events",
    "wait",
    "cp",
    "port-forward",
    "patch",
}


@pytest.mark.parametrize(("doc", "command"), all_commands("kubectl"), ids=lambda v: v[:90])
def test_every_kubectl_command_uses_a_real_verb(doc: str, command: str) -> None:
    args = shlex.split(command)
    rest = args[1:]
    while rest and rest[0].startswith("-"):  # kubectl -n NS <verb>
        rest = rest[2:] if rest[0] in ("-n", "--namespace") else rest[1:]
    assert rest and rest[0] in KUBECTL_VERBS, f"{doc}: `{command}`: no kubectl verb"


def test_every_alert_has_a_runbook_section_its_url_points_at() -> None:
    from dhakacart_infra.k8s.alerts import ALERT_RULES

    runbook = (ROOT / "docs" / "RUNBOOK.md").read_text()
    headings = set(re.findall(r"^## (\S+)\s*$", runbook, re.M))
    for rule in ALERT_RULES:
        name = rule["alert"]
        assert name in headings, f"RUNBOOK.md has no '## {name}' section"
        assert rule["annotations"]["runbook_url"].endswith(f"docs/RUNBOOK.md#{name.lower()}")
        section = runbook.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert "**Meaning.**" in section and "**Diagnose" in section and "```" in section, name


def test_runbook_has_the_drills() -> None:
    runbook = (ROOT / "docs" / "RUNBOOK.md").read_text()
    for heading in (
        "## Restore drill",
        "## Node loss",
        "## Zone loss",
        "## Server replacement",
        "## Certificate failures",
        "## etcd snapshots: list and restore",
        "## Recovery drills",
    ):
        assert heading in runbook


def test_every_stack_output_the_documents_read_is_one_the_program_exports() -> None:
    from dhakacart_infra.names import StackOutput

    exported = {o.value for o in StackOutput}
    read = set()
    for doc, text in doc_texts().items():
        for name in re.findall(r"pulumi stack output ([A-Za-z]\w*)", text):
            read.add(name)
            assert name in exported, f"{doc}: `pulumi stack output {name}`: the program exports no {name}"
    assert {"serverInstanceIds", "ingressAddresses", "agentGroupName"} <= read


K3S_SUBCOMMANDS = {
    "server": set(),
    "etcd-snapshot": {"save", "ls", "list", "delete", "prune"},
    "kubectl": set(),
    "crictl": set(),
    "ctr": set(),
}
RESTORE_FLAGS = {"--cluster-reset", "--cluster-reset-restore-path", "--etcd-s3"}


def k3s_server_flags() -> set[str]:
    """What this platform gives `k3s server`: its config file's keys (each a flag) and the restore's."""
    import yaml

    from dhakacart_infra.aws.user_data import (
        EtcdSnapshots,
        ServerSettings,
        ServiceAccountIssuerSettings,
        server_user_data,
    )

    settings = ServerSettings(
        k3s_version="v1.35.8+k3s1",
        region="ap-south-1",
        token="t",
        agent_token="a",
        api_host="lb.example",
        extra_sans=[],
        kubeconfig_parameter="/p",
        etcd=EtcdSnapshots("b", "ap-south-1", "etcd-snapshots", "0 */6 * * *", 5),
        dedicated=True,
        may_initialise=True,
        service_accounts=ServiceAccountIssuerSettings("https://issuer.example", "/k", "pem"),
    )
    cloud_config = yaml.safe_load(server_user_data(settings).split("\n", 1)[1])
    [config] = [f for f in cloud_config["write_files"] if f["path"] == "/etc/rancher/k3s/config.yaml"]
    return {f"--{key}" for key in yaml.safe_load(config["content"])} | RESTORE_FLAGS


def drill_restore_flags() -> set[str]:
    from dhakacart_infra.ops.drill_etcd import ScratchSettings, scratch_user_data
    from dhakacart_infra.ops.etcd import parse_snapshot

    snapshot = parse_snapshot("etcd-snapshots/etcd-snapshot-n-1795000000", 1, datetime.now(UTC))
    settings = ScratchSettings(
        "ap-south-1", "b", "etcd-snapshots", snapshot, "v1.35.8+k3s1", "ami-1", "s", "g", "p", "/t"
    )
    script = scratch_user_data(settings).replace("\\\n", " ")
    [line] = [line for line in script.splitlines() if line.startswith("k3s server --cluster-reset")]
    return {arg.split("=", 1)[0] for arg in shlex.split(line) if arg.startswith("--")}


@pytest.mark.parametrize(("doc", "command"), all_commands("k3s"), ids=lambda v: v[:90])
def test_every_k3s_command_uses_a_real_subcommand_and_the_platforms_flags(doc: str, command: str) -> None:
    args = shlex.split(command)[1:]
    assert args[0] in K3S_SUBCOMMANDS, f"{doc}: `{command}`: no k3s subcommand {args[0]!r}"
    if K3S_SUBCOMMANDS[args[0]]:
        assert args[1] in K3S_SUBCOMMANDS[args[0]], f"{doc}: `{command}`: k3s {args[0]} has no {args[1]!r}"
    if args[0] == "server":
        flags = {a.split("=", 1)[0] for a in args if a.startswith("--")}
        assert flags <= k3s_server_flags(), f"{doc}: `{command}`: {sorted(flags - k3s_server_flags())}"


def test_the_k3s_flag_check_knows_the_platforms_flags_and_refuses_others() -> None:
    known = k3s_server_flags()
    wanted = {"--etcd-s3-bucket", "--etcd-s3-folder", "--etcd-s3-region", "--cluster-reset-restore-path"}
    assert wanted <= known
    assert "--etcd-s3-folders" not in known and "--restore-path" not in known
    assert drill_restore_flags() <= known


def test_the_runbooks_restore_is_the_one_the_etcd_drill_rehearses() -> None:
    restores = [c for _, c in all_commands("k3s") if "--cluster-reset" in shlex.split(c)]
    assert restores, "the runbook has no `k3s server --cluster-reset` command"
    for command in restores:
        flags = {a.split("=", 1)[0] for a in shlex.split(command) if a.startswith("--")}
        assert drill_restore_flags() <= flags, command


def test_deployment_guide_covers_the_lifecycle() -> None:
    guide = (ROOT / "docs" / "DEPLOYMENT_GUIDE.md").read_text()
    for heading in (
        "## First deployment",
        "## DNS and TLS",
        "## Secrets",
        "## Upgrades",
        "### K3s",
        "### Helm charts",
        "### The app",
        "## Rollback",
        "## Destroy",
    ):
        assert heading in guide
