"""Monthly cost in the offline plan, from the dated price table in the repository."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from dhakacart_infra.config.keys import KEYS
from dhakacart_infra.plan import cost

PRICES = json.loads((cost.PRICES_DIR / "ap-south-1.json").read_text())
HOURS = PRICES["hours_per_month"]


def _lines(report):
    return {line.item: line for line in report.lines}


def test_the_price_table_is_dated_and_says_how_to_refresh_it():
    assert date.fromisoformat(PRICES["recorded"])
    assert "aws pricing get-products" in PRICES["refresh"]
    assert PRICES["currency"] == "USD"


def test_every_default_instance_type_and_database_class_has_a_price():
    defaults = {k.name: k for k in KEYS}
    for key in ("k3sInstanceType", "dbInstanceClass"):
        for value in (defaults[key].dev, defaults[key].prod):
            if value is None:
                continue
            table = (
                PRICES["ec2_hourly"] if key == "k3sInstanceType" else PRICES["rds_postgres_hourly_single_az"]
            )
            assert value in table, f"{key} default {value} has no price"


def test_prod_prices_servers_agents_between_their_bounds_and_a_multi_az_database(prod_plan):
    report = cost.assess(prod_plan, today=date.fromisoformat(PRICES["recorded"]))
    lines = _lines(report)
    servers = [line for item, line in lines.items() if item.startswith("EC2 t3.medium (k3s-server-")]
    assert len(servers) == 3
    assert servers[0].minimum == pytest.approx(PRICES["ec2_hourly"]["t3.medium"] * HOURS)
    agents = lines["EC2 t3.medium agents"]
    assert (agents.count_min, agents.count_max) == (3, 8)
    database = lines["RDS db.t4g.medium Multi-AZ"]
    assert database.count_min == 2  # the standby is billed like the primary
    assert lines["Elastic IPs (load balancer)"].count_min == 3
    assert report.minimum < report.maximum
    assert report.maximum - report.minimum == pytest.approx(
        sum(x.maximum - x.minimum for x in report.lines if x.count_min != x.count_max)
    )
    assert not report.warnings


def test_dev_is_single_az_and_costs_less_than_prod(dev_plan, prod_plan):
    dev, prod = cost.assess(dev_plan), cost.assess(prod_plan)
    assert "RDS db.t4g.micro" in _lines(dev)
    assert dev.maximum < prod.minimum


def test_an_instance_type_without_a_price_is_named(run_stack):
    plan = run_stack("prod", overrides={"k3sAgentInstanceTypes": '["t3a.large"]'})
    with pytest.raises(
        cost.PriceTableError, match=r"t3a\.large has no price in dhakacart_infra/plan/prices/ap-south-1\.json"
    ):
        cost.assess(plan)


def test_an_old_price_table_is_flagged(prod_plan):
    later = date.fromisoformat(PRICES["recorded"]) + timedelta(days=cost.STALE_AFTER_DAYS + 1)
    (warning,) = cost.assess(prod_plan, today=later).warnings
    assert "refresh it" in warning


def test_the_json_report_adds_up(prod_plan):
    data = cost.assess(prod_plan).as_dict()
    assert data["monthlyMaximum"] == pytest.approx(sum(x["monthlyMax"] for x in data["lines"]), abs=0.05)


def test_nat_gateways_per_zone_are_priced_for_comparison():
    assert cost.nat_gateway_monthly(3) == pytest.approx(3 * PRICES["nat_gateway_hourly"] * HOURS)
