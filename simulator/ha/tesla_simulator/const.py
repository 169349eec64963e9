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

NEARBY_VIN: Final = "7SAYGDEE5PA000002"
"""A Model Y parked nearby with no Tesla account: Home Assistant finds it over Bluetooth alone."""

NEARBY_CAR_NAME: Final = "Nearby Model Y"
NEARBY_CAR_KEY_SECRET: Final = b"tesla-resilient-demo-nearby-car-key"
NEARBY_PROXY_ADDRESS: Final = "AA:BB:CC:DD:EE:02"
NEARBY_PROXY_SOURCE: Final = "AA:BB:CC:00:00:02"
NEARBY_PROXY_NAME: Final = "Tesla simulator driveway proxy"

CONF_BLUETOOTH_KEY_ADDED: Final = "bluetooth_key_added"
"""Set in the simulator's entry once the demo account has been given its Bluetooth key."""

CONF_WORKSHOP_PORT: Final = "workshop_port"
"""When set, a second account (a Model S) gets its Fleet API on this port and a self-hosted
tesla-http-proxy in front of it on the next one, for adding an account through the proxy."""
WORKSHOP_VIN: Final = "5YJSA7E29MF000003"
WORKSHOP_CAR_NAME: Final = "Workshop Model S"
WORKSHOP_SECRET: Final = b"tesla-resilient-demo-workshop-account"
WORKSHOP_TOKEN_LIFETIME_S: Final = 8 * 3600.0
"""Tesla's own access tokens last about 8 hours; the proxy forwards them as they are."""
PROXY_DETAILS: Final = "tesla_simulator_proxy.json"
"""The proxy's URL, CA file, refresh token and client ID, in the configuration folder: what an
owner copies from the add-on and Tesla's developer dashboard into the proxy form."""
PROXY_CA: Final = "tesla_simulator_proxy_ca.pem"
PROXY_KEY: Final = "tesla_simulator_proxy_key.pem"
