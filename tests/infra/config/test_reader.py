"""The config reader: what each stack file yields, and every value the program refuses (with the fix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from dhakacart_infra.config import KEYS_BY_NAME, StackConfig, load_config
from dhakacart_infra.config.instance_types import INSTANCE_MEMORY_GIB
from dhakacart_infra.errors import ConfigError
from dhakacart_infra.plan.mocks import is_secret, resolve, reveal
from dhakacart_infra.plan.runner import StackFileError, run_program

ROOT = Path(__file__).resolve().parents[3]


def load(
    stack: str,
    overrides: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    secret_overrides: dict[str, Any] | None = None,
) -> StackConfig:
    captured: list[StackConfig] = []
    run_program(
        stack,
        overrides=overrides,
        secret_overrides=secret_overrides,
        remove=remove,
        program=lambda: captured.append(load_config()),
    )
    return captured[0]


def problems(
    stack: str, overrides: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(stack, overrides, remove)
    return caught.value


# --- what the stack files give ---------------------------------------------------------------


def test_dev_stack_file_reads_as_a_small_development_stack():
    cfg = load("dev")
    assert (cfg.environment, cfg.is_production, cfg.stack, cfg.region) == ("dev", False, "dev", "ap-south-1")
    assert cfg.network.vpc_cidr == "10.20.0.0/16" and cfg.network.availability_zone_count == 2
    servers, agents = cfg.cluster.servers, cfg.cluster.agents
    assert (servers.count, servers.instance_type, servers.volume_gb) == (1, "t3.medium", 40)
    assert servers.k3s_version == "v1.35.8+k3s1" and servers.termination_protection is False
    assert servers.dedicated is False and not cfg.app.strict_spread
    assert (agents.instance_types, agents.min_size, agents.max_size) == (("t3.medium",), 0, 2)
    db = cfg.database
    assert (db.instance_class, db.allocated_storage_gb, db.multi_az, db.backup_retention_days) == (
        "db.t4g.micro",
        20,
        False,
        7,
    )
    assert db.deletion_protection is False and db.final_snapshot is False
    assert db.parameter_group_family == "postgres16"
    assert cfg.app.domain_name is None and cfg.app.app_image == "ghcr.io/dhakacart/shop:1.0.0"
    assert (cfg.app.api.min_replicas, cfg.app.api.max_replicas) == (2, 4)
    assert (cfg.app.web.min_replicas, cfg.app.web.max_replicas) == (2, 3)
    assert cfg.monitoring.prometheus_retention == "7d" and cfg.monitoring.loki_retention_days == 7
    assert not cfg.monitoring.loki_in_s3 and cfg.app.tls_issuer == "letsencrypt-staging"
    assert cfg.network.flow_log_retention_days == cfg.database.log_retention_days == 30
    assert (cfg.backups.export_expiry_days, cfg.backups.export_force_destroy) == (30, True)
    assert cfg.database.apply_immediately and cfg.database.key_deletion_window_days == 7
    assert cfg.alerting.slack_webhook_url is None and cfg.alerting.email_to is None


def test_prod_stack_file_reads_as_a_protected_production_stack():
    cfg = load("prod")
    assert cfg.is_production and cfg.network.availability_zone_count == 3
    servers, agents = cfg.cluster.servers, cfg.cluster.agents
    assert (servers.count, servers.instance_type, servers.dedicated, servers.termination_protection) == (
        3, "t3.medium", True, True)
    assert (agents.min_size, agents.max_size) == (3, 8) and cfg.app.strict_spread
    assert servers.etcd_snapshot_retention == 28 and servers.etcd_snapshot_schedule == "0 */6 * * *"
    db = cfg.database
    assert db.multi_az and db.deletion_protection and db.final_snapshot
    assert db.backup_retention_days == 14 and db.instance_class == "db.t4g.medium"
    assert (cfg.app.api.min_replicas, cfg.app.api.max_replicas) == (6, 15)
    assert (cfg.app.web.min_replicas, cfg.app.web.max_replicas) == (6, 12)
    assert cfg.app.domain_name == "shop.dhakacart.example"
    assert cfg.monitoring.prometheus_storage_gb == 50 and cfg.monitoring.loki_retention_days == 30
    assert cfg.monitoring.loki_in_s3 and cfg.app.tls_issuer == "letsencrypt-production"
    assert cfg.network.flow_log_retention_days == cfg.database.log_retention_days == 90
    assert (cfg.backups.export_expiry_days, cfg.backups.export_force_destroy) == (365, False)
    assert not cfg.database.apply_immediately and cfg.database.key_deletion_window_days == 30
    assert cfg.alerting.email_to == "oncall@dhakacart.example"
    assert cfg.tags == {"Project": "dhakacart", "Environment": "prod", "Stack": "prod", "ManagedBy": "pulumi"}


def test_config_objects_are_frozen():
    cfg = load("dev")
    with pytest.raises(AttributeError):
        cfg.environment = "prod"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.database.multi_az = True  # type: ignore[misc]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_environment_defaults_fill_keys_missing_from_the_stack_file(stack):
    keys = ("k3sInstanceType", "dbInstanceClass", "dbBackupRetentionDays", "web", "lokiRetention")
    cfg = load(stack, remove=keys)
    default = {key: KEYS_BY_NAME[key].default(stack) for key in keys}
    assert cfg.cluster.servers.instance_type == default["k3sInstanceType"]
    assert cfg.database.instance_class == default["dbInstanceClass"]
    assert cfg.database.backup_retention_days == default["dbBackupRetentionDays"]
    assert cfg.app.web.max_replicas == default["web"]["maxReplicas"]
    assert cfg.monitoring.loki_retention_days * 24 == int(default["lokiRetention"].removesuffix("h"))


def test_a_partial_workload_object_keeps_the_other_fields_default():
    cfg = load("dev", overrides={"api": {"maxReplicas": 6}})
    assert cfg.app.api.max_replicas == 6
    assert cfg.app.api.min_replicas == KEYS_BY_NAME["api"].default("dev")["minReplicas"]


@pytest.mark.parametrize(("text", "days"), [("168h", 7), ("7d", 7), ("1w", 7), ("24h", 1), ("4w", 28)])
def test_loki_retention_is_whole_days_in_hours_days_or_weeks(text, days):
    assert load("dev", overrides={"lokiRetention": text}).monitoring.loki_retention_days == days


def test_alert_secrets_come_back_as_pulumi_secrets():
    cfg = load(
        "prod",
        secret_overrides={
            "alertSlackWebhookUrl": "https://hooks.slack.com/services/T0/B0/abc",
            "alertSmtpPassword": "hunter2-smtp",
        },
    )
    webhook, password = cfg.alerting.slack_webhook_url, cfg.alerting.smtp_password
    assert isinstance(webhook, pulumi.Output) and isinstance(password, pulumi.Output)
    resolved = [resolve(webhook), resolve(password)]
    assert all(is_secret(v) for v in resolved)
    assert [reveal(v) for v in resolved] == ["https://hooks.slack.com/services/T0/B0/abc", "hunter2-smtp"]


def test_secure_stack_values_stay_secret(tmp_path):
    for name in ("Pulumi.yaml",):
        (tmp_path / name).write_text((ROOT / name).read_text())
    stack = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    stack["config"]["dhakacart:alertSmtpPassword"] = {"secure": "v1:AAAA"}
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(stack))
    captured: list[StackConfig] = []
    run_program("prod", root=tmp_path, program=lambda: captured.append(load_config()))
    assert is_secret(resolve(captured[0].alerting.smtp_password))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("alertSlackWebhookUrl", "https://hooks.slack.com/services/T0/B0/abc"),
        ("alertSmtpPassword", "hunter2-smtp"),
    ],
)
def test_an_alert_secret_stored_in_plain_text_is_refused_without_showing_it(key, value):
    error = problems("prod", overrides={key: value})
    assert error.keys == [key]
    text = str(error)
    assert "plain text" in text
    assert f"pulumi config set --stack prod --secret {key} " in text
    assert value not in text


def test_the_same_alert_secrets_stored_encrypted_are_accepted():
    cfg = load("prod", secret_overrides={"alertSmtpPassword": "hunter2-smtp"})
    assert cfg.alerting.smtp_password is not None


# --- every rejection -------------------------------------------------------------------------

REJECTIONS = [
    ("dev", {"environment": "staging"}, "environment", "must be dev or prod"),
    ("dev", {"vpcCidr": "10.20.0.0/33"}, "vpcCidr", "not a valid IPv4 network CIDR"),
    ("dev", {"vpcCidr": "banana"}, "vpcCidr", "not a valid IPv4 network CIDR"),
    ("dev", {"vpcCidr": "10.20.0.0/24"}, "vpcCidr", "between /16 and /20"),
    ("dev", {"vpcCidr": "10.0.0.0/8"}, "vpcCidr", "between /16 and /20"),
    ("dev", {"vpcCidr": "8.8.0.0/16"}, "vpcCidr", "private"),
    ("dev", {"availabilityZones": 1}, "availabilityZones", "between 2 and 3"),
    ("dev", {"availabilityZones": "two"}, "availabilityZones", "whole number"),
    ("prod", {"adminCidrs": ["0.0.0.0/0"]}, "adminCidrs", "prod forbids"),
    ("prod", {"adminCidrs": ["::/0"]}, "adminCidrs", "prod forbids"),
    ("dev", {"adminCidrs": ["not-a-cidr"]}, "adminCidrs", "not a valid CIDR"),
    ("dev", {"adminCidrs": []}, "adminCidrs", "is empty"),
    ("dev", {"adminCidrs": "203.0.113.0/24"}, "adminCidrs", "must be a list"),
    ("dev", {"k3sInstanceType": "t2.micro"}, "k3sInstanceType", "1 GiB"),
    ("dev", {"k3sInstanceType": "t3.small"}, "k3sInstanceType", "at least 4 GiB"),
    ("dev", {"k3sInstanceType": "x9.huge"}, "k3sInstanceType", "not a known"),
    ("dev", {"k3sRootVolumeGb": 8}, "k3sRootVolumeGb", "between 20"),
    ("dev", {"k3sVersion": "1.33.5"}, "k3sVersion", "pinned K3s release"),
    ("dev", {"k3sVersion": "latest"}, "k3sVersion", "pinned K3s release"),
    ("dev", {"dbEngineVersion": "9.6"}, "dbEngineVersion", "from 14 to 17"),
    ("dev", {"dbInstanceClass": "t3.micro"}, "dbInstanceClass", "RDS instance class"),
    ("dev", {"dbAllocatedStorageGb": 10}, "dbAllocatedStorageGb", "between 20"),
    ("dev", {"dbMaxAllocatedStorageGb": 20}, "dbMaxAllocatedStorageGb", "between 21"),
    (
        "dev",
        {"dbAllocatedStorageGb": 100, "dbMaxAllocatedStorageGb": 80},
        "dbMaxAllocatedStorageGb",
        "larger than dbAllocatedStorageGb",
    ),
    ("prod", {"dbMultiAz": False}, "dbMultiAz", "must be true in prod"),
    ("dev", {"dbMultiAz": "yes"}, "dbMultiAz", "true or false"),
    ("dev", {"dbBackupRetentionDays": 3}, "dbBackupRetentionDays", "below 7 days"),
    ("dev", {"dbBackupRetentionDays": 40}, "dbBackupRetentionDays", "at most 35"),
    ("prod", {"dbDeletionProtection": False}, "dbDeletionProtection", "must be true in prod"),
    ("dev", {"dbName": "Dhaka-Cart"}, "dbName", "lower-case letter"),
    ("dev", {"dbUsername": "rdsadmin"}, "dbUsername", "reserved"),
    ("dev", {"domainName": "Shop.Example.com"}, "domainName", "lower-case DNS name"),
    ("dev", {"domainName": "localhost"}, "domainName", "lower-case DNS name"),
    ("dev", {"acmeEmail": "not-an-email"}, "acmeEmail", "not a valid e-mail"),
    ("dev", {"appImage": "ghcr.io/dhakacart/shop"}, "appImage", "explicit version tag"),
    ("dev", {"appImage": "ghcr.io/dhakacart/shop:latest"}, "appImage", "not `latest`"),
    ("dev", {"appImage": "registry:5000/shop"}, "appImage", "explicit version tag"),
    ("dev", {"web": {"minReplicas": 0}}, "web.minReplicas", "at least 1"),
    ("dev", {"api": {"minReplicas": 5, "maxReplicas": 3}}, "api.maxReplicas", "at least minReplicas"),
    ("prod", {"api": {"minReplicas": 1}}, "api.minReplicas", "at least 2 in prod"),
    ("dev", {"web": {"cpuRequest": "lots"}}, "web.cpuRequest", "CPU quantity"),
    ("dev", {"web": {"memoryLimit": "512MB"}}, "web.memoryLimit", "memory quantity"),
    ("dev", {"api": {"cpuRequest": "2", "cpuLimit": "500m"}}, "api.cpuRequest", "larger than cpuLimit"),
    ("dev", {"web": {"replicas": 3}}, "web", "unknown fields"),
    ("dev", {"web": "[1, 2]"}, "web", "must be an object"),
    ("dev", {"prometheusRetention": "two weeks"}, "prometheusRetention", "Prometheus duration"),
    ("dev", {"prometheusRetention": "15"}, "prometheusRetention", "Prometheus duration"),
    ("dev", {"prometheusRetention": "-1d"}, "prometheusRetention", "Prometheus duration"),
    ("dev", {"lokiRetention": "7x"}, "lokiRetention", "whole days"),
    ("dev", {"lokiRetention": "100h"}, "lokiRetention", "whole days"),
    ("dev", {"lokiRetention": "12h"}, "lokiRetention", "whole days"),
    ("dev", {"lokiRetention": "1y"}, "lokiRetention", "whole days"),
    ("dev", {"lokiRetention": "7"}, "lokiRetention", "whole days"),
    ("dev", {"lokiStorage": "gcs"}, "lokiStorage", "one of filesystem, s3"),
    ("dev", {"k3sServers": 2}, "k3sServers", "must be odd"),
    ("prod", {"k3sServers": 4}, "k3sServers", "must be odd"),
    ("prod", {"k3sServers": 1}, "k3sServers", "at least 3 in prod"),
    ("dev", {"k3sServers": 9}, "k3sServers", "between 1 and 7"),
    ("prod", {"k3sDedicatedServers": False}, "k3sDedicatedServers", "must be true in prod"),
    ("dev", {"k3sAgentMinSize": 3, "k3sAgentMaxSize": 2}, "k3sAgentMaxSize", "at least k3sAgentMinSize"),
    ("dev", {"k3sAgentInstanceTypes": ["t3.medium", "t3.large"]}, "k3sAgentInstanceTypes", "mixes sizes"),
    ("dev", {"k3sAgentInstanceTypes": ["x9.huge"]}, "k3sAgentInstanceTypes", "not a known"),
    ("dev", {"k3sAgentInstanceTypes": []}, "k3sAgentInstanceTypes", "non-empty list"),
    ("prod", {"k3sAgentMinSize": 2}, "k3sAgentMinSize", "at least availabilityZones (3) with zoneSpread"),
    ("prod", {"web": {"minReplicas": 5}}, "web.minReplicas", "at least 6 (two per zone)"),
    ("dev", {"etcdSnapshotSchedule": "every hour"}, "etcdSnapshotSchedule", "five-field cron"),
    ("dev", {"zoneSpread": "always"}, "zoneSpread", "one of preferred, strict"),
    ("dev", {"logRetentionDays": 10}, "logRetentionDays", "CloudWatch Logs accepts"),
    ("prod", {"k3sTerminationProtection": False}, "k3sTerminationProtection", "must be true in prod"),
    ("prod", {"dbFinalSnapshot": False}, "dbFinalSnapshot", "must be true in prod"),
    ("prod", {"tlsIssuer": "letsencrypt-staging"}, "tlsIssuer", "letsencrypt-production in prod"),
    ("dev", {"tlsIssuer": "self-signed"}, "tlsIssuer", "one of letsencrypt-staging"),
    ("dev", {"dbKeyDeletionWindowDays": 3}, "dbKeyDeletionWindowDays", "between 7 and 30"),
    ("dev", {"snapshotExportExpiryDays": 0}, "snapshotExportExpiryDays", "between 1"),
    ("dev", {"alertSmtpUsername": "ses-user"}, "alertEmailTo", "required when"),
    ("dev", {"prometheusStorageGb": 1}, "prometheusStorageGb", "between 5"),
    ("dev", {"lokiStorageGb": 0}, "lokiStorageGb", "between 5"),
    ("dev", {"alertEmailTo": "oncall@dhakacart.example"}, "alertSmtpSmarthost", "required when alertEmailTo"),
    ("dev", {"alertEmailTo": "oncall@dhakacart.example"}, "alertSmtpFrom", "required when alertEmailTo"),
    ("dev", {"alertSmtpSmarthost": "smtp.example.com:587"}, "alertEmailTo", "required when"),
    ("dev", {"alertEmailTo": "nope"}, "alertEmailTo", "not a valid e-mail"),
    ("prod", {"alertSmtpSmarthost": "smtp.example.com"}, "alertSmtpSmarthost", "host:port"),
    ("dev", {"aws:region": "Mumbai"}, "aws:region", "not an AWS region"),
    ("prod", {"drillMaxAgeDays": 0}, "drillMaxAgeDays", "at least 1 in prod"),
    ("dev", {"drillMaxAgeDays": 8}, "drillMaxAgeDays", "looks back at most 7 days"),
]


@pytest.mark.parametrize(
    ("stack", "overrides", "key", "reason"),
    REJECTIONS,
    ids=[f"{s}-{k}-{next(iter(o.values()))!s:.20}" for s, o, k, _ in REJECTIONS],
)
def test_bad_value_is_rejected_naming_key_value_and_fix(stack, overrides, key, reason):
    error = problems(stack, overrides)
    matching = [p for p in error.problems if p.key == key]
    assert matching, f"no problem for {key}; got {error.keys}"
    problem = matching[0]
    assert reason in problem.reason
    assert problem.fix.startswith(f"pulumi config set --stack {stack} ")
    text = str(error)
    assert key in text and problem.reason in text and problem.fix in text
    if problem.value is not None:
        assert repr(problem.value) in text


@pytest.mark.parametrize("key", ["environment", "acmeEmail", "appImage", "adminCidrs"])
def test_required_key_missing_is_reported(key):
    error = problems("dev", remove=(key,))
    assert key in error.keys
    assert "(not set)" in str(error)


def test_all_problems_are_reported_together():
    error = problems(
        "prod",
        {
            "dbMultiAz": False,
            "dbBackupRetentionDays": 1,
            "k3sInstanceType": "t2.micro",
            "adminCidrs": ["0.0.0.0/0"],
            "vpcCidr": "10.0.0.0/8",
            "k3sVersion": "1.2",
        },
    )
    assert set(error.keys) >= {
        "dbMultiAz",
        "dbBackupRetentionDays",
        "k3sInstanceType",
        "adminCidrs",
        "vpcCidr",
        "k3sVersion",
    }
    assert str(error).startswith(f"{len(error.problems)} configuration problems for stack 'prod'")


def test_pulumi_preview_shows_a_config_error_as_its_message_without_a_stack_trace():
    # The Python language host logs a pulumi.RunError as str(error) alone; any other exception as
    # "Program failed with an unhandled exception" plus a traceback.
    error = problems("prod", {"dbMultiAz": False})
    assert isinstance(error, pulumi.RunError)
    assert str(error).splitlines()[0] == "1 configuration problem for stack 'prod':"


def test_a_config_error_stops_the_program_before_any_resource_is_declared(run_stack):
    recorded = []

    def program():
        import runpy

        try:
            runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        finally:
            recorded.append(True)

    with pytest.raises(ConfigError):
        run_stack("prod", overrides={"dbMultiAz": False}, program=program)
    assert recorded  # the program ran, and raised at load_config()


def test_the_full_program_with_a_bad_value_registers_nothing(monkeypatch):
    from dhakacart_infra.plan import mocks

    registered: list[str] = []
    original = mocks.RecordingMonitor.RegisterResource

    def spy(self, request):
        registered.append(request.type)
        return original(self, request)

    monkeypatch.setattr(mocks.RecordingMonitor, "RegisterResource", spy)
    with pytest.raises(ConfigError):
        run_program("prod", overrides={"dbDeletionProtection": False})
    assert [t for t in registered if t != "pulumi:pulumi:Stack"] == []


def test_dev_accepts_what_prod_refuses():
    cfg = load(
        "dev", overrides={"adminCidrs": ["0.0.0.0/0"], "dbMultiAz": False, "dbDeletionProtection": False}
    )
    assert cfg.network.admin_cidrs == ("0.0.0.0/0",)


def test_image_with_registry_port_tag_and_digest_is_accepted():
    digest = "sha256:" + "a" * 64
    cfg = load("dev", overrides={"appImage": f"registry.example:5000/dhakacart/shop:1.2.3@{digest}"})
    assert cfg.app.app_image.endswith(digest)


def test_every_instance_type_in_the_table_is_judged_by_its_memory():
    small = [t for t, gib in INSTANCE_MEMORY_GIB.items() if gib < 4]
    assert "t2.micro" in small
    for instance_type in small:
        assert "k3sInstanceType" in problems("dev", {"k3sInstanceType": instance_type}).keys
    cfg = load("dev", overrides={"k3sInstanceType": "m6i.large"})
    assert cfg.cluster.servers.instance_type == "m6i.large"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_offline_plan_refuses_a_stack_file_the_cli_would_refuse(tmp_path, stack):
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    del data["config"]["dhakacart:acmeEmail"]
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(StackFileError, match=rf"Stack '{stack}' is missing configuration value acmeEmail"):
        run_program(stack, root=tmp_path, program=lambda: None)


def test_the_offline_plan_refuses_a_declared_secret_stored_in_plain_text(tmp_path):
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project["config"]["apiToken"] = {"type": "string", "secret": True, "description": "a secret"}
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    data = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    data["config"]["dhakacart:apiToken"] = "plain"
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(StackFileError, match=r"stores apiToken in plain text.*--secret"):
        run_program("dev", root=tmp_path, program=lambda: None)
    data["config"]["dhakacart:apiToken"] = {"secure": "v1:AAAA"}
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(data))
    run_program("dev", root=tmp_path, program=lambda: None)


def test_both_stack_files_pin_the_region_to_mumbai():
    for stack in ("dev", "prod"):
        data = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        assert data["config"]["aws:region"] == "ap-south-1"


def test_region_defaults_to_mumbai_when_the_stack_file_omits_it():
    assert load("dev", remove=("aws:region",)).region == "ap-south-1"


def test_physical_names_are_unique_per_stack():
    assert (load("dev").name_prefix, load("prod").name_prefix) == ("dhakacart-dev", "dhakacart-prod")
