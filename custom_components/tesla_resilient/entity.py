"""Base entity: one vehicle's device, its merged state, available once a link reported it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import CloudVehicleCoordinator
from .state import Field
from .vehicle import VehicleRuntime

type VehicleAction = Callable[[VehicleRuntime], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class VehicleEntityDescription(EntityDescription):
    """Describes an entity by the fields it reads.

    `field` is the one it shows; `requires` are others it needs. Until every one of them has been
    reported by some link, the entity is unavailable.
    """

    field: Field | None = None
    requires: tuple[Field, ...] = ()


class TeslaResilientEntity(CoordinatorEntity[CloudVehicleCoordinator]):
    """An entity of one vehicle, updated whenever its merged state changes."""

    _attr_has_entity_name = True
    entity_description: VehicleEntityDescription

    def __init__(self, vehicle: VehicleRuntime, description: VehicleEntityDescription) -> None:
        """Attach the entity to the vehicle's device."""
        super().__init__(vehicle.coordinator)
        self.vehicle = vehicle
        self.entity_description = description
        self._attr_unique_id = f"{vehicle.vin}-{description.key}"
        self._attr_device_info = vehicle.device_info
        self._fields = ((description.field,) if description.field else ()) + description.requires

    @property
    def field_value(self) -> object:
        """The current value of the entity's own field."""
        field = self.entity_description.field
        return None if field is None else self.vehicle.state.value(field)

    @property
    def available(self) -> bool:
        """Available once every field the entity reads has been reported."""
        state = self.vehicle.state
        return all(state.get(field) is not None for field in self._fields)
