"""One hundred signed cloud commands in a row: handshakes they cost and how long each takes."""

from __future__ import annotations

import statistics

from bench.figures import Figure
from bench.resilient import loaded_account, lock_call, lock_entity
from bench.rig import Context, Radio, Rig

PRODUCES = ("signed_cloud_handshakes_per_100_commands", "signed_cloud_command_ms_p50")
NEEDS_BLUETOOTH = True
COMMANDS = 100
COMMAND_LIMIT_S = 120.0
CLOUD_ONLY = {"route_preference": "cloud_only"}
"""Commands go through the cloud, signed with the car's Bluetooth key (paired as usual)."""


async def run(ctx: Context) -> list[Figure]:
    """Lock and unlock in turn through the lock entity over the cloud, back to back.

    The car is out of Bluetooth range from the start, so no session came over Bluetooth first:
    the cloud's own handshakes are counted.
    """
    async with Rig(ctx) as rig, Radio(rig) as radio:
        radio.proxy.in_range = False
        async with loaded_account(rig, radio, CLOUD_ONLY):
            return await _commands(ctx, rig, radio)


async def _commands(ctx: Context, rig: Rig, radio: Radio) -> list[Figure]:
    lock = lock_entity(ctx.hass, rig.car.vin)
    car = rig.car
    before = (radio.car.cloud_handshakes, dict(car.executions), len(rig.cloud.requests))
    durations: list[float] = []
    for _ in range(COMMANDS):
        locking = not car.locked
        started = rig.time.now()
        await rig.time.run(lock_call(ctx.hass, lock, locking), limit_s=COMMAND_LIMIT_S)
        durations.append(rig.time.now() - started)
        if car.locked is not locking:
            raise AssertionError(f"the car is not {'locked' if locking else 'unlocked'}")
    executions = {
        key: count - before[1].get(key, 0)
        for key, count in car.executions.items()
        if "door_" in key and count - before[1].get(key, 0)
    }
    if executions.get("cloud:door_lock", 0) + executions.get("cloud:door_unlock", 0) != COMMANDS:
        raise AssertionError(f"not every command ran through the cloud: {executions}")
    detail = {
        "commands": COMMANDS,
        "car_executions": executions,
        "requests": len(rig.cloud.requests) - before[2],
        "cloud_latency_ms": round(ctx.settings.cloud_latency_s * 1000),
    }
    handshakes = radio.car.cloud_handshakes - before[0]
    median_ms = statistics.median(durations) * 1000
    return [
        Figure("signed_cloud_handshakes_per_100_commands", handshakes, True, detail=detail),
        Figure("signed_cloud_command_ms_p50", round(median_ms), True, detail=detail),
    ]
