"""One hundred Bluetooth commands in a row: how many session handshakes they cost."""

from __future__ import annotations

from bench.figures import Figure
from bench.resilient import loaded_account, lock_call, lock_entity
from bench.rig import Context, Radio, Rig

PRODUCES = ("ble_handshakes_per_100_commands",)
NEEDS_BLUETOOTH = True
COMMANDS = 100
COMMAND_LIMIT_S = 120.0


async def run(ctx: Context) -> list[Figure]:
    """Lock and unlock in turn through the lock entity, back to back, with the car in range."""
    hass = ctx.hass
    async with Rig(ctx) as rig, Radio(rig) as radio, loaded_account(rig, radio):
        lock = lock_entity(hass, rig.car.vin)
        car = rig.car
        during_setup = radio.car.handshakes
        before = (radio.car.handshakes, radio.proxy.round_trips, dict(car.executions))
        started = rig.time.now()
        for _ in range(COMMANDS):
            locking = not car.locked
            await rig.time.run(lock_call(hass, lock, locking), limit_s=COMMAND_LIMIT_S)
            if car.locked is not locking:
                raise AssertionError(f"the car is not {'locked' if locking else 'unlocked'}")
        elapsed = rig.time.now() - started
        handshakes = radio.car.handshakes - before[0]
        executions = {
            key: count - before[2].get(key, 0)
            for key, count in car.executions.items()
            if "door_" in key and count - before[2].get(key, 0)
        }
        round_trips = radio.proxy.round_trips - before[1]
    detail = {
        "commands": COMMANDS,
        "handshakes_during_setup": during_setup,
        "car_executions": executions,
        "round_trips": round_trips,
        "simulated_s": round(elapsed, 1),
    }
    return [Figure("ble_handshakes_per_100_commands", handshakes, True, detail=detail)]
