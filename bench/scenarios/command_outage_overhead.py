"""Commands during a declared outage: their latency beyond the Bluetooth round trips they need."""

from __future__ import annotations

import random
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON

from bench.figures import Figure, percentile
from bench.outages import LIMIT_S, SEED, NeverHappened, summary
from bench.resilient import CLOUD_ENTITY, EntityWatch, loaded_account, lock_call, lock_entity
from bench.rig import Context, Radio, Rig
from bench.settings import real_monotonic
from simulator.fleet_api import FaultKind

PRODUCES = ("command_outage_overhead_ms_p50",)
NEEDS_BLUETOOTH = True
KINDS = (FaultKind.REFUSED, FaultKind.BLACK_HOLE)
DECLARED_FOR_S = 30.0
"""The outage has been declared this long before the first command."""

GAP_S = (5.0, 15.0)
"""Commands come this many seconds apart (uniformly drawn), at every phase of the polls."""

COMMAND_LIMIT_S = 120.0


async def run(ctx: Context) -> list[Figure]:
    """Lock and unlock in turn through the lock entity while an outage is declared.

    Each command's latency (simulated time from the service call to its return) minus the
    proxy's round trips during it times the round-trip latency; `runs` commands, half in a
    refused outage and half in a black-hole one.
    """
    hass = ctx.hass
    rng = random.Random(SEED)
    per_kind = max(1, ctx.settings.runs // len(KINDS))
    samples: list[float] = []
    commands: list[dict[str, Any]] = []
    async with Rig(ctx) as rig, Radio(rig) as radio, loaded_account(rig, radio):
        lock = lock_entity(hass, rig.car.vin)
        watch = EntityWatch(hass, CLOUD_ENTITY)
        round_trip_s = radio.proxy.latency_s
        try:
            for kind in KINDS:
                turned_off = watch.turns(STATE_OFF)
                rig.cloud.set_fault(kind)
                try:
                    await rig.time.run(turned_off, limit_s=LIMIT_S)
                except TimeoutError as err:
                    raise NeverHappened(f"a {kind} outage was not declared") from err
                await rig.time.advance(DECLARED_FOR_S)
                for _ in range(per_kind):
                    await rig.time.advance(rng.uniform(*GAP_S))
                    locking = not rig.car.locked
                    trips, handshakes = radio.proxy.round_trips, radio.car.handshakes
                    started, real_started = rig.time.now(), real_monotonic()
                    await rig.time.run(lock_call(hass, lock, locking), limit_s=COMMAND_LIMIT_S)
                    latency = rig.time.now() - started
                    real_ms = (real_monotonic() - real_started) * 1000
                    if rig.car.locked is not locking:
                        raise AssertionError(
                            f"the car is not {'locked' if locking else 'unlocked'}"
                        )
                    trips = radio.proxy.round_trips - trips
                    overhead_ms = (latency - trips * round_trip_s) * 1000
                    samples.append(overhead_ms)
                    commands.append(
                        {
                            "kind": str(kind),
                            "command": "lock" if locking else "unlock",
                            "latency_ms": round(latency * 1000, 1),
                            "round_trips": trips,
                            "handshakes": radio.car.handshakes - handshakes,
                            "overhead_ms": round(overhead_ms, 1),
                            "real_ms": round(real_ms, 1),
                        }
                    )
                if watch.state != STATE_OFF:
                    raise AssertionError(f"the outage ended by itself: {watch.state}")
                rig.cloud.clear_fault()
                await rig.time.run(watch.turns(STATE_ON), limit_s=LIMIT_S)
        finally:
            watch.close()
        executions = {
            key: count for key, count in rig.car.executions.items() if "door_" in key and count
        }
    detail = {
        "runs": len(samples),
        "by_kind": {
            str(kind): summary(
                [s for s, c in zip(samples, commands, strict=True) if c["kind"] == kind]
            )
            for kind in KINDS
        },
        "real_ms": summary([c["real_ms"] for c in commands]),
        "car_executions": executions,
        "commands": commands,
    }
    return [
        Figure(
            "command_outage_overhead_ms_p50",
            round(percentile(samples, 0.5), 1),
            True,
            samples,
            detail,
        )
    ]
