"""The pairing half of the Bluetooth fault matrix: radio and car faults while the owner taps.

Each cell starts pairing from the discovery card, puts one fault on the radio or the car five
seconds into the wait, has the owner tap the key card at 20 s and lifts the fault at 30 s. The
flow either creates the entry or says, translated, why it could not; a retry then finishes at
once because the key is on the car by then. The key on the car is the entry's, and no secret
reaches a log (the secret guard watches every run).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_BLUETOOTH
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.tesla_resilient.ble import DEFAULT_MTU
from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.keys import public_key_bytes
from custom_components.tesla_resilient.pairing import CONF_PRIVATE_KEY, CONF_VIN
from simulator.ble_car import BleCar, Busy
from simulator.ble_proxy import CONNECTION_SLOTS, NEGOTIATED_MTU, LinkFault, SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar
from tests.faults.harness import Cell
from tests.integration_ble.conftest import flow_progressed
from tests.sim_time import SimulatedTime

STRINGS: Final = Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json"
FLOW_ERRORS: Final = frozenset(json.loads(STRINGS.read_text())["config"]["error"])

FAULT_AT_S: Final = 5
TAP_AT_S: Final = 20
LIFT_AT_S: Final = 30
PATIENCE_S: Final = 150


@dataclass
class PairingRig:
    """Home Assistant, the car and its radio on one simulated clock, with steps at set seconds."""

    car: VirtualCar
    ble_car: BleCar
    proxy: SimulatedBluetoothProxy
    time: SimulatedTime
    steps: dict[int, Callable[[], None]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.time.on_tick += [self.ble_car.tick, self._run_due_step]

    def _run_due_step(self) -> None:
        if (step := self.steps.pop(int(self.time.elapsed), None)) is not None:
            step()

    @property
    def elapsed(self) -> int:
        return int(self.time.elapsed)


@dataclass(frozen=True)
class PairingFault:
    """One fault while the owner is asked to tap, and what the flow may say under it."""

    name: str
    start: Callable[[PairingRig], None]
    stop: Callable[[PairingRig], None]
    errors: frozenset[str] = frozenset()
    """Flow errors that may end the first attempt (none: it must pair)."""


def _nothing(_rig: PairingRig) -> None:
    return None


def _set(**values: Any) -> Callable[[PairingRig], None]:
    def apply(rig: PairingRig) -> None:
        for path, value in values.items():
            target, name = path.split("__")
            setattr(getattr(rig, target), name, value)

    return apply


def _drop(rig: PairingRig) -> None:
    rig.proxy.drop_links()


def _reboot(rig: PairingRig) -> None:
    rig.proxy.drop_links()
    rig.ble_car.reboot()


def _take_slots(rig: PairingRig) -> None:
    rig.proxy.drop_links()
    rig.proxy.occupy_slots(CONNECTION_SLOTS)


def _free_slots(rig: PairingRig) -> None:
    rig.proxy.occupy_slots(0)


def _cut_mid_reply(rig: PairingRig) -> None:
    rig.proxy.mtu = DEFAULT_MTU
    rig.proxy.drop_links()
    rig.proxy.on_cut = rig.ble_car.reboot
    rig.proxy.fault = LinkFault.CUT_MID_REPLY


def _no_cut(rig: PairingRig) -> None:
    rig.proxy.fault = None
    rig.proxy.on_cut = None
    rig.proxy.mtu = NEGOTIATED_MTU


FAULTS: Final = (
    PairingFault("no-fault", _nothing, _nothing),
    PairingFault(
        "out-of-range",
        _set(proxy__in_range=False),
        _set(proxy__in_range=True),
        errors=frozenset({"out_of_range", "bluetooth_cannot_connect"}),
    ),
    PairingFault("link-drops", _drop, _nothing),
    PairingFault("car-reboot", _reboot, _nothing),
    PairingFault(
        "garbled-replies",
        _set(proxy__fault=LinkFault.GARBLE_REPLIES),
        _set(proxy__fault=None),
    ),
    PairingFault(
        "slots-taken",
        _take_slots,
        _free_slots,
        errors=frozenset({"no_connection_slot", "bluetooth_cannot_connect"}),
    ),
    PairingFault("busy", _set(ble_car__busy=Busy.WAIT), _set(ble_car__busy=None)),
    PairingFault("reboot-mid-reply", _cut_mid_reply, _no_cut),
)


async def _pair(rig: PairingRig, flow_id: str) -> dict[str, Any]:
    """Submit the pair step and wait for the flow to say how it went.

    Time starts to pass once the car holds the request (the key is generated off the event
    loop first), so the fault meets a pairing under way.
    """
    flows = rig.time.hass.config_entries.flow
    done = flow_progressed(rig.time.hass, flow_id)
    result = await flows.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await rig.time.hold(lambda: rig.ble_car.awaiting_tap or done.is_set())
        await rig.time.wait_for(done.wait())
        result = await flows.async_configure(flow_id)
    return dict(result)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.name for fault in FAULTS])
async def test_bluetooth_pairing_fault(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    clock: FakeClock,
    car: VirtualCar,
    ble_car: BleCar,
    ble_proxy: SimulatedBluetoothProxy,
    cell: Cell,
    fault: PairingFault,
) -> None:
    rig = PairingRig(
        car, ble_car, ble_proxy, SimulatedTime(hass, clock, freezer, patience_s=PATIENCE_S)
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_BLUETOOTH
    flow_id = flow["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_VIN: car.vin})
    assert result["step_id"] == "pair"
    ble_car.tap_after_s = TAP_AT_S
    rig.steps = {FAULT_AT_S: lambda: fault.start(rig), LIFT_AT_S: lambda: fault.stop(rig)}

    result = await _pair(rig, flow_id)

    if result["type"] is FlowResultType.FORM:
        error = result["errors"]["base"]
        cell.check(result["step_id"] == "pair_failed", f"flow stopped at {result['step_id']}")
        cell.check(error in FLOW_ERRORS, f"error {error!r} has no text in strings.json")
        cell.check(error in fault.errors, f"error {error!r} does not tell this fault")
        # The owner taps anyway at 20 s (the car's request is still open), then tries again.
        while rig.elapsed < LIFT_AT_S:
            rig.time.tick()
        cell.check(len(ble_car.known_keys) == 1, "the late tap did not put the key on the car")
        retry_from = rig.elapsed
        result = await _pair(rig, flow_id)
        cell.check(rig.elapsed - retry_from <= 1, "the retry did not finish at once")
    else:
        cell.check(FAULT_AT_S not in rig.steps, "pairing ended before the fault began")
        for second in sorted(rig.steps):
            rig.steps.pop(second)()
    cell.check(result["type"] is FlowResultType.CREATE_ENTRY, f"no entry: {result}")
    if result["type"] is FlowResultType.CREATE_ENTRY:
        key = public_key_bytes(result["data"][CONF_PRIVATE_KEY])
        cell.check(ble_car.known_keys == {key}, "the car holds another key than the entry")
        cell.check(result["data"]["car_public_key"] == ble_car.public_key.hex(), "wrong car key")
    cell.check(len(hass.config_entries.async_entries(DOMAIN)) == 1, "not exactly one entry")
