"""The simulator's entity base: state pushed by the hub, on the simulator's or a car's device."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DEVICE_NAME, DOMAIN, NEARBY_CAR_NAME
from .hub import SimulatorHub

if TYPE_CHECKING:
    from . import SimulatorConfigEntry

type PlatformSetup = Callable[
    [HomeAssistant, SimulatorConfigEntry, AddConfigEntryEntitiesCallback], Awaitable[None]
]


def simulator_device(hub: SimulatorHub, entry_id: str) -> DeviceInfo:
    """Describe the "Tesla simulator" device: the account's car and the simulated Fleet API."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry_id)},
        name=DEVICE_NAME,
        manufacturer="Tesla Resilient",
        model="Virtual Tesla and Fleet API",
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=f"{hub.fleet_api.base_url}/status",
    )


def nearby_car_device(entry_id: str, vin: str) -> DeviceInfo:
    """Describe the nearby car's device; its serial number is the VIN the pairing flow asks for."""
    return DeviceInfo(
        identifiers={(DOMAIN, f"{entry_id}_nearby_car")},
        name=NEARBY_CAR_NAME,
        manufacturer="Tesla Resilient",
        model="Virtual Tesla, Bluetooth only",
        serial_number=vin,
        entry_type=DeviceEntryType.SERVICE,
        via_device=(DOMAIN, entry_id),
    )


class SimulatorEntity(Entity):
    """An entity of the "Tesla simulator" device, or of the nearby car's when `nearby_car`."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        hub: SimulatorHub,
        entry_id: str,
        description: EntityDescription,
        *,
        nearby_car: bool = False,
    ) -> None:
        """Describe the entity and attach it to its device."""
        self.hub = hub
        self.entity_description = description
        if nearby_car:
            assert hub.nearby is not None
            self._attr_unique_id = f"{entry_id}_nearby_car_{description.key}"
            self._attr_device_info = nearby_car_device(entry_id, hub.nearby.car.vin)
        else:
            self._attr_unique_id = f"{entry_id}_{description.key}"
            self._attr_device_info = simulator_device(hub, entry_id)

    async def async_added_to_hass(self) -> None:
        """Write the state whenever the hub or a car changes."""
        await super().async_added_to_hass()
        self.async_on_remove(self.hub.add_listener(self.async_write_ha_state))


def simulator_platform[DescriptionT: EntityDescription](
    entity: Callable[..., Entity],
    descriptions: Iterable[DescriptionT],
    nearby_car: Iterable[DescriptionT] = (),
) -> PlatformSetup:
    """Return a platform's `async_setup_entry`: one `entity` per description.

    The `nearby_car` descriptions go on the nearby car's device, when the simulator has one.
    """

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: SimulatorConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        hub = entry.runtime_data
        async_add_entities(
            [
                *(entity(hub, entry.entry_id, description) for description in descriptions),
                *(
                    entity(hub, entry.entry_id, description, nearby_car=True)
                    for description in (nearby_car if hub.nearby is not None else ())
                ),
            ]
        )

    return async_setup_entry
