"""Home Assistant's own tesla_fleet on the same days, under the same sleep models."""

from __future__ import annotations

from bench.day import DayKind
from bench.days import VARIANTS, DayRecord, core_day
from bench.rig import Context
from simulator.vehicle import SleepModel

PRODUCES = (
    "baseline_billable_away_day_sleeps",
    "baseline_billable_away_day_kept_awake",
)
NEEDS_BLUETOOTH = False
__all__ = ["VARIANTS", "run"]


async def run(ctx: Context, variant: tuple[DayKind, SleepModel]) -> list[DayRecord]:
    """One day of tesla_fleet as shipped with this Home Assistant."""
    kind, model = variant
    return [await core_day(ctx, kind, model)]
