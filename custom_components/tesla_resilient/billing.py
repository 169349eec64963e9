"""The cloud's estimated bill per vehicle: this month's total, carried over restarts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def month_start(now: datetime) -> datetime:
    """Midnight on the first day of `now`'s month, in its time zone."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass
class CostMeter:
    """The cloud's estimated bill for one vehicle in the current month."""

    usd: float = 0.0
    month: datetime | None = None

    def add(self, usd: float, now: datetime) -> None:
        """Count one billed request made at `now`."""
        self.roll(now)
        self.usd += usd

    def roll(self, now: datetime) -> None:
        """Start from zero when a new month began."""
        start = month_start(now)
        if self.month != start:
            self.month = start
            self.usd = 0.0

    def restore(self, usd: float, month: datetime | None, now: datetime) -> None:
        """Add a total from before a restart, when it was counted in the month of `now`."""
        self.roll(now)
        if month is not None and month == self.month:
            self.usd += usd
