"""Where alerts go: Alertmanager's receivers and routing, as plain data for the chart's values.

Secrets never enter the values (which Pulumi and Helm both store): the Slack webhook URL and the
SMTP password live in a Secret that Alertmanager mounts and reads through `*_file` settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from ..errors import ComponentInputError

ALERTMANAGER_SECRET = "alertmanager-receivers"  # noqa: S105
# The operator mounts each Secret listed in alertmanagerSpec.secrets here.
ALERTMANAGER_SECRETS_DIR = f"/etc/alertmanager/secrets/{ALERTMANAGER_SECRET}"
SLACK_WEBHOOK_KEY = "slack-webhook-url"
SMTP_PASSWORD_KEY = "smtp-password"  # noqa: S105
NULL_RECEIVER = "null"
NOTIFY_RECEIVER = "dhakacart-oncall"


@dataclass
class AlertReceivers:
    """Where Alertmanager sends notifications; nothing set means alerts stay in its UI and Grafana."""

    slack_webhook_url: pulumi.Input[str] | None = None
    """Secret."""
    email_to: str | None = None
    smtp_smarthost: str | None = None
    """host:port of the SMTP relay (STARTTLS is required)."""
    smtp_from: str | None = None
    """Sender address; also the SMTP login unless smtp_username is set."""
    smtp_password: pulumi.Input[str] | None = None
    """Secret; None for relays that need no authentication."""
    smtp_username: str | None = None
    """SMTP login when it differs from smtp_from (Amazon SES)."""

    @property
    def slack(self) -> bool:
        return self.slack_webhook_url is not None

    @property
    def email(self) -> bool:
        return bool(self.email_to)

    def check(self) -> None:
        """E-mail needs a relay and a sender; SMTP settings without a recipient would send nothing."""
        if self.email and not (self.smtp_smarthost and self.smtp_from):
            raise ComponentInputError("AlertReceivers: email_to needs smtp_smarthost and smtp_from")
        if not self.email and (self.smtp_smarthost or self.smtp_from or self.smtp_username
                               or self.smtp_password is not None):
            raise ComponentInputError("AlertReceivers: SMTP settings without email_to would send nothing")


def alertmanager_config(receivers: AlertReceivers) -> dict[str, Any]:
    """Alertmanager's configuration: plain data, secrets only referenced by file path."""
    receivers.check()
    notify: dict[str, Any] = {"name": NOTIFY_RECEIVER}
    if receivers.slack:
        notify["slack_configs"] = [{
            "api_url_file": f"{ALERTMANAGER_SECRETS_DIR}/{SLACK_WEBHOOK_KEY}",
            "send_resolved": True,
            "title": '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}',
            "text": ("{{ range .Alerts }}{{ .Annotations.summary }}\n"
                     "{{ .Annotations.description }}\n{{ end }}"),
        }]
    if receivers.email:
        email: dict[str, Any] = {
            "to": receivers.email_to,
            "from": receivers.smtp_from,
            "smarthost": receivers.smtp_smarthost,
            "require_tls": True,
            "send_resolved": True,
        }
        if receivers.smtp_password is not None:
            email["auth_username"] = receivers.smtp_username or receivers.smtp_from
            email["auth_password_file"] = f"{ALERTMANAGER_SECRETS_DIR}/{SMTP_PASSWORD_KEY}"
        notify["email_configs"] = [email]
    configured = receivers.slack or receivers.email
    default_receiver = NOTIFY_RECEIVER if configured else NULL_RECEIVER
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": default_receiver,
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                # The chart's always-firing heartbeat and its inhibitor helper notify nobody.
                {"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"']},
                {"receiver": NULL_RECEIVER, "matchers": ['alertname = "InfoInhibitor"']},
                {"receiver": default_receiver, "matchers": ['severity = "critical"'],
                 "repeat_interval": "1h"},
            ],
        },
        "inhibit_rules": [{
            # A critical alert silences the warning of the same name for the same object.
            "source_matchers": ['severity = "critical"'],
            "target_matchers": ['severity = "warning"'],
            "equal": ["alertname", "namespace", "pod"],
        }],
        "receivers": [{"name": NULL_RECEIVER}, *([notify] if configured else [])],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }
