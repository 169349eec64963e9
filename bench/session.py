"""Collects what the scenarios measured while pytest runs them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bench.figures import Failure, Figure
from bench.settings import Settings

if TYPE_CHECKING:
    from bench.days import DayRecord

SESSION_KEY = pytest.StashKey["BenchSession"]()


class BenchSession:
    """A pytest plugin holding the run's settings and every figure the scenarios return."""

    def __init__(self, settings: Settings | None = None) -> None:
        """Start a run with `settings` (the defaults when None)."""
        self.settings = settings or Settings()
        self.figures: list[Figure] = []
        self.failures: list[Failure] = []
        self.scenarios: dict[str, float] = {}
        self.days: list[DayRecord] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        """Make the session reachable from fixtures."""
        config.stash[SESSION_KEY] = self

    def record(
        self,
        scenario: str,
        figures: list[Figure],
        real_s: float,
        days: list[DayRecord] | None = None,
    ) -> None:
        """Keep a scenario's figures, the days it lived and how long it took."""
        self.figures.extend(figures)
        self.days.extend(days or ())
        self.scenarios[scenario] = real_s

    def fail(self, scenario: str, keys: tuple[str, ...], error: BaseException) -> None:
        """Remember that a scenario raised instead of measuring."""
        self.failures.append(Failure(scenario, keys, f"{type(error).__name__}: {error}"))
