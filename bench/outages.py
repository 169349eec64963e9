"""Outages switched on and off at random moments, and how soon the Tesla cloud entity follows."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON

from bench.figures import Figure, percentile
from bench.resilient import CLOUD_ENTITY, EntityWatch, loaded_account
from bench.rig import Context, Radio, Rig
from bench.settings import real_monotonic
from simulator.fleet_api import FaultKind

PROBE_PATH = "/status"
VEHICLE_PATH = "/api/1/vehicles/{vin}"
"""The vehicle state call: while healthy it is the account's heartbeat."""

SETTLE_S = 150.0
"""The cloud answers normally at least this long (two heartbeats and more) before the next outage
starts."""

LIMIT_S = 900.0
"""Simulated seconds after which a detection or a recovery counts as never happening."""

RECOVERY_SPREAD_S = 30.0
"""The cloud comes back at a random moment within this long after the outage was declared:
several probe cycles in every kind of outage, so the return falls at every phase of the probe."""

SEED = 20251124
"""The runs' random offsets come from this seed, so a rerun repeats them."""


class NeverHappened(AssertionError):
    """The entity did not follow the cloud within LIMIT_S."""


@dataclass(frozen=True, slots=True)
class Cycle:
    """One outage: when it began in the probe cycle, and how long the entity took each way."""

    kind: FaultKind
    offset_s: float
    probe_gap_s: float
    detected_s: float
    recovered_s: float

    def as_json(self) -> dict[str, Any]:
        """The cycle as the report's detail lists it."""
        return {
            "kind": str(self.kind),
            "offset_in_probe_cycle_s": round(self.offset_s, 3),
            "probe_cycle_s": round(self.probe_gap_s, 3),
            "detected_s": round(self.detected_s, 3),
            "recovered_s": round(self.recovered_s, 3),
        }


def _probes(rig: Rig) -> list[float]:
    """When the heartbeat or a probe reached the cloud: the cycle an outage can start in."""
    beat = {PROBE_PATH, VEHICLE_PATH.format(vin=rig.car.vin)}
    return [record.at for record in rig.cloud.requests if record.path in beat]


async def _wait(rig: Rig, watch: EntityWatch, state: str, what: str) -> float:
    """Loop time at which the watched entity turns `state`."""
    if watch.state == state:
        return rig.time.now()
    turned = watch.turns(state)
    try:
        return await rig.time.run(turned, limit_s=LIMIT_S)
    except TimeoutError as err:
        raise NeverHappened(
            f"{watch.entity_id} not {state} {LIMIT_S:g} s after {what} (now {watch.state})"
        ) from err


async def outage_cycle(rig: Rig, watch: EntityWatch, kind: FaultKind, rng: random.Random) -> Cycle:
    """Start an outage of `kind` at a random point of the healthy probe cycle, then end it.

    The heartbeat cycle is read off the simulated cloud: the gap between the last two heartbeats
    (vehicle state calls) it received while healthy. The outage starts at an offset drawn
    uniformly from that gap after a heartbeat; the cloud comes back a random moment within
    RECOVERY_SPREAD_S after the outage was declared.
    """
    await _wait(rig, watch, STATE_ON, "the cloud came back")
    await rig.time.advance(SETTLE_S)
    probes = _probes(rig)
    if len(probes) < 2:
        raise NeverHappened(f"the cloud saw {len(probes)} probe(s) in {SETTLE_S:g} s of health")
    last, gap = probes[-1], probes[-1] - probes[-2]
    target = last + rng.uniform(0, gap)
    while target < rig.clock.now:
        target += gap
    await rig.time.advance(target - rig.clock.now)
    offset = rig.clock.now - _probes(rig)[-1]
    turned_off = watch.turns(STATE_OFF)
    started = rig.time.now()
    rig.cloud.set_fault(kind)
    try:
        detected = await rig.time.run(turned_off, limit_s=LIMIT_S)
    except TimeoutError as err:
        raise NeverHappened(
            f"{watch.entity_id} still {watch.state} {LIMIT_S:g} s into a {kind} outage"
        ) from err
    await rig.time.advance(rng.uniform(0, RECOVERY_SPREAD_S))
    turned_on = watch.turns(STATE_ON)
    back = rig.time.now()
    rig.cloud.clear_fault()
    try:
        recovered = await rig.time.run(turned_on, limit_s=LIMIT_S)
    except TimeoutError as err:
        raise NeverHappened(
            f"{watch.entity_id} still {watch.state} {LIMIT_S:g} s after a {kind} outage ended"
        ) from err
    return Cycle(kind, offset, gap, detected - started, recovered - back)


def summary(values: list[float]) -> dict[str, float]:
    """p50, p95 and the worst of some seconds, for the report's detail."""
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "max": round(max(values), 3),
    }


async def run_cycles(
    ctx: Context, kinds: Sequence[FaultKind], runs: int
) -> tuple[list[Cycle], dict[str, Any]]:
    """`runs` outages, kinds taken in turn, against one loaded account with a Bluetooth key."""
    rng = random.Random(SEED)
    async with Rig(ctx) as rig, Radio(rig) as radio, loaded_account(rig, radio):
        watch = EntityWatch(ctx.hass, CLOUD_ENTITY)
        started = real_monotonic()
        try:
            cycles = [
                await outage_cycle(rig, watch, kinds[run % len(kinds)], rng) for run in range(runs)
            ]
        finally:
            watch.close()
    detail = {
        "runs": len(cycles),
        "times_turned_off": watch.count(STATE_OFF),
        "times_turned_on": watch.count(STATE_ON),
        "real_s": round(real_monotonic() - started, 1),
        "cycles": [cycle.as_json() for cycle in cycles],
    }
    return cycles, detail


async def p95_figure(
    ctx: Context, key: str, kinds: Sequence[FaultKind], seconds: Callable[[Cycle], float]
) -> Figure:
    """The p95 of `seconds` over `runs` outage cycles of `kinds` in turn, with a summary per kind.

    The scenarios that measure detection and recovery differ only in the kinds and the time
    they read from each cycle.
    """
    cycles, detail = await run_cycles(ctx, kinds, ctx.settings.runs)
    samples = [seconds(cycle) for cycle in cycles]
    if len(kinds) > 1:
        detail["by_kind"] = {
            str(kind): summary([seconds(c) for c in cycles if c.kind is kind]) for kind in kinds
        }
    return Figure(key, percentile(samples, 0.95), True, samples, detail)
