"""Scenario fixtures: an account with a Bluetooth key, a Bluetooth-only car, fast timeouts."""

from __future__ import annotations

from collections.abc import Generator
from unittest.mock import patch

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import (
    CONF_CAR_PUBLIC_KEY,
    CONF_PRIVATE_KEY,
    CONF_VIN,
    DOMAIN,
    SUBENTRY_VEHICLE_KEY,
)
from custom_components.tesla_resilient.health import AccountHealth
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar
from tests.integration.common import account_entry as new_account_entry
from tests.integration.conftest import advance, bluetooth, sim_clock

__all__ = ["advance", "bluetooth", "sim_clock"]


@pytest.fixture(autouse=True)
def fast_timeouts() -> Generator[None]:
    """Let a cloud that never answers time out in milliseconds."""
    with (
        patch("custom_components.tesla_resilient.cloud.REQUEST_TIMEOUT", 0.05),
        patch.object(AccountHealth, "probe_timeout", 0.05),
        patch.object(AccountHealth, "heartbeat_timeout", 0.05),
    ):
        yield


@pytest.fixture
def paired_key(ble_car: BleCar) -> str:
    """A Bluetooth key Home Assistant generated, already on the car's key list."""
    key = generate_private_key()
    ble_car.add_known_key(public_key_bytes(key))
    return key


def key_data(
    car: VirtualCar, ble_car: BleCar, key: str, proxy: SimulatedBluetoothProxy
) -> dict[str, str]:
    """What pairing stores for a car: VIN, our key, the car's pinned key and its address."""
    return {
        CONF_VIN: car.vin,
        CONF_PRIVATE_KEY: key,
        CONF_CAR_PUBLIC_KEY: ble_car.public_key.hex(),
        CONF_ADDRESS: proxy.address,
    }


@pytest.fixture
def account_entry(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    paired_key: str,
) -> MockConfigEntry:
    """An account entry whose car has a Bluetooth key: it signs cloud commands too."""
    fleet_api.attach_ble_car(ble_car)
    return new_account_entry(
        hass,
        fleet_api,
        title="Demo account",
        subentries_data=[
            ConfigSubentryData(
                data=key_data(car, ble_car, paired_key, ble_proxy),
                subentry_type=SUBENTRY_VEHICLE_KEY,
                title=car.display_name,
                unique_id=car.vin,
            )
        ],
    )


@pytest.fixture
def bluetooth_entry(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    paired_key: str,
) -> MockConfigEntry:
    """A Bluetooth-only entry for the car, as pairing creates it."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=car.display_name,
        unique_id=car.vin,
        data=key_data(car, ble_car, paired_key, ble_proxy),
    )
    entry.add_to_hass(hass)
    return entry


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Set up an entry and let its first reads finish."""
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
