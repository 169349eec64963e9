"""A normal day of sleep, wakes, 408s, 429 bursts, a token refresh and 5xx blips: no outage."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

from homeassistant.const import STATE_OFF

from bench.day import HOUR, USER, Event, owner_arrives, owner_leaves, simulate_day
from bench.figures import Figure
from bench.outages import PROBE_PATH, SEED
from bench.resilient import (
    CLOUD_ENTITY,
    STATUS_ENTITY,
    EntityWatch,
    loaded_account,
    lock_call,
    lock_entity,
)
from bench.rig import Context, Radio, Rig
from simulator.fleet_api import FaultKind
from simulator.vehicle import VirtualCar

PRODUCES = ("false_outages_24h",)
NEEDS_BLUETOOTH = True
BLIP_HOURS = (1.1, 3.3, 5.5, 9.2, 13.7, 16.4, 19.1, 22.6)
"""Single 5xx blips: each lasts until one /status probe has been answered 503, so the heartbeat
(or another request) that met it first and that probe both failed."""

RATE_LIMIT_HOURS = (2.2, 6.6, 11.4, 15.2, 21.3)
"""429 bursts of RATE_LIMIT_S each."""

RATE_LIMIT_S = 60.0
BLIP_LIMIT_S = 120.0
"""A blip ends after this long even if no probe came (the figure's detail says so): two
heartbeats fall within it."""

SKIP_CLOUD_POLL = "skip_cloud_poll_in_range"


class Day:
    """The day's events against one car, its cloud and its Bluetooth proxy."""

    def __init__(self, ctx: Context, rig: Rig, radio: Radio) -> None:
        """Prepare the events; nothing happens before the day driver applies them."""
        self.ctx, self.rig, self.radio = ctx, rig, radio
        self.tasks: list[asyncio.Task[Any]] = []
        self.blips: list[dict[str, Any]] = []
        self.commands: list[str] = []

    def events(self) -> list[Event]:
        """What happens, by time of day."""
        rng = random.Random(SEED)
        events = [
            Event(7 * HOUR, "owner wakes the car from the phone app", self._owner_wakes),
            Event(10 * HOUR, "Bluetooth proxy goes offline", self._proxy(False)),
            Event(10.5 * HOUR, "owner wakes the car from the phone app", self._owner_wakes),
            Event(
                10.5 * HOUR + 150,
                "car falls asleep; owner (un)locks from Home Assistant over the cloud (408)",
                self._sleep_then_lock,
            ),
            Event(12 * HOUR, "Bluetooth proxy back online", self._proxy(True)),
            Event(14 * HOUR, "Tesla expires every access token", self._expire_tokens),
            Event(14 * HOUR + 300, "token fault ends", self._clear),
            Event(18 * HOUR, "owner arrives", owner_arrives),
            Event(20 * HOUR, "owner leaves", owner_leaves),
        ]
        for hours in BLIP_HOURS:
            at = hours * HOUR + rng.uniform(0, 60)
            events.append(Event(at, "single 5xx blip", self._blip))
        for hours in RATE_LIMIT_HOURS:
            at = hours * HOUR + rng.uniform(0, 60)
            events.append(Event(at, "429 burst", self._rate_limit))
            events.append(Event(at + RATE_LIMIT_S, "429 burst ends", self._clear))
        return sorted(events, key=lambda event: event.at_s)

    def _owner_wakes(self, car: VirtualCar) -> None:
        car.wake(USER)

    def _proxy(self, in_range: bool) -> Callable[[VirtualCar], None]:
        def apply(car: VirtualCar) -> None:
            self.radio.proxy.in_range = in_range

        return apply

    def _sleep_then_lock(self, car: VirtualCar) -> None:
        car.sleep_now()
        self.tasks.append(asyncio.ensure_future(self._lock(not car.locked)))

    async def _lock(self, locking: bool) -> None:
        hass = self.ctx.hass
        await lock_call(hass, lock_entity(hass, self.rig.car.vin), locking)
        self.commands.append("lock" if locking else "unlock")

    def _expire_tokens(self, car: VirtualCar) -> None:
        self.rig.cloud.set_fault(FaultKind.TOKEN_EXPIRED)

    def _rate_limit(self, car: VirtualCar) -> None:
        self.rig.cloud.set_fault(FaultKind.RATE_LIMITED, retry_after_s=RATE_LIMIT_S)

    def _clear(self, car: VirtualCar) -> None:
        self.rig.cloud.clear_fault()

    def _blip(self, car: VirtualCar) -> None:
        self.rig.cloud.set_fault(FaultKind.SERVER_ERROR)
        self.tasks.append(asyncio.ensure_future(self._end_blip(len(self.rig.cloud.requests))))

    async def _end_blip(self, since: int) -> None:
        """Answer normally again as soon as one probe got its 503."""
        rig = self.rig
        started = rig.time.now()
        while rig.time.now() - started < BLIP_LIMIT_S:
            if any(
                record.path == PROBE_PATH and record.status == 503
                for record in rig.cloud.requests[since:]
            ):
                break
            await asyncio.sleep(0.05)
        rig.cloud.clear_fault()
        failed = Counter(
            record.path.rsplit("/", 1)[-1]
            for record in rig.cloud.requests[since:]
            if record.status is not None and record.status >= 500
        )
        self.blips.append(
            {"lasted_s": round(rig.time.now() - started, 2), "answered_5xx": dict(failed)}
        )


async def run(ctx: Context) -> list[Figure]:
    """Live the day with the cloud polled all day (not skipped in Bluetooth range).

    The figure counts how often binary_sensor.tesla_cloud turned off.
    """
    async with (
        Rig(ctx) as rig,
        Radio(rig) as radio,
        loaded_account(rig, radio, {SKIP_CLOUD_POLL: False}) as entry,
    ):
        day = Day(ctx, rig, radio)
        cloud = EntityWatch(ctx.hass, CLOUD_ENTITY)
        status = EntityWatch(ctx.hass, STATUS_ENTITY)
        requests_before = len(rig.cloud.requests)
        try:
            result = await simulate_day(rig.time, rig.car, rig.cloud, entry.entry_id, day.events())
            await rig.time.settle()
        finally:
            cloud.close()
            status.close()
        answers = Counter(
            record.status for record in rig.cloud.requests[requests_before:] if record.status
        )
        failures = [
            repr(task.exception()) for task in day.tasks if task.done() and task.exception()
        ]
        offs = cloud.count(STATE_OFF)
    detail: dict[str, Any] = {
        "answers_by_status": {str(code): count for code, count in sorted(answers.items())},
        "token_refreshes": result.token_refreshes,
        "car_wakes_by_cause": result.wakes_by_link,
        "car_awake_h": round(result.awake_s / HOUR, 2),
        "status_changes": [
            {"at_h": round((at - result.started_at) / HOUR, 3), "state": state}
            for at, state in status.changes
        ],
        "cloud_entity_changes": len(cloud.changes),
        "blips": day.blips,
        "commands": day.commands,
        "command_failures": failures,
        "events": result.events,
        "real_s": round(result.real_s, 1),
    }
    return [Figure("false_outages_24h", offs, True, detail=detail)]
