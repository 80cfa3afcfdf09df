"""Alert routing from the stack config: e-mail login for relays such as Amazon SES."""

from __future__ import annotations

import pytest

from dhakacart_infra.errors import ConfigError
from tests.infra.k8s.observability import release

EMAIL = {"alertEmailTo": "oncall@example.com",
         "alertSmtpSmarthost": "email-smtp.ap-south-1.amazonaws.com:587",
         "alertSmtpFrom": "alerts@example.com"}
SMTP_PASSWORD = {"alertSmtpPassword": "ses-smtp-password"}


def email_config(plan) -> dict:
    config = release(plan, "kube-prometheus-stack").revealed()["values"]["alertmanager"]["config"]
    (email,) = next(r for r in config["receivers"] if r["name"] == "dhakacart-oncall")["email_configs"]
    return email


def test_smtp_login_defaults_to_the_sender(run_stack):
    plan = run_stack("dev", overrides=EMAIL, secret_overrides=SMTP_PASSWORD)
    assert email_config(plan)["auth_username"] == "alerts@example.com"


def test_smtp_username_overrides_the_login(run_stack):
    plan = run_stack(
        "dev", overrides={**EMAIL, "alertSmtpUsername": "AKIAEXAMPLESMTPUSER"}, secret_overrides=SMTP_PASSWORD
    )
    email = email_config(plan)
    assert email["auth_username"] == "AKIAEXAMPLESMTPUSER"
    assert email["auth_password_file"].endswith("/smtp-password")


def test_smtp_username_without_an_address_is_refused(run_stack):
    with pytest.raises(ConfigError, match="alertEmailTo"):
        run_stack("dev", overrides={"alertSmtpUsername": "AKIAEXAMPLESMTPUSER"})
