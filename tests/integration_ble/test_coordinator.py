"""Bluetooth polling: status always, infotainment only while awake, repairs for key trouble."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from habluetooth import (
    CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS,
    UNAVAILABLE_TRACK_SECONDS,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.tesla_resilient.ble import BluetoothLink
from custom_components.tesla_resilient.ble_coordinator import (
    INFOTAINMENT_INTERVAL_ACTIVE,
    ISSUE_CAR_KEY_MISMATCH,
    ISSUE_KEY_NOT_PAIRED,
    BluetoothCoordinator,
)
from custom_components.tesla_resilient.clock import Clock
from custom_components.tesla_resilient.const import CONF_VIN, DOMAIN
from custom_components.tesla_resilient.keys import public_key_bytes
from custom_components.tesla_resilient.state import Field, Source, VehicleState
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar


@pytest.fixture
def entry(hass: HomeAssistant, car: VirtualCar) -> MockConfigEntry:
    """A Bluetooth-only entry for the car."""
    entry = MockConfigEntry(
        domain=DOMAIN, title=car.display_name, unique_id=car.vin, data={CONF_VIN: car.vin}
    )
    entry.add_to_hass(hass)
    return entry


def _coordinator(
    hass: HomeAssistant, entry: MockConfigEntry, link: BluetoothLink, clock: FakeClock
) -> BluetoothCoordinator:
    return BluetoothCoordinator(
        hass, entry, link, VehicleState(), clock=Clock(monotonic=clock, wall=clock.wall)
    )


@pytest.fixture
def coordinator(
    hass: HomeAssistant, entry: MockConfigEntry, link: BluetoothLink, clock: FakeClock
) -> BluetoothCoordinator:
    """Bluetooth polling of the paired car on the car's clock."""
    return _coordinator(hass, entry, link, clock)


@pytest.fixture
async def impostor_link(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ha_bluetooth: None,
    ble_no_backoff: None,
    paired_key: str,
) -> AsyncGenerator[tuple[BluetoothLink, BleCar]]:
    """A link pinned to the real car while another car with another key answers."""
    impostor = BleCar(car, private_key=ec.generate_private_key(ec.SECP256R1()))
    impostor.add_known_key(public_key_bytes(paired_key))
    proxy = SimulatedBluetoothProxy(hass, impostor)
    await proxy.async_start()
    link = BluetoothLink(hass, car.vin, paired_key, ble_car.public_key)
    try:
        yield link, impostor
    finally:
        await link.async_close()
        await proxy.async_stop()


async def test_sleeping_car_reports_status_without_infotainment_or_waking(
    coordinator: BluetoothCoordinator, car: VirtualCar
) -> None:
    car.sleep_now()

    await coordinator.async_refresh()

    assert coordinator.last_update_success
    state = coordinator.state
    asleep = state.get(Field.ASLEEP)
    assert asleep is not None
    assert asleep.value is True
    assert asleep.source is Source.BLUETOOTH
    assert state.value(Field.LOCKED) is True
    assert state.get(Field.BATTERY_LEVEL) is None
    assert not car.wakes
    assert car.asleep


async def test_awake_car_reports_infotainment_when_due(
    coordinator: BluetoothCoordinator, car: VirtualCar, clock: FakeClock
) -> None:
    car.user_present = True

    await coordinator.async_refresh()

    state = coordinator.state
    battery = state.get(Field.BATTERY_LEVEL)
    assert battery is not None
    assert battery.value == car.battery_level
    assert battery.source is Source.BLUETOOTH
    assert state.value(Field.INSIDE_TEMP) == pytest.approx(car.inside_temp_c)
    assert state.value(Field.SHIFT_STATE) == "p"

    car.battery_level = 55
    car.locked = False
    await coordinator.async_refresh()
    assert state.value(Field.LOCKED) is False
    assert state.value(Field.BATTERY_LEVEL) == 72

    clock.advance(INFOTAINMENT_INTERVAL_ACTIVE.total_seconds())
    await coordinator.async_refresh()
    assert state.value(Field.BATTERY_LEVEL) == 55


async def test_out_of_range_fails_quietly_and_recovers(
    hass: HomeAssistant,
    coordinator: BluetoothCoordinator,
    ble_proxy: SimulatedBluetoothProxy,
    car: VirtualCar,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await coordinator.async_refresh()
    ble_proxy.in_range = False
    stale = CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=stale + 1))
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=stale + UNAVAILABLE_TRACK_SECONDS)
    )
    await hass.async_block_till_done()
    caplog.clear()

    await coordinator.async_refresh()
    await coordinator.async_refresh()

    assert not coordinator.last_update_success
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1

    ble_proxy.in_range = True
    car.locked = False
    await coordinator.async_refresh()

    assert coordinator.last_update_success
    assert coordinator.state.value(Field.LOCKED) is False


async def test_car_with_another_key_stops_bluetooth_and_raises_a_repair(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    impostor_link: tuple[BluetoothLink, BleCar],
    clock: FakeClock,
    car: VirtualCar,
) -> None:
    link, impostor = impostor_link
    coordinator = _coordinator(hass, entry, link, clock)

    await coordinator.async_refresh()
    await coordinator.async_refresh()

    assert not coordinator.last_update_success
    assert coordinator.stopped
    assert coordinator.update_interval is None
    assert impostor.handshakes == 1
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_CAR_KEY_MISMATCH}_{car.vin}")
    assert issue is not None
    assert issue.translation_key == ISSUE_CAR_KEY_MISMATCH
    assert issue.translation_placeholders == {"name": car.display_name, "vin": car.vin}
    assert coordinator.state.get(Field.LOCKED) is None


async def test_forgotten_key_raises_a_repair_until_paired_again(
    hass: HomeAssistant,
    coordinator: BluetoothCoordinator,
    ble_car: BleCar,
    paired_key: str,
    car: VirtualCar,
) -> None:
    issue_id = f"{ISSUE_KEY_NOT_PAIRED}_{car.vin}"
    await coordinator.async_refresh()
    ble_car.remove_key(public_key_bytes(paired_key))

    await coordinator.async_refresh()

    assert not coordinator.last_update_success
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    ble_car.add_known_key(public_key_bytes(paired_key))
    await coordinator.async_refresh()

    assert coordinator.last_update_success
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
