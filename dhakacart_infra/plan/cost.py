"""What the stack costs a month, priced from the plan and a dated price table in the repository.

Every resource that bills by the hour or by the gigabyte is priced from its planned inputs:
instances (the agents' group at its minimum and at its maximum), their volumes and public IPv4
addresses, the load balancer, RDS (twice with Multi-AZ: a standby runs beside the primary),
KMS keys, S3 and CloudWatch Logs (usage assumed in the table). Left out: data transfer out, RDS
backup storage beyond the free amount, and requests, which follow the traffic rather than the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .quantities import AGENT_GROUP, LAUNCH_TEMPLATE, LOAD_BALANCER
from .runner import PlanResult

PRICES_DIR = Path(__file__).with_name("prices")
STALE_AFTER_DAYS = 180
INSTANCE = "aws:ec2/instance:Instance"
EIP = "aws:ec2/eip:Eip"
RDS = "aws:rds/instance:Instance"
KMS_KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


class PriceTableError(LookupError):
    """A resource the plan creates has no price in the table."""


@dataclass(frozen=True)
class Line:
    item: str
    count_min: float
    count_max: float
    unit_month: float
    note: str = ""

    @property
    def minimum(self) -> float:
        return self.count_min * self.unit_month

    @property
    def maximum(self) -> float:
        return self.count_max * self.unit_month


@dataclass
class CostReport:
    stack: str
    recorded: str
    lines: list[Line] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def minimum(self) -> float:
        return sum(line.minimum for line in self.lines)

    @property
    def maximum(self) -> float:
        return sum(line.maximum for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "currency": "USD",
            "pricesRecorded": self.recorded,
            "monthlyMinimum": round(self.minimum, 2),
            "monthlyMaximum": round(self.maximum, 2),
            "lines": [
                {
                    "item": x.item,
                    "countMin": x.count_min,
                    "countMax": x.count_max,
                    "unitMonthly": round(x.unit_month, 4),
                    "monthlyMin": round(x.minimum, 2),
                    "monthlyMax": round(x.maximum, 2),
                    "note": x.note,
                }
                for x in self.lines
            ],
            "warnings": self.warnings,
        }

    def table(self) -> list[str]:
        width = max((len(x.item) for x in self.lines), default=10)
        rows = [f"  {'item'.ljust(width)}  {'count':>9}  {'per month (USD)':>17}"]
        for x in self.lines:
            count = f"{x.count_min:g}" if x.count_min == x.count_max else f"{x.count_min:g}-{x.count_max:g}"
            money = f"{x.minimum:.2f}" if x.minimum == x.maximum else f"{x.minimum:.2f}-{x.maximum:.2f}"
            rows.append(f"  {x.item.ljust(width)}  {count:>9}  {money:>17}  {x.note}".rstrip())
        rows.append(f"  {'total'.ljust(width)}  {'':>9}  {self.minimum:.2f}-{self.maximum:.2f}".rstrip())
        return rows


def load_prices(region: str) -> dict[str, Any]:
    path = PRICES_DIR / f"{region}.json"
    if not path.is_file():
        raise PriceTableError(f"no price table for {region}: add {path.relative_to(PRICES_DIR.parents[2])}")
    return json.loads(path.read_text())


def _price(table: dict[str, float], key: str, what: str, region: str) -> float:
    if key not in table:
        raise PriceTableError(
            f"{what} {key} has no price in dhakacart_infra/plan/prices/{region}.json: "
            "add it (see its 'refresh')"
        )
    return table[key]


def assess(plan: PlanResult, region: str = "ap-south-1", today: date | None = None) -> CostReport:
    prices = load_prices(region)
    hours = prices["hours_per_month"]
    report = CostReport(plan.stack, prices["recorded"])
    age = ((today or date.today()) - date.fromisoformat(prices["recorded"])).days
    if age > STALE_AFTER_DAYS:
        report.warnings.append(
            f"the price table is {age} days old: refresh it ({prices['refresh'].split(' (')[0]} ...)"
        )
    ipv4 = prices["public_ipv4_hourly"] * hours
    gp3 = prices["ebs_gp3_gb_month"]
    add = report.lines.append

    for server in sorted(plan.of_type(INSTANCE), key=lambda r: r.name):
        i = server.inputs
        kind = i["instanceType"]
        add(
            Line(
                f"EC2 {kind} ({server.name})",
                1,
                1,
                _price(prices["ec2_hourly"], kind, "instance type", region) * hours,
            )
        )
        add(
            Line(
                f"  gp3 root volume {int(i['rootBlockDevice']['volumeSize'])} GB",
                1,
                1,
                i["rootBlockDevice"]["volumeSize"] * gp3,
            )
        )
        if i.get("associatePublicIpAddress"):
            add(Line("  public IPv4 address", 1, 1, ipv4))
    templates = {t.name: t.inputs for t in plan.of_type(LAUNCH_TEMPLATE)}
    for group in plan.of_type(AGENT_GROUP):
        g = group.inputs
        low, high = int(g["minSize"]), int(g["maxSize"])
        kinds = [o["instanceType"] for o in g["mixedInstancesPolicy"]["launchTemplate"]["overrides"]]
        kind = kinds[0]  # the preferred type: the group launches it first
        add(
            Line(
                f"EC2 {kind} agents",
                low,
                high,
                _price(prices["ec2_hourly"], kind, "instance type", region) * hours,
                "min-max of the Auto Scaling group",
            )
        )
        for template in templates.values():
            size = sum(d["ebs"]["volumeSize"] for d in template.get("blockDeviceMappings") or [])
            add(Line(f"  gp3 root volume {int(size)} GB each", low, high, size * gp3))
            if any(
                str(n.get("associatePublicIpAddress")).lower() == "true"
                for n in template.get("networkInterfaces") or []
            ):
                add(Line("  public IPv4 address each", low, high, ipv4))
    for _ in plan.of_type(LOAD_BALANCER):
        lcus = prices["assumptions"]["nlb_lcus"]
        add(
            Line(
                "Network Load Balancer",
                1,
                1,
                (prices["nlb_hourly"] + lcus * prices["nlb_lcu_hourly"]) * hours,
                f"{lcus} LCU assumed",
            )
        )
    eips = len(plan.of_type(EIP))
    if eips:
        add(Line("Elastic IPs (load balancer)", eips, eips, ipv4))
    for db in plan.of_type(RDS):
        d = db.inputs
        copies = 2 if d.get("multiAz") else 1
        label = " Multi-AZ" if copies == 2 else ""
        hourly = _price(prices["rds_postgres_hourly_single_az"], d["instanceClass"], "RDS class", region)
        add(Line(f"RDS {d['instanceClass']}{label}", copies, copies, hourly * hours))
        storage = d["allocatedStorage"]
        add(
            Line(
                f"  RDS gp3 storage {int(storage)} GB{label}",
                copies,
                copies,
                storage * prices["rds_gp3_gb_month_single_az"],
                "grows to maxAllocatedStorage",
            )
        )
    keys = len(plan.of_type(KMS_KEY))
    if keys:
        add(Line("KMS customer-managed keys", keys, keys, prices["kms_key_month"]))
    buckets = len(plan.of_type(BUCKET))
    if buckets:
        per_bucket = prices["assumptions"]["s3_gb_per_bucket"]
        add(
            Line(
                "S3 buckets",
                buckets,
                buckets,
                per_bucket * prices["s3_standard_gb_month"],
                f"{per_bucket} GB each assumed",
            )
        )
    if plan.of_type(LOG_GROUP):
        logs = prices["assumptions"]["cloudwatch_logs_gb_month"]
        add(
            Line(
                "CloudWatch Logs",
                1,
                1,
                logs * (prices["cloudwatch_logs_ingest_gb"] + prices["cloudwatch_logs_store_gb_month"]),
                f"{logs} GB/month ingested assumed (flow logs, RDS logs)",
            )
        )
    return report


def nat_gateway_monthly(zones: int, region: str = "ap-south-1") -> float:
    """What one NAT gateway per zone would add (hourly charge only), the design this one avoids."""
    prices = load_prices(region)
    return zones * prices["nat_gateway_hourly"] * prices["hours_per_month"]
