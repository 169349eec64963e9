"""The cloud back after an outage: how soon the Tesla cloud entity turns on again."""

from __future__ import annotations

from bench.figures import Figure
from bench.outages import p95_figure
from bench.rig import Context
from simulator.fleet_api import FaultKind

PRODUCES = ("recovery_s_p95",)
NEEDS_BLUETOOTH = True
KINDS = (FaultKind.REFUSED, FaultKind.SERVER_ERROR, FaultKind.BLACK_HOLE)


async def run(ctx: Context) -> list[Figure]:
    """`runs` declared outages of every hard kind in turn, each ending at a random moment."""
    return [await p95_figure(ctx, "recovery_s_p95", KINDS, lambda cycle: cycle.recovered_s)]
