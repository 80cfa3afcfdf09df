"""The shop's configuration: environment variables only, validated once at start-up.

Every variable has a safe default for a laptop except SECRET_KEY in production, which must be set
(sessions and tokens signed with a guessable key would be forgeable).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# Environment variable for each settings field (the error messages name the variable, not the field).
ENV_VARS: dict[str, str] = {
    "environment": "DHAKACART_ENV",
    "database_url": "DATABASE_URL",
    "secret_key": "SECRET_KEY",
    "cors_origins": "CORS_ORIGINS",
    "ratelimit_storage_uri": "RATELIMIT_STORAGE_URI",
    "ratelimit_default": "RATELIMIT_DEFAULT",
    "ratelimit_auth": "RATELIMIT_AUTH",
    "log_level": "LOG_LEVEL",
    "trusted_proxy_hops": "TRUSTED_PROXY_HOPS",
    "metrics_port": "METRICS_PORT",
    "catalog_cache_seconds": "CATALOG_CACHE_SECONDS",
}

# Production answers repeated catalog reads from a per-process cache this long (catalog/cache.py);
# development and tests default to 0 so every edit shows at once.
PRODUCTION_CATALOG_CACHE_SECONDS = 5.0

MIN_PRODUCTION_SECRET_LENGTH = 32

# Per client address (Flask-Limiter rate strings): every endpoint but probes and metrics, and the
# stricter limit on register, login and refresh (password guessing).
DEFAULT_RATE_LIMIT = "300 per minute"
AUTH_RATE_LIMIT = "10 per minute"


# Rate-limit storages the shop can use (the `limits` library's schemes, for packages it installs):
# memory:// counts in each process; the Redis family is one count shared by every worker and
# replica (Redis, or a Redis-compatible server such as Valkey, speaking the Redis protocol).
SHARED_RATELIMIT_SCHEMES = ("redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster")
RATELIMIT_STORAGE_SCHEMES = ("memory", *SHARED_RATELIMIT_SCHEMES)


class ConfigError(RuntimeError):
    """A configuration variable is missing or malformed; the message names it and the fix."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    environment: Environment = "development"
    database_url: str
    secret_key: str = Field(repr=False)
    cors_origins: tuple[str, ...] = ()
    ratelimit_storage_uri: str = "memory://"
    ratelimit_default: str = DEFAULT_RATE_LIMIT
    ratelimit_auth: str = AUTH_RATE_LIMIT
    log_level: LogLevel = "INFO"
    # How many reverse proxies (the Ingress controller) sit in front of the app; their
    # X-Forwarded-For entries are trusted for the client address used by rate limits and logs.
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    # When set, the gunicorn master serves /metrics on this port and the app port answers 404.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Seconds a worker may answer the public catalog from its response cache (0 = off); listings
    # may show stock this old, checkout always re-checks stock under row locks.
    catalog_cache_seconds: float = Field(default=0.0, ge=0, le=300)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def shared_rate_limits(self) -> bool:
        """True when every worker and replica counts against one shared rate-limit store."""
        return self.ratelimit_storage_uri.split("://", 1)[0] in SHARED_RATELIMIT_SCHEMES

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError(
                "must be a sqlite:/// or postgresql+psycopg:// URL, "
                "e.g. postgresql+psycopg://user:password@host:5432/dhakacart"
            )
        if value.startswith("postgresql:"):
            # psycopg 3 is the driver installed; plain postgresql:// would pick psycopg2.
            value = "postgresql+psycopg:" + value[len("postgresql:") :]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_urls(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for origin in value:
            if origin == "*" or not origin.startswith(("http://", "https://")) or origin.endswith("/"):
                raise ValueError(
                    f"{origin!r} is not an origin; list exact origins like https://shop.example.com "
                    "(scheme and host, no path, no trailing slash, no wildcard)"
                )
        return value

    @field_validator("ratelimit_storage_uri")
    @classmethod
    def _storage_scheme(cls, value: str) -> str:
        from urllib.parse import urlsplit

        scheme = value.split("://", 1)[0] if "://" in value else ""
        example = ("use memory:// (one process: development) or redis://host:6379/0 (shared by every "
                   "worker and replica; rediss:// for TLS, redis+sentinel://, redis+cluster://)")
        if scheme not in RATELIMIT_STORAGE_SCHEMES:
            raise ValueError(f"{value!r} is not a rate-limit storage URI; {example}")
        if scheme in SHARED_RATELIMIT_SCHEMES and scheme != "redis+unix" and not urlsplit(value).hostname:
            raise ValueError(f"{value!r} names no host; {example}")
        return value

    @field_validator("ratelimit_default", "ratelimit_auth")
    @classmethod
    def _rate_limit_string(cls, value: str) -> str:
        # The parser Flask-Limiter itself uses, so what passes here is what the limiter enforces.
        from limits import parse_many

        example = "e.g. '300 per minute' or '20/second;1000/hour'"
        try:
            items = parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit ({exc}); {example}") from None
        if any(item.amount < 1 for item in items):
            raise ValueError(f"{value!r} allows no request at all; {example}")
        return value

    @model_validator(mode="after")
    def _production_secret(self) -> Settings:
        if self.is_production and len(self.secret_key) < MIN_PRODUCTION_SECRET_LENGTH:
            raise ValueError(
                f"must be set to a random string of at least {MIN_PRODUCTION_SECRET_LENGTH} "
                "characters in production, e.g. the output of\n"
                "  python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self


def load_settings(
    environ: Mapping[str, str] | None = None, instance_path: str | Path = "instance"
) -> Settings:
    """Read and validate the environment; raise ConfigError naming the variable on bad input."""
    env = os.environ if environ is None else environ
    environment = env.get("DHAKACART_ENV", "development").strip() or "development"
    raw: dict[str, object] = {"environment": environment}

    default_db = f"sqlite:///{Path(instance_path).resolve() / 'dhakacart.sqlite3'}"
    raw["database_url"] = env.get("DATABASE_URL", "").strip() or default_db

    secret = env.get("SECRET_KEY", "")
    if not secret and environment != "production":
        # A per-process key is fine for one laptop process; production must configure a shared one.
        secret = secrets.token_urlsafe(48)
    raw["secret_key"] = secret

    origins = env.get("CORS_ORIGINS", "")
    raw["cors_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
    if env.get("RATELIMIT_STORAGE_URI", "").strip():
        raw["ratelimit_storage_uri"] = env["RATELIMIT_STORAGE_URI"].strip()
    if env.get("RATELIMIT_DEFAULT", "").strip():
        raw["ratelimit_default"] = env["RATELIMIT_DEFAULT"].strip()
    if env.get("RATELIMIT_AUTH", "").strip():
        raw["ratelimit_auth"] = env["RATELIMIT_AUTH"].strip()
    if env.get("LOG_LEVEL", "").strip():
        raw["log_level"] = env["LOG_LEVEL"].strip().upper()
    if env.get("TRUSTED_PROXY_HOPS", "").strip():
        raw["trusted_proxy_hops"] = env["TRUSTED_PROXY_HOPS"].strip()
    if env.get("METRICS_PORT", "").strip():
        raw["metrics_port"] = env["METRICS_PORT"].strip()
    if env.get("CATALOG_CACHE_SECONDS", "").strip():
        raw["catalog_cache_seconds"] = env["CATALOG_CACHE_SECONDS"].strip()
    elif environment == "production":
        raw["catalog_cache_seconds"] = PRODUCTION_CATALOG_CACHE_SECONDS

    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "secret_key"
            variable = ENV_VARS.get(field, field.upper())
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{variable}: {message}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
