"""Bluetooth discovery and key pairing in the config flow and the vehicle-key subentry flow."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.components import bluetooth
from homeassistant.config_entries import SOURCE_BLUETOOTH, SOURCE_USER, ConfigEntry
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry, mock_config_flow

from custom_components.tesla_resilient import config_flow
from custom_components.tesla_resilient.ble import PAIRING_TIMEOUT_S
from custom_components.tesla_resilient.const import (
    CONF_CAR_PUBLIC_KEY,
    CONF_PRIVATE_KEY,
    CONF_VIN,
    DOMAIN,
    SUBENTRY_VEHICLE_KEY,
)
from custom_components.tesla_resilient.keys import load_private_key, public_key_bytes, vin_hash
from custom_components.tesla_resilient.pairing import (
    BluetoothPairingFlowMixin,
    VehicleKeySubentryFlow,
)
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.vehicle import VirtualCar

from .conftest import SimulatedTime, flow_progressed, until

OTHER_VIN = "5YJ3E7EB0NF999999"


@pytest.fixture(autouse=True)
def flow_handler() -> Generator[None]:
    """The integration's flow with the Bluetooth steps and the vehicle-key subentry type."""
    handler = config_flow.TeslaResilientFlowHandler
    bases: tuple[type, ...] = (
        (handler,)
        if issubclass(handler, BluetoothPairingFlowMixin)
        else (BluetoothPairingFlowMixin, handler)
    )

    def subentry_types(cls: type, entry: ConfigEntry) -> dict[str, type]:
        return {SUBENTRY_VEHICLE_KEY: VehicleKeySubentryFlow}

    wired = type(
        "WiredFlow", bases, {"async_get_supported_subentry_types": classmethod(subentry_types)}
    )
    with mock_config_flow(DOMAIN, wired):
        yield


def _discovered(hass: HomeAssistant) -> dict[str, Any]:
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == 1
    assert flows[0]["context"]["source"] == SOURCE_BLUETOOTH
    return dict(flows[0])


async def _to_progress(
    hass: HomeAssistant, flow_id: str, car: VirtualCar, *, subentry: bool = False
) -> dict[str, Any]:
    manager = hass.config_entries.subentries if subentry else hass.config_entries.flow
    if not subentry:
        result = await manager.async_configure(flow_id, {CONF_VIN: car.vin.lower()})
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "pair"
    result = await manager.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["progress_action"] == "wait_for_key_card"
    return dict(result)


async def heard_without_a_flow(hass: HomeAssistant, ble_car: BleCar) -> SimulatedBluetoothProxy:
    """Let a proxy hear the car once; the discovery must start no flow. The proxy, now off air."""
    proxy = SimulatedBluetoothProxy(hass, ble_car)
    await proxy.async_start()
    try:
        await hass.async_block_till_done(wait_background_tasks=True)
    finally:
        await proxy.async_stop()
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    return proxy


async def test_discovered_car_pairs_into_a_bluetooth_only_entry(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    flow = _discovered(hass)
    assert flow["step_id"] == "bluetooth_confirm"
    assert flow["context"]["title_placeholders"] == {"name": f"Tesla {vin_hash(car.vin)[-6:]}"}
    flow_id = flow["flow_id"]

    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_VIN: "not a vin"})
    assert result["errors"] == {CONF_VIN: "invalid_vin"}
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_VIN: OTHER_VIN})
    assert result["errors"] == {CONF_VIN: "vin_mismatch"}

    await _to_progress(hass, flow_id, car)
    await until(lambda: ble_proxy.round_trips >= 1)
    ble_car.tap_key_card()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.unique_id == car.vin
    assert entry.data[CONF_VIN] == car.vin
    assert entry.data[CONF_ADDRESS] == ble_proxy.address
    assert entry.data[CONF_CAR_PUBLIC_KEY] == ble_car.public_key.hex()
    load_private_key(entry.data[CONF_PRIVATE_KEY])
    assert ble_car.known_keys == {public_key_bytes(entry.data[CONF_PRIVATE_KEY])}


async def test_refused_pairing_offers_a_retry_with_the_same_key(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    flow_id = _discovered(hass)["flow_id"]
    await _to_progress(hass, flow_id, car)
    await until(lambda: ble_proxy.round_trips >= 1)

    ble_car.refuse_pairing()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pair_failed"
    assert result["errors"] == {"base": "pairing_refused"}
    assert not ble_car.known_keys

    round_trips = ble_proxy.round_trips
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await until(lambda: ble_proxy.round_trips > round_trips)
    ble_car.tap_key_card()
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert ble_car.known_keys == {public_key_bytes(result["data"][CONF_PRIVATE_KEY])}


async def test_pairing_without_a_tap_times_out(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    flow_id = _discovered(hass)["flow_id"]

    with patch("custom_components.tesla_resilient.pairing.PAIRING_TIMEOUT_S", 0.05):
        await _to_progress(hass, flow_id, car)
        await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)

    assert result["step_id"] == "pair_failed"
    assert result["errors"] == {"base": "pairing_timeout"}
    assert not ble_car.known_keys


async def test_pairing_out_of_range(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    flow_id = _discovered(hass)["flow_id"]
    ble_proxy.in_range = False

    await _to_progress(hass, flow_id, car)
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(flow_id)

    assert result["step_id"] == "pair_failed"
    assert result["errors"] == {"base": "out_of_range"}


async def test_discovery_updates_a_known_cars_address(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ha_bluetooth: None
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=car.vin,
        data={CONF_VIN: car.vin, CONF_ADDRESS: "AA:BB:CC:DD:EE:99"},
    )
    entry.add_to_hass(hass)
    proxy = await heard_without_a_flow(hass, ble_car)
    assert entry.data[CONF_ADDRESS] == proxy.address


async def test_discovery_updates_a_vehicle_keys_address(
    hass: HomeAssistant, car: VirtualCar, ble_car: BleCar, ha_bluetooth: None
) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="account",
        subentries_data=[
            {
                "data": {CONF_VIN: car.vin, CONF_ADDRESS: None},
                "subentry_type": SUBENTRY_VEHICLE_KEY,
                "title": car.display_name,
                "unique_id": car.vin,
            }
        ],
    )
    entry.add_to_hass(hass)
    proxy = await heard_without_a_flow(hass, ble_car)
    (subentry,) = entry.subentries.values()
    assert subentry.data[CONF_ADDRESS] == proxy.address


async def test_discovery_of_an_account_vehicle_points_to_the_account(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_proxy: SimulatedBluetoothProxy,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="account")
    entry.add_to_hass(hass)
    device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, car.vin)}, name=car.display_name
    )
    info = bluetooth.async_last_service_info(hass, ble_proxy.address, connectable=True)

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_BLUETOOTH}, data=info
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "account_vehicle"


async def test_user_started_bluetooth_setup_needs_a_car_in_range(
    hass: HomeAssistant, car: VirtualCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "bluetooth_user"})
    assert result["step_id"] == "bluetooth_user"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_VIN: OTHER_VIN}
    )
    assert result["errors"] == {"base": "not_found"}

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_VIN: car.vin})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "pair"


async def test_vehicle_key_subentry_pairs_an_account_vehicle(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, unique_id="account", title="Tesla account")
    entry.add_to_hass(hass)
    device_registry.async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, car.vin)}, name=car.display_name
    )

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VEHICLE_KEY), context={"source": SOURCE_USER}
    )
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VIN: car.vin}
    )
    assert result["step_id"] == "pair"
    flow_id = result["flow_id"]
    await _to_progress(hass, flow_id, car, subentry=True)
    await until(lambda: ble_proxy.round_trips >= 1)
    ble_car.tap_key_card()
    await hass.async_block_till_done()
    result = await hass.config_entries.subentries.async_configure(flow_id)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.subentry_type == SUBENTRY_VEHICLE_KEY
    assert subentry.title == car.display_name
    assert subentry.unique_id == car.vin
    assert subentry.data[CONF_CAR_PUBLIC_KEY] == ble_car.public_key.hex()
    assert ble_car.known_keys == {public_key_bytes(subentry.data[CONF_PRIVATE_KEY])}

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VEHICLE_KEY), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_vehicles"


async def test_the_flow_says_how_long_it_waits_and_pairs_a_tap_after_twenty_seconds(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    sim_time: SimulatedTime,
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    flow_id = _discovered(hass)["flow_id"]
    ble_car.tap_after_s = 20
    progress: list[float] = []
    hass.bus.async_listen(
        "data_entry_flow_progress_update",
        callback(lambda event: progress.append(event.data["progress"])),
    )

    done = flow_progressed(hass, flow_id)
    shown = await _to_progress(hass, flow_id, car)
    await sim_time.hold(lambda: ble_car.awaiting_tap)
    tapped: list[float] = []
    sim_time.on_tick.append(
        lambda: tapped.append(sim_time.elapsed) if ble_car.known_keys and not tapped else None
    )
    await sim_time.wait_for(done.wait())
    result = await hass.config_entries.flow.async_configure(flow_id)

    assert shown["description_placeholders"]["seconds"] == str(round(PAIRING_TIMEOUT_S))
    assert progress
    assert progress == sorted(progress)
    assert 0 < progress[-1] < 1
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert tapped == [20]
    assert sim_time.elapsed - tapped[0] <= 1
    assert ble_car.known_keys == {public_key_bytes(result["data"][CONF_PRIVATE_KEY])}


async def test_a_retry_after_a_late_tap_finishes_at_once(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    sim_time: SimulatedTime,
) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)
    flow_id = _discovered(hass)["flow_id"]
    done = flow_progressed(hass, flow_id)
    await _to_progress(hass, flow_id, car)
    await sim_time.wait_for(done.wait())
    result = await hass.config_entries.flow.async_configure(flow_id)
    assert result["step_id"] == "pair_failed"
    assert result["errors"] == {"base": "pairing_timeout"}

    ble_car.tap_key_card()
    started = sim_time.elapsed
    done.clear()
    result = await hass.config_entries.flow.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await sim_time.wait_for(done.wait())
    result = await hass.config_entries.flow.async_configure(flow_id)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (
        sim_time.elapsed - started <= 2
    )  # at once: no wait for a tap (the key is generated off the loop)
    assert ble_car.known_keys == {public_key_bytes(result["data"][CONF_PRIVATE_KEY])}
