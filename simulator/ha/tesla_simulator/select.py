"""The simulator's choice of cloud outage."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import SimulatorConfigEntry
from .entity import SimulatorEntity
from .hub import OutageKind

PARALLEL_UPDATES = 0

OUTAGE_KIND = SelectEntityDescription(
    key="outage_kind",
    translation_key="outage_kind",
    options=[kind.value for kind in OutageKind],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SimulatorConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the outage kind select."""
    async_add_entities([OutageKindSelect(entry.runtime_data, entry.entry_id, OUTAGE_KIND)])


class OutageKindSelect(SimulatorEntity, SelectEntity):
    """Which outage the cloud outage switch stages."""

    @property
    def current_option(self) -> str:
        """The selected outage."""
        return self.hub.outage_kind.value

    async def async_select_option(self, option: str) -> None:
        """Select an outage; a running outage changes to it."""
        self.hub.set_outage_kind(OutageKind(option))
