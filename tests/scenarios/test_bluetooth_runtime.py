"""Bluetooth in the runtime: a car without an account, and an account's car with a key."""

from __future__ import annotations

import json

import pytest
from homeassistant.components.lock import LockState
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import (
    BLUETOOTH_FIELD_MAX_AGE,
    CONF_PRIVATE_KEY,
    CONF_ROUTE_PREFERENCE,
    CONF_SKIP_CLOUD_POLL,
    DOMAIN,
)
from custom_components.tesla_resilient.diagnostics import async_get_config_entry_diagnostics
from custom_components.tesla_resilient.services import SERVICE_PRECONDITION
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.integration.common import VIN, Advance, lock_doors, requests_to, state_of
from tests.scenarios.conftest import set_up

pytestmark = pytest.mark.usefixtures("sim_clock")


async def test_bluetooth_only_car_shows_and_locks(
    hass: HomeAssistant,
    car: VirtualCar,
    bluetooth_entry: MockConfigEntry,
) -> None:
    car.locked = False
    await set_up(hass, bluetooth_entry)

    assert state_of(hass, "lock", "doors").state == "unlocked"
    assert state_of(hass, "binary_sensor", "bluetooth").state == "on"
    assert state_of(hass, "sensor", "battery_level").state == str(car.battery_level)
    assert hass.states.get("binary_sensor.tesla_cloud") is None
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"{VIN}-cloud_cost") is None

    await lock_doors(hass)

    assert car.locked is True
    assert car.executions["ble:door_lock"] == 1
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED
    assert state_of(hass, "sensor", "last_command_route").state == "bluetooth"


async def test_bluetooth_only_car_out_of_range_loads_unavailable(
    hass: HomeAssistant,
    ble_proxy: SimulatedBluetoothProxy,
    bluetooth_entry: MockConfigEntry,
) -> None:
    ble_proxy.in_range = False
    ble_proxy.scanner.forget(ble_proxy.address)
    await set_up(hass, bluetooth_entry)

    assert bluetooth_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "lock", "doors").state == STATE_UNAVAILABLE
    assert state_of(hass, "binary_sensor", "bluetooth").state == "off"


async def test_bluetooth_only_values_age_out_while_the_car_is_away(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    ble_proxy: SimulatedBluetoothProxy,
    bluetooth_entry: MockConfigEntry,
) -> None:

    await set_up(hass, bluetooth_entry)
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED

    ble_proxy.in_range = False
    await advance(BLUETOOTH_FIELD_MAX_AGE.total_seconds() - 600)
    await advance(300)
    assert state_of(hass, "binary_sensor", "bluetooth").state == "off"
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED

    await advance(900)
    assert state_of(hass, "lock", "doors").state == STATE_UNAVAILABLE
    assert state_of(hass, "sensor", "battery_level").state == STATE_UNAVAILABLE

    ble_proxy.in_range = True
    await advance(60)
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED
    assert state_of(hass, "binary_sensor", "bluetooth").state == "on"


async def test_account_car_locks_over_bluetooth_when_the_cloud_refuses(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    ble_proxy: SimulatedBluetoothProxy,
    account_entry: MockConfigEntry,
) -> None:
    car.locked = False
    await set_up(hass, account_entry)
    fleet_api.set_fault(FaultKind.REFUSED)

    await lock_doors(hass)

    assert car.locked is True
    assert car.executions["cloud:door_lock"] == 0
    assert car.executions["ble:door_lock"] == 1
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED
    assert state_of(hass, "sensor", "last_command_route").attributes == {
        **state_of(hass, "sensor", "last_command_route").attributes,
        "command": "door_lock",
        "confirmed": True,
    }
    assert requests_to(fleet_api, "/command/door_lock") == 0


async def test_precondition_goes_over_bluetooth_when_the_cloud_refuses(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    ble_proxy: SimulatedBluetoothProxy,
    account_entry: MockConfigEntry,
) -> None:
    await set_up(hass, account_entry)
    fleet_api.set_fault(FaultKind.REFUSED)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, VIN)})
    assert device is not None

    await hass.services.async_call(
        DOMAIN,
        SERVICE_PRECONDITION,
        {"device_id": device.id, "temperature": 22},
        blocking=True,
    )

    assert car.driver_temp_setting_c == 22
    assert car.climate_on is True
    assert car.executions["ble:set_temps"] == 1
    assert car.executions["ble:auto_conditioning_start"] == 1
    assert car.executions["cloud:set_temps"] == car.executions["cloud:auto_conditioning_start"] == 0
    assert requests_to(fleet_api, "/command/set_temps") == 0
    assert state_of(hass, "climate", "climate").state == "heat_cool"
    assert state_of(hass, "sensor", "last_command_route").state == "bluetooth"


async def test_diagnostics_hold_no_key(
    hass: HomeAssistant,
    bluetooth_entry: MockConfigEntry,
    account_entry: MockConfigEntry,
) -> None:
    await set_up(hass, account_entry)
    assert bluetooth_entry.state is ConfigEntryState.LOADED
    for entry in (account_entry, bluetooth_entry):
        text = json.dumps(await async_get_config_entry_diagnostics(hass, entry))
        assert bluetooth_entry.data[CONF_PRIVATE_KEY] not in text
        assert "PRIVATE KEY" not in text
        assert VIN not in text


async def test_removing_the_key_reloads_without_bluetooth(
    hass: HomeAssistant,
    ble_proxy: SimulatedBluetoothProxy,
    account_entry: MockConfigEntry,
) -> None:
    await set_up(hass, account_entry)
    assert state_of(hass, "binary_sensor", "bluetooth").state == "on"

    subentry_id = next(iter(account_entry.subentries))
    assert hass.config_entries.async_remove_subentry(account_entry, subentry_id)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert account_entry.state is ConfigEntryState.LOADED
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("binary_sensor", DOMAIN, f"{VIN}-bluetooth") is None
    assert state_of(hass, "lock", "doors").state == LockState.LOCKED
    assert ble_proxy.connections == 0

    assert await hass.config_entries.async_unload(account_entry.entry_id)


async def test_options_choose_the_route_and_reload(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    car.locked = False
    await set_up(hass, account_entry)
    result = await hass.config_entries.options.async_init(account_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_ROUTE_PREFERENCE: "cloud_only", CONF_SKIP_CLOUD_POLL: False},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=True)
    assert account_entry.state is ConfigEntryState.LOADED

    await lock_doors(hass)

    assert car.executions["cloud:door_lock"] == 1
    assert car.executions["ble:door_lock"] == 0
    assert state_of(hass, "sensor", "last_command_route").state == "cloud"
