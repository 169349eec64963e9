"""Tesla Resilient: a Tesla through the Fleet API, kept usable when that cloud is not."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN, CONF_URL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    OAuth2Session,
    async_get_config_entry_implementation,
)
from homeassistant.helpers.device_registry import DeviceEntry

from .cloud import CloudAuthError, CloudError, CloudLink, OAuthToken, StaticToken, TokenSource
from .cloud import token_scopes as jwt_scopes
from .const import CONF_AUTH_IMPLEMENTATION, DOMAIN, SCOPE_LOCATION
from .models import DATA_CLOCK, Clock, TeslaResilientConfigEntry, TeslaResilientData
from .vehicle import VehicleRuntime

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CLIMATE,
    Platform.COVER,
    Platform.DEVICE_TRACKER,
    Platform.LOCK,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


def _granted_scopes(token: dict[str, Any]) -> frozenset[str] | None:
    """Scopes of an OAuth token: as the token endpoint listed them, or as the JWT claims."""
    if isinstance(scope := token.get("scope"), str):
        return frozenset(scope.split())
    return jwt_scopes(token[CONF_ACCESS_TOKEN])


async def _async_tokens(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry
) -> tuple[TokenSource, frozenset[str] | None]:
    if CONF_AUTH_IMPLEMENTATION not in entry.data:
        access_token: str = entry.data[CONF_ACCESS_TOKEN]
        return StaticToken(access_token), jwt_scopes(access_token)
    try:
        implementation = await async_get_config_entry_implementation(hass, entry)
    except ValueError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="oauth_implementation_unavailable"
        ) from err
    session = OAuth2Session(hass, entry, implementation)
    return OAuthToken(session), _granted_scopes(entry.data[CONF_TOKEN])


async def async_setup_entry(hass: HomeAssistant, entry: TeslaResilientConfigEntry) -> bool:
    """Connect to the account's cloud, read each vehicle once and set up the platforms."""
    clock = hass.data.get(DATA_CLOCK) or Clock()
    tokens, scopes = await _async_tokens(hass, entry)
    cloud = CloudLink(
        async_get_clientsession(hass), entry.data[CONF_URL], tokens, monotonic=clock.monotonic
    )
    try:
        vehicles = await cloud.products()
    except CloudAuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except CloudError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cloud_error",
            translation_placeholders={"error": str(err)},
        ) from err

    location = scopes is None or SCOPE_LOCATION in scopes
    data = TeslaResilientData(cloud=cloud, clock=clock, location=location)
    for summary in vehicles:
        data.vehicles[summary.vin] = VehicleRuntime(
            hass, entry, cloud, summary, clock, location=location
        )
    await asyncio.gather(
        *(
            vehicle.coordinator.async_config_entry_first_refresh()
            for vehicle in data.vehicles.values()
        )
    )
    entry.runtime_data = data
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for vehicle in data.vehicles.values():
        entry.async_on_unload(vehicle.coordinator.async_add_listener(vehicle.async_update_device))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: TeslaResilientConfigEntry) -> bool:
    """Unload the platforms; the coordinators stop with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, device: DeviceEntry
) -> bool:
    """Allow removing a vehicle's device once the account no longer lists the vehicle."""
    return not any(
        domain == DOMAIN and identifier in entry.runtime_data.vehicles
        for domain, identifier in device.identifiers
    )
