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

from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

from .const import (
    ACCOUNT_SECRET,
    CAR_KEY_SECRET,
    CAR_NAME,
    CONF_BLUETOOTH_KEY_ADDED,
    CONF_WORKSHOP_PORT,
    DEFAULT_PORT,
    DOMAIN,
    HOST,
    NEARBY_CAR_KEY_SECRET,
    NEARBY_CAR_NAME,
    NEARBY_PROXY_ADDRESS,
    NEARBY_PROXY_NAME,
    NEARBY_PROXY_SOURCE,
    NEARBY_VIN,
    REFRESH_INTERVAL,
    TESLA_RESILIENT,
    TOKEN_LIFETIME_S,
)
from .hub import NearbyCar, SimulatorHub
from .radio import CarRadio, async_add_bluetooth_key, car_private_key, stored_public_keys
from .workshop import async_start_workshop

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
                    ),
                    vol.Optional(CONF_WORKSHOP_PORT): vol.All(
                        vol.Coerce(int), vol.Range(min=1, max=65534)
                    ),
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
    """Start the account's car with its Fleet API and Bluetooth proxy, and the nearby car."""
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

    if (workshop_port := entry.data.get(CONF_WORKSHOP_PORT)) is not None:
        try:
            workshop = await async_start_workshop(hass, workshop_port)
        except OSError as err:
            await fleet_api.stop()
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="port_unavailable",
                translation_placeholders={"port": str(workshop_port), "error": str(err)},
            ) from err
        entry.async_on_unload(workshop.stop)

    ble_car = BleCar(car, private_key=car_private_key(CAR_KEY_SECRET))
    for public_key in stored_public_keys(hass, car.vin):
        ble_car.add_known_key(public_key)
    fleet_api.attach_ble_car(ble_car)
    radio = CarRadio(ble_car, SimulatedBluetoothProxy(hass, ble_car))
    entry.async_on_unload(radio.proxy.async_stop)

    hub = entry.runtime_data = SimulatorHub(car, fleet_api)
    hub.connect_bluetooth(radio)
    entry.async_on_unload(hub.attach())
    nearby = nearby_car_radio(hass)
    entry.async_on_unload(nearby.proxy.async_stop)
    entry.async_on_unload(hub.add_nearby_car(NearbyCar(nearby.ble_car.car, nearby)))

    @callback
    def refresh(_now: datetime) -> None:
        hub.refresh()
        ble_car.tick()
        nearby.ble_car.tick()

    async def stop(_event: Event) -> None:
        await fleet_api.stop()

    entry.async_on_unload(
        async_track_time_interval(
            hass, refresh, REFRESH_INTERVAL, name="tesla_simulator refresh", cancel_on_shutdown=True
        )
    )
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, stop))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await nearby.proxy.async_start()
    entry.async_create_task(
        hass, async_set_up_demo_account(hass, entry, radio), "tesla_simulator account"
    )
    return True


def nearby_car_radio(hass: HomeAssistant) -> CarRadio:
    """Return the nearby car, unlocked, behind a proxy of its own, knowing the keys stored for it.

    No account knows this car: Home Assistant discovers it through the proxy, and pairing goes
    through Tesla Resilient's discovery card and this car's key card.
    """
    car = VirtualCar(vin=NEARBY_VIN, display_name=NEARBY_CAR_NAME, locked=False)
    ble_car = BleCar(car, private_key=car_private_key(NEARBY_CAR_KEY_SECRET))
    for public_key in stored_public_keys(hass, car.vin):
        ble_car.add_known_key(public_key)
    proxy = SimulatedBluetoothProxy(
        hass,
        ble_car,
        address=NEARBY_PROXY_ADDRESS,
        source=NEARBY_PROXY_SOURCE,
        name=NEARBY_PROXY_NAME,
    )
    return CarRadio(ble_car, proxy)


async def async_unload_entry(hass: HomeAssistant, entry: SimulatorConfigEntry) -> bool:
    """Remove the entities and stop the simulated Fleet API."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await entry.runtime_data.fleet_api.stop()
    return unloaded


async def async_set_up_demo_account(
    hass: HomeAssistant, entry: SimulatorConfigEntry, radio: CarRadio
) -> None:
    """Add Tesla Resilient for the simulated account and, once, a Bluetooth key paired with the car.

    The car goes on air afterwards, so Tesla Resilient never offers to set up a car it already
    has a key for. Removing that key later is left alone; pairing a new one goes through Tesla
    Resilient's own "Add Bluetooth key" and the simulator's key card.
    """
    try:
        account = await async_ensure_tesla_resilient_entry(hass, entry.runtime_data)
        if account is not None and not entry.data.get(CONF_BLUETOOTH_KEY_ADDED):
            await async_add_bluetooth_key(hass, account, radio)
            hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_BLUETOOTH_KEY_ADDED: True}
            )
    finally:
        await radio.proxy.async_start()


async def async_ensure_tesla_resilient_entry(
    hass: HomeAssistant, hub: SimulatorHub
) -> ConfigEntry | None:
    """Return Tesla Resilient's entry for the simulated account, added through its own flow once.

    The simulated account and its tokens survive restarts (ACCOUNT_SECRET), so an entry added by
    an earlier run keeps working and is left alone. With only other accounts, nothing is added.
    """
    if entries := hass.config_entries.async_entries(TESLA_RESILIENT):
        return next(
            (entry for entry in entries if entry.data.get(CONF_URL) == hub.fleet_api.base_url),
            None,
        )
    flow = hass.config_entries.flow
    result = await flow.async_init(TESLA_RESILIENT, context={"source": SOURCE_USER})
    if result["type"] is FlowResultType.MENU:
        result = await flow.async_configure(result["flow_id"], {"next_step_id": "token"})
    if result["type"] is FlowResultType.FORM:
        result = await flow.async_configure(
            result["flow_id"],
            {CONF_URL: hub.fleet_api.base_url, CONF_ACCESS_TOKEN: hub.fleet_api.access_token},
        )
    if result["type"] is FlowResultType.CREATE_ENTRY:
        entry: ConfigEntry = result["result"]
        return entry
    if result["type"] is FlowResultType.FORM:
        flow.async_abort(result["flow_id"])
    LOGGER.warning(
        "Tesla Resilient was not added for the simulated account: %s",
        result.get("errors") or result.get("reason"),
    )
    return None
