"""Tesla Resilient's days: in the garage, away (cloud only) and mixed, under both sleep models."""

from __future__ import annotations

from bench.days import VARIANTS, day_scenario, resilient_day

PRODUCES = (
    "billable_garage_day",
    "billable_away_day_sleeps",
    "billable_away_day_kept_awake",
    "requests_per_day_healthy",
    "polling_wakes_24h",
)
NEEDS_BLUETOOTH = True
__all__ = ["VARIANTS", "run"]


run = day_scenario(resilient_day)
