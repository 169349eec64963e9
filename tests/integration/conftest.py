"""Fixtures for the cloud path: the simulated Fleet API on the car's clock, and entries for it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.tesla_resilient.clock import DATA_CLOCK, Clock
from custom_components.tesla_resilient.const import DOMAIN
from simulator.clock import FakeClock
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.integration.common import OTHER_VIN, account_entry, application_key_on_cars


@pytest.fixture(autouse=True)
def bluetooth(enable_bluetooth: None) -> None:
    """The integration depends on Bluetooth; run it without an adapter."""


@pytest.fixture
def sim_clock(hass: HomeAssistant, clock: FakeClock, freezer: FrozenDateTimeFactory) -> FakeClock:
    """Run the integration on the car's clock; its waits move that clock instead of sleeping.

    Home Assistant's time is frozen from here on, so that timers set at setup stay in step.
    """

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    hass.data[DATA_CLOCK] = Clock(monotonic=clock, wall=clock.wall, sleep=sleep)
    return clock


@pytest.fixture
def token_entry(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, tmp_path: Path
) -> MockConfigEntry:
    """An entry made the token way, for the simulator's account.

    The car needs signed commands, so Home Assistant has the application's key and the car has
    it too: cloud commands are signed with it.
    """
    options = application_key_on_cars(hass, fleet_api, tmp_path)
    return account_entry(hass, fleet_api, title="Demo Model 3", options=options)


@pytest.fixture
async def loaded_entry(
    hass: HomeAssistant, sim_clock: FakeClock, token_entry: MockConfigEntry
) -> MockConfigEntry:
    """The token entry, set up against an awake car."""
    assert await hass.config_entries.async_setup(token_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return token_entry


@pytest.fixture
def advance(
    hass: HomeAssistant, sim_clock: FakeClock, freezer: FrozenDateTimeFactory
) -> Callable[[float], Awaitable[None]]:
    """Move the car's clock and Home Assistant's time forward together, then settle."""

    async def advance(seconds: float) -> None:
        await hass.async_block_till_done(wait_background_tasks=True)
        sim_clock.advance(seconds)
        freezer.tick(timedelta(seconds=seconds))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)

    return advance


@pytest.fixture
async def car_asleep(
    loaded_entry: MockConfigEntry, car: VirtualCar, advance: Callable[[float], Awaitable[None]]
) -> None:
    """The loaded entry's car falls asleep, and a minute later the integration knows it."""
    car.sleep_now()
    await advance(60)


@pytest.fixture
async def other_api(clock: FakeClock) -> AsyncGenerator[FleetApiSimulator]:
    """A second account with another car; it knows none of the first account's tokens."""
    sim = FleetApiSimulator(
        VirtualCar(vin=OTHER_VIN, display_name="Other", clock=clock, wall_clock=clock.wall),
        clock=clock,
        wall_clock=clock.wall,
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def credentials(hass: HomeAssistant, fleet_api: FleetApiSimulator) -> None:
    """The simulator's OAuth client, stored as application credentials."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential(fleet_api.client_id, fleet_api.client_secret), "sim"
    )
