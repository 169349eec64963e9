"""Binary sensors: cable, doors, windows, trunks, presence and sleep."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import TeslaResilientEntity, VehicleEntityDescription
from .models import TeslaResilientConfigEntry
from .state import Field

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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every vehicle's binary sensors."""
    async_add_entities(
        TeslaResilientBinarySensorEntity(vehicle, description)
        for vehicle in entry.runtime_data.vehicles.values()
        for description in BINARY_SENSORS
    )


class TeslaResilientBinarySensorEntity(TeslaResilientEntity, BinarySensorEntity):
    """A binary sensor showing one true-or-false field."""

    entity_description: TeslaResilientBinarySensorEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the field is true."""
        value = self.field_value
        return None if value is None else bool(value)
