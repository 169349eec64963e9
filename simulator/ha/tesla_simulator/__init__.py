"""The Tesla simulator: a virtual Tesla and its simulated Fleet API inside Home Assistant."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_IMPORT,
    SOURCE_USER,
    ConfigEntry,
)
from homeassistant.const import (
    CONF_ACCESS_TOKEN,
    CONF_PORT,
    CONF_URL,
    EVENT_HOMEASSISTANT_STOP,
    Platform,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

from .const import (
    ACCOUNT_SECRET,
    CAR_NAME,
    DEFAULT_PORT,
    DOMAIN,
    HOST,
    REFRESH_INTERVAL,
    TESLA_RESILIENT,
    TOKEN_LIFETIME_S,
)
from .hub import SimulatorHub

LOGGER = logging.getLogger(__package__)

PLATFORMS = [Platform.BUTTON, Platform.SELECT, Platform.SWITCH]

type SimulatorConfigEntry = ConfigEntry[SimulatorHub]


def _defaults(value: dict[str, Any] | None) -> dict[str, Any]:
    return value or {}


CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.All(
            _defaults,
            vol.Schema(
                {
                    vol.Optional(CONF_PORT, default=DEFAULT_PORT): vol.All(
                        vol.Coerce(int), vol.Range(min=0, max=65535)
                    )
                }
            ),
        )
    },
    extra=vol.ALLOW_EXTRA,
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Create or update the config entry from the `tesla_simulator:` section."""
    if DOMAIN in config:
        hass.async_create_task(
            hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_IMPORT}, data=dict(config[DOMAIN])
            )
        )
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SimulatorConfigEntry) -> bool:
    """Start the simulated Fleet API for a fresh virtual car and add the simulator's entities."""
    port: int = entry.data.get(CONF_PORT, DEFAULT_PORT)
    car = VirtualCar(display_name=CAR_NAME)
    fleet_api = FleetApiSimulator(
        car, host=HOST, port=port, token_lifetime_s=TOKEN_LIFETIME_S, secret=ACCOUNT_SECRET
    )
    try:
        await fleet_api.start()
    except OSError as err:
        await fleet_api.stop()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="port_unavailable",
            translation_placeholders={"port": str(port), "error": str(err)},
        ) from err

    hub = entry.runtime_data = SimulatorHub(car, fleet_api)
    entry.async_on_unload(hub.attach())

    @callback
    def refresh(_now: datetime) -> None:
        hub.refresh()

    async def stop(_event: Event) -> None:
        await fleet_api.stop()

    entry.async_on_unload(
        async_track_time_interval(
            hass, refresh, REFRESH_INTERVAL, name="tesla_simulator refresh", cancel_on_shutdown=True
        )
    )
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_create_task(
        hass, async_ensure_tesla_resilient_entry(hass, hub), "tesla_simulator account"
    )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SimulatorConfigEntry) -> bool:
    """Remove the entities and stop the simulated Fleet API."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await entry.runtime_data.fleet_api.stop()
    return unloaded


async def async_ensure_tesla_resilient_entry(hass: HomeAssistant, hub: SimulatorHub) -> None:
    """Add Tesla Resilient for the simulated account through its own flow, once.

    The simulated account and its tokens survive restarts (ACCOUNT_SECRET), so an entry added by
    an earlier run keeps working and is left alone.
    """
    if hass.config_entries.async_entries(TESLA_RESILIENT):
        return
    flow = hass.config_entries.flow
    result = await flow.async_init(TESLA_RESILIENT, context={"source": SOURCE_USER})
    if result["type"] is FlowResultType.MENU:
        result = await flow.async_configure(result["flow_id"], {"next_step_id": "token"})
    if result["type"] is FlowResultType.FORM:
        result = await flow.async_configure(
            result["flow_id"],
            {CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: hub.fleet_api.access_token},
        )
    if result["type"] is not FlowResultType.CREATE_ENTRY:
        if result["type"] is FlowResultType.FORM:
            flow.async_abort(result["flow_id"])
        LOGGER.warning(
            "Tesla Resilient was not added for the simulated account: %s",
            result.get("errors") or result.get("reason"),
        )
