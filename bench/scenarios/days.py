"""Tesla Resilient's days: in the garage, away (cloud only) and mixed, under both sleep models."""

from __future__ import annotations

from bench.day import DayKind
from bench.days import VARIANTS, DayRecord, resilient_day
from bench.rig import Context
from simulator.vehicle import SleepModel

PRODUCES = (
    "billable_garage_day",
    "billable_away_day_sleeps",
    "billable_away_day_kept_awake",
    "requests_per_day_healthy",
    "polling_wakes_24h",
)
NEEDS_BLUETOOTH = True
__all__ = ["VARIANTS", "run"]


async def run(ctx: Context, variant: tuple[DayKind, SleepModel]) -> list[DayRecord]:
    """One day of Tesla Resilient with a paired key and default options."""
    kind, model = variant
    return [await resilient_day(ctx, kind, model)]
