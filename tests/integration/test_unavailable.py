"""Cloud values during an outage: kept while recent, then unavailable rather than stale."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import CLOUD_FIELD_MAX_AGE
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.integration.common import Advance, state_of


async def test_cloud_values_age_out_during_an_outage(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    token_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
    car: VirtualCar,
) -> None:
    car.sentry_mode = True
    assert await hass.config_entries.async_setup(token_entry.entry_id)
    await hass.async_block_till_done()
    assert token_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "sensor", "battery_level").state == "72"

    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    await advance(30 * 60)
    assert state_of(hass, "sensor", "battery_level").state == "72"

    max_age = CLOUD_FIELD_MAX_AGE.total_seconds()
    for _ in range(int(max_age // 1800) + 1):
        await advance(1800)
    assert state_of(hass, "sensor", "battery_level").state == STATE_UNAVAILABLE

    fleet_api.clear_fault()
    for _ in range(25):
        await advance(60)
    assert state_of(hass, "sensor", "battery_level").state == "72"
