"""What both links' coordinators share: a failure told once, entities told only of changes."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Hashable
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import LOGGER

LINK_LOGGER: Final = LOGGER.getChild("link")
"""The logger every link coordinator hands to Home Assistant's coordinator."""

_FAILURE_MESSAGES: Final = frozenset(
    {
        "Error fetching %s data: %s",
        "Timeout fetching %s data",
        "Error requesting %s data: %s",
        "Authentication failed while fetching %s data: %s",
    }
)
"""What Home Assistant's coordinator logs at error level when a read fails (not a crash)."""


class _FailureAsWarning(logging.Filter):
    """Tell a link that started failing as one warning, not as an error.

    A cloud outage, a car that drives off, a busy car or a dropped link is nothing a user can act
    on; Home Assistant logs it once when reads start failing (and the recovery once, at info).
    A crash in the code ("Unexpected error fetching ...") stays an error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.msg in _FAILURE_MESSAGES:
            name = record.args[0] if isinstance(record.args, tuple) and record.args else "link"
            detail = record.args[1] if isinstance(record.args, tuple) and record.args[1:] else ""
            record.msg = "Reading %s failed: %s"
            record.args = (name, detail or "timed out")
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True


LINK_LOGGER.addFilter(_FailureAsWarning())


class LinkCoordinator(DataUpdateCoordinator[Hashable]):
    """A coordinator reading one link to a car into the car's merged state.

    Its data is what its entities show (`shown()`: the merged state's revision and whatever else
    they read), so Home Assistant writes entity states only when a read changed something or the
    link started or stopped working: a poll that learned nothing new writes no state.
    """

    def __init__(
        self, hass: HomeAssistant, *, shown: Callable[[], Hashable], **kwargs: Any
    ) -> None:
        """Set up the coordinator on the links' logger; `shown` tells what entities display."""
        super().__init__(hass, LINK_LOGGER, always_update=False, **kwargs)
        self.shown = shown

    async def _async_update_data(self) -> Hashable:
        """Read the link into the merged state, then say what entities now show."""
        await self.async_read()
        return self.shown()

    @abstractmethod
    async def async_read(self) -> None:
        """Read the link into the car's merged state; raise UpdateFailed when it fails."""
