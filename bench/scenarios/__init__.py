"""Scenario modules: each sets up what it needs, measures, and returns its figures.

A scenario module names the figures it measures in `PRODUCES`, says whether it needs Home
Assistant's Bluetooth in `NEEDS_BLUETOOTH`, and measures in `async def run(ctx) -> list[Figure]`.
A module with `VARIANTS` runs once per variant, each in a fresh Home Assistant, as
`run(ctx, variant)`; the simulated days return `DayRecord`s, from which the day figures are
derived. A figure no scenario returns is reported as "not measured yet".
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

SCENARIOS: tuple[str, ...] = (
    "baseline_days",
    "days",
    "detection_loud",
    "detection_silent",
    "recovery",
    "false_outages",
    "command_outage_overhead",
    "first_command_silent_outage",
    "ble_handshakes",
    "signed_cloud_handshakes",
    "setup_cloud_down",
)
"""Scenario modules in the order they run."""


def load(name: str) -> ModuleType:
    """Import the scenario module `name`."""
    return importlib.import_module(f"{__name__}.{name}")


def variants(name: str) -> tuple[Any, ...]:
    """The variants scenario `name` runs, or (None,) when it runs once."""
    return tuple(getattr(load(name), "VARIANTS", (None,)))


def needs_bluetooth(name: str) -> bool:
    """Whether scenario `name` runs with Home Assistant's Bluetooth set up."""
    return bool(getattr(load(name), "NEEDS_BLUETOOTH", False))
