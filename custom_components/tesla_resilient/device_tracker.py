"""Device tracker: where the vehicle is, when the location scope is granted."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.device_tracker.config_entry import (
    TrackerEntity,
    TrackerEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import TeslaResilientEntity, VehicleEntityDescription, async_add_vehicle_entities
from .models import TeslaResilientConfigEntry
from .state import Field

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class TeslaResilientTrackerEntityDescription(TrackerEntityDescription, VehicleEntityDescription):
    """Describes the location by the coordinates it needs."""


LOCATION = TeslaResilientTrackerEntityDescription(
    key="location",
    translation_key="location",
    field=Field.LATITUDE,
    requires=(Field.LONGITUDE,),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every vehicle's location when the account granted it."""
    if not entry.runtime_data.location:
        return
    async_add_vehicle_entities(
        hass,
        entry,
        async_add_entities,
        lambda vehicle: [TeslaResilientTrackerEntity(vehicle, LOCATION)],
    )


class TeslaResilientTrackerEntity(TeslaResilientEntity, TrackerEntity):
    """The vehicle's GPS position."""

    entity_description: TeslaResilientTrackerEntityDescription

    @property
    def latitude(self) -> float | None:
        """Latitude of the vehicle."""
        value = self.vehicle.state.value(Field.LATITUDE)
        return value if isinstance(value, int | float) else None

    @property
    def longitude(self) -> float | None:
        """Longitude of the vehicle."""
        value = self.vehicle.state.value(Field.LONGITUDE)
        return value if isinstance(value, int | float) else None
