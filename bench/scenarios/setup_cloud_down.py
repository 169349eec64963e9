"""Home Assistant loading the entry while the cloud refuses, with a Bluetooth key present."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState

from bench.figures import Figure
from bench.resilient import CLOUD_ENTITY, loaded_account, lock_entity, until_lock_shown
from bench.rig import Context, Radio, Rig
from bench.settings import real_monotonic
from simulator.fleet_api import FaultKind

PRODUCES = ("setup_cloud_down_s",)
NEEDS_BLUETOOTH = True
RUNS = 5
SETUP_LIMIT_S = 600.0


async def run(ctx: Context) -> list[Figure]:
    """Load the entry once with the cloud up, then restart it RUNS times with the cloud refusing.

    The figure is the slowest of those setups, in simulated time from the start of the entry's
    setup to its end. `detail.lock_shown_s` adds how long after the start of each setup the car's
    lock showed its state (Bluetooth's first read, which setup does not wait for).
    """
    hass = ctx.hass
    samples: list[float] = []
    real: list[float] = []
    air: list[dict[str, int]] = []
    shown: list[float] = []
    async with Rig(ctx) as rig, Radio(rig) as radio, loaded_account(rig, radio) as entry:
        rig.cloud.set_fault(FaultKind.REFUSED)
        for _ in range(RUNS):
            await rig.time.run(hass.config_entries.async_unload(entry.entry_id))
            await rig.time.advance(60)
            started, real_started = rig.time.now(), real_monotonic()
            before = (radio.proxy.round_trips, radio.car.handshakes, len(rig.cloud.requests))
            await rig.time.run(
                hass.config_entries.async_setup(entry.entry_id), limit_s=SETUP_LIMIT_S
            )
            samples.append(rig.time.now() - started)
            real.append(real_monotonic() - real_started)
            to_lock = await until_lock_shown(rig, started, step_s=0.1, limit_s=SETUP_LIMIT_S)
            shown.append(round(to_lock, 3))
            air.append(
                {
                    "bluetooth_writes": radio.proxy.round_trips - before[0],
                    "handshakes": radio.car.handshakes - before[1],
                    "cloud_requests_answered": len(rig.cloud.requests) - before[2],
                }
            )
            if entry.state is not ConfigEntryState.LOADED:
                raise RuntimeError(f"not loaded with the cloud down: {entry.state} {entry.reason}")
        lock = hass.states.get(lock_entity(hass, rig.car.vin))
        cloud = hass.states.get(CLOUD_ENTITY)
        after = {
            "lock": None if lock is None else lock.state,
            "tesla_cloud": None if cloud is None else cloud.state,
        }
        rig.cloud.clear_fault()
    detail = {
        "runs": RUNS,
        "real_s": [round(value, 3) for value in real],
        "until_lock_shown": air,
        "lock_shown_s": shown,
        "after_last_setup": after,
    }
    return [Figure("setup_cloud_down_s", round(max(samples), 3), True, samples, detail)]
