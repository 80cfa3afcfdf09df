"""The shop's real access-log lines carry the JSON fields Alloy turns into labels, and Alloy's
status-class expression maps their status codes as intended."""

from __future__ import annotations

import json
import logging
import re

import pytest

from dhakacart_infra.k8s.logging import alloy_config

STATUS_CLASS = re.search(r'expression = "(\^\(\?P<status_class>[^"]+)"', alloy_config()).group(1)
JSON_STAGE = re.search(r"stage\.json \{[^}]*\}", alloy_config()).group(0)
JSON_FIELDS = dict(re.findall(r'(\w+) = "(\w+)"', JSON_STAGE))


def status_class(status) -> str | None:
    # stage.json hands numbers to later stages as their decimal text (500 -> "500").
    match = re.match(STATUS_CLASS, str(status))
    return f"{match.group('status_class')}xx" if match else None


@pytest.fixture
def access_lines(tmp_path):
    from dhakacart import create_app
    from dhakacart.observability import JsonFormatter

    app = create_app({"ENVIRON": {"DHAKACART_ENV": "test", "SECRET_KEY": "x" * 64, "LOG_LEVEL": "INFO",
                                  "DATABASE_URL": f"sqlite:///{tmp_path / 'logs.sqlite3'}"},
                      "RATELIMIT_ENABLED": False, "SERVER_NAME": None})
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    handler = Capture()
    logger = logging.getLogger("dhakacart.access")
    logger.addHandler(handler)
    try:
        client = app.test_client()
        client.get("/healthz")
        client.get("/no-such-page-anywhere")
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in lines]


def test_alloy_extracts_fields_the_shop_writes(access_lines):
    assert JSON_FIELDS == {"status": "status", "route": "route", "level": "level"}
    for entry in access_lines:
        assert set(JSON_FIELDS.values()) <= set(entry), entry


def test_routes_are_templates_and_statuses_reduce_to_their_class(access_lines):
    by_route = {entry["route"]: entry for entry in access_lines}
    assert status_class(by_route["/healthz"]["status"]) == "2xx"
    assert status_class(by_route["unmatched"]["status"]) == "4xx"  # the raw path never becomes a label
    assert all(entry["route"] != "/no-such-page-anywhere" for entry in access_lines)


@pytest.mark.parametrize(("status", "expected"), [(200, "2xx"), ("503", "5xx"), (99, None), ("abc", None)])
def test_status_class_expression(status, expected):
    assert status_class(status) == expected
