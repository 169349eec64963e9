"""Home Assistant's own tesla_fleet on the same days, under the same sleep models."""

from __future__ import annotations

from bench.days import VARIANTS, core_day, day_scenario

PRODUCES = (
    "baseline_billable_away_day_sleeps",
    "baseline_billable_away_day_kept_awake",
)
NEEDS_BLUETOOTH = False
__all__ = ["VARIANTS", "run"]


run = day_scenario(core_day)
