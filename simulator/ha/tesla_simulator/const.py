"""Constants of the Tesla simulator integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "tesla_simulator"
TESLA_RESILIENT: Final = "tesla_resilient"

DEFAULT_PORT: Final = 8321
HOST: Final = "127.0.0.1"
CAR_NAME: Final = "Demo Model 3"
DEVICE_NAME: Final = "Tesla simulator"
TOKEN_LIFETIME_S: Final = 10 * 365 * 24 * 3600.0
REFRESH_INTERVAL: Final = timedelta(seconds=1)

ACCOUNT_SECRET: Final = b"tesla-resilient-demo-account"
"""Keeps the simulated account and its tokens the same across restarts of the demo."""

CAR_KEY_SECRET: Final = b"tesla-resilient-demo-car-key"
"""The car's own Bluetooth key comes from this, so a key pinned in an earlier run still matches."""

CONF_BLUETOOTH_KEY_ADDED: Final = "bluetooth_key_added"
"""Set in the simulator's entry once the demo account has been given its Bluetooth key."""
