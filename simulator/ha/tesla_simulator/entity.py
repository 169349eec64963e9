"""The simulator's entity base: one device, state pushed by the hub."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DEVICE_NAME, DOMAIN
from .hub import SimulatorHub


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
