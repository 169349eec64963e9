"""Fixtures for the Bluetooth tests: a paired key and a link to the simulated car."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.tesla_resilient.ble import BluetoothLink
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import FakeClock
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


SPINS_PER_SECOND = 200
"""Event-loop turns given to the radio before a simulated second passes."""

PATIENCE_S = 180
"""Simulated seconds an awaited operation may take before the test counts it as hung."""


@dataclass
class SimulatedTime:
    """Home Assistant, the event loop's timers and the car on one clock, a second at a time."""

    hass: HomeAssistant
    clock: FakeClock
    freezer: FrozenDateTimeFactory
    elapsed: float = 0.0
    on_tick: list[Callable[[], None]] = field(default_factory=list)

    def tick(self) -> None:
        """Let one simulated second pass and run what fell due."""
        self.clock.advance(1)
        self.freezer.tick(timedelta(seconds=1))
        self.elapsed += 1
        for callback in self.on_tick:
            callback()
        async_fire_time_changed(self.hass)

    async def wait_for[T](self, awaitable: Awaitable[T]) -> T:
        """Await something while time passes, as for a user who waits."""
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        for _ in range(PATIENCE_S):
            for _ in range(SPINS_PER_SECOND):
                if task.done():
                    return task.result()
                await asyncio.sleep(0)
            self.tick()
        task.cancel()
        raise AssertionError(f"still waiting after {PATIENCE_S} s")

    async def timed[T](self, awaitable: Awaitable[T]) -> tuple[T, float]:
        """Await something; return its result and the simulated seconds it took."""
        started = self.elapsed
        result = await self.wait_for(awaitable)
        return result, self.elapsed - started


@pytest.fixture
def sim_time(
    hass: HomeAssistant, clock: FakeClock, freezer: FrozenDateTimeFactory, ble_car: BleCar
) -> SimulatedTime:
    """Simulated time in which the car's own clock (its owner's tap, its windows) runs too."""
    return SimulatedTime(hass, clock, freezer, on_tick=[ble_car.tick])


async def until(condition: Callable[[], bool], *, rounds: int = 500) -> None:
    """Let the event loop run until `condition` holds."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never became true")
