"""The cut-over steps name the right instances, the stack and the program's AWS provider."""

from __future__ import annotations

from dhakacart_infra.ops.cutover import cutover_steps


def test_cutover_steps_name_the_instances_and_the_stack() -> None:
    source = {"DBInstanceIdentifier": "dhakacart-prod-db"}
    restored = {"DBInstanceIdentifier": "dhakacart-prod-restore", "Endpoint": {"Address": "restore.example"}}
    steps = "\n".join(cutover_steps(source, restored, "prod"))
    assert "host=restore.example" in steps
    assert (
        "--db-instance-identifier dhakacart-prod-db --new-db-instance-identifier dhakacart-prod-db-retired"
        in steps
    )
    assert (
        "--db-instance-identifier dhakacart-prod-restore --new-db-instance-identifier dhakacart-prod-db"
        in steps
    )
    assert "pulumi state delete --stack prod" in steps and "pulumi preview --stack prod --diff" in steps
    # The database is created through the program's explicit AWS provider: the import must name it.
    assert "--provider 'aws=<the AWS provider URN>'" in steps and "pulumi:providers:aws" in steps
