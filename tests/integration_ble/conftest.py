"""Fixtures for the Bluetooth tests: a paired key and a link to the simulated car."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED

from custom_components.tesla_resilient.ble import BluetoothLink
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar
from tests.ble_fixtures import ble_car, ble_no_backoff, ble_proxy, ha_bluetooth
from tests.sim_time import SimulatedTime

__all__ = ["ble_car", "ble_no_backoff", "ble_proxy", "ha_bluetooth"]


@pytest.fixture
def private_key_pem() -> str:
    """A Bluetooth key as the integration generates it."""
    return generate_private_key()


@pytest.fixture
def paired_key(ble_car: BleCar, private_key_pem: str) -> str:
    """`private_key_pem`, already on the car's key list."""
    ble_car.add_known_key(public_key_bytes(private_key_pem))
    return private_key_pem


@pytest.fixture
async def link(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    paired_key: str,
) -> AsyncGenerator[BluetoothLink]:
    """A link with a paired key and the car's pinned public key."""
    link = BluetoothLink(hass, car.vin, paired_key, ble_car.public_key)
    try:
        yield link
    finally:
        await link.async_close()


@pytest.fixture
def sim_time(
    hass: HomeAssistant, clock: FakeClock, freezer: FrozenDateTimeFactory, ble_car: BleCar
) -> SimulatedTime:
    """Simulated time in which the car's own clock (its owner's tap, its windows) runs too."""
    return SimulatedTime(hass, clock, freezer, on_tick=[ble_car.tick])


__all__ += ["SimulatedTime"]


async def until(condition: Callable[[], bool], *, rounds: int = 500) -> None:
    """Let the event loop run until `condition` holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")


def flow_progressed(hass: HomeAssistant, flow_id: str) -> asyncio.Event:
    """Set once Home Assistant says a flow's progress step is over (its task ended)."""
    done = asyncio.Event()

    @callback
    def _on_event(event: Event) -> None:
        if event.data.get("flow_id") == flow_id:
            done.set()

    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, _on_event)
    return done
