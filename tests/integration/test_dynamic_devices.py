"""Cars joining and leaving the account while the entry stays loaded."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import aiohttp
import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import CONF_VEHICLES, DOMAIN, VEHICLE_LIST_INTERVAL
from custom_components.tesla_resilient.health import Capability
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator, vehicle_id_for
from simulator.vehicle import VirtualCar

from .common import VIN, Advance, requests_to

VIN2 = "5YJ3E7EB0NF000002"
INTERVAL = VEHICLE_LIST_INTERVAL.total_seconds()


@pytest.fixture
async def fleet_api(car: VirtualCar, socket_enabled: None) -> AsyncGenerator[FleetApiSimulator]:
    """The account's cloud, with a token that outlives the day between two vehicle listings."""
    sim = FleetApiSimulator(
        car, clock=car.clock, wall_clock=car.wall_clock, token_lifetime_s=3 * INTERVAL
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def second_car(clock: FakeClock) -> VirtualCar:
    """Another awake car on the test's clock."""
    return VirtualCar(vin=VIN2, display_name="Second Model 3", clock=clock, wall_clock=clock.wall)


def device_of(hass: HomeAssistant, vin: str) -> dr.DeviceEntry | None:
    """The vehicle's device, if registered."""
    return dr.async_get(hass).async_get_device(identifiers={(DOMAIN, vin)})


def entity_of(hass: HomeAssistant, platform: str, vin: str, key: str) -> str | None:
    """The entity id of one of a vehicle's entities, if registered."""
    return er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{vin}-{key}")


def requests_about(sim: FleetApiSimulator, vin: str) -> int:
    """How many requests named the vehicle."""
    return sum(1 for record in sim.requests if vin in record.path)


async def vehicle_by_id(sim: FleetApiSimulator, vin: str) -> tuple[int, object]:
    """Ask the simulator for a vehicle by its numeric id, as the Fleet API allows."""
    headers = {"Authorization": f"Bearer {sim.access_token}"}
    url = f"{sim.base_url}/api/1/vehicles/{vehicle_id_for(vin)}"
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, (await resp.json()).get("response")


async def test_simulator_adds_and_removes_cars(
    fleet_api: FleetApiSimulator, clock: FakeClock
) -> None:
    added = second_car(clock)
    fleet_api.add_car(added)
    assert fleet_api.car(VIN2) is added
    assert [car.vin for car in fleet_api.cars] == [VIN, VIN2]
    status, vehicle = await vehicle_by_id(fleet_api, VIN2)
    assert status == 200
    assert isinstance(vehicle, dict)
    assert vehicle["vin"] == VIN2
    fleet_api.remove_car(VIN2)
    assert [car.vin for car in fleet_api.cars] == [VIN]
    status, _ = await vehicle_by_id(fleet_api, VIN2)
    assert status == 404


async def test_new_car_appears_after_the_interval(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    sim_clock: FakeClock,
    advance: Advance,
) -> None:
    first = loaded_entry.runtime_data.vehicles[VIN]
    listed = requests_to(fleet_api, "/products")
    added = second_car(sim_clock)
    added.sentry_mode = True
    fleet_api.add_car(added)
    await advance(INTERVAL - 60)
    assert requests_to(fleet_api, "/products") == listed
    assert device_of(hass, VIN2) is None

    await advance(60)
    assert requests_to(fleet_api, "/products") == listed + 1
    device = device_of(hass, VIN2)
    assert device is not None
    assert device.name == "Second Model 3"
    assert loaded_entry.runtime_data.vehicles[VIN] is first
    assert set(loaded_entry.runtime_data.vehicles) == {VIN, VIN2}
    assert [vehicle["vin"] for vehicle in loaded_entry.data[CONF_VEHICLES]] == [VIN, VIN2]
    for platform, key in (
        ("sensor", "battery_level"),
        ("binary_sensor", "cloud_connection"),
        ("button", "honk"),
        ("climate", "climate"),
        ("lock", "doors"),
        ("cover", "trunk"),
        ("number", "charge_limit"),
        ("switch", "charging"),
        ("device_tracker", "location"),
    ):
        assert entity_of(hass, platform, VIN2, key) is not None, (platform, key)
    battery = entity_of(hass, "sensor", VIN2, "battery_level")
    assert battery is not None
    state = hass.states.get(battery)
    assert state is not None
    assert state.state == "72"


async def test_removed_car_leaves_no_device(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    token_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    fleet_api.add_car(second_car(sim_clock))
    assert await hass.config_entries.async_setup(token_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    battery = entity_of(hass, "sensor", VIN2, "battery_level")
    assert battery is not None
    assert device_of(hass, VIN2) is not None
    assert requests_about(fleet_api, VIN2)

    fleet_api.remove_car(VIN2)
    await advance(INTERVAL)

    assert device_of(hass, VIN2) is None
    assert entity_of(hass, "sensor", VIN2, "battery_level") is None
    assert hass.states.get(battery) is None
    assert set(token_entry.runtime_data.vehicles) == {VIN}
    assert [vehicle["vin"] for vehicle in token_entry.data[CONF_VEHICLES]] == [VIN]
    assert device_of(hass, VIN) is not None
    asked = requests_about(fleet_api, VIN2)
    await advance(600)
    assert requests_about(fleet_api, VIN2) == asked


async def test_nothing_listed_while_data_is_down(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    sim_clock: FakeClock,
    advance: Advance,
) -> None:
    health = loaded_entry.runtime_data.account.health
    assert health is not None
    listed = requests_to(fleet_api, "/products")
    fleet_api.add_car(second_car(sim_clock))
    fleet_api.set_fault(FaultKind.DATA_ONLY)
    for _ in range(10):
        await advance(60)
    assert not health.health.is_up(Capability.DATA, sim_clock())

    await advance(INTERVAL - 600)
    assert not health.health.is_up(Capability.DATA, sim_clock())
    assert requests_to(fleet_api, "/products") == listed
    assert device_of(hass, VIN2) is None
    assert set(loaded_entry.runtime_data.vehicles) == {VIN}
