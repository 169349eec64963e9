"""Pairing a key by key-card tap, and keeping that key out of every log line."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncGenerator

import pytest
from cryptography.hazmat.primitives import serialization
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.tesla_resilient.ble import BluetoothLink
from custom_components.tesla_resilient.ble_messages import Category
from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.errors import PairingRefused, PairingTimedOut
from custom_components.tesla_resilient.keys import load_private_key, public_key_bytes
from custom_components.tesla_resilient.redaction import REDACTED
from custom_components.tesla_resilient.state import Field
from simulator.ble_car import PAIRING_TIMEOUT_S as CAR_PAIRING_WINDOW_S
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar

from .conftest import until


@pytest.fixture
async def new_link(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_proxy: SimulatedBluetoothProxy,
    private_key_pem: str,
) -> AsyncGenerator[BluetoothLink]:
    """A link with a key the car does not know yet and no pinned car key.

    The integration is set up first, as it is whenever a link exists outside a pairing flow:
    that is what puts the log filter in place.
    """
    assert await async_setup_component(hass, DOMAIN, {})
    link = BluetoothLink(hass, car.vin, private_key_pem, None)
    try:
        yield link
    finally:
        await link.async_close()


async def _start_pairing(
    link: BluetoothLink, proxy: SimulatedBluetoothProxy, timeout_s: float = 30
) -> asyncio.Task[bytes]:
    task = asyncio.ensure_future(link.async_pair(timeout_s))
    await until(lambda: proxy.round_trips >= 1)
    return task


async def test_pairing_approved_by_key_card_pins_the_car_key(
    new_link: BluetoothLink,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    car: VirtualCar,
    private_key_pem: str,
) -> None:
    task = await _start_pairing(new_link, ble_proxy)
    assert not task.done()

    ble_car.tap_key_card()
    car_key = await task

    assert car_key == ble_car.public_key
    assert public_key_bytes(private_key_pem) in ble_car.known_keys
    await new_link.async_command("door_unlock")
    assert not car.locked


async def test_pairing_refused_on_the_car_screen(
    new_link: BluetoothLink, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    task = await _start_pairing(new_link, ble_proxy)

    ble_car.refuse_pairing()

    with pytest.raises(PairingRefused):
        await task
    assert not ble_car.known_keys


async def test_pairing_times_out_without_a_tap(
    new_link: BluetoothLink, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    with pytest.raises(PairingTimedOut):
        await new_link.async_pair(0.05)

    assert not ble_car.known_keys


async def test_pairing_window_closed_by_the_car(
    new_link: BluetoothLink, ble_car: BleCar, ble_proxy: SimulatedBluetoothProxy, clock: FakeClock
) -> None:
    task = await _start_pairing(new_link, ble_proxy)

    clock.advance(CAR_PAIRING_WINDOW_S + 1)
    ble_car.tick()

    with pytest.raises(PairingTimedOut):
        await task
    assert not ble_car.known_keys


def _spellings(pem: str) -> set[str]:
    """Every way the key could leak: PEM, DER and the raw scalar in raw, hex and base64."""
    key = load_private_key(pem)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    forms = {
        pem.strip(),
        scalar.hex(),
        scalar.hex().upper(),
        der.hex(),
        base64.b64encode(scalar).decode(),
        base64.b64encode(der).decode(),
        repr(scalar)[2:-1],
        str(key.private_numbers().private_value),
    }
    forms |= {line for line in pem.splitlines() if not line.startswith("-----")}
    return forms


async def test_private_key_never_appears_in_debug_logs(
    hass: HomeAssistant,
    new_link: BluetoothLink,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    car: VirtualCar,
    private_key_pem: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    task = await _start_pairing(new_link, ble_proxy)
    ble_car.tap_key_card()
    await task
    await new_link.async_status()
    await new_link.async_read(Category.CHARGE)
    await new_link.async_command("door_unlock")
    await new_link.async_command("set_charge_limit", percent=65)
    assert car.charge_limit_soc == 65
    logging.getLogger("tesla_fleet_api").debug("key %s", private_key_pem)
    logging.getLogger("tesla_fleet_api").debug(
        "scalar %s",
        load_private_key(private_key_pem).private_numbers().private_value.to_bytes(32, "big"),
    )

    logged = caplog.text + "\n".join(record.getMessage() for record in caplog.records)

    assert "Received response" in logged
    assert REDACTED in logged
    leaked = {form for form in _spellings(private_key_pem) if form in logged}
    assert not leaked


async def test_status_fields_reach_the_caller_unredacted(
    new_link: BluetoothLink,
    ble_car: BleCar,
    private_key_pem: str,
    ble_proxy: SimulatedBluetoothProxy,
) -> None:
    ble_car.add_known_key(public_key_bytes(private_key_pem))

    status = await new_link.async_status()

    assert status[Field.LOCKED] is True
    assert new_link.car_public_key == ble_car.public_key
