"""Simulated time for tests: Home Assistant, the event loop's timers and the car on one clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from simulator.clock import FakeClock

SPINS_PER_SECOND = 200
"""Event-loop turns given to the radio before a simulated second passes."""

PATIENCE_S = 180
"""Simulated seconds an awaited operation may take before the test counts it as hung."""


@dataclass
class SimulatedTime:
    """Home Assistant, the event loop's timers and the car on one clock, a second at a time."""

    hass: HomeAssistant
    clock: FakeClock
    freezer: FrozenDateTimeFactory
    elapsed: float = 0.0
    on_tick: list[Callable[[], None]] = field(default_factory=list)
    patience_s: int = PATIENCE_S

    def tick(self, seconds: float = 1) -> None:
        """Let simulated time pass and run what fell due."""
        self.clock.advance(seconds)
        self.freezer.tick(timedelta(seconds=seconds))
        self.elapsed += seconds
        for callback in self.on_tick:
            callback()
        async_fire_time_changed(self.hass)

    async def wait_for[T](self, awaitable: Awaitable[T]) -> T:
        """Await something while time passes, as for a user who waits."""
        task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
        for _ in range(self.patience_s):
            for _ in range(SPINS_PER_SECOND):
                if task.done():
                    return task.result()
                await asyncio.sleep(0)
            self.tick()
        task.cancel()
        raise AssertionError(f"still waiting after {PATIENCE_S} s")

    async def timed[T](self, awaitable: Awaitable[T]) -> tuple[T, float]:
        """Await something; return its result and the simulated seconds it took."""
        started = self.elapsed
        result = await self.wait_for(awaitable)
        return result, self.elapsed - started

    async def hold(self, condition: Callable[[], bool], turns: int = 200_000) -> None:
        """Turn the event loop while no simulated time passes, until `condition` holds.

        For work that takes real time, like a key generated in an executor thread.
        """
        for _ in range(turns):
            if condition():
                return
            await asyncio.sleep(0)
        raise AssertionError("condition never became true")
