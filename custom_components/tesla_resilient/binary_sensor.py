"""Binary sensors: cable, doors, windows, trunks, presence, sleep, and the links to the car."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import (
    BluetoothEntity,
    CloudHealthEntity,
    TeslaResilientEntity,
    VehicleCloudEntity,
    VehicleEntityDescription,
    async_add_vehicle_entities,
)
from .health import Capability, CloudStatus
from .models import TeslaResilientConfigEntry
from .state import Field
from .vehicle import VehicleRuntime

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class TeslaResilientBinarySensorEntityDescription(
    BinarySensorEntityDescription, VehicleEntityDescription
):
    """Describes a binary sensor that is on when its field is true."""


def _described(
    key: str, field: Field, device_class: BinarySensorDeviceClass | None
) -> TeslaResilientBinarySensorEntityDescription:
    return TeslaResilientBinarySensorEntityDescription(
        key=key, translation_key=key, field=field, device_class=device_class
    )


BINARY_SENSORS: tuple[TeslaResilientBinarySensorEntityDescription, ...] = (
    _described("charge_cable", Field.CABLE_CONNECTED, BinarySensorDeviceClass.PLUG),
    _described("front_driver_door", Field.DOOR_DF, BinarySensorDeviceClass.DOOR),
    _described("rear_driver_door", Field.DOOR_DR, BinarySensorDeviceClass.DOOR),
    _described("front_passenger_door", Field.DOOR_PF, BinarySensorDeviceClass.DOOR),
    _described("rear_passenger_door", Field.DOOR_PR, BinarySensorDeviceClass.DOOR),
    _described("front_driver_window", Field.WINDOW_FD, BinarySensorDeviceClass.WINDOW),
    _described("rear_driver_window", Field.WINDOW_RD, BinarySensorDeviceClass.WINDOW),
    _described("front_passenger_window", Field.WINDOW_FP, BinarySensorDeviceClass.WINDOW),
    _described("rear_passenger_window", Field.WINDOW_RP, BinarySensorDeviceClass.WINDOW),
    _described("trunk", Field.TRUNK_OPEN, BinarySensorDeviceClass.OPENING),
    _described("frunk", Field.FRUNK_OPEN, BinarySensorDeviceClass.OPENING),
    _described("user_present", Field.USER_PRESENT, BinarySensorDeviceClass.OCCUPANCY),
    _described("asleep", Field.ASLEEP, None),
)


TESLA_CLOUD = BinarySensorEntityDescription(
    key="cloud", name=None, device_class=BinarySensorDeviceClass.CONNECTIVITY
)
CLOUD_CONNECTION = BinarySensorEntityDescription(
    key="cloud_connection",
    translation_key="cloud_connection",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)
BLUETOOTH_CONNECTION = BinarySensorEntityDescription(
    key="bluetooth",
    translation_key="bluetooth",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)

_CLOUD_DOWN = frozenset({CloudStatus.OUTAGE, CloudStatus.AUTH_FAILED})
_VEHICLE_CAPABILITIES = frozenset({Capability.DATA, Capability.COMMANDS})


def _bluetooth_entities(vehicle: VehicleRuntime) -> list[Entity]:
    return [BluetoothConnectionEntity(vehicle, BLUETOOTH_CONNECTION)]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the cloud's connectivity and every vehicle's binary sensors."""
    account = entry.runtime_data.account
    health = None if account is None else account.health
    if health is not None:
        async_add_entities([TeslaCloudEntity(health, TESLA_CLOUD)])

    def entities(vehicle: VehicleRuntime) -> list[Entity]:
        found: list[Entity] = [
            TeslaResilientBinarySensorEntity(vehicle, description) for description in BINARY_SENSORS
        ]
        if health is not None:
            found.append(CloudConnectionEntity(health, vehicle, CLOUD_CONNECTION))
        return found

    async_add_vehicle_entities(hass, entry, async_add_entities, entities, _bluetooth_entities)


class TeslaResilientBinarySensorEntity(TeslaResilientEntity, BinarySensorEntity):
    """A binary sensor showing one true-or-false field."""

    entity_description: TeslaResilientBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the field is true."""
        value = self.field_value
        return None if value is None else bool(value)


class TeslaCloudEntity(CloudHealthEntity, BinarySensorEntity):
    """Connected unless the account's cloud is down or refuses the credentials."""

    @property
    def is_on(self) -> bool:
        """Whether the cloud works for this account."""
        return self.coordinator.data.status not in _CLOUD_DOWN


class CloudConnectionEntity(VehicleCloudEntity, BinarySensorEntity):
    """Connected while the cloud reads and commands this vehicle."""

    @property
    def is_on(self) -> bool:
        """Whether the vehicle's data and commands work through the cloud."""
        found = self.coordinator.data.vehicles.get(self.vehicle.vin)
        failing = frozenset() if found is None else found[1]
        return not failing & _VEHICLE_CAPABILITIES


class BluetoothConnectionEntity(BluetoothEntity, BinarySensorEntity):
    """Connected while the car is in Bluetooth range and answers."""

    @property
    def is_on(self) -> bool:
        """Whether the car answers over Bluetooth."""
        return self.vehicle.bluetooth_answers()
