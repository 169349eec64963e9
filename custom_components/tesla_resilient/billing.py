"""The cloud's estimated bill: what each request costs, each vehicle's month, kept over restarts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from .cloud_errors import OutcomeReport, Request
from .health import Outcome


def month_start(now: datetime) -> datetime:
    """Midnight on the first day of `now`'s month, in its time zone."""
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass
class CostMeter:
    """The cloud's estimated bill for one vehicle in the current month."""

    usd: float = 0.0
    month: datetime | None = None

    def add(self, usd: float, now: datetime) -> None:
        """Count one billed request made at `now`."""
        self.roll(now)
        self.usd += usd

    def roll(self, now: datetime) -> None:
        """Start from zero when a new month began."""
        start = month_start(now)
        if self.month != start:
            self.month = start
            self.usd = 0.0

    def restore(self, usd: float, month: datetime | None, now: datetime) -> None:
        """Add a total from before a restart, when it was counted in the month of `now`."""
        self.roll(now)
        if month is not None and month == self.month:
            self.usd += usd


PRICES_USD: Final[Mapping[Request, float]] = {
    Request.VEHICLE_DATA: 1 / 500,
    Request.COMMAND: 1 / 1000,
    Request.SIGNED_COMMAND: 1 / 1000,
    Request.WAKE_UP: 1 / 50,
}
"""Tesla's 2025 prices per billed request; every other request of a car is free.

`signed_command` is a command whatever it carries, session-info requests included.
"""

UNBILLED: Final = frozenset({Outcome.SERVER_ERROR, Outcome.TRANSPORT, Outcome.VEHICLE_UNAVAILABLE})
"""Outcomes Tesla does not bill: answers of 500 and above, and no answer at all.

Tesla bills every answer below 500 by its endpoint's category, refusals (401, 403, 408, 429)
included (developer.tesla.com/docs/fleet-api/billing-and-limits); the car's 503 and 540 are not.
"""


def request_cost(report: OutcomeReport) -> float:
    """Return what Tesla bills for one request, in USD; a request never sent costs nothing."""
    if report.outcome in UNBILLED or not report.sent:
        return 0.0
    return PRICES_USD.get(report.request, 0.0)
