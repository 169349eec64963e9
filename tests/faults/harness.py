"""One cell of the fault matrix: a fault crossed with a user action, and every check it must pass.

A cell records its checks instead of stopping at the first that fails, so the matrix can report
how many cells survived. The test of the cell still fails when any check failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Final

INTEGRATION_LOGGER: Final = "custom_components.tesla_resilient"
UNHANDLED_MARKERS: Final = (
    "Error doing job",
    "Task exception was never retrieved",
    "Unexpected error",
    "Exception in callback",
    "Traceback",
)


@dataclass
class Cell:
    """One cell's outcome: the checks that failed, the executions beyond the intended one."""

    name: str
    failures: list[str] = field(default_factory=list)
    double_executions: int = 0
    allowed_errors: tuple[str, ...] = ()
    """Fragments of error messages a user can act on (a repair, a reauth), allowed in the logs."""

    def check(self, condition: bool, what: str) -> None:
        """Record `what` as failed unless `condition` holds."""
        if not condition:
            self.failures.append(what)

    def executions(self, command: str, runs: int, *, at_most: int = 1) -> None:
        """Record how often the car ran a command; more than `at_most` counts as doubled."""
        if runs > at_most:
            self.double_executions += runs - at_most
            self.failures.append(f"{command} ran {runs} times, at most {at_most} allowed")

    def logs(self, records: list[logging.LogRecord]) -> None:
        """Fail on error-level records of the integration and on unhandled exceptions anywhere."""
        allowed = self.allowed_errors
        for record in records:
            if record.levelno < logging.ERROR:
                continue
            message = record.getMessage()
            if any(fragment in message for fragment in allowed):
                continue
            ours = record.name.startswith(INTEGRATION_LOGGER)
            unhandled = record.exc_info is not None or any(
                marker in message for marker in UNHANDLED_MARKERS
            )
            if ours or unhandled:
                self.failures.append(f"error log from {record.name}: {message[:200]}")

    @property
    def survived(self) -> bool:
        """Whether every check of the cell passed."""
        return not self.failures


RESULTS: Final[list[Cell]] = []
"""Every cell run in this session, in order."""


def summary_line(leaked: int) -> str:
    """The matrix's last line: cells tried, survived, double executions, secrets leaked."""
    tried = len(RESULTS)
    survived = sum(1 for cell in RESULTS if cell.survived)
    doubled = sum(cell.double_executions for cell in RESULTS)
    return (
        f"faults: {tried} tried, {survived} survived, {doubled} double executions, "
        f"{leaked} secrets leaked"
    )
