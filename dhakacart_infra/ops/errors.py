"""One exception type per failure kind; the CLI turns each into a clear message and exit code 1."""

from __future__ import annotations


class OpsError(Exception):
    """A failure the operator can act on: the message says what is wrong and how to fix it."""


class MissingIdentifierError(OpsError):
    """An identifier (instance, bucket, role, key) that neither a flag nor the stack outputs gave."""


class PulumiCliError(OpsError):
    """`pulumi stack output` could not be run or returned something unreadable."""


class ValidationError(OpsError):
    """Input refused before any call that changes AWS."""


class NotFoundError(OpsError):
    """A snapshot, instance or export task that does not exist."""


class RefusedError(OpsError):
    """An action the tool will not take (deleting an automated snapshot, restoring over a live one)."""


class WaitTimeoutError(OpsError):
    """A wait that did not finish within --timeout."""


class RemoteFailureError(OpsError):
    """AWS reported that the operation failed (export FAILED, instance in a failed state)."""
