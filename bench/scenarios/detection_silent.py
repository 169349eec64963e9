"""Outages where the cloud never answers: how soon the Tesla cloud entity turns off."""

from __future__ import annotations

from bench.figures import Figure
from bench.outages import p95_figure
from bench.rig import Context
from simulator.fleet_api import FaultKind

PRODUCES = ("detection_silent_s_p95",)
NEEDS_BLUETOOTH = True


async def run(ctx: Context) -> list[Figure]:
    """`runs` black-hole outages, each starting at a random point of the probe cycle."""
    return [
        await p95_figure(
            ctx, "detection_silent_s_p95", (FaultKind.BLACK_HOLE,), lambda cycle: cycle.detected_s
        )
    ]
