"""Every platform reads the simulated car, and every control changes it."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.climate import (
    ATTR_HVAC_MODE,
    SERVICE_SET_HVAC_MODE,
    SERVICE_SET_TEMPERATURE,
    HVACMode,
)
from homeassistant.components.climate import (
    DOMAIN as CLIMATE_DOMAIN,
)
from homeassistant.components.lock import LockState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    ATTR_TEMPERATURE,
    STATE_CLOSED,
    STATE_OFF,
    STATE_ON,
    STATE_OPEN,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import DOMAIN
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

from .common import VIN, entity_id, state_of

pytestmark = pytest.mark.usefixtures("loaded_entry")


async def call(hass: HomeAssistant, domain: str, service: str, target: str, **data: Any) -> None:
    await hass.services.async_call(domain, service, {ATTR_ENTITY_ID: target, **data}, blocking=True)


async def test_sensors(hass: HomeAssistant) -> None:
    assert state_of(hass, "sensor", "battery_level").state == "72"
    battery_range = state_of(hass, "sensor", "battery_range")
    assert battery_range.attributes["unit_of_measurement"] == "km"
    assert float(battery_range.state) == pytest.approx(231.4 * 1.609344, abs=0.1)
    assert state_of(hass, "sensor", "charging_state").state == "stopped"
    assert state_of(hass, "sensor", "charger_power").state == "0"
    assert float(state_of(hass, "sensor", "charge_rate").state) == 0
    assert float(state_of(hass, "sensor", "time_to_full_charge").state) == 0
    assert float(state_of(hass, "sensor", "inside_temperature").state) == 18.5
    assert float(state_of(hass, "sensor", "outside_temperature").state) == 11.0
    assert float(state_of(hass, "sensor", "odometer").state) == pytest.approx(
        18_342.7 * 1.609344, abs=0.1
    )
    assert state_of(hass, "sensor", "shift_state").state == "p"
    assert float(state_of(hass, "sensor", "speed").state) == 0


async def test_disabled_by_default(hass: HomeAssistant) -> None:
    registry = er.async_get(hass)
    for key in ("tpms_front_left", "tpms_rear_right", "charge_limit"):
        entry = registry.async_get(entity_id(hass, "sensor", key))
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert hass.states.get(entry.entity_id) is None


async def test_binary_sensors(hass: HomeAssistant, car: VirtualCar) -> None:
    assert state_of(hass, "binary_sensor", "charge_cable").state == STATE_ON
    for key in (
        "front_driver_door",
        "rear_driver_door",
        "front_passenger_door",
        "rear_passenger_door",
        "front_driver_window",
        "rear_driver_window",
        "front_passenger_window",
        "rear_passenger_window",
        "trunk",
        "frunk",
        "user_present",
        "asleep",
    ):
        assert state_of(hass, "binary_sensor", key).state == STATE_OFF, key


async def test_locks(hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator) -> None:
    doors = entity_id(hass, "lock", "doors")
    assert hass.states.get(doors).state == LockState.LOCKED

    await call(hass, "lock", "unlock", doors)
    assert car.locked is False
    assert hass.states.get(doors).state == LockState.UNLOCKED

    await call(hass, "lock", "lock", doors)
    assert car.locked is True
    assert hass.states.get(doors).state == LockState.LOCKED

    cable = entity_id(hass, "lock", "charge_cable")
    assert hass.states.get(cable).state == LockState.LOCKED
    await call(hass, "lock", "unlock", cable)
    assert car.charge_port_latch == "Disengaged"
    assert hass.states.get(cable).state == LockState.UNLOCKED

    sent = len(fleet_api.requests)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "lock", "lock", cable)
    assert err.value.translation_key == "cable_locks_itself"
    assert len(fleet_api.requests) == sent


async def test_climate(hass: HomeAssistant, car: VirtualCar) -> None:
    climate = entity_id(hass, CLIMATE_DOMAIN, "climate")
    state = hass.states.get(climate)
    assert state.state == HVACMode.OFF
    assert state.attributes["current_temperature"] == 18.5
    assert state.attributes[ATTR_TEMPERATURE] == 21.0

    await call(hass, CLIMATE_DOMAIN, "turn_on", climate)
    assert car.climate_on is True
    assert hass.states.get(climate).state == HVACMode.HEAT_COOL

    await call(hass, CLIMATE_DOMAIN, SERVICE_SET_TEMPERATURE, climate, temperature=22.5)
    assert car.driver_temp_setting_c == 22.5
    assert car.passenger_temp_setting_c == 22.5
    assert hass.states.get(climate).attributes[ATTR_TEMPERATURE] == 22.5

    await call(hass, CLIMATE_DOMAIN, SERVICE_SET_HVAC_MODE, climate, hvac_mode=HVACMode.OFF)
    assert car.climate_on is False

    await call(
        hass,
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        climate,
        **{ATTR_TEMPERATURE: 20, ATTR_HVAC_MODE: HVACMode.HEAT_COOL},
    )
    assert car.driver_temp_setting_c == 20
    assert car.climate_on is True

    await call(hass, CLIMATE_DOMAIN, "turn_off", climate)
    assert car.climate_on is False
    assert hass.states.get(climate).state == HVACMode.OFF


async def test_covers(hass: HomeAssistant, car: VirtualCar) -> None:
    trunk = entity_id(hass, "cover", "trunk")
    assert hass.states.get(trunk).state == STATE_CLOSED
    await call(hass, "cover", "open_cover", trunk)
    assert car.trunk_open is True
    assert hass.states.get(trunk).state == STATE_OPEN
    await call(hass, "cover", "open_cover", trunk)
    assert car.trunk_open is True
    assert car.executions["actuate_trunk"] == 1
    await call(hass, "cover", "close_cover", trunk)
    assert car.trunk_open is False

    frunk = entity_id(hass, "cover", "frunk")
    assert hass.states.get(frunk).attributes["supported_features"] == 1
    await call(hass, "cover", "open_cover", frunk)
    assert car.frunk_open is True
    assert hass.states.get(frunk).state == STATE_OPEN

    windows = entity_id(hass, "cover", "windows")
    assert hass.states.get(windows).state == STATE_CLOSED
    await call(hass, "cover", "open_cover", windows)
    assert set(car.windows.values()) == {1}
    assert hass.states.get(windows).state == STATE_OPEN
    await call(hass, "cover", "close_cover", windows)
    assert set(car.windows.values()) == {0}
    assert hass.states.get(windows).state == STATE_CLOSED

    port = entity_id(hass, "cover", "charge_port")
    assert hass.states.get(port).state == STATE_OPEN
    car.cable_connected = False
    await call(hass, "cover", "close_cover", port)
    assert car.charge_port_door_open is False
    assert hass.states.get(port).state == STATE_CLOSED
    await call(hass, "cover", "open_cover", port)
    assert car.charge_port_door_open is True


async def test_switches(hass: HomeAssistant, car: VirtualCar) -> None:
    charging = entity_id(hass, "switch", "charging")
    assert hass.states.get(charging).state == STATE_OFF
    await call(hass, "switch", "turn_on", charging)
    assert car.charging is True
    assert hass.states.get(charging).state == STATE_ON
    assert state_of(hass, "sensor", "charging_state").state == "charging"
    await call(hass, "switch", "turn_off", charging)
    assert car.charging is False
    await call(hass, "switch", "turn_off", charging)
    assert hass.states.get(charging).state == STATE_OFF

    sentry = entity_id(hass, "switch", "sentry_mode")
    await call(hass, "switch", "turn_on", sentry)
    assert car.sentry_mode is True
    assert hass.states.get(sentry).state == STATE_ON
    await call(hass, "switch", "turn_off", sentry)
    assert car.sentry_mode is False


async def test_numbers(hass: HomeAssistant, car: VirtualCar) -> None:
    limit = entity_id(hass, "number", "charge_limit")
    assert float(hass.states.get(limit).state) == 80
    await call(hass, "number", "set_value", limit, value=90)
    assert car.charge_limit_soc == 90
    assert float(hass.states.get(limit).state) == 90

    current = entity_id(hass, "number", "charging_current")
    state = hass.states.get(current)
    assert float(state.state) == 16
    assert state.attributes["max"] == 32
    await call(hass, "number", "set_value", current, value=20)
    assert car.charge_current_request == 20


async def test_buttons(hass: HomeAssistant, car: VirtualCar) -> None:
    await call(hass, "button", "press", entity_id(hass, "button", "honk"))
    await call(hass, "button", "press", entity_id(hass, "button", "flash_lights"))
    assert car.executions["cloud:honk_horn"] == 1
    assert car.executions["cloud:flash_lights"] == 1


async def test_wake_button(hass: HomeAssistant, car: VirtualCar) -> None:
    car.sleep_now()
    await call(hass, "button", "press", entity_id(hass, "button", "wake"))
    assert car.wakes["cloud"] == 1
    assert car.state == "online"
    assert state_of(hass, "binary_sensor", "asleep").state == STATE_OFF


async def test_device_tracker(hass: HomeAssistant, car: VirtualCar) -> None:
    state = state_of(hass, "device_tracker", "location")
    assert state.attributes["latitude"] == car.latitude
    assert state.attributes["longitude"] == car.longitude


@pytest.mark.parametrize(
    ("domain", "service", "key", "data"),
    [
        ("number", "set_value", "charge_limit", {"value": 101}),
        ("number", "set_value", "charge_limit", {"value": 40}),
        ("number", "set_value", "charging_current", {"value": 33}),
        (CLIMATE_DOMAIN, SERVICE_SET_TEMPERATURE, "climate", {ATTR_TEMPERATURE: 35}),
    ],
)
async def test_out_of_range_sends_nothing(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    domain: str,
    service: str,
    key: str,
    data: dict[str, Any],
) -> None:
    sent = len(fleet_api.requests)
    with pytest.raises(ServiceValidationError):
        await call(hass, domain, service, entity_id(hass, domain, key), **data)
    assert len(fleet_api.requests) == sent
    assert car.charge_limit_soc == 80
    assert car.driver_temp_setting_c == 21.0


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("set_charge_limit", {"percent": 101}),
        ("set_charge_limit", {"percent": "80"}),
        ("set_charging_amps", {"charging_amps": 33}),
        ("set_temps", {"driver_temp": 21, "passenger_temp": 40}),
    ],
)
async def test_command_path_validates_before_sending(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    command: str,
    params: dict[str, Any],
) -> None:
    vehicle = loaded_entry.runtime_data.vehicles[VIN]
    sent = len(fleet_api.requests)
    with pytest.raises(ServiceValidationError) as err:
        await vehicle.async_command(command, params)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "value_out_of_range"
    assert len(fleet_api.requests) == sent
