"""The Bluetooth half of the fault matrix: radio and protocol faults, crossed with three actions.

Each cell sets up a car paired over Bluetooth alone (no cloud account, so Bluetooth is the only
path), puts one fault on the radio or the car, lets the user do one thing (read the car, lock it,
honk), then lifts the fault and checks that everything recovers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Final

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import LockState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_LOCK,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.ble import DEFAULT_MTU
from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.keys import public_key_bytes
from simulator.ble_car import MAX_FRAME_BYTES, BleCar, Busy
from simulator.ble_proxy import (
    CONNECTION_SLOTS,
    NEGOTIATED_MTU,
    LinkFault,
    SimulatedBluetoothProxy,
)
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar
from tests.faults.harness import Cell
from tests.integration.common import entity_id, state_of
from tests.integration.conftest import bluetooth, sim_clock
from tests.scenarios.conftest import bluetooth_entry, paired_key, set_up
from tests.sim_time import SimulatedTime

__all__ = ["bluetooth", "bluetooth_entry", "paired_key", "sim_clock"]

LOCK_DOMAIN: Final = Platform.LOCK
BUTTON_DOMAIN: Final = Platform.BUTTON
SERVICE_PRESS: Final = "press"

STRINGS: Final = Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json"
EXCEPTION_KEYS: Final = frozenset(json.loads(STRINGS.read_text())["exceptions"])

PATIENCE_S: Final = 120
"""Simulated seconds a user waits for one action before the cell counts it as hung."""

READ_EVERY_S: Final = 61.0
"""Time that makes the next Bluetooth poll read infotainment too, while someone is in the car."""

NOT_RUN_KEYS: Final = frozenset(
    {
        "bluetooth_out_of_range",
        "bluetooth_no_connection_slot",
        "bluetooth_cannot_connect",
        "bluetooth_command_rejected",
        "bluetooth_busy",
        "bluetooth_key_not_paired",
        "bluetooth_car_asleep",
        "no_route",
    }
)
"""Errors that tell the user the car did not run the command."""


@dataclass
class Rig:
    """What a cell acts on: Home Assistant, the car, its radio and the paired key."""

    hass: HomeAssistant
    car: VirtualCar
    ble_car: BleCar
    proxy: SimulatedBluetoothProxy
    key: bytes
    clock: FakeClock
    freezer: FrozenDateTimeFactory

    def __post_init__(self) -> None:
        self.time = SimulatedTime(self.hass, self.clock, self.freezer, patience_s=PATIENCE_S)

    def tick(self, seconds: float) -> None:
        """Move the car's clock and Home Assistant's time, and run what fell due."""
        self.time.tick(seconds)

    async def wait_for[T](self, awaitable: Awaitable[T]) -> T:
        """Await something while time passes, a simulated second at a time, as for a user."""
        return await self.time.wait_for(awaitable)

    async def advance(self, seconds: float) -> None:
        """Let `seconds` pass and everything they set off finish."""
        await self.wait_for(self.hass.async_block_till_done(wait_background_tasks=True))
        self.tick(seconds)
        await self.wait_for(self.hass.async_block_till_done(wait_background_tasks=True))


@dataclass(frozen=True)
class Fault:
    """One fault: how it starts, how it ends, and whether the link is expected to ride it out."""

    name: str
    start: Callable[[Rig], Awaitable[None]]
    stop: Callable[[Rig], Awaitable[None]]
    rides_out: bool
    """Whether actions succeed despite the fault (the link recovers on its own)."""
    errors: frozenset[str] = frozenset()
    """The errors a failed command may tell the user under this fault."""
    commands_ride_out: bool | None = None
    """Whether commands succeed despite the fault, where that differs from reads."""
    allowed_errors: tuple[str, ...] = ()


async def _nothing(_rig: Rig) -> None:
    return None


async def _leave_range(rig: Rig) -> None:
    rig.proxy.in_range = False


async def _come_back(rig: Rig) -> None:
    rig.proxy.in_range = True


def _link_fault(fault: LinkFault) -> Callable[[Rig], Awaitable[None]]:
    async def start(rig: Rig) -> None:
        rig.proxy.fault = fault

    return start


async def _clear_link_fault(rig: Rig) -> None:
    rig.proxy.fault = None


def _busy(kind: Busy) -> Callable[[Rig], Awaitable[None]]:
    async def start(rig: Rig) -> None:
        rig.ble_car.busy = kind

    return start


async def _not_busy(rig: Rig) -> None:
    rig.ble_car.busy = None


async def _remove_key(rig: Rig) -> None:
    rig.ble_car.remove_key(rig.key)


async def _restore_key(rig: Rig) -> None:
    rig.ble_car.add_known_key(rig.key)


async def _reboot(rig: Rig) -> None:
    rig.proxy.drop_links()
    rig.ble_car.reboot()


async def _skew_counters(rig: Rig) -> None:
    rig.ble_car.skew_counters(1000)


async def _replay(rig: Rig) -> None:
    rig.ble_car.replay_replies = True


async def _no_replay(rig: Rig) -> None:
    rig.ble_car.replay_replies = False


def _oversized(length: int) -> Callable[[Rig], Awaitable[None]]:
    async def start(rig: Rig) -> None:
        rig.ble_car.oversized_length = length

    return start


async def _normal_frames(rig: Rig) -> None:
    rig.ble_car.oversized_length = None


async def _reboot_mid_reply(rig: Rig) -> None:
    # At the smallest packet size every answer spans several indications.
    rig.proxy.mtu = DEFAULT_MTU
    rig.proxy.drop_links()
    rig.proxy.on_cut = rig.ble_car.reboot
    rig.proxy.fault = LinkFault.CUT_MID_REPLY


async def _no_cut(rig: Rig) -> None:
    assert rig.proxy.fault is None, "no answer was cut short: the cell tested nothing"
    rig.proxy.on_cut = None
    rig.proxy.mtu = NEGOTIATED_MTU


async def _take_slots(rig: Rig) -> None:
    rig.proxy.drop_links()
    rig.proxy.occupy_slots(CONNECTION_SLOTS)


async def _free_slots(rig: Rig) -> None:
    rig.proxy.occupy_slots(0)


LINK_LOST: Final = frozenset({"command_unconfirmed", "bluetooth_link_lost"})
"""A link lost during a command: the car may have run it."""
BUSY: Final = frozenset({"bluetooth_busy"})
"""The car answered that it is busy and ran nothing."""
UNTRUSTED: Final = frozenset(
    {"command_unconfirmed", "bluetooth_untrusted_response", "bluetooth_timeout"}
)
"""An answer that cannot be believed: the car may have run the command."""

FAULTS: Final = (
    Fault(
        "out-of-range",
        _leave_range,
        _come_back,
        rides_out=False,
        errors=frozenset({"bluetooth_out_of_range", "bluetooth_cannot_connect"}),
    ),
    Fault(
        "drop-mid-write",
        _link_fault(LinkFault.DROP_MID_WRITE),
        _clear_link_fault,
        rides_out=False,
        errors=LINK_LOST,
    ),
    Fault(
        "drop-before-reply",
        _link_fault(LinkFault.DROP_BEFORE_REPLY),
        _clear_link_fault,
        rides_out=False,
        errors=LINK_LOST,
    ),
    Fault("busy-wait", _busy(Busy.WAIT), _not_busy, rides_out=False, errors=BUSY),
    Fault("busy-fault", _busy(Busy.FAULT), _not_busy, rides_out=False, errors=BUSY),
    Fault(
        "key-removed",
        _remove_key,
        _restore_key,
        rides_out=False,
        errors=frozenset({"bluetooth_key_not_paired"}),
        allowed_errors=("no longer knows Home Assistant's Bluetooth key",),
    ),
    Fault("car-reboot", _reboot, _nothing, rides_out=True),
    Fault("counter-out-of-step", _skew_counters, _nothing, rides_out=True),
    # An earlier answer replayed before each genuine one fails authentication (its request hash
    # is another request's), so it is dropped and the genuine answer that follows is taken.
    Fault("replayed-reply", _replay, _no_replay, rides_out=True),
    Fault(
        "garbled-reply",
        _link_fault(LinkFault.GARBLE_REPLIES),
        _clear_link_fault,
        rides_out=False,
        errors=UNTRUSTED,
    ),
    # The car restarts while its answer spans several indications: the rest never comes, the
    # link drops and the session is gone. A read is repeated once after such a drop.
    # A command's answer cut short may have followed the command: it is reported unconfirmed.
    Fault(
        "reboot-mid-reply",
        _reboot_mid_reply,
        _no_cut,
        rides_out=True,
        errors=LINK_LOST,
        commands_ride_out=False,
    ),
    Fault("oversized-frame", _oversized(MAX_FRAME_BYTES + 1), _normal_frames, rides_out=True),
    Fault("impossible-frame", _oversized(0xFFFF), _normal_frames, rides_out=True),
    Fault(
        "slots-taken",
        _take_slots,
        _free_slots,
        rides_out=False,
        errors=frozenset({"bluetooth_no_connection_slot"}),
    ),
)


class Action(Enum):
    """What the user does while the fault lasts."""

    READ = "read"
    LOCK = "lock"
    HONK = "honk"


def _honks(car: VirtualCar) -> int:
    return car.executions["ble:honk_horn"] + car.executions["cloud:honk_horn"]


def _locks(car: VirtualCar) -> int:
    return car.executions["ble:door_lock"] + car.executions["cloud:door_lock"]


def _shown(hass: HomeAssistant, platform: str, key: str) -> str:
    return str(state_of(hass, platform, key).state)


async def _call(rig: Rig, domain: str, service: str, entity: str) -> HomeAssistantError | None:
    call: Awaitable[Any] = rig.hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity}, blocking=True
    )
    try:
        await rig.wait_for(call)
    except HomeAssistantError as err:
        return err
    return None


def _check_error(cell: Cell, fault: Fault, err: HomeAssistantError) -> None:
    cell.check(err.translation_domain == DOMAIN, f"error not translated by {DOMAIN}: {err!r}")
    cell.check(
        err.translation_key in EXCEPTION_KEYS,
        f"error key {err.translation_key!r} not in strings.json exceptions",
    )
    cell.check(
        err.translation_key in fault.errors,
        f"error {err.translation_key!r} does not tell this fault; expected one of "
        f"{sorted(fault.errors)}",
    )


def _key_issue(hass: HomeAssistant) -> bool:
    return any(
        domain == DOMAIN and issue_id.startswith("key_not_paired")
        for domain, issue_id in ir.async_get(hass).issues
    )


async def _read(rig: Rig, cell: Cell, fault: Fault) -> None:
    hass, car = rig.hass, rig.car
    before = _shown(hass, "sensor", "battery_level")
    car.battery_level -= 7
    after = str(car.battery_level)

    await rig.advance(READ_EVERY_S)

    shown = _shown(hass, "sensor", "battery_level")
    link = _shown(hass, "binary_sensor", "bluetooth")
    cell.check(shown in (before, after), f"battery shows {shown}, neither {before} nor {after}")
    # "Bluetooth connection" says whether the car answers; one category may fail while the
    # car answers the rest, so only fresh values pin the sensor down.
    if shown == after:
        cell.check(link == "on", f"fresh values read but the Bluetooth sensor is {link}")
    if fault.rides_out:
        cell.check(shown == after, f"read did not ride out the fault: battery shows {shown}")
    else:
        cell.check(shown == before, f"read under the fault showed {shown}")
    cell.check(
        state_of(hass, "lock", "doors").state == LockState.UNLOCKED,
        "the lock changed although nobody locked the car",
    )
    if fault.name == "key-removed":
        cell.check(_key_issue(hass), "no repair issue tells that the car dropped the key")


def _commands_ride_out(fault: Fault) -> bool:
    return fault.rides_out if fault.commands_ride_out is None else fault.commands_ride_out


async def _lock(rig: Rig, cell: Cell, fault: Fault) -> None:
    hass, car = rig.hass, rig.car
    runs = _locks(car)
    err = await _call(rig, LOCK_DOMAIN, SERVICE_LOCK, entity_id(hass, "lock", "doors"))
    ran = _locks(car) - runs
    cell.executions("door_lock", ran)
    shown = _shown(hass, "lock", "doors")
    if err is None:
        cell.check(car.locked, "lock reported success but the car is unlocked")
        cell.check(shown == LockState.LOCKED, f"lock succeeded but the entity shows {shown}")
        cell.check(_commands_ride_out(fault), "lock succeeded although the fault should stop it")
        return
    _check_error(cell, fault, err)
    cell.check(
        not _commands_ride_out(fault), f"lock failed although the link should ride it out: {err!r}"
    )
    cell.check(shown != LockState.LOCKED or car.locked, "entity shows locked, the car is not")
    cell.check(shown in (LockState.LOCKED, LockState.UNLOCKED), f"lock entity shows {shown}")
    if err.translation_key in NOT_RUN_KEYS:
        cell.check(ran == 0, f"error {err.translation_key} says not run, but the car locked")


async def _honk(rig: Rig, cell: Cell, fault: Fault) -> None:
    hass, car = rig.hass, rig.car
    runs = _honks(car)
    err = await _call(rig, BUTTON_DOMAIN, SERVICE_PRESS, entity_id(hass, "button", "honk"))
    ran = _honks(car) - runs
    cell.executions("honk_horn", ran)
    if err is None:
        cell.check(ran == 1, f"honk reported success but the car honked {ran} times")
        cell.check(_commands_ride_out(fault), "honk succeeded although the fault should stop it")
        return
    _check_error(cell, fault, err)
    cell.check(
        not _commands_ride_out(fault), f"honk failed although the link should ride it out: {err!r}"
    )
    if err.translation_key in NOT_RUN_KEYS:
        cell.check(ran == 0, f"error {err.translation_key} says not run, but the car honked")


ACTIONS: Final[dict[Action, Callable[[Rig, Cell, Fault], Awaitable[None]]]] = {
    Action.READ: _read,
    Action.LOCK: _lock,
    Action.HONK: _honk,
}


async def _recovers(rig: Rig, cell: Cell) -> None:
    """After the fault: the next poll shows the truth, and both kinds of command work."""
    hass, car = rig.hass, rig.car
    car.locked = False
    car.battery_level -= 3
    await rig.advance(READ_EVERY_S)
    cell.check(_shown(hass, "binary_sensor", "bluetooth") == "on", "Bluetooth did not come back")
    battery = _shown(hass, "sensor", "battery_level")
    cell.check(battery == str(car.battery_level), f"after recovery battery shows {battery}")
    lock = _shown(hass, "lock", "doors")
    cell.check(lock == LockState.UNLOCKED, f"after recovery the lock shows {lock}, car unlocked")
    cell.check(not _key_issue(hass), "the key repair issue outlived the fault")

    err = await _call(rig, LOCK_DOMAIN, SERVICE_LOCK, entity_id(hass, "lock", "doors"))
    cell.check(err is None, f"lock after recovery failed: {err!r}")
    cell.check(car.locked, "lock after recovery did not lock the car")
    cell.check(_shown(hass, "lock", "doors") == LockState.LOCKED, "lock after recovery not shown")

    honks = _honks(car)
    err = await _call(rig, BUTTON_DOMAIN, SERVICE_PRESS, entity_id(hass, "button", "honk"))
    cell.check(err is None, f"honk after recovery failed: {err!r}")
    cell.check(_honks(car) == honks + 1, f"honk after recovery ran {_honks(car) - honks} times")


@pytest.mark.parametrize("action", list(Action), ids=[action.value for action in Action])
@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
async def test_bluetooth_fault(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    freezer: FrozenDateTimeFactory,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    paired_key: str,
    bluetooth_entry: MockConfigEntry,
    cell: Cell,
    fault: Fault,
    action: Action,
) -> None:
    cell.allowed_errors = fault.allowed_errors
    car.user_present = True
    car.locked = False
    await set_up(hass, bluetooth_entry)
    assert _shown(hass, "binary_sensor", "bluetooth") == "on"
    assert _shown(hass, "sensor", "battery_level") == str(car.battery_level)
    assert _shown(hass, "lock", "doors") == LockState.UNLOCKED
    rig = Rig(hass, car, ble_car, ble_proxy, public_key_bytes(paired_key), sim_clock, freezer)

    await fault.start(rig)
    await ACTIONS[action](rig, cell, fault)
    await fault.stop(rig)

    await _recovers(rig, cell)
