"""Database: private, encrypted with a rotating customer key, TLS forced, backups and logs, and a
secret connection URL; prod adds multi-AZ, deletion protection and a final snapshot."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from dhakacart_infra.aws.database import connection_url
from dhakacart_infra.plan.mocks import MOCK_ACCOUNT_ID, is_secret, reveal

RDS = "aws:rds/instance:Instance"


def test_instance_is_private_encrypted_and_on_private_subnets(stack_plan):
    db = stack_plan.one(RDS).inputs
    key = next(k for k in stack_plan.of_type("aws:kms/key:Key") if k.name == "database-key")
    assert db["publiclyAccessible"] is False
    assert db["storageEncrypted"] is True and db["kmsKeyId"] == key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True
    assert db["engine"] == "postgres" and db["engineVersion"] == "16.8" and db["storageType"] == "gp3"
    subnet_group = stack_plan.one("aws:rds/subnetGroup:SubnetGroup")
    private_ids = {
        s.id for s in stack_plan.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["Tier"] == "private"
    }
    assert set(subnet_group.inputs["subnetIds"]) == private_ids
    assert db["dbSubnetGroupName"] == subnet_group.state["name"]
    database_sg = stack_plan.one("aws:ec2/securityGroup:SecurityGroup", "network-database-sg")
    assert db["vpcSecurityGroupIds"] == [database_sg.id]


def test_parameter_group_forces_tls_and_logs_slow_statements(stack_plan):
    group = stack_plan.one("aws:rds/parameterGroup:ParameterGroup")
    params = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert params["rds.force_ssl"] == "1"
    assert params["log_min_duration_statement"] == "500" and params["log_connections"] == "1"
    assert group.inputs["family"] == "postgres16"
    assert stack_plan.one(RDS).inputs["parameterGroupName"] == group.state["name"]


def test_logs_are_exported_to_encrypted_log_groups_created_first(stack_plan):
    db = stack_plan.one(RDS)
    assert db.inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    identifier = db.inputs["identifier"]
    groups = [
        g for g in stack_plan.of_type("aws:cloudwatch/logGroup:LogGroup") if g.parent_name == "database"
    ]
    assert sorted(g.inputs["name"] for g in groups) == [
        f"/aws/rds/instance/{identifier}/postgresql",
        f"/aws/rds/instance/{identifier}/upgrade",
    ]
    key = next(k for k in stack_plan.of_type("aws:kms/key:Key") if k.name == "database-key")
    for group in groups:
        assert group.urn in db.dependencies
        assert group.inputs["kmsKeyId"] == key.state["arn"] and group.inputs["retentionInDays"] > 0
    logs_statement = json.loads(key.inputs["policy"])["Statement"][1]
    assert logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"].endswith(
        f"/aws/rds/instance/{identifier}/*"
    )


def test_backups_keep_at_least_a_week_of_point_in_time_recovery(stack_plan):
    db = stack_plan.one(RDS).inputs
    assert db["backupRetentionPeriod"] == {"dev": 7, "prod": 14}[stack_plan.stack]
    assert db["backupWindow"] and db["copyTagsToSnapshot"] is True


def test_dev_is_disposable(dev_plan):
    db = dev_plan.one(RDS).inputs
    assert db["multiAz"] is False and db["deletionProtection"] is False
    assert db["skipFinalSnapshot"] is True and not db.get("finalSnapshotIdentifier")
    assert db["instanceClass"] == "db.t4g.micro" and db["allocatedStorage"] == 20


def test_prod_is_protected(prod_plan):
    db = prod_plan.one(RDS).inputs
    assert db["multiAz"] is True and db["deletionProtection"] is True
    assert (
        db["skipFinalSnapshot"] is False and db["finalSnapshotIdentifier"] == "dhakacart-prod-postgres-final"
    )
    assert db["deleteAutomatedBackups"] is False
    assert db["instanceClass"] == "db.t4g.medium" and db["allocatedStorage"] == 100
    assert db["maxAllocatedStorage"] == 500


def test_performance_insights_records_both_stacks_encrypted_with_the_database_key(stack_plan):
    # RDS for PostgreSQL offers it on every class, dev's db.t4g.micro included.
    db = stack_plan.one(RDS).inputs
    key = next(k for k in stack_plan.of_type("aws:kms/key:Key") if k.name == "database-key")
    assert db["performanceInsightsEnabled"] is True
    assert db["performanceInsightsKmsKeyId"] == key.state["arn"]
    assert db["performanceInsightsRetentionPeriod"] == 7


def test_master_password_is_random_and_secret(stack_plan):
    password = stack_plan.one("random:index/randomPassword:RandomPassword", "database-password")
    assert password.inputs["length"] >= 32
    assert set(password.inputs["overrideSpecial"]) <= set("-_~")  # URL-safe, allowed by RDS
    db = stack_plan.one(RDS)
    assert is_secret(db.inputs["password"])
    assert reveal(db.inputs["password"]) == reveal(password.state["result"])


def test_component_exposes_a_secret_connection_url_for_psycopg(stack_plan):
    outputs = stack_plan.one("dhakacart:aws:Database").outputs
    assert is_secret(outputs["connection_url"]) and is_secret(outputs["password"])
    plain = reveal(outputs)
    db = stack_plan.one(RDS)
    url = urlsplit(plain["connection_url"])
    assert url.scheme == "postgresql+psycopg" and url.query == "sslmode=require"
    assert (url.hostname, url.port, url.path) == (db.state["address"], 5432, "/dhakacart")
    assert (unquote(url.username), unquote(url.password)) == ("dhakacart_app", plain["password"])
    assert plain["address"] == db.state["address"] and plain["port"] == 5432
    assert (plain["db_name"], plain["username"]) == ("dhakacart", "dhakacart_app")
    for key in (
        "instance_id",
        "instance_arn",
        "security_group_id",
        "subnet_group_name",
        "parameter_group_name",
        "kms_key_arn",
    ):
        assert plain[key], key


def test_connection_url_quotes_awkward_characters():
    url = connection_url("app", "p@ss/w:rd?#", "db.example", 5432, "shop")
    assert url == "postgresql+psycopg://app:p%40ss%2Fw%3Ard%3F%23@db.example:5432/shop?sslmode=require"
    parts = urlsplit(url)
    assert unquote(parts.password) == "p@ss/w:rd?#" and parts.hostname == "db.example"


def test_enhanced_monitoring_publishes_os_metrics_every_minute_through_its_own_role(stack_plan):
    db = stack_plan.one(RDS)
    role = stack_plan.one("aws:iam/role:Role", "database-monitoring-role")
    assert db.inputs["monitoringInterval"] == 60
    assert db.inputs["monitoringRoleArn"] == role.state["arn"]
    (statement,) = json.loads(role.revealed()["assumeRolePolicy"])["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "monitoring.rds.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT_ID}},
    }


def test_the_monitoring_role_has_only_the_aws_managed_policy_attached_before_the_instance(stack_plan):
    db = stack_plan.one(RDS)
    role = stack_plan.one("aws:iam/role:Role", "database-monitoring-role")
    attachments = [
        a for a in stack_plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.revealed()["role"] == role.state["name"]
    ]
    assert [a.revealed()["policyArn"] for a in attachments] == [
        "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
    ]
    assert not [p for p in stack_plan.of_type("aws:iam/rolePolicy:RolePolicy") if p.parent_name == "database"]
    # RDS checks the role when it turns monitoring on: the policy must be attached by then.
    assert attachments[0].urn in db.dependencies
