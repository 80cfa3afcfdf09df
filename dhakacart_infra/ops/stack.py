"""Identifiers of the deployed stack: from flags, else from `pulumi stack output --json`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..names import StackOutput
from .errors import MissingIdentifierError, PulumiCliError

# Stack output name -> the flag that replaces it when the Pulumi CLI is not at hand.
OUTPUT_FLAGS: dict[StackOutput, str] = {
    StackOutput.DATABASE_INSTANCE_ID: "--db-instance",
    StackOutput.SNAPSHOT_EXPORT_BUCKET: "--bucket",
    StackOutput.SNAPSHOT_EXPORT_ROLE_ARN: "--role-arn",
    StackOutput.SNAPSHOT_EXPORT_KMS_KEY_ARN: "--kms-key",
    StackOutput.MANUAL_SNAPSHOT_RETENTION_DAYS: "--keep-days",
    StackOutput.REGION: "--region",
    StackOutput.ETCD_SNAPSHOT_BUCKET: "--etcd-bucket",
    StackOutput.ETCD_SNAPSHOT_FOLDER: "--etcd-folder",
    StackOutput.SERVER_INSTANCE_IDS: "--server-id",
}

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603


def read_stack_outputs(
    stack: str | None, runner: Runner = _run, which: Callable[[str], str | None] = shutil.which
) -> dict[str, Any]:
    """The stack's outputs (secrets stay masked: the ops tool never needs them)."""
    pulumi = which("pulumi")
    if pulumi is None:
        raise PulumiCliError(
            "the Pulumi CLI is not on PATH, so the stack outputs cannot be read; install it "
            "(https://www.pulumi.com/docs/iac/download-install/) or pass the identifiers as flags: "
            + ", ".join(sorted(set(OUTPUT_FLAGS.values())))
        )
    argv = [pulumi, "stack", "output", "--json"]
    if stack:
        argv += ["--stack", stack]
    result = runner(argv)
    if result.returncode != 0:
        raise PulumiCliError(
            f"`{' '.join(argv[1:])}` failed (exit {result.returncode}): {result.stderr.strip()}; "
            "select the stack with --stack, log in with `pulumi login`, or pass the identifiers as flags"
        )
    try:
        outputs = json.loads(result.stdout or "{}")
    except json.JSONDecodeError as exc:
        raise PulumiCliError(
            f"`pulumi stack output --json` printed something that is not JSON: {exc}"
        ) from exc
    if not isinstance(outputs, dict):
        raise PulumiCliError("`pulumi stack output --json` did not print a JSON object")
    return outputs


def selected_stack_name(runner: Runner = _run, which: Callable[[str], str | None] = shutil.which) -> str:
    """The name of the stack `pulumi stack select` chose (what commands without --stack act on)."""
    pulumi = which("pulumi")
    if pulumi is None:
        raise PulumiCliError(
            "the Pulumi CLI is not on PATH, so the selected stack's name is unknown; pass --stack NAME"
        )
    result = runner([pulumi, "stack", "--show-name"])
    name = (result.stdout or "").strip()
    if result.returncode != 0 or not name:
        raise PulumiCliError(
            f"`pulumi stack --show-name` failed (exit {result.returncode}): {(result.stderr or '').strip()}; "
            "select a stack with `pulumi stack select NAME` or pass --stack NAME"
        )
    return name


@dataclass
class StackIdentifiers:
    """Flags first; the stack outputs are read once, and only when a flag is missing."""

    stack: str | None = None
    flags: Mapping[StackOutput, str | None] = field(default_factory=dict)
    reader: Callable[[str | None], dict[str, Any]] = read_stack_outputs
    _outputs: dict[str, Any] | None = None

    def get(self, output: StackOutput, *, required: bool = True) -> str | None:
        value = self.flags.get(output)
        if value:
            return value
        if self._outputs is None:
            try:
                self._outputs = self.reader(self.stack)
            except PulumiCliError:
                if not required:
                    return None
                raise
        found = self._outputs.get(output)
        if found in (None, "") and required:
            flag = OUTPUT_FLAGS.get(output, "a flag")
            raise MissingIdentifierError(
                f"the stack has no output {str(output)!r} (is the stack deployed and up to date?); "
                f"pass {flag}"
            )
        return str(found) if found not in (None, "") else None

    def get_list(self, output: StackOutput, *, required: bool = True) -> list[str]:
        """A list output (a flag gives it comma-separated; the stack as a JSON list)."""
        value = self.flags.get(output)
        if value:
            return [item.strip() for item in value.split(",") if item.strip()]
        if self.get(output, required=required) is None:
            return []
        found = (self._outputs or {}).get(output)
        if isinstance(found, str):
            try:
                found = json.loads(found)
            except json.JSONDecodeError:
                found = found.split(",")
        items = [str(item).strip() for item in (found if isinstance(found, list) else [found])]
        return [item for item in items if item]
