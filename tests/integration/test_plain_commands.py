"""A Model S built before 2021: Tesla still takes its plain REST commands, unsigned."""

from __future__ import annotations

import pytest
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.tesla_resilient.const import DOMAIN
from simulator.clock import FakeClock
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import CommandSigning, VirtualCar

from .common import account_entry, requests_to

MODEL_S_2017 = "5YJSA1E26HF000001"


@pytest.fixture
def car(clock: FakeClock) -> VirtualCar:
    """A 2017 Model S: the VIN says pre-2021 S, which needs no signing."""
    return VirtualCar(vin=MODEL_S_2017, display_name="Old S", clock=clock, wall_clock=clock.wall)


async def test_a_pre_2021_model_s_gets_plain_commands(
    hass: HomeAssistant, sim_clock: FakeClock, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    assert car.command_signing is CommandSigning.OFF
    entry = account_entry(hass, fleet_api, title="Old S")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"signing_key_missing_{MODEL_S_2017}") is None
    lock = hass.states.async_entity_ids("lock")
    doors = next(entity for entity in lock if entity.endswith("_doors"))

    await hass.services.async_call("lock", "unlock", {ATTR_ENTITY_ID: doors}, blocking=True)

    assert car.locked is False
    assert car.executions["cloud:door_unlock"] == 1
    assert requests_to(fleet_api, "/command/door_unlock") == 1
    assert requests_to(fleet_api, "/signed_command") == 0
