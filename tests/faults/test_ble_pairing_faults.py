"""The pairing half of the Bluetooth fault matrix: radio and car faults while the owner taps.

Each cell starts pairing from the discovery card, puts one fault on the radio or the car five
seconds into the wait, has the owner tap the key card at 20 s and lifts the fault at 30 s. The
flow either creates the entry or says, translated, why it could not; a retry then finishes at
once because the key is on the car by then. The key on the car is the entry's, and no secret
reaches a log (the secret guard watches every run).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_BLUETOOTH
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.tesla_resilient.ble import DEFAULT_MTU
from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.keys import public_key_bytes
from custom_components.tesla_resilient.pairing import CONF_PRIVATE_KEY, CONF_VIN
from simulator.ble_car import BleCar, Busy
from simulator.ble_proxy import CONNECTION_SLOTS, NEGOTIATED_MTU, LinkFault, SimulatedBluetoothProxy
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar
from tests.faults.harness import Cell

STRINGS: Final = Path(__file__).parents[2] / "custom_components" / DOMAIN / "strings.json"
FLOW_ERRORS: Final = frozenset(json.loads(STRINGS.read_text())["config"]["error"])

FAULT_AT_S: Final = 5
TAP_AT_S: Final = 20
LIFT_AT_S: Final = 30
PATIENCE_S: Final = 150
SPINS_PER_SECOND: Final = 200


@dataclass
class PairingRig:
    """Home Assistant, the car and its radio on one simulated clock."""

    hass: HomeAssistant
    car: VirtualCar
    ble_car: BleCar
    proxy: SimulatedBluetoothProxy
    clock: FakeClock
    freezer: FrozenDateTimeFactory
    elapsed: int = 0

    def tick(self) -> None:
        self.clock.advance(1)
        self.freezer.tick(timedelta(seconds=1))
        self.elapsed += 1
        self.ble_car.tick()
        async_fire_time_changed(self.hass)

    async def wait_for[T](
        self, awaitable: Awaitable[T], at: dict[int, Callable[[], Awaitable[None]]]
    ) -> T:
        """Await while time passes; run `at[second]` when that second comes."""
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        for _ in range(PATIENCE_S):
            for _ in range(SPINS_PER_SECOND):
                if task.done():
                    return task.result()
                await asyncio.sleep(0)
            self.tick()
            if (step := at.pop(self.elapsed, None)) is not None:
                await step()
        task.cancel()
        raise AssertionError(f"still waiting after {PATIENCE_S} s")


@dataclass(frozen=True)
class PairingFault:
    """One fault while the owner is asked to tap, and what the flow may say under it."""

    name: str
    start: Callable[[PairingRig], Awaitable[None]]
    stop: Callable[[PairingRig], Awaitable[None]]
    errors: frozenset[str] = frozenset()
    """Flow errors that may end the first attempt (none: it must pair)."""


async def _nothing(_rig: PairingRig) -> None:
    return None


def _set(**values: Any) -> Callable[[PairingRig], Awaitable[None]]:
    async def apply(rig: PairingRig) -> None:
        for path, value in values.items():
            target, name = path.split("__")
            setattr(getattr(rig, target), name, value)

    return apply


async def _drop(rig: PairingRig) -> None:
    rig.proxy.drop_links()


async def _reboot(rig: PairingRig) -> None:
    rig.proxy.drop_links()
    rig.ble_car.reboot()


async def _take_slots(rig: PairingRig) -> None:
    rig.proxy.drop_links()
    rig.proxy.occupy_slots(CONNECTION_SLOTS)


async def _free_slots(rig: PairingRig) -> None:
    rig.proxy.occupy_slots(0)


async def _cut_mid_reply(rig: PairingRig) -> None:
    rig.proxy.mtu = DEFAULT_MTU
    rig.proxy.drop_links()
    rig.proxy.on_cut = rig.ble_car.reboot
    rig.proxy.fault = LinkFault.CUT_MID_REPLY


async def _no_cut(rig: PairingRig) -> None:
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


def _progressed(hass: HomeAssistant, flow_id: str) -> asyncio.Event:
    done = asyncio.Event()

    @callback
    def _on_event(event: Event) -> None:
        if event.data.get("flow_id") == flow_id:
            done.set()

    hass.bus.async_listen(EVENT_DATA_ENTRY_FLOW_PROGRESSED, _on_event)
    return done


async def _pair(rig: PairingRig, flow_id: str, at: dict[int, Any]) -> dict[str, Any]:
    """Submit the pair step and wait for the flow to say how it went."""
    flows = rig.hass.config_entries.flow
    done = _progressed(rig.hass, flow_id)
    result = await flows.async_configure(flow_id, {})
    if result["type"] is FlowResultType.SHOW_PROGRESS:
        await rig.wait_for(done.wait(), at)
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
    rig = PairingRig(hass, car, ble_car, ble_proxy, clock, freezer)
    await hass.async_block_till_done(wait_background_tasks=True)
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == SOURCE_BLUETOOTH
    flow_id = flow["flow_id"]
    result = await hass.config_entries.flow.async_configure(flow_id, {CONF_VIN: car.vin})
    assert result["step_id"] == "pair"
    ble_car.tap_after_s = TAP_AT_S
    steps = {FAULT_AT_S: lambda: fault.start(rig), LIFT_AT_S: lambda: fault.stop(rig)}

    result = await _pair(rig, flow_id, steps)

    if result["type"] is FlowResultType.FORM:
        error = result["errors"]["base"]
        cell.check(result["step_id"] == "pair_failed", f"flow stopped at {result['step_id']}")
        cell.check(error in FLOW_ERRORS, f"error {error!r} has no text in strings.json")
        cell.check(error in fault.errors, f"error {error!r} does not tell this fault")
        # The owner taps anyway at 20 s (the car's request is still open), then tries again.
        while rig.elapsed < LIFT_AT_S:
            rig.tick()
            if (step := steps.pop(rig.elapsed, None)) is not None:
                await step()
        cell.check(len(ble_car.known_keys) == 1, "the late tap did not put the key on the car")
        retry_from = rig.elapsed
        result = await _pair(rig, flow_id, {})
        cell.check(rig.elapsed - retry_from <= 1, "the retry did not finish at once")
    else:
        cell.check(FAULT_AT_S not in steps, "pairing ended before the fault began")
        for step in sorted(steps):
            await steps.pop(step)()
    cell.check(result["type"] is FlowResultType.CREATE_ENTRY, f"no entry: {result}")
    if result["type"] is FlowResultType.CREATE_ENTRY:
        key = public_key_bytes(result["data"][CONF_PRIVATE_KEY])
        cell.check(ble_car.known_keys == {key}, "the car holds another key than the entry")
        cell.check(result["data"]["car_public_key"] == ble_car.public_key.hex(), "wrong car key")
    cell.check(len(hass.config_entries.async_entries(DOMAIN)) == 1, "not exactly one entry")
