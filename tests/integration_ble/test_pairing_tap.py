"""Pairing as real cars behave: the owner may tap the key card at once, after a while, or never,
and the car may answer after the tap or not at all. Time is simulated, a second at a time.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable

import pytest
from homeassistant.core import HomeAssistant

from custom_components.tesla_resilient.ble import PAIRING_TIMEOUT_S, BluetoothLink
from custom_components.tesla_resilient.ble_conversation import PAIRING_POLL_S
from custom_components.tesla_resilient.errors import PairingTimedOut
from custom_components.tesla_resilient.keys import public_key_bytes
from custom_components.tesla_resilient.router import Delivery
from simulator.ble_car import BleCar, PairingAnswers
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.vehicle import VirtualCar

from .conftest import SimulatedTime


class Owner:
    """Notes when the owner's tap put the key on the car, in simulated seconds."""

    def __init__(self, time: SimulatedTime, ble_car: BleCar, key: bytes) -> None:
        self.time = time
        self.ble_car = ble_car
        self.key = key
        self.tapped_at: float | None = None
        time.on_tick.append(self._check)

    def _check(self) -> None:
        if self.tapped_at is None and self.key in self.ble_car.known_keys:
            self.tapped_at = self.time.elapsed

    @property
    def elapsed(self) -> float:
        return self.time.elapsed

    async def wait_for[T](self, awaitable: Awaitable[T]) -> T:
        return await self.time.wait_for(awaitable)


@pytest.fixture
async def new_link(
    hass: HomeAssistant, car: VirtualCar, ble_proxy: SimulatedBluetoothProxy, private_key_pem: str
) -> AsyncGenerator[BluetoothLink]:
    """A link with a key the car does not know yet."""
    link = BluetoothLink(hass, car.vin, private_key_pem, None)
    try:
        yield link
    finally:
        await link.async_close()


@pytest.fixture
def owner(sim_time: SimulatedTime, ble_car: BleCar, private_key_pem: str) -> Owner:
    return Owner(sim_time, ble_car, public_key_bytes(private_key_pem))


@pytest.mark.parametrize("tap_after_s", [0, 20, 55])
@pytest.mark.parametrize("answers", [PairingAnswers.AFTER_TAP, PairingAnswers.WAIT_AT_ONCE])
async def test_a_tap_within_the_minute_pairs_and_pins_the_car(
    new_link: BluetoothLink,
    ble_car: BleCar,
    owner: Owner,
    car: VirtualCar,
    tap_after_s: int,
    answers: PairingAnswers,
) -> None:
    ble_car.tap_after_s = tap_after_s
    ble_car.pairing_answers = answers

    car_key = await owner.wait_for(new_link.async_pair())

    assert car_key == ble_car.public_key
    assert owner.key in ble_car.known_keys
    assert owner.tapped_at is not None or tap_after_s == 0
    assert owner.elapsed - (owner.tapped_at or 0) <= 1  # the car's answer ends the wait at once
    await owner.wait_for(new_link.async_command("door_unlock"))
    assert not car.locked


async def test_a_car_that_never_answers_is_confirmed_by_the_handshake(
    new_link: BluetoothLink, ble_car: BleCar, owner: Owner
) -> None:
    ble_car.pairing_answers = PairingAnswers.NEVER
    ble_car.tap_after_s = 20

    car_key = await owner.wait_for(new_link.async_pair())

    assert car_key == ble_car.public_key
    assert owner.tapped_at == 20
    assert owner.elapsed - owner.tapped_at <= PAIRING_POLL_S


async def test_no_tap_times_out_after_a_minute_and_a_retry_with_the_key_added_succeeds_at_once(
    new_link: BluetoothLink, ble_car: BleCar, owner: Owner, ble_proxy: SimulatedBluetoothProxy
) -> None:
    with pytest.raises(PairingTimedOut) as err:
        await owner.wait_for(new_link.async_pair())

    assert err.value.delivery is Delivery.MAYBE_DELIVERED
    assert PAIRING_TIMEOUT_S <= owner.elapsed <= PAIRING_TIMEOUT_S + 2
    assert owner.key not in ble_car.known_keys

    # The owner taps late: the car's own window is still open, and the key goes on.
    ble_car.tap_key_card()
    assert owner.key in ble_car.known_keys
    started, round_trips = owner.elapsed, ble_proxy.round_trips

    car_key = await owner.wait_for(new_link.async_pair())

    assert car_key == ble_car.public_key
    assert owner.elapsed == started
    assert ble_proxy.round_trips - round_trips <= 2
