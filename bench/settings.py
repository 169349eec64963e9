"""Knobs of a benchmark run, and the machine's own clock, which freezegun leaves alone."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Settings:
    """Latencies and repetitions of a benchmark run."""

    ble_latency_s: float = 0.300
    cloud_latency_s: float = 0.150
    runs: int = 20

    def as_json(self) -> dict[str, Any]:
        """The settings as the JSON report records them."""
        return {
            "ble_round_trip_ms": round(self.ble_latency_s * 1000),
            "cloud_latency_ms": round(self.cloud_latency_s * 1000),
            "runs": self.runs,
        }


def real_monotonic() -> float:
    """Seconds on the machine's monotonic clock, also while freezegun freezes `time`."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)
