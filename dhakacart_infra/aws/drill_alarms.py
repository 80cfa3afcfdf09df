"""Alarms when a recovery drill has not succeeded for too long (issue 15).

`python -m dhakacart_infra.ops drill <name>` publishes DRILL_SUCCEEDED_METRIC = 1 (namespace
DRILL_METRIC_NAMESPACE, dimensions Stack and Drill) after each successful drill. One CloudWatch
alarm per drill looks at the daily maximum over the last `max_age_days` days (period 86400,
evaluation periods = days, all of them needed to alarm) and treats a day without data as breaching:
so it fires once no drill has succeeded for that many days, and clears at the next success. Its
actions go to an SNS topic encrypted with a customer-managed key whose policy lets only CloudWatch
(for this account) use it besides the account itself. CloudWatch looks back at most 7 days for
periods of a day, hence 1 <= max_age_days <= 7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ..errors import ComponentInputError
from ..names import (
    DRILL_METRIC_NAMESPACE,
    DRILL_NAME_DIMENSION,
    DRILL_STACK_DIMENSION,
    DRILL_SUCCEEDED_METRIC,
    DRILLS,
)
from ..tags import with_name
from .encryption_key import account_administers_statement
from .iam import policy_document

DAY_SECONDS = 86400
# CloudWatch: period x evaluation periods may not exceed 7 days (604,800 s).
MAX_LOOKBACK_DAYS = 7
CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


@dataclass
class DrillAlarmsArgs:
    name_prefix: str
    stack: str
    """The Stack dimension the drills publish under (the Pulumi stack's name)."""
    max_age_days: int
    """Days without a successful drill before its alarm fires (1..7)."""
    drills: Sequence[str] = DRILLS
    email_endpoints: Sequence[str] = field(default_factory=tuple)
    """Addresses subscribed to the topic (each must confirm the subscription e-mail)."""
    key_deletion_window_days: int = 30


def topic_key_policy(account_id: str, partition: str) -> str:
    """The account administers the key; CloudWatch may use it to publish this account's alarms."""
    return policy_document(
        account_administers_statement(account_id, partition),
        {
            "Sid": "CloudWatchAlarmsPublishEncrypted",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_SERVICE},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
    )


def topic_policy(topic_arn: str, account_id: str, partition: str, region: str, prefix: str) -> str:
    """Only this account's drill alarms (by name) may publish to the topic through CloudWatch."""
    alarm_arn_prefix = f"arn:{partition}:cloudwatch:{region}:{account_id}:alarm"
    return policy_document(
        {
            "Sid": "DrillAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDWATCH_SERVICE},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account_id},
                "ArnLike": {"aws:SourceArn": f"{alarm_arn_prefix}:{prefix}-drill-*"},
            },
        }
    )


def _validate(args: DrillAlarmsArgs) -> None:
    days = args.max_age_days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_LOOKBACK_DAYS:
        raise ComponentInputError(
            f"DrillAlarms: max_age_days {days!r} must be a whole number from 1 to {MAX_LOOKBACK_DAYS} "
            "(a CloudWatch alarm with a one-day period looks back at most 7 days)"
        )
    if not args.drills or len(set(args.drills)) != len(args.drills):
        raise ComponentInputError(f"DrillAlarms: drills {list(args.drills)!r} must be distinct and not empty")


def alarm_name(prefix: str, drill: str) -> str:
    return f"{prefix}-drill-{drill}-overdue"


class DrillAlarms(pulumi.ComponentResource):
    """An encrypted SNS topic and one "drill overdue" alarm per drill."""

    topic_arn: pulumi.Output[str]
    alarm_names: list[str]

    def __init__(self, name: str, args: DrillAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("dhakacart:aws:DrillAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        region = aws.get_region_output(opts=invoke).region
        prefix = args.name_prefix

        key = aws.kms.Key(
            f"{name}-key",
            description=f"{prefix}: encrypts the recovery-drill alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            policy=pulumi.Output.all(account, partition).apply(lambda v: topic_key_policy(v[0], v[1])),
            tags=with_name(f"{prefix}-drill-alarms"),
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-topic",
            name=f"{prefix}-drill-alarms",
            kms_master_key_id=key.arn,
            tags=with_name(f"{prefix}-drill-alarms"),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, account, partition, region).apply(
                lambda v: topic_policy(v[0], v[1], v[2], v[3], prefix)
            ),
            opts=child,
        )
        for index, address in enumerate(args.email_endpoints):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=topic.arn, protocol="email", endpoint=address, opts=child
            )

        self.alarm_names = []
        for drill in args.drills:
            alarm = alarm_name(prefix, drill)
            aws.cloudwatch.MetricAlarm(
                f"{name}-{drill}",
                name=alarm,
                alarm_description=(
                    f"No successful `{drill}` recovery drill of stack {args.stack} for {args.max_age_days} "
                    f"days: run `python -m dhakacart_infra.ops drill {drill} --stack {args.stack}` "
                    "(docs/RUNBOOK.md, Recovery drills)"
                ),
                namespace=DRILL_METRIC_NAMESPACE,
                metric_name=DRILL_SUCCEEDED_METRIC,
                dimensions={DRILL_STACK_DIMENSION: args.stack, DRILL_NAME_DIMENSION: drill},
                statistic="Maximum",
                period=DAY_SECONDS,
                evaluation_periods=args.max_age_days,
                datapoints_to_alarm=args.max_age_days,
                threshold=1,
                comparison_operator="LessThanThreshold",
                treat_missing_data="breaching",
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                tags=with_name(alarm),
                opts=child,
            )
            self.alarm_names.append(alarm)

        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_names": self.alarm_names})
