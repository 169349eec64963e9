"""A clock that tests and benchmarks move by hand."""

from __future__ import annotations

WALL_EPOCH = 1_750_000_000.0
"""The Unix time the wall clock shows when the fake clock reads zero."""


class FakeClock:
    """A monotonic clock that only moves when told to, with a matching wall clock."""

    def __init__(self, start: float = 1_000.0) -> None:
        """Start at `start` seconds."""
        self.now = start

    def __call__(self) -> float:
        """Return the current reading, like `time.monotonic`."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self.now += seconds

    def wall(self) -> float:
        """Return the matching Unix time, like `time.time`."""
        return WALL_EPOCH + self.now
