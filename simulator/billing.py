"""Counts what the simulated Fleet API would bill, at Tesla's 2025 prices."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

DATA_REQUESTS_PER_USD = 500
COMMANDS_PER_USD = 1_000
WAKES_PER_USD = 50
MONTHLY_CREDIT_USD = 10.0


class Charge(StrEnum):
    """What a billable request is billed as."""

    DATA = "data"
    COMMAND = "command"
    WAKE = "wake"


@dataclass
class Billing:
    """Billable requests by category, how many were free, and every request by endpoint kind."""

    data: int = 0
    commands: int = 0
    wakes: int = 0
    free: int = 0
    by_kind: Counter[str] = field(default_factory=Counter, compare=False)

    def add(self, charge: Charge | None, kind: str | None = None) -> None:
        """Count one request; None counts it as free. `kind` names its endpoint."""
        if kind is not None:
            self.by_kind[kind] += 1
        if charge is Charge.DATA:
            self.data += 1
        elif charge is Charge.COMMAND:
            self.commands += 1
        elif charge is Charge.WAKE:
            self.wakes += 1
        else:
            self.free += 1

    @property
    def billable(self) -> int:
        """All billed requests together."""
        return self.data + self.commands + self.wakes

    @property
    def cost_usd(self) -> float:
        """What the billed requests cost, before the monthly credit."""
        return (
            self.data / DATA_REQUESTS_PER_USD
            + self.commands / COMMANDS_PER_USD
            + self.wakes / WAKES_PER_USD
        )

    def reset(self) -> None:
        """Start counting from zero."""
        self.data = self.commands = self.wakes = self.free = 0
        self.by_kind.clear()
