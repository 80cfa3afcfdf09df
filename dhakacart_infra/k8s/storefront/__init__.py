"""The shop on K3s: the Storefront component (component.py) and the pieces it is built from."""

from .component import Storefront, StorefrontArgs
from .pods import GUNICORN_GRACEFUL_TIMEOUT_SECONDS, WorkloadSizing
from .settings import RateLimits

__all__ = [
    "GUNICORN_GRACEFUL_TIMEOUT_SECONDS",
    "RateLimits",
    "Storefront",
    "StorefrontArgs",
    "WorkloadSizing",
]
