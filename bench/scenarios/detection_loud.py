"""Outages that refuse connections or answer 503: how soon the Tesla cloud entity turns off."""

from __future__ import annotations

from bench.figures import Figure
from bench.outages import p95_figure
from bench.rig import Context
from simulator.fleet_api import FaultKind

PRODUCES = ("detection_loud_s_p95",)
NEEDS_BLUETOOTH = True
KINDS = (FaultKind.REFUSED, FaultKind.SERVER_ERROR)


async def run(ctx: Context) -> list[Figure]:
    """`runs` outages, refused and 503 in turn, each from a random point of the probe cycle."""
    return [await p95_figure(ctx, "detection_loud_s_p95", KINDS, lambda cycle: cycle.detected_s)]
