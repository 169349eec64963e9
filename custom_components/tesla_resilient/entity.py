"""Base entity: one vehicle's device, its merged state, available once a link reported it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .ble_coordinator import BluetoothCoordinator
from .cloud_health import CloudHealthCoordinator
from .const import DOMAIN, SIGNAL_VEHICLE_ADDED
from .link_coordinator import LinkCoordinator
from .models import TeslaResilientConfigEntry
from .state import Field
from .vehicle import VehicleRuntime

type VehicleAction = Callable[[VehicleRuntime], Awaitable[None]]
type VehicleEntities = Callable[[VehicleRuntime], Iterable[Entity]]
type PlatformSetup = Callable[
    [HomeAssistant, TeslaResilientConfigEntry, AddConfigEntryEntitiesCallback], Awaitable[None]
]


@callback
def async_add_vehicle_entities(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entities: VehicleEntities,
    bluetooth_entities: VehicleEntities | None = None,
) -> None:
    """Add each vehicle's entities, now and whenever the account gains a vehicle.

    `bluetooth_entities` go to the vehicle's Bluetooth key, for vehicles that have one.
    """

    @callback
    def add(vehicle: VehicleRuntime) -> None:
        async_add_entities(entities(vehicle))
        if bluetooth_entities is not None and vehicle.bluetooth is not None:
            async_add_entities(
                bluetooth_entities(vehicle), config_subentry_id=vehicle.key_subentry_id
            )

    for vehicle in entry.runtime_data.vehicles.values():
        add(vehicle)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_VEHICLE_ADDED.format(entry.entry_id), add)
    )


def vehicle_platform[DescriptionT: EntityDescription](
    entity: Callable[[VehicleRuntime, DescriptionT], Entity],
    descriptions: Iterable[DescriptionT],
) -> PlatformSetup:
    """Return a platform's `async_setup_entry`: one `entity` per description and vehicle."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: TeslaResilientConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        async_add_vehicle_entities(
            hass,
            entry,
            async_add_entities,
            lambda vehicle: [entity(vehicle, description) for description in descriptions],
        )

    return async_setup_entry


@dataclass(frozen=True, kw_only=True)
class VehicleEntityDescription(EntityDescription):
    """Describes an entity by the fields it reads.

    `field` is the one it shows; `requires` are others it needs. Until every one of them has been
    reported by some link, the entity is unavailable.
    """

    field: Field | None = None
    requires: tuple[Field, ...] = ()


class VehicleDeviceEntity[CoordinatorT: DataUpdateCoordinator[Any]](
    CoordinatorEntity[CoordinatorT]
):
    """An entity on one vehicle's device that follows `coordinator`."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: CoordinatorT, vehicle: VehicleRuntime, description: EntityDescription
    ) -> None:
        """Attach the entity to the vehicle's device."""
        super().__init__(coordinator)
        self.vehicle = vehicle
        self.entity_description = description
        self._attr_unique_id = f"{vehicle.vin}-{description.key}"
        self._attr_device_info = vehicle.device_info


class TeslaResilientEntity(VehicleDeviceEntity[LinkCoordinator]):
    """An entity of one vehicle, updated whenever its merged state changes."""

    entity_description: VehicleEntityDescription

    def __init__(self, vehicle: VehicleRuntime, description: VehicleEntityDescription) -> None:
        """Attach the entity to the vehicle's device and the coordinator its entities follow."""
        super().__init__(vehicle.coordinator, vehicle, description)
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


class BluetoothEntity(VehicleDeviceEntity[BluetoothCoordinator]):
    """An entity of one vehicle's Bluetooth link."""

    def __init__(self, vehicle: VehicleRuntime, description: EntityDescription) -> None:
        """Attach the entity to the vehicle's device and its Bluetooth coordinator."""
        assert vehicle.bluetooth is not None
        super().__init__(vehicle.bluetooth, vehicle, description)

    @property
    def available(self) -> bool:
        """Always: being out of range is what these entities tell."""
        return True


class CloudHealthEntity(CoordinatorEntity[CloudHealthCoordinator]):
    """An entity of an account's cloud, on the account's "Tesla cloud" service device."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: CloudHealthCoordinator, description: EntityDescription) -> None:
        """Attach the entity to the account's cloud device."""
        super().__init__(coordinator)
        entry_id = coordinator.config_entry.entry_id
        self.entity_description = description
        self._attr_unique_id = f"{entry_id}-{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"{entry_id}-cloud")},
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="Tesla",
            name="Tesla cloud",
        )

    @property
    def available(self) -> bool:
        """Always: an unreachable cloud is what these entities tell."""
        return True


class VehicleCloudEntity(VehicleDeviceEntity[CloudHealthCoordinator]):
    """An entity of one vehicle that follows its account's cloud health."""

    @property
    def available(self) -> bool:
        """Always: an unreachable cloud is what these entities tell."""
        return True
