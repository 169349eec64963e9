"""What the coordinators of both links share: a failing link is told once, as a warning."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .state import VehicleState


class LinkCoordinator(DataUpdateCoordinator[VehicleState]):
    """A coordinator reading one link to a car into the car's merged state.

    A cloud outage, a car that drives off, a busy car or a dropped link is nothing a user can act
    on: Home Assistant's error-level "Error fetching" log is replaced by one warning when reads
    start failing. Home Assistant still logs the recovery once, at info; the entities and repair
    issues tell the rest.

    Entities hear of a read only when it changed something they show (`shown`: by default the
    merged state's revision) or the link started or stopped working; a poll that learned
    nothing new writes no state.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Set up the coordinator; listeners are told of changes only."""
        kwargs.setdefault("always_update", False)
        super().__init__(*args, **kwargs)
        self.shown: Callable[[], Hashable] = lambda: self.data.revision

    def failure_message(self) -> str:
        """Return the warning's text for reads that start failing (the error follows it)."""
        return f"Reading {self.name} failed"

    async def _async_refresh(
        self,
        log_failures: bool = True,
        raise_on_auth_failed: bool = False,
        scheduled: bool = False,
        raise_on_entry_error: bool = False,
    ) -> None:
        succeeded = self.last_update_success
        before = self.shown()
        await super()._async_refresh(
            log_failures=False,
            raise_on_auth_failed=raise_on_auth_failed,
            scheduled=scheduled,
            raise_on_entry_error=raise_on_entry_error,
        )
        if log_failures and succeeded and not self.last_update_success:
            self.logger.warning("%s: %s", self.failure_message(), self.last_exception)
        if self.last_update_success == succeeded and self.shown() != before:
            self.async_update_listeners()
