"""Outages where the cloud never answers: how soon the Tesla cloud entity turns off."""

from __future__ import annotations

from bench.figures import Figure, percentile
from bench.outages import run_cycles
from bench.rig import Context
from simulator.fleet_api import FaultKind

PRODUCES = ("detection_silent_s_p95",)
NEEDS_BLUETOOTH = True


async def run(ctx: Context) -> list[Figure]:
    """`runs` black-hole outages, each starting at a random point of the probe cycle."""
    cycles, detail = await run_cycles(ctx, (FaultKind.BLACK_HOLE,), ctx.settings.runs)
    samples = [cycle.detected_s for cycle in cycles]
    return [Figure("detection_silent_s_p95", percentile(samples, 0.95), True, samples, detail)]
