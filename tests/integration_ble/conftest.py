"""Fixtures for the Bluetooth tests: a paired key and a link to the simulated car."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

import pytest
from homeassistant.core import HomeAssistant

from custom_components.tesla_resilient.ble import BluetoothLink
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.vehicle import VirtualCar
from tests.ble_fixtures import ble_car, ble_no_backoff, ble_proxy, ha_bluetooth

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


async def until(condition: Callable[[], bool], *, rounds: int = 500) -> None:
    """Let the event loop run until `condition` holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")
