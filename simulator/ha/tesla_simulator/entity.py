"""The simulator's entity base: one device, state pushed by the hub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DEVICE_NAME, DOMAIN
from .hub import SimulatorHub

if TYPE_CHECKING:
    from . import SimulatorConfigEntry

type PlatformSetup = Callable[
    [HomeAssistant, SimulatorConfigEntry, AddConfigEntryEntitiesCallback], Awaitable[None]
]


class SimulatorEntity(Entity):
    """An entity of the "Tesla simulator" device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: SimulatorHub, entry_id: str, description: EntityDescription) -> None:
        """Describe the entity and attach it to the simulator's device."""
        self.hub = hub
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)},
            name=DEVICE_NAME,
            manufacturer="Tesla Resilient",
            model="Virtual Tesla and Fleet API",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=f"{hub.fleet_api.base_url}/status",
        )

    async def async_added_to_hass(self) -> None:
        """Write the state whenever the hub or the car changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self.hub.add_listener(self.async_write_ha_state))


def simulator_platform[DescriptionT: EntityDescription](
    entity: Callable[[SimulatorHub, str, DescriptionT], Entity],
    descriptions: Iterable[DescriptionT],
) -> PlatformSetup:
    """Return a platform's `async_setup_entry`: one `entity` per description."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: SimulatorConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        async_add_entities(
            entity(entry.runtime_data, entry.entry_id, description) for description in descriptions
        )

    return async_setup_entry
