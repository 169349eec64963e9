"""Each infotainment category stands alone: a silent one freezes nothing else and is backed off."""

from __future__ import annotations

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.ble import RESPONSE_TIMEOUT_S, BluetoothLink
from custom_components.tesla_resilient.ble_coordinator import (
    INFOTAINMENT_INTERVAL_ACTIVE,
    BluetoothCoordinator,
)
from custom_components.tesla_resilient.ble_messages import Category
from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.models import Clock
from custom_components.tesla_resilient.pairing import CONF_VIN
from custom_components.tesla_resilient.state import Field, VehicleState
from simulator.ble_car import BleCar
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar

from .conftest import SimulatedTime

ACTIVE_S = INFOTAINMENT_INTERVAL_ACTIVE.total_seconds()


@pytest.fixture
def coordinator(
    hass: HomeAssistant, car: VirtualCar, link: BluetoothLink, clock: FakeClock
) -> BluetoothCoordinator:
    """Bluetooth polling of a car with someone in it (infotainment read every minute)."""
    entry = MockConfigEntry(
        domain=DOMAIN, title=car.display_name, unique_id=car.vin, data={CONF_VIN: car.vin}
    )
    entry.add_to_hass(hass)
    car.user_present = True
    return BluetoothCoordinator(
        hass, entry, link, VehicleState(), clock=Clock(monotonic=clock, wall=clock.wall)
    )


async def _refresh(time: SimulatedTime, coordinator: BluetoothCoordinator) -> float:
    _result, took = await time.timed(coordinator.async_refresh())
    return took


async def test_a_silent_category_freezes_nothing_else(
    coordinator: BluetoothCoordinator, car: VirtualCar, ble_car: BleCar, sim_time: SimulatedTime
) -> None:
    await _refresh(sim_time, coordinator)
    old_latitude = coordinator.state.value(Field.LATITUDE)
    ble_car.silent_categories = {"location_state"}
    car.locked = False
    car.battery_level = 41
    car.inside_temp_c = 30.5
    car.latitude += 1
    await sim_time.wait_for(_tick_past(sim_time, ACTIVE_S))

    took = await _refresh(sim_time, coordinator)

    state = coordinator.state
    assert coordinator.last_update_success
    assert state.value(Field.LOCKED) is False
    assert state.value(Field.BATTERY_LEVEL) == 41
    assert state.value(Field.INSIDE_TEMP) == pytest.approx(30.5)
    assert state.value(Field.TPMS_FL) == pytest.approx(car.tpms_bar["fl"])
    assert state.value(Field.LATITUDE) == old_latitude
    assert RESPONSE_TIMEOUT_S <= took <= RESPONSE_TIMEOUT_S + 3
    failing = coordinator.diagnostics()["failing_categories"]
    assert failing == {
        "location": {"failures": 1, "last_error": "bluetooth_timeout", "retry_in_s": ACTIVE_S}
    }


async def test_a_category_that_keeps_failing_is_backed_off_then_read_again(
    coordinator: BluetoothCoordinator, car: VirtualCar, ble_car: BleCar, sim_time: SimulatedTime
) -> None:
    ble_car.silent_categories = {"location_state"}
    first = await _refresh(sim_time, coordinator)
    await sim_time.wait_for(_tick_past(sim_time, ACTIVE_S))
    second = await _refresh(sim_time, coordinator)
    await sim_time.wait_for(_tick_past(sim_time, ACTIVE_S))

    car.battery_level = 33
    third = await _refresh(sim_time, coordinator)

    assert first >= RESPONSE_TIMEOUT_S
    assert second >= RESPONSE_TIMEOUT_S
    assert third < RESPONSE_TIMEOUT_S  # location is not asked: no timeout paid
    assert coordinator.state.value(Field.BATTERY_LEVEL) == 33
    location = coordinator.diagnostics()["failing_categories"]["location"]
    assert location["failures"] == 2
    assert 0 < location["retry_in_s"] <= 2 * ACTIVE_S

    ble_car.silent_categories = set()
    car.latitude += 1
    await sim_time.wait_for(_tick_past(sim_time, 2 * ACTIVE_S))
    await _refresh(sim_time, coordinator)

    assert coordinator.state.value(Field.LATITUDE) == pytest.approx(car.latitude)
    assert coordinator.diagnostics()["failing_categories"] == {}


async def test_the_car_asleep_mid_read_still_ends_the_read_quietly(
    coordinator: BluetoothCoordinator, car: VirtualCar, sim_time: SimulatedTime
) -> None:
    car.sleep_now()

    await _refresh(sim_time, coordinator)

    assert coordinator.last_update_success
    assert coordinator.diagnostics()["failing_categories"] == {}
    assert coordinator.state.get(Field.BATTERY_LEVEL) is None
    assert Category.CHARGE in coordinator.categories


async def _tick_past(time: SimulatedTime, seconds: float) -> None:
    for _ in range(max(0, int(seconds))):
        time.tick()
