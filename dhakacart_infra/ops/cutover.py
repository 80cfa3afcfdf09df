"""The steps that move the shop onto a restored instance: printed for an operator, never run."""

from __future__ import annotations

from typing import Any

from ..names import API_COMPONENT, SHOP_NAMESPACE, WEB_COMPONENT, shop_workload_name
from . import TOOL_COMMAND

# The shop's Deployments, named as the Storefront component names them: <app name>-<component>.
SHOP_DEPLOYMENTS = f"{shop_workload_name(API_COMPONENT)} {shop_workload_name(WEB_COMPONENT)}"


def cutover_steps(source: dict[str, Any], restored: dict[str, Any], stack: str | None) -> list[str]:
    """The honest cut-over: keep the endpoint name, swap instance identifiers, re-adopt in Pulumi.

    The app's DATABASE_URL holds the live instance's address, which RDS derives from the instance
    identifier. Renaming the restored instance to the live identifier therefore moves the app
    without touching its Secret, and the Pulumi resource is re-imported by that identifier.
    """
    live, new = source["DBInstanceIdentifier"], restored["DBInstanceIdentifier"]
    retired = f"{live}-retired"[:63]
    stack_flag = f" --stack {stack}" if stack else ""
    address = (restored.get("Endpoint") or {}).get("Address", "<endpoint>")
    return [
        f'Verify the restored data: psql "host={address} '
        "sslmode=require ...\" from inside the cluster (RUNBOOK.md, 'Restore drill').",
        "Note the replicas, then stop writes: "
        f"kubectl -n {SHOP_NAMESPACE} get deployment {SHOP_DEPLOYMENTS} && "
        f"kubectl -n {SHOP_NAMESPACE} scale deployment {SHOP_DEPLOYMENTS} --replicas=0",
        f"Retire the live instance's name: aws rds modify-db-instance --db-instance-identifier {live} "
        f"--new-db-instance-identifier {retired} --apply-immediately && "
        f"aws rds wait db-instance-available --db-instance-identifier {retired}",
        f"Give the restored instance the live name (the endpoint the app uses follows it): "
        f"aws rds modify-db-instance --db-instance-identifier {new} --new-db-instance-identifier {live} "
        f"--apply-immediately && aws rds wait db-instance-available --db-instance-identifier {live}",
        f"Start the shop again with the replicas noted above: kubectl -n {SHOP_NAMESPACE} scale deployment "
        f"{SHOP_DEPLOYMENTS} --replicas=<as before>, then run "
        f"`{TOOL_COMMAND} smoke --url https://<shop host>`.",
        # The program creates the database through its own AWS provider (default tags): the import
        # must name that provider too, or the next preview sees a provider change.
        f"Re-adopt the instance in Pulumi (its state still points at the retired one): "
        f"pulumi stack{stack_flag} --show-urns | grep -E 'aws:rds/instance:Instance|pulumi:providers:aws' "
        "(the instance's URN, its parent's URN and the AWS provider's URN), then "
        f"pulumi state delete{stack_flag} '<the instance URN>' --force, then "
        f"pulumi import{stack_flag} aws:rds/instance:Instance <its logical name> {live} "
        "--parent 'parent=<its parent URN>' --provider 'aws=<the AWS provider URN>' "
        "--generate-code=false, then "
        f"pulumi preview{stack_flag} --diff must show no replacement of the database before any pulumi up.",
        f"Keep {retired} until the shop has run cleanly for a day; then take a final snapshot and delete it: "
        f"aws rds modify-db-instance --db-instance-identifier {retired} --no-deletion-protection "
        "--apply-immediately "
        f"&& aws rds delete-db-instance --db-instance-identifier {retired} "
        f"--final-db-snapshot-identifier {retired}-final",
    ]
