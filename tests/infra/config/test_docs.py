"""Pulumi.yaml and docs/CONFIGURATION.md are written from the key table and declare keys as the CLI needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dhakacart_infra.config import KEYS, KEYS_BY_NAME, StackConfig, load_config
from dhakacart_infra.config import docs as config_docs
from dhakacart_infra.plan.runner import run_program

ROOT = Path(__file__).resolve().parents[3]


def _declared() -> dict[str, Any]:
    """The project's own keys in Pulumi.yaml's `config:` (namespaced ones configure the engine)."""
    config = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    return {key: spec for key, spec in config.items() if ":" not in key}


def test_pulumi_yaml_and_the_configuration_reference_are_written_from_the_key_table():
    assert config_docs.stale_files() == [], "run: python -m dhakacart_infra.config.docs --write"


def test_the_docs_check_fails_on_a_hand_edited_file(tmp_path, monkeypatch):
    edited = tmp_path / "Pulumi.yaml"
    edited.write_text(config_docs.render_pulumi_yaml().replace("Pinned K3s release", "Any K3s release"))
    monkeypatch.setattr(config_docs, "OUTPUTS", {edited: config_docs.render_pulumi_yaml})
    assert config_docs.stale_files() == [edited]
    monkeypatch.setattr(config_docs, "ROOT", tmp_path)
    assert config_docs.main([]) == 1


def test_pulumi_yaml_declares_exactly_the_required_keys_without_a_default():
    # The Pulumi CLI refuses a stack that leaves out a declared key without a default ("Stack 'dev'
    # is missing configuration value ..."), before the program runs: declaring an optional or
    # environment-dependent key without one would make it required for every stack.
    without_default = {key for key, spec in _declared().items() if "default" not in spec}
    assert without_default == {k.name for k in KEYS if k.required}
    for key, spec in _declared().items():
        assert spec["type"] in ("string", "integer", "boolean", "array"), key  # the CLI's schema
        if "default" in spec:
            assert spec["default"] == KEYS_BY_NAME[key].default("dev") == KEYS_BY_NAME[key].default("prod")


def test_secrets_objects_and_environment_dependent_keys_are_documented_not_declared():
    text = (ROOT / "Pulumi.yaml").read_text()
    for key in KEYS:
        if key.secret or key.kind.type_name == "object" or (key.varies_by_environment and not key.required):
            assert key.name not in _declared(), key.name
            assert f"#   {key.name} (" in text, key.name


@pytest.mark.parametrize("key", [k for k in KEYS if k.namespace == "dhakacart"], ids=lambda k: k.name)
def test_every_key_is_in_the_configuration_reference(key):
    assert f"| `{key.name}` |" in (ROOT / "docs" / "CONFIGURATION.md").read_text()


def test_a_stack_file_with_only_the_required_keys_gets_the_environment_defaults(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.lean.yaml").write_text(
        yaml.safe_dump(
            {
                "config": {
                    "dhakacart:environment": "prod",
                    "dhakacart:adminCidrs": ["203.0.113.0/24"],
                    "dhakacart:acmeEmail": "ops@dhakacart.example",
                    "dhakacart:appImage": "ghcr.io/dhakacart/shop:1.0.0",
                }
            }
        )
    )
    captured: list[StackConfig] = []
    run_program("lean", root=tmp_path, program=lambda: captured.append(load_config()))
    cfg = captured[0]
    assert cfg.cluster.servers.count == KEYS_BY_NAME["k3sServers"].default("prod") == 3
    assert cfg.cluster.servers.dedicated and cfg.app.strict_spread
    assert cfg.database.multi_az is True and cfg.database.final_snapshot is True
    assert cfg.database.backup_retention_days == KEYS_BY_NAME["dbBackupRetentionDays"].default("prod")
    assert cfg.alerting.email_to is None and cfg.alerting.slack_webhook_url is None


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_set_no_key_to_its_own_default(stack):
    """A default lives only in the key table: a stack file repeating it is a second copy that drifts."""
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    repeated = []
    for full, value in data.items():
        namespace, _, name = full.partition(":")
        key = KEYS_BY_NAME.get(name)
        optional = key is not None and key.namespace == namespace and not key.required
        if optional and key.name != "region" and value == key.default(stack):
            repeated.append(full)
    assert repeated == []
