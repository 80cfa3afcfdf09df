"""The stack configuration: every key declared once (keys.py), read and checked once (reader.py).

`load_config()` reads every key, checks all of them, and either returns a frozen `StackConfig` or
raises one `ConfigError` listing every problem with its fix. Defaults per environment, kinds,
bounds, examples and descriptions live only in the key table; `Pulumi.yaml`'s declarations and
docs/CONFIGURATION.md are written from it (`python -m dhakacart_infra.config.docs --write`).
"""

from .keys import KEYS, KEYS_BY_NAME, Key
from .model import AppConfig, BackupConfig, ClusterConfig, MonitoringConfig, NetworkConfig, StackConfig
from .reader import load_config, read_config

__all__ = [
    "KEYS",
    "KEYS_BY_NAME",
    "AppConfig",
    "BackupConfig",
    "ClusterConfig",
    "Key",
    "MonitoringConfig",
    "NetworkConfig",
    "StackConfig",
    "load_config",
    "read_config",
]
