"""Fixtures shared by every test: custom integrations, a virtual car and its simulated cloud."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from simulator.clock import FakeClock
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

pytest_plugins = ["tests.ble_fixtures", "tests.secret_guard"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load this repository's integrations in every test that starts it."""
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when a test advances it."""
    return FakeClock()


@pytest.fixture
def car(clock: FakeClock) -> VirtualCar:
    """A fresh, awake virtual car running on the test's clock."""
    return VirtualCar(clock=clock, wall_clock=clock.wall)


@pytest.fixture
async def fleet_api(car: VirtualCar, socket_enabled: None) -> AsyncGenerator[FleetApiSimulator]:
    """A simulated Fleet API for `car`, listening on a free loopback port (sockets allowed)."""
    sim = FleetApiSimulator(car, clock=car.clock, wall_clock=car.wall_clock)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()
