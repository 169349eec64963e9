"""Loading during an outage, what restarts keep, and what the cloud costs in Bluetooth range."""

from __future__ import annotations

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.tesla_resilient.const import CONF_SKIP_CLOUD_POLL, CONF_VEHICLES, DOMAIN
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.integration.common import VIN, Advance, entity_id, state_of
from tests.scenarios.conftest import set_up

pytestmark = pytest.mark.usefixtures("sim_clock")

STORED = [{"vin": VIN, "name": "Demo Model 3", "model": "Model 3", "command_signing": "required"}]


async def test_vehicles_are_stored_when_the_cloud_lists_them(
    hass: HomeAssistant, account_entry: MockConfigEntry
) -> None:
    await set_up(hass, account_entry)
    assert account_entry.data[CONF_VEHICLES] == STORED


async def test_restart_during_an_outage_loads_with_a_key(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    hass.config_entries.async_update_entry(
        account_entry, data={**account_entry.data, CONF_VEHICLES: STORED}
    )
    fleet_api.set_fault(FaultKind.REFUSED)
    await set_up(hass, account_entry)

    assert account_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "lock", "doors").state == "locked"
    assert state_of(hass, "sensor", "battery_level").state == str(car.battery_level)
    for _ in range(10):
        await advance(2)
    assert hass.states.get("binary_sensor.tesla_cloud").state == "off"  # type: ignore[union-attr]


async def test_restart_while_unpaid_loads_with_a_key_and_the_repair(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
) -> None:
    """Tesla answers 402 to every call: the car still shows over Bluetooth, the repair says
    why, and the cloud is not called down; once paid, the repair goes by itself."""
    hass.config_entries.async_update_entry(
        account_entry, data={**account_entry.data, CONF_VEHICLES: STORED}
    )
    fleet_api.set_fault(FaultKind.PAYMENT_REQUIRED)
    await set_up(hass, account_entry)

    assert account_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "sensor", "battery_level").state == str(car.battery_level)
    issue_id = f"payment_required_{account_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    for _ in range(10):
        await advance(2)
    assert hass.states.get("binary_sensor.tesla_cloud").state == "on"  # type: ignore[union-attr]

    fleet_api.clear_fault()
    for _ in range(10):
        await advance(30)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_restart_during_an_outage_without_a_key_retries(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_URL: fleet_api.base_url,
            CONF_ACCESS_TOKEN: fleet_api.access_token,
            CONF_VEHICLES: STORED,
        },
    )
    entry.add_to_hass(hass)
    fleet_api.set_fault(FaultKind.REFUSED)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.parametrize(("skip", "billed"), [(True, False), (False, True)])
async def test_cloud_data_is_not_paid_for_in_bluetooth_range(
    hass: HomeAssistant,
    advance: Advance,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    account_entry: MockConfigEntry,
    skip: bool,
    billed: bool,
) -> None:

    car.user_present = True
    hass.config_entries.async_update_entry(account_entry, options={CONF_SKIP_CLOUD_POLL: skip})
    await set_up(hass, account_entry)
    for _ in range(15):
        await advance(60)

    vehicle_data = fleet_api.billing.data - 1
    assert (vehicle_data > 0) is billed
    cost = float(state_of(hass, "sensor", "cloud_cost").state)
    assert cost == pytest.approx(vehicle_data / 500)
    assert state_of(hass, "sensor", "battery_level").state == str(car.battery_level)


async def test_last_command_and_cost_survive_a_restart(
    hass: HomeAssistant,
    account_entry: MockConfigEntry,
) -> None:
    route_id = "sensor.demo_model_3_last_command_route"
    cost_id = "sensor.demo_model_3_estimated_cloud_cost"
    mock_restore_cache_with_extra_data(
        hass,
        [
            (State(route_id, "bluetooth", {"command": "door_lock", "confirmed": True}), {}),
            (
                State(cost_id, "1.5", {"last_reset": "2000-01-01T00:00:00+00:00"}),
                {"native_value": 1.5, "native_unit_of_measurement": "USD"},
            ),
        ],
    )
    await set_up(hass, account_entry)

    route = state_of(hass, "sensor", "last_command_route")
    assert route.entity_id == route_id
    assert (route.state, route.attributes["command"], route.attributes["confirmed"]) == (
        "bluetooth",
        "door_lock",
        True,
    )
    assert entity_id(hass, "sensor", "cloud_cost") == cost_id
    assert float(state_of(hass, "sensor", "cloud_cost").state) < 1.5
