"""The first command after the cloud silently stopped answering, until the car confirms it."""

from __future__ import annotations

import random
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.helpers import entity_registry as er

from bench.figures import Figure
from bench.outages import LIMIT_S, SEED, NeverHappened, summary
from bench.resilient import (
    CLOUD_ENTITY,
    DOMAIN,
    EntityWatch,
    loaded_account,
    lock_call,
    lock_entity,
)
from bench.rig import Context, Radio, Rig
from simulator.fleet_api import FaultKind

PRODUCES = ("first_command_silent_outage_s",)
NEEDS_BLUETOOTH = True
RUNS_PER_CASE = 5
COMMAND_LIMIT_S = 300.0
QUIET_S = 60.0
"""The cloud answers normally this long before each run."""

HEARD_AFTER_S = 2.0
"""The car is back in range this long before the command: the proxy has advertised it twice."""


def _bluetooth_entity(ctx: Context, vin: str) -> str:
    found = er.async_get(ctx.hass).async_get_entity_id("binary_sensor", DOMAIN, f"{vin}-bluetooth")
    if found is None:
        raise LookupError("no Bluetooth connectivity entity")
    return found


def _cloud_commands(rig: Rig, since: int) -> int:
    return sum(1 for record in rig.cloud.requests[since:] if "/command/" in record.path)


async def _one(
    ctx: Context,
    rig: Rig,
    radio: Radio,
    cloud: EntityWatch,
    case: str,
    rng: random.Random,
) -> dict[str, Any]:
    """Black hole, then one lock or unlock through the lock entity; seconds until it returned."""
    hass = ctx.hass
    if cloud.state != STATE_ON:
        await rig.time.run(cloud.turns(STATE_ON), limit_s=LIMIT_S)
    await rig.time.advance(QUIET_S)
    if case == "back_in_range":
        bluetooth = EntityWatch(hass, _bluetooth_entity(ctx, rig.car.vin))
        try:
            turned_off = bluetooth.turns(STATE_OFF)
            radio.proxy.in_range = False
            await rig.time.run(turned_off, limit_s=LIMIT_S)
        finally:
            bluetooth.close()
    rig.cloud.set_fault(FaultKind.BLACK_HOLE)
    await rig.time.advance(rng.uniform(0, 5))
    if case == "back_in_range":
        radio.proxy.in_range = True
        await rig.time.advance(HEARD_AFTER_S)
    if cloud.state != STATE_ON:
        raise AssertionError("the outage was already declared before the command")
    locking = not rig.car.locked
    before = (
        len(rig.cloud.requests),
        rig.car.executions[f"ble:door_{'lock' if locking else 'unlock'}"],
    )
    started = rig.time.now()
    await rig.time.run(
        lock_call(hass, lock_entity(hass, rig.car.vin), locking), limit_s=COMMAND_LIMIT_S
    )
    elapsed = rig.time.now() - started
    ble_runs = rig.car.executions[f"ble:door_{'lock' if locking else 'unlock'}"] - before[1]
    if rig.car.locked is not locking or ble_runs != 1:
        raise AssertionError(f"not confirmed over Bluetooth ({ble_runs} Bluetooth executions)")
    declared = cloud.state == STATE_OFF
    rig.cloud.clear_fault()
    return {
        "case": case,
        "seconds": round(elapsed, 3),
        "cloud_command_requests": _cloud_commands(rig, before[0]),
        "outage_declared_by_then": declared,
    }


async def run(ctx: Context) -> list[Figure]:
    """RUNS_PER_CASE commands in each case; the figure is the slowest of them.

    - in_range: the car has been in Bluetooth range all along (automatic routing picks
      Bluetooth while it answers).
    - back_in_range: the car has just come back into range after Bluetooth failed to reach it,
      and Bluetooth has not read it yet; it has advertised since, so routing may try it first.
    """
    rng = random.Random(SEED)
    runs: list[dict[str, Any]] = []
    async with Rig(ctx) as rig, Radio(rig) as radio, loaded_account(rig, radio):
        cloud = EntityWatch(ctx.hass, CLOUD_ENTITY)
        try:
            for case in ("in_range", "back_in_range"):
                for _ in range(RUNS_PER_CASE):
                    try:
                        runs.append(await _one(ctx, rig, radio, cloud, case, rng))
                    except TimeoutError as err:
                        raise NeverHappened(f"{case}: {err}") from err
        finally:
            cloud.close()
    samples = [run["seconds"] for run in runs]
    detail = {
        "by_case": {
            case: summary([r["seconds"] for r in runs if r["case"] == case])
            for case in ("in_range", "back_in_range")
        },
        "runs": runs,
    }
    return [Figure("first_command_silent_outage_s", max(samples), True, samples, detail)]
