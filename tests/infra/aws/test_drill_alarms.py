"""DrillAlarms: one 'drill overdue' alarm per drill on the metric the ops tool publishes, breaching
when no success was seen for max_age_days, notifying an SNS topic encrypted with its own key."""

from __future__ import annotations

import json

import pulumi
import pytest

from dhakacart_infra.aws.drill_alarms import DrillAlarms, DrillAlarmsArgs
from dhakacart_infra.errors import ComponentInputError
from dhakacart_infra.names import DRILL_METRIC_NAMESPACE, DRILL_SUCCEEDED_METRIC, DRILLS
from dhakacart_infra.plan.mocks import MOCK_ACCOUNT_ID
from dhakacart_infra.plan.runner import PlanResult, run_program

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"


def alarms_program(**overrides):
    def program() -> None:
        settings = {"name_prefix": "dhakacart-prod", "stack": "prod", "max_age_days": 7, **overrides}
        alarms = DrillAlarms("drill-alarms", DrillAlarmsArgs(**settings))
        pulumi.export("drillAlarmTopicArn", alarms.topic_arn)

    return program


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program("prod", program=alarms_program(email_endpoints=["oncall@dhakacart.example"]))


def test_every_child_belongs_to_the_component(plan: PlanResult) -> None:
    component = plan.one("dhakacart:aws:DrillAlarms")
    children = [r for r in plan.resources if r is not component]
    assert children and {r.urn for r in children} == {r.urn for r in plan.descendants_of(component)}


def test_one_alarm_per_drill_on_the_published_metric(plan: PlanResult) -> None:
    alarms = {a.revealed()["dimensions"]["Drill"]: a.revealed() for a in plan.of_type(ALARM)}
    assert sorted(alarms) == sorted(DRILLS)
    for drill, alarm in alarms.items():
        assert alarm["namespace"] == DRILL_METRIC_NAMESPACE == "DhakaCart/Drills"
        assert alarm["metricName"] == DRILL_SUCCEEDED_METRIC == "DrillSucceeded"
        assert alarm["dimensions"] == {"Stack": "prod", "Drill": drill}
        assert alarm["name"] == f"dhakacart-prod-drill-{drill}-overdue"
        assert f"drill {drill} --stack prod" in alarm["alarmDescription"]


def test_the_alarm_fires_after_max_age_days_without_a_success(plan: PlanResult) -> None:
    for alarm in (a.revealed() for a in plan.of_type(ALARM)):
        assert alarm["period"] == 86400
        assert alarm["evaluationPeriods"] == alarm["datapointsToAlarm"] == 7
        assert alarm["treatMissingData"] == "breaching"  # a day without any drill counts against it
        assert alarm["statistic"] == "Maximum"
        assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)


def test_alarms_notify_an_encrypted_topic(plan: PlanResult) -> None:
    topic = plan.one(TOPIC)
    key = plan.one("aws:kms/key:Key")
    assert topic.revealed()["kmsMasterKeyId"] == key.state["arn"]
    assert key.revealed()["enableKeyRotation"] is True
    for alarm in (a.revealed() for a in plan.of_type(ALARM)):
        assert alarm["alarmActions"] == alarm["okActions"] == [topic.state["arn"]]
    [subscription] = plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.revealed()["protocol"] == "email"


def test_only_cloudwatch_for_this_account_may_use_the_key_and_publish(plan: PlanResult) -> None:
    administer, cloudwatch = json.loads(plan.one("aws:kms/key:Key").revealed()["policy"])["Statement"]
    assert administer["Principal"] == {"AWS": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:root"}
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": MOCK_ACCOUNT_ID}}
    [publish] = json.loads(plan.one("aws:sns/topicPolicy:TopicPolicy").revealed()["policy"])["Statement"]
    assert publish["Action"] == "sns:Publish" and publish["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:dhakacart-prod-drill-*")


@pytest.mark.parametrize("days", [0, 8, True, 2.5])
def test_max_age_outside_what_cloudwatch_can_look_back_is_refused(days) -> None:
    with pytest.raises(ComponentInputError, match="max_age_days"):
        DrillAlarms("drill-alarms", DrillAlarmsArgs(name_prefix="p", stack="s", max_age_days=days))


def test_the_days_follow_the_setting() -> None:
    plan = run_program("prod", program=alarms_program(max_age_days=3, drills=("database",)))
    [alarm] = [a.revealed() for a in plan.of_type(ALARM)]
    assert alarm["evaluationPeriods"] == 3 and alarm["dimensions"]["Drill"] == "database"


def test_prod_alarms_on_both_drills_and_dev_has_none_by_default(
    prod_plan: PlanResult, dev_plan: PlanResult
) -> None:
    alarms = [
        a.revealed() for a in prod_plan.of_type(ALARM) if a.revealed()["namespace"] == DRILL_METRIC_NAMESPACE
    ]
    assert sorted(a["dimensions"]["Drill"] for a in alarms) == sorted(DRILLS)
    assert {a["evaluationPeriods"] for a in alarms} == {7}  # drillMaxAgeDays' prod default
    assert prod_plan.outputs["drillAlarmTopicArn"] == prod_plan.one(TOPIC).state["arn"]
    assert not dev_plan.of_type("dhakacart:aws:DrillAlarms") and dev_plan.outputs["drillAlarmTopicArn"] == ""
