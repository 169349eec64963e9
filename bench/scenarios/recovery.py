"""The cloud back after an outage: how soon the Tesla cloud entity turns on again."""

from __future__ import annotations

from bench.figures import Figure, percentile
from bench.outages import run_cycles, summary
from bench.rig import Context
from simulator.fleet_api import FaultKind

PRODUCES = ("recovery_s_p95",)
NEEDS_BLUETOOTH = True
KINDS = (FaultKind.REFUSED, FaultKind.SERVER_ERROR, FaultKind.BLACK_HOLE)


async def run(ctx: Context) -> list[Figure]:
    """`runs` declared outages of every hard kind in turn, each ending at a random moment."""
    cycles, detail = await run_cycles(ctx, KINDS, ctx.settings.runs)
    samples = [cycle.recovered_s for cycle in cycles]
    detail["by_kind"] = {
        str(kind): summary([c.recovered_s for c in cycles if c.kind is kind]) for kind in KINDS
    }
    return [Figure("recovery_s_p95", percentile(samples, 0.95), True, samples, detail)]
