"""The simulator's choice of cloud outage."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription

from .entity import SimulatorEntity, simulator_platform
from .hub import OutageKind

PARALLEL_UPDATES = 0

OUTAGE_KIND = SelectEntityDescription(
    key="outage_kind",
    translation_key="outage_kind",
    options=[kind.value for kind in OutageKind],
)


class OutageKindSelect(SimulatorEntity, SelectEntity):
    """Which outage the cloud outage switch stages."""

    @property
    def current_option(self) -> str:
        """The selected outage."""
        return self.hub.outage_kind.value

    async def async_select_option(self, option: str) -> None:
        """Select an outage; a running outage changes to it."""
        self.hub.set_outage_kind(OutageKind(option))


async_setup_entry = simulator_platform(OutageKindSelect, (OUTAGE_KIND,))
