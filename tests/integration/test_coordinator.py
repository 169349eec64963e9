"""Polling: never wakes the car, pays for data only when useful, honours rate limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from homeassistant.components.homeassistant import (
    DOMAIN as HA_DOMAIN,
)
from homeassistant.components.homeassistant import (
    SERVICE_UPDATE_ENTITY,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import DATA_INTERVAL_ACTIVE, DATA_INTERVAL_IDLE
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar

from .common import Advance, entity_id, requests_to, state_of

STATE_PATH = "/api/1/vehicles/5YJ3E7EB0NF000001"


def state_calls(sim: FleetApiSimulator) -> int:
    return sum(1 for record in sim.requests if record.path == STATE_PATH)


async def test_sleeping_car_is_never_woken(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    token_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    car.sleep_now()
    assert await hass.config_entries.async_setup(token_entry.entry_id)
    await hass.async_block_till_done()
    assert token_entry.state is ConfigEntryState.LOADED
    fleet_api.billing.reset()

    for _ in range(30):
        await advance(60)

    assert car.asleep is True
    assert not car.wakes
    assert fleet_api.billing.data == 0
    assert fleet_api.billing.wakes == 0
    assert requests_to(fleet_api, "/vehicle_data") == 0
    assert state_calls(fleet_api) >= 30
    assert state_of(hass, "binary_sensor", "asleep").state == STATE_ON
    assert state_of(hass, "sensor", "battery_level").state == STATE_UNAVAILABLE


async def test_asleep_car_keeps_last_values(
    hass: HomeAssistant,
    car_asleep: None,
    fleet_api: FleetApiSimulator,
) -> None:
    assert state_of(hass, "binary_sensor", "asleep").state == STATE_ON
    assert state_of(hass, "sensor", "battery_level").state == "72"
    assert state_of(hass, "lock", "doors").state == "locked"
    assert requests_to(fleet_api, "/vehicle_data") == 1


async def test_car_waking_by_itself_is_read_at_once(
    hass: HomeAssistant,
    car_asleep: None,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    car.battery_level = 64
    car.wake("app")
    await advance(60)

    assert state_of(hass, "binary_sensor", "asleep").state == STATE_OFF
    assert state_of(hass, "sensor", "battery_level").state == "64"
    assert requests_to(fleet_api, "/vehicle_data") == 2
    assert car.wakes == {"app": 1}


async def test_idle_car_is_left_to_fall_asleep(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    for _ in range(25):
        await advance(60)

    assert car.asleep is True
    assert requests_to(fleet_api, "/vehicle_data") == 1
    assert state_of(hass, "binary_sensor", "asleep").state == STATE_ON


async def test_active_car_is_read_more_often(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    await hass.services.async_call(
        "switch",
        "turn_on",
        {ATTR_ENTITY_ID: entity_id(hass, "switch", "charging")},
        blocking=True,
    )
    minutes = round(DATA_INTERVAL_ACTIVE.total_seconds() / 60)
    for _ in range(minutes - 1):
        await advance(60)
    assert requests_to(fleet_api, "/vehicle_data") == 1
    car.battery_level = 75
    await advance(60)
    assert requests_to(fleet_api, "/vehicle_data") == 2
    assert state_of(hass, "sensor", "battery_level").state == "75"
    assert car.asleep is False


async def test_rate_limit_waits_for_retry_after(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    assert await async_setup_component(hass, HA_DOMAIN, {})
    fleet_api.set_fault(FaultKind.RATE_LIMITED, retry_after_s=300)
    await advance(60)
    limited = state_calls(fleet_api)
    assert fleet_api.requests[-1].status == 429
    assert state_of(hass, "sensor", "battery_level").state == "72"

    for _ in range(4):
        await advance(60)
    await hass.services.async_call(
        HA_DOMAIN,
        SERVICE_UPDATE_ENTITY,
        {ATTR_ENTITY_ID: entity_id(hass, "sensor", "battery_level")},
        blocking=True,
    )
    assert state_calls(fleet_api) == limited

    fleet_api.clear_fault()
    await advance(60)
    assert state_calls(fleet_api) == limited + 1
    assert fleet_api.requests[-1].status == 200
    await advance(60)
    assert state_calls(fleet_api) == limited + 2


async def test_rejected_token_starts_reauth(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    fleet_api.set_fault(FaultKind.TOKEN_EXPIRED)
    await advance(60)

    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == loaded_entry.entry_id


@pytest.mark.parametrize("fault", [FaultKind.SERVER_ERROR, FaultKind.REFUSED])
async def test_cloud_failure_keeps_values(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
    fault: FaultKind,
) -> None:
    vehicle = next(iter(loaded_entry.runtime_data.vehicles.values()))
    fleet_api.set_fault(fault)
    await advance(60)

    assert vehicle.coordinator.last_update_success is False
    assert state_of(hass, "sensor", "battery_level").state == "72"

    fleet_api.clear_fault()
    await advance(60)
    assert vehicle.coordinator.last_update_success is True


async def test_a_cloud_outage_is_logged_once_as_a_warning_and_its_end_once(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.tesla_resilient")
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    for _ in range(3):
        await advance(60)
    fleet_api.clear_fault()
    await advance(60)

    ours = [r for r in caplog.records if r.name.startswith("custom_components.tesla_resilient")]
    assert not [r for r in ours if r.levelno >= logging.ERROR]
    warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("Reading tesla_resilient cloud")
    assert len([r for r in ours if "recovered" in r.getMessage()]) == 1


async def test_a_poll_that_learns_nothing_writes_no_state(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    advance: Advance,
) -> None:
    battery = entity_id(hass, "sensor", "battery_level")
    written: list[str] = []

    @callback
    def is_battery(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] == battery

    @callback
    def seen(event: Event[Any]) -> None:
        written.append(event.event_type)

    hass.bus.async_listen(EVENT_STATE_REPORTED, seen, event_filter=is_battery)
    hass.bus.async_listen(EVENT_STATE_CHANGED, seen, event_filter=is_battery)
    car.sentry_mode = True
    polled = state_calls(fleet_api)
    for _ in range(5):
        await advance(60)
    assert state_calls(fleet_api) >= polled + 5
    assert written == []

    car.battery_level = 70
    await advance(DATA_INTERVAL_IDLE.total_seconds())
    assert written == [EVENT_STATE_CHANGED]
    assert state_of(hass, "sensor", "battery_level").state == "70"
