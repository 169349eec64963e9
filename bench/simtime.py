"""Simulated time for a Home Assistant test instance: the event loop, HA's clock and the car's."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, Self

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util.async_ import get_scheduled_timer_handles

from bench.settings import real_monotonic
from simulator.clock import FakeClock

QUIET_ITERATIONS = 3
"""Loop iterations without ready callbacks after which the present instant is considered done."""

EXECUTOR_WAIT_S = 10.0
"""Longest real wait for a worker thread's job before simulated time moves on anyway."""


class SimulatedTime:
    """Moves frozen time from one scheduled timer to the next, so nothing waits in real time.

    Under `freezer` the event loop's clock, `time.time` and HA's `utcnow` all read frozen time.
    This class runs everything due at the current instant (callbacks, loopback I/O, worker
    threads), then jumps all clocks to the next timer the loop holds, and repeats. The car's
    `FakeClock` moves by the same amount, so the simulator and Home Assistant agree on time.
    """

    def __init__(
        self, hass: HomeAssistant, freezer: FrozenDateTimeFactory, clock: FakeClock
    ) -> None:
        """Bind the loop of `hass`, the freezer that owns its time, and the car's clock."""
        self.hass = hass
        self.loop = hass.loop
        self.freezer = freezer
        self.clock = clock
        self._offset = self.loop.time() - clock.now
        self._jobs: dict[asyncio.Future[Any], float] = {}
        self._run_in_executor = self.loop.run_in_executor
        self.jumps = 0

    def __enter__(self) -> Self:
        """Track worker-thread jobs; run the loop without debug mode, as production does.

        Debug mode records a traceback for every callback and warns about slow ones by the
        frozen clock, which jumps. The loop reads its clock on every iteration; under freezegun
        each reading inspects the caller's stack, which made up a good share of a simulated day's
        CPU. Time only moves in `_jump_to`, so the loop reads the frozen value kept from there.
        """
        self.loop.run_in_executor = self._tracked_run_in_executor  # type: ignore[method-assign,assignment]
        self._debug = self.loop.get_debug()
        self.loop.set_debug(False)
        self._now = self._frozen_loop_time()
        self.loop.time = self._loop_time  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        """Give the loop back as it was."""
        del self.loop.run_in_executor
        del self.loop.time
        self.loop.set_debug(self._debug)

    def _frozen_loop_time(self) -> float:
        return type(self.loop).time(self.loop)

    def _loop_time(self) -> float:
        return self._now

    def _tracked_run_in_executor(self, executor: Any, func: Any, *args: Any) -> Any:
        future = self._run_in_executor(executor, func, *args)
        self._jobs[future] = real_monotonic()
        future.add_done_callback(self._jobs.pop)
        return future

    def now(self) -> float:
        """Seconds on the loop's clock."""
        return self.loop.time()

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass, running every timer that falls due on time."""
        await self.advance_to(self.loop.time() + seconds)

    async def advance_to(self, deadline: float) -> None:
        """Let simulated time pass until the loop's clock reads `deadline`."""
        while True:
            await self.settle()
            due = self._next_timer()
            if due is None or due > deadline:
                break
            self._jump_to(due)
        if deadline > self.loop.time():
            self._jump_to(deadline)
        await self.settle()

    async def run[T](self, awaitable: Awaitable[T], *, limit_s: float = 3600.0) -> T:
        """Await `awaitable` while simulated time moves; give up after `limit_s` of it."""
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        deadline = self.loop.time() + limit_s
        while not task.done():
            await self.settle()
            if task.done():
                break
            due = self._next_timer()
            if due is None or due > deadline:
                task.cancel()
                raise TimeoutError(f"still waiting after {limit_s} s of simulated time")
            self._jump_to(due)
        return task.result()

    async def settle(self) -> None:
        """Run everything due now: ready callbacks, socket traffic and worker-thread results."""
        await self._spin()
        while await self._wait_for_executor():
            await self._spin()

    async def _spin(self) -> None:
        quiet = 0
        while quiet < QUIET_ITERATIONS:
            await asyncio.sleep(0)
            quiet = 0 if self._has_ready() else quiet + 1

    async def _wait_for_executor(self) -> bool:
        """Wait in real time for a worker-thread job; False when none is running.

        A job that has run longer than EXECUTOR_WAIT_S is a long-lived worker and is not waited
        for.
        """
        started = real_monotonic() - EXECUTOR_WAIT_S
        pending = [job for job, at in self._jobs.items() if at > started and not job.done()]
        if not pending:
            return False
        await _real_wait(pending, EXECUTOR_WAIT_S)
        return True

    def _has_ready(self) -> bool:
        ready: Any = getattr(self.loop, "_ready", ())
        return len(ready) > 0

    def _next_timer(self) -> float | None:
        handles = [h.when() for h in get_scheduled_timer_handles(self.loop) if not h.cancelled()]
        return min(handles) if handles else None

    def _jump_to(self, when: float) -> None:
        """Move every clock just past `when`, so that a timer due then counts as due.

        The loop runs a timer only once its clock reads more than the timer's time; at the
        magnitude of frozen time its clock resolution is lost to rounding, hence one microsecond
        more.
        """
        delta = max(0.0, when - self.loop.time())
        self.freezer.tick(timedelta(microseconds=math.ceil(delta * 1e6) + 1))
        self._now = self._frozen_loop_time()
        self.jumps += 1
        car_now = self.loop.time() - self._offset
        if car_now > self.clock.now:
            self.clock.advance(car_now - self.clock.now)


async def _real_wait(futures: list[asyncio.Future[Any]], seconds: float) -> None:
    """Wait in real time until any of `futures` is done, or `seconds` pass."""
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake(_: object = None) -> None:
        if not woken.done():
            woken.set_result(None)

    for future in futures:
        future.add_done_callback(wake)
    timer = threading.Timer(seconds, loop.call_soon_threadsafe, (wake,))
    timer.daemon = True
    timer.start()
    try:
        await woken
    finally:
        timer.cancel()
        timer.join()
        for future in futures:
            future.remove_done_callback(wake)
