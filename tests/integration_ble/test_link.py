"""The Bluetooth link against the simulated car, through a virtual proxy in HA's Bluetooth stack."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from habluetooth import (
    CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS,
    UNAVAILABLE_TRACK_SECONDS,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.tesla_resilient.ble import IDLE_DISCONNECT_S, BluetoothLink
from custom_components.tesla_resilient.ble_messages import Category
from custom_components.tesla_resilient.errors import (
    CarAsleep,
    CarKeyMismatch,
    CarOutOfRange,
    CommandRejected,
    KeyNotPaired,
    LinkLost,
    UnsupportedCommand,
    UntrustedResponse,
)
from custom_components.tesla_resilient.keys import (
    is_car_local_name,
    local_name,
    public_key_bytes,
    vin_matches_local_name,
)
from custom_components.tesla_resilient.protocol import session_info_tag
from custom_components.tesla_resilient.router import Delivery
from custom_components.tesla_resilient.state import Field
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar

VECTORS = Path(__file__).parents[1] / "fixtures" / "tesla_protocol_vectors.json"


def _vector(name: str) -> dict[str, Any]:
    vectors = json.loads(VECTORS.read_text())["vectors"]
    return next(vector for vector in vectors if vector["id"] == name)


def _fire_after(hass: HomeAssistant, seconds: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


# -- names and tags ------------------------------------------------------------------------------


def test_local_name_matches_tesla_vector() -> None:
    vector = _vector("spec_ble_local_name")

    assert local_name(vector["vin"]) == vector["local_name"]
    assert vin_matches_local_name(vector["vin"], vector["local_name"][:-1] + "P")
    assert not vin_matches_local_name("5YJ3E7EB0NF000001", vector["local_name"])
    assert not is_car_local_name("Model 3")


def test_session_info_tag_matches_tesla_vector() -> None:
    vector = _vector("spec_handshake")

    tag = session_info_tag(
        bytes.fromhex(vector["shared_key_K"]),
        vector["vin"],
        bytes.fromhex(vector["request_uuid"]),
        bytes.fromhex(vector["session_info_bytes"]),
    )

    assert tag.hex() == vector["session_info_tag"]


# -- reading -------------------------------------------------------------------------------------


async def test_status_of_a_sleeping_car_does_not_wake_it(
    link: BluetoothLink, car: VirtualCar, ble_car: BleCar
) -> None:
    car.sleep_now()
    car.doors["pf"] = 1

    status = await link.async_status()

    assert status[Field.ASLEEP] is True
    assert status[Field.LOCKED] is True
    assert status[Field.DOOR_PF] is True
    assert status[Field.DOOR_DF] is False
    with pytest.raises(CarAsleep) as err:
        await link.async_read(Category.CHARGE)
    assert err.value.delivery is Delivery.NOT_SENT
    assert not car.wakes
    assert car.asleep
    assert sum(car.executions.values()) == 0


async def test_reads_each_category_while_awake(link: BluetoothLink, car: VirtualCar) -> None:
    car.charging = True
    car.shift_state = "D"
    car.speed_mph = 31
    car.windows["fd"] = 1

    charge = await link.async_read(Category.CHARGE)
    climate = await link.async_read(Category.CLIMATE)
    drive = await link.async_read(Category.DRIVE)
    location = await link.async_read(Category.LOCATION)
    closures = await link.async_read(Category.CLOSURES)
    tires = await link.async_read(Category.TIRE_PRESSURE)

    assert charge[Field.BATTERY_LEVEL] == car.battery_level
    assert charge[Field.CHARGE_LIMIT_SOC] == car.charge_limit_soc
    assert charge[Field.CHARGING_STATE] == "charging"
    assert charge[Field.CHARGING] is True
    assert charge[Field.CABLE_CONNECTED] is True
    assert charge[Field.CHARGE_PORT_LATCH_ENGAGED] is True
    assert climate[Field.INSIDE_TEMP] == pytest.approx(car.inside_temp_c)
    assert climate[Field.CLIMATE_ON] is False
    assert drive[Field.SHIFT_STATE] == "d"
    assert drive[Field.SPEED] == 31
    assert drive[Field.ODOMETER] == pytest.approx(car.odometer_mi)
    assert location[Field.LATITUDE] == pytest.approx(car.latitude)
    assert closures[Field.WINDOW_FD] is True
    assert closures[Field.SENTRY_MODE] is False
    assert tires[Field.TPMS_FL] == pytest.approx(car.tpms_bar["fl"])
    assert not car.wakes


# -- commands ------------------------------------------------------------------------------------


def _port_closed(car: VirtualCar) -> None:
    car.cable_connected = False
    car.charge_port_door_open = False


COMMAND_CASES: list[tuple[str, dict[str, Any], Any, Any]] = [
    ("door_unlock", {}, None, lambda car: car.locked is False),
    ("door_lock", {}, lambda car: setattr(car, "locked", False), lambda car: car.locked),
    ("actuate_trunk", {"which_trunk": "rear"}, None, lambda car: car.trunk_open),
    ("actuate_trunk", {"which_trunk": "front"}, None, lambda car: car.frunk_open),
    ("auto_conditioning_start", {}, None, lambda car: car.climate_on),
    (
        "auto_conditioning_stop",
        {},
        lambda car: setattr(car, "climate_on", True),
        lambda car: not car.climate_on,
    ),
    (
        "set_temps",
        {"driver_temp": 23.5, "passenger_temp": 22.0},
        None,
        lambda car: (car.driver_temp_setting_c, car.passenger_temp_setting_c) == (23.5, 22.0),
    ),
    ("charge_start", {}, None, lambda car: car.charging),
    ("charge_stop", {}, lambda car: setattr(car, "charging", True), lambda car: not car.charging),
    ("set_charge_limit", {"percent": 90}, None, lambda car: car.charge_limit_soc == 90),
    (
        "set_charging_amps",
        {"charging_amps": 12},
        None,
        lambda car: car.charge_current_request == 12,
    ),
    ("charge_port_door_open", {}, _port_closed, lambda car: car.charge_port_door_open),
    (
        "charge_port_door_close",
        {},
        lambda car: setattr(car, "cable_connected", False),
        lambda car: not car.charge_port_door_open,
    ),
    ("unlock_charge_port", {}, _port_closed, lambda car: car.charge_port_door_open),
    ("flash_lights", {}, None, lambda car: car.executions["ble:flash_lights"] == 1),
    ("honk_horn", {}, None, lambda car: car.executions["ble:honk_horn"] == 1),
    ("set_sentry_mode", {"on": True}, None, lambda car: car.sentry_mode),
    ("window_control", {"command": "vent"}, None, lambda car: car.windows["fd"] == 1),
    ("wake_up", {}, lambda car: car.sleep_now(), lambda car: car.wakes["ble"] == 1),
]


@pytest.mark.parametrize(
    ("name", "params", "prepare", "changed"),
    COMMAND_CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(COMMAND_CASES)],
)
async def test_every_command_changes_the_car(
    link: BluetoothLink,
    car: VirtualCar,
    name: str,
    params: dict[str, Any],
    prepare: Any,
    changed: Any,
) -> None:
    if prepare is not None:
        prepare(car)
    assert not changed(car)

    await link.async_command(name, **params)

    assert changed(car)


async def test_infotainment_command_wakes_a_sleeping_car_first(
    link: BluetoothLink, car: VirtualCar
) -> None:
    car.wake_duration_s = 0
    car.sleep_now()

    await link.async_command("auto_conditioning_start")

    assert car.climate_on
    assert car.wakes["ble"] == 1


async def test_refusal_is_rejected_and_a_benign_one_is_not(
    link: BluetoothLink, car: VirtualCar
) -> None:
    car.cable_connected = False
    with pytest.raises(CommandRejected) as err:
        await link.async_command("charge_start")
    assert err.value.delivery is Delivery.REJECTED
    assert err.value.reason == "not_plugged_in"

    await link.async_command("charge_stop")


async def test_unknown_command_is_not_sent(link: BluetoothLink, ble_car: BleCar) -> None:
    with pytest.raises(UnsupportedCommand) as err:
        await link.async_command("remote_boombox")

    assert err.value.delivery is Delivery.NOT_SENT
    assert ble_car.handshakes == 0


async def test_session_is_reused_and_connection_released_when_idle(
    hass: HomeAssistant, link: BluetoothLink, car: VirtualCar, ble_car: BleCar
) -> None:
    for index in range(50):
        await link.async_command("door_lock" if index % 2 else "door_unlock")
        await link.async_command("set_charge_limit", percent=60 + index % 2 * 20)

    assert car.executions["ble:door_lock"] == 25
    assert car.executions["ble:set_charge_limit"] == 50
    assert ble_car.handshakes <= 2
    assert ble_car.connections == 1

    _fire_after(hass, IDLE_DISCONNECT_S + 1)
    await hass.async_block_till_done()
    assert ble_car.connections == 0

    await link.async_command("door_unlock")
    assert not car.locked
    assert ble_car.handshakes <= 2


async def test_car_reboot_starts_a_new_epoch_and_commands_keep_working(
    link: BluetoothLink, car: VirtualCar, ble_car: BleCar
) -> None:
    await link.async_command("door_unlock")
    await link.async_command("set_charge_limit", percent=70)
    old_epoch = ble_car.epoch

    ble_car.reboot()
    await link.async_command("door_lock")
    await link.async_command("set_charge_limit", percent=85)

    assert ble_car.epoch != old_epoch
    assert car.locked
    assert car.charge_limit_soc == 85
    assert car.executions["ble:door_lock"] == 1


async def test_counter_resynchronises_after_another_client_used_the_key(
    hass: HomeAssistant, link: BluetoothLink, car: VirtualCar, ble_car: BleCar, paired_key: str
) -> None:
    other = BluetoothLink(hass, car.vin, paired_key, ble_car.public_key)
    try:
        await link.async_status()
        await other.async_status()
        await link.async_command("door_unlock")

        await other.async_command("door_lock")
        await link.async_command("door_unlock")
    finally:
        await other.async_close()

    assert car.executions["ble:door_unlock"] == 2
    assert car.executions["ble:door_lock"] == 1
    assert not car.locked


async def test_command_expired_by_the_car_clock_is_signed_again(
    link: BluetoothLink, car: VirtualCar, clock: FakeClock
) -> None:
    await link.async_command("door_unlock")
    clock.advance(600)

    await link.async_command("door_lock")

    assert car.locked
    assert car.executions["ble:door_lock"] == 1


# -- keys ----------------------------------------------------------------------------------------


async def test_removed_key_raises_key_not_paired(
    link: BluetoothLink, car: VirtualCar, ble_car: BleCar, paired_key: str
) -> None:
    await link.async_status()
    ble_car.remove_key(public_key_bytes(paired_key))

    with pytest.raises(KeyNotPaired) as err:
        await link.async_command("door_unlock")

    assert err.value.delivery is Delivery.NOT_SENT
    assert car.locked


async def test_unpaired_key_raises_key_not_paired(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    private_key_pem: str,
) -> None:
    link = BluetoothLink(hass, car.vin, private_key_pem, ble_car.public_key)
    try:
        with pytest.raises(KeyNotPaired):
            await link.async_status()
    finally:
        await link.async_close()


async def test_car_answering_with_another_key_is_refused(
    hass: HomeAssistant,
    car: VirtualCar,
    ble_car: BleCar,
    ha_bluetooth: None,
    ble_no_backoff: None,
    paired_key: str,
) -> None:
    impostor = BleCar(car, private_key=ec.generate_private_key(ec.SECP256R1()))
    impostor.add_known_key(public_key_bytes(paired_key))
    proxy = SimulatedBluetoothProxy(hass, impostor)
    await proxy.async_start()
    link = BluetoothLink(hass, car.vin, paired_key, ble_car.public_key)
    try:
        with pytest.raises(CarKeyMismatch):
            await link.async_status()
        with pytest.raises(CarKeyMismatch) as err:
            await link.async_command("door_unlock")
    finally:
        await link.async_close()
        await proxy.async_stop()

    assert err.value.delivery is Delivery.NOT_SENT
    assert link.refused
    assert car.locked
    assert sum(car.executions.values()) == 0
    assert impostor.handshakes == 1


async def test_session_info_with_a_wrong_tag_is_refused(
    link: BluetoothLink, car: VirtualCar
) -> None:
    with (
        patch("simulator.ble_crypto.session_info_tag", return_value=bytes(32)),
        pytest.raises(UntrustedResponse) as err,
    ):
        await link.async_command("door_unlock")

    assert err.value.delivery is Delivery.NOT_SENT
    assert car.locked
    assert not link.refused


# -- range and connection ------------------------------------------------------------------------


async def test_out_of_range_and_back(
    hass: HomeAssistant,
    link: BluetoothLink,
    car: VirtualCar,
    ble_proxy: SimulatedBluetoothProxy,
) -> None:
    await link.async_command("door_unlock")
    assert link.in_range
    assert link.rssi == ble_proxy.rssi
    assert link.address == ble_proxy.address

    ble_proxy.in_range = False
    with pytest.raises(CarOutOfRange) as err:
        await link.async_command("door_lock")
    assert err.value.delivery is Delivery.NOT_SENT

    _fire_after(hass, CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS + 1)
    _fire_after(
        hass, CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS + UNAVAILABLE_TRACK_SECONDS
    )
    await hass.async_block_till_done()
    assert not link.in_range
    with pytest.raises(CarOutOfRange):
        await link.async_status()
    assert not car.locked

    ble_proxy.in_range = True
    await link.async_command("door_lock")

    assert link.in_range
    assert car.locked


async def test_connection_lost_after_the_write_may_have_delivered(
    link: BluetoothLink, car: VirtualCar, ble_proxy: SimulatedBluetoothProxy
) -> None:
    await link.async_status()

    def drive_away() -> None:
        ble_proxy.in_range = False

    car.listeners.append(drive_away)
    with pytest.raises(LinkLost) as err:
        await link.async_command("door_unlock")

    assert err.value.delivery is Delivery.MAYBE_DELIVERED
    assert not car.locked
