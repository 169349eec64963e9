"""Outages that refuse connections or answer 503: how soon the Tesla cloud entity turns off."""

from __future__ import annotations

from bench.figures import Figure, percentile
from bench.outages import run_cycles, summary
from bench.rig import Context
from simulator.fleet_api import FaultKind

PRODUCES = ("detection_loud_s_p95",)
NEEDS_BLUETOOTH = True
KINDS = (FaultKind.REFUSED, FaultKind.SERVER_ERROR)


async def run(ctx: Context) -> list[Figure]:
    """`runs` outages, refused and 503 in turn, each from a random point of the probe cycle."""
    cycles, detail = await run_cycles(ctx, KINDS, ctx.settings.runs)
    samples = [cycle.detected_s for cycle in cycles]
    detail["by_kind"] = {
        str(kind): summary([c.detected_s for c in cycles if c.kind is kind]) for kind in KINDS
    }
    return [Figure("detection_loud_s_p95", percentile(samples, 0.95), True, samples, detail)]
