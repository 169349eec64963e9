"""Fixtures that put the simulated car on Home Assistant's Bluetooth through a virtual proxy."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from unittest.mock import patch

import bleak
import pytest
from bleak.backends.device import BLEDevice
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.secrets import remember as remember_secret
from simulator.vehicle import VirtualCar


@pytest.fixture
def ble_no_backoff() -> Generator[None]:
    """Let bleak-retry-connector retry a failed connection at once instead of sleeping."""
    with patch("bleak_retry_connector.calculate_backoff_time", return_value=0.0):
        yield


@pytest.fixture
async def ha_bluetooth(hass: HomeAssistant, enable_bluetooth: None) -> None:
    """Home Assistant's Bluetooth integration, set up without a real adapter."""


@pytest.fixture
def tesla_ble_through_ha(ha_bluetooth: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point tesla-fleet-api's own Bluetooth client at Home Assistant's `BleakClient` wrapper.

    Only for tests that drive the library's client against the simulated car (the integration
    looks the name up when it connects). The library binds `bleak.BleakClient` when first
    imported; Home Assistant swaps that name for its routing wrapper only when Bluetooth sets
    up. Library versions that no longer bind the name are left as they are.
    """
    from tesla_fleet_api.tesla import bluetooth as tesla_bluetooth  # noqa: PLC0415
    from tesla_fleet_api.tesla.vehicle import bluetooth as vehicle_bluetooth  # noqa: PLC0415

    for module in (vehicle_bluetooth, tesla_bluetooth):
        if hasattr(module, "BleakClient"):
            monkeypatch.setattr(module, "BleakClient", bleak.BleakClient)


@pytest.fixture
def ble_car(car: VirtualCar) -> BleCar:
    """The car's Bluetooth face for the shared `car`."""
    return BleCar(car)


@pytest.fixture
async def ble_proxy(
    hass: HomeAssistant, ha_bluetooth: None, ble_car: BleCar, ble_no_backoff: None
) -> AsyncGenerator[SimulatedBluetoothProxy]:
    """A started virtual Bluetooth proxy that hears `ble_car`, registered with `hass`."""
    proxy = SimulatedBluetoothProxy(hass, ble_car)
    await proxy.async_start()
    await hass.async_block_till_done()
    try:
        yield proxy
    finally:
        await proxy.async_stop()


@pytest.fixture
def ble_device(hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy) -> BLEDevice:
    """The car as Home Assistant's Bluetooth offers it for connecting."""
    device = bluetooth.async_ble_device_from_address(hass, ble_proxy.address, connectable=True)
    assert device is not None
    return device


@pytest.fixture
def ble_private_key() -> ec.EllipticCurvePrivateKey:
    """A fresh P-256 key, as the integration generates one for pairing."""
    key = ec.generate_private_key(ec.SECP256R1())
    remember_secret(key, "Bluetooth private key")
    return key


@pytest.fixture
def paired_ble_key(
    ble_car: BleCar, ble_private_key: ec.EllipticCurvePrivateKey
) -> ec.EllipticCurvePrivateKey:
    """`ble_private_key`, already on the car's key list (as after a key-card tap)."""
    ble_car.add_known_key(
        ble_private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    return ble_private_key
