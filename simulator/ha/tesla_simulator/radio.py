"""The car's Bluetooth side in the demo: the BLE car behind a virtual Bluetooth proxy."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives.asymmetric import ec
from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import HomeAssistant

from custom_components.tesla_resilient.const import (
    CONF_CAR_PUBLIC_KEY,
    CONF_PRIVATE_KEY,
    CONF_VIN,
    SUBENTRY_VEHICLE_KEY,
)
from custom_components.tesla_resilient.keys import (
    InvalidPrivateKey,
    generate_private_key,
    public_key_bytes,
)
from simulator.ble_car import BleCar
from simulator.ble_crypto import private_key_from_scalar
from simulator.ble_proxy import SimulatedBluetoothProxy

from .const import CAR_NAME, TESLA_RESILIENT

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@dataclass
class CarRadio:
    """What the simulator's switches do to the car's Bluetooth side."""

    ble_car: BleCar
    proxy: SimulatedBluetoothProxy

    def set_in_range(self, in_range: bool) -> None:
        """Bring the car into the proxy's range, or take it out."""
        self.proxy.in_range = in_range

    def tap_key_card(self) -> None:
        """Tap the key card on the console."""
        self.ble_car.tap_key_card()


def car_private_key(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """Return the car's P-256 key, the same for the same secret."""
    digest = int.from_bytes(hashlib.sha256(secret).digest(), "big")
    return private_key_from_scalar((digest % (P256_ORDER - 1) + 1).to_bytes(32, "big"))


def _key_data(hass: HomeAssistant) -> Iterator[dict[str, object]]:
    for entry in hass.config_entries.async_entries(TESLA_RESILIENT):
        yield dict(entry.data)
        for subentry in entry.subentries.values():
            if subentry.subentry_type == SUBENTRY_VEHICLE_KEY:
                yield dict(subentry.data)


def stored_public_keys(hass: HomeAssistant, vin: str) -> list[bytes]:
    """Public keys of the Tesla Resilient Bluetooth keys stored for the car with this VIN."""
    keys: list[bytes] = []
    for data in _key_data(hass):
        pem = data.get(CONF_PRIVATE_KEY)
        if data.get(CONF_VIN) != vin or not isinstance(pem, str):
            continue
        try:
            keys.append(public_key_bytes(pem))
        except InvalidPrivateKey:
            continue
    return keys


def has_bluetooth_key(entry: ConfigEntry, vin: str) -> bool:
    """Whether the account already holds a Bluetooth key for the car."""
    return any(
        subentry.subentry_type == SUBENTRY_VEHICLE_KEY and subentry.data.get(CONF_VIN) == vin
        for subentry in entry.subentries.values()
    )


async def async_add_bluetooth_key(hass: HomeAssistant, entry: ConfigEntry, radio: CarRadio) -> None:
    """Give the account a new key for the car, already on the car's key list."""
    vin = radio.ble_car.car.vin
    if has_bluetooth_key(entry, vin):
        return
    pem = await hass.async_add_executor_job(generate_private_key)
    radio.ble_car.add_known_key(public_key_bytes(pem))
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(
                {
                    CONF_VIN: vin,
                    CONF_PRIVATE_KEY: pem,
                    CONF_CAR_PUBLIC_KEY: radio.ble_car.public_key.hex(),
                    CONF_ADDRESS: radio.proxy.address,
                }
            ),
            subentry_type=SUBENTRY_VEHICLE_KEY,
            title=CAR_NAME,
            unique_id=vin,
        ),
    )
