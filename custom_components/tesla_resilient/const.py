"""Constants for the Tesla Resilient integration."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Final

DOMAIN: Final = "tesla_resilient"
LOGGER = logging.getLogger(__package__)

AUTHORIZE_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/authorize"
TOKEN_URL: Final = "https://fleet-auth.prd.vn.cloud.tesla.com/oauth2/v3/token"
SCOPES: Final = (
    "openid",
    "offline_access",
    "vehicle_device_data",
    "vehicle_location",
    "vehicle_cmds",
    "vehicle_charging_cmds",
)
SCOPE_LOCATION: Final = "vehicle_location"
SCOPE_DATA: Final = "vehicle_device_data"
SCOPE_COMMANDS: Final = "vehicle_cmds"

FLEET_API_SERVERS: Final = (
    "https://fleet-api.prd.na.vn.cloud.tesla.com",
    "https://fleet-api.prd.eu.vn.cloud.tesla.com",
    "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
)
"""Tesla's regional Fleet API servers, asked in turn which one holds the account."""

CONF_AUTH_IMPLEMENTATION: Final = "auth_implementation"
CONF_VEHICLES: Final = "vehicles"
"""Entry data: the account's vehicles as last listed, to load while the cloud is down."""
CONF_VIN: Final = "vin"
CONF_PRIVATE_KEY: Final = "private_key"
CONF_CAR_PUBLIC_KEY: Final = "car_public_key"
CONF_ROUTE_PREFERENCE: Final = "route_preference"
CONF_SKIP_CLOUD_POLL: Final = "skip_cloud_poll_in_range"
CONF_COMMAND_SIGNING: Final = "command_signing"
CONF_APPLICATION_DOMAIN: Final = "application_domain"
CONF_PROVIDER: Final = "provider"
"""Entry data: who serves the account's Fleet API (`providers.Provider`); inferred when absent."""
CONF_REFRESH_TOKEN: Final = "refresh_token"
CONF_CLIENT_ID: Final = "client_id"
CONF_CA_CERT: Final = "ca_certificate"
"""Entry data: the PEM of the CA a self-hosted proxy's certificate is checked against."""
CONF_TOKEN_EXPIRES_AT: Final = "expires_at"
CONF_TESLA_SERVER: Final = "tesla_server"
"""Entry data of a proxy: Tesla's own regional server, asked for /status directly."""
SUBENTRY_VEHICLE_KEY: Final = "vehicle_key"
"""Subentry type of a Bluetooth key added to a vehicle of a cloud account."""

MODELS: Final = {
    "S": "Model S",
    "3": "Model 3",
    "X": "Model X",
    "Y": "Model Y",
    "C": "Cybertruck",
    "R": "Roadster",
    "T": "Semi",
}

CONNECT_TIMEOUT: Final = 5.0
"""Seconds to open a connection: a healthy cloud accepts at once, so longer means unreachable."""

REQUEST_TIMEOUT: Final = 20.0
"""Seconds for one cloud call; the Fleet API itself gives up on a silent car after about 15 s."""

TESLA_TOKEN_LIFETIME: Final = timedelta(hours=8)
"""How long an access token from Tesla's token endpoint lasts when the answer does not say."""

TOKEN_REFRESH_MARGIN: Final = timedelta(minutes=5)
"""A token this close to its expiry is refreshed before it is used."""

STATUS_TIMEOUT: Final = 5.0
"""Seconds for the free /status probe, which never waits on a car."""

DATA_INTERVAL_ACTIVE: Final = timedelta(minutes=30)
"""Paid data calls while the car charges, conditions, drives or has someone in it: the free
state call shows it awake every minute, and a car seen asleep runs no climate and has nobody in
it, so half-hourly reads keep a day out of Bluetooth range under half of what a 10-minute poll
costs."""

DATA_INTERVAL_IDLE: Final = timedelta(minutes=20)
"""Paid data calls while an awake car idles: longer than the 15 minutes a Tesla needs without
activity to fall asleep, because a data call counts as activity on Model S and X built before
2021."""

RATE_LIMIT_BACKOFF: Final = timedelta(minutes=5)
"""Back-off after a 429 that names no Retry-After."""

WAKE_TIMEOUT: Final = 45.0
"""Seconds to wait for a car to come online after a wake request; Teslas take 10 to 30 s."""

WAKE_POLL_INTERVAL: Final = 3.0
"""Seconds between free state calls while waiting for a car to wake."""

CHARGE_LIMIT_RANGE: Final = (50, 100)
"""Charge limit percentages a Tesla accepts."""

TEMPERATURE_RANGE: Final = (15.0, 28.0)
"""Cabin temperatures in °C a Tesla accepts (LO and HI aside)."""

DEFAULT_MAX_CHARGING_AMPS: Final = 32
"""Charging current ceiling until the car reports its own."""

CLOUD_FIELD_MAX_AGE: Final = timedelta(hours=6)
"""How long a value only the cloud supplies is shown while the cloud cannot refresh it."""

BLUETOOTH_FIELD_MAX_AGE: Final = CLOUD_FIELD_MAX_AGE
"""How long a value last read over Bluetooth is shown while the car cannot be read again."""

VEHICLE_LIST_INTERVAL: Final = timedelta(hours=24)
"""How often the account's vehicle list is read again to add and remove cars: the list is a
billed data request, and cars join or leave an account rarely; once a day keeps a day in the
garage at one billed request."""

SIGNAL_VEHICLE_ADDED: Final = f"{DOMAIN}_vehicle_added_{{}}"
"""Dispatcher signal, formatted with an entry id, sent with each vehicle the account gained."""
