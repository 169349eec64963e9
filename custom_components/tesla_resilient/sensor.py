"""Sensors: battery, charging, temperatures, odometer, tyres and driving."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfLength,
    UnitOfPower,
    UnitOfPressure,
    UnitOfSpeed,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .entity import TeslaResilientEntity, VehicleEntityDescription
from .models import TeslaResilientConfigEntry
from .state import Field, VehicleState

PARALLEL_UPDATES = 0

CHARGING_STATES = ["disconnected", "charging", "complete", "stopped", "starting", "no_power"]
SHIFT_STATES = ["p", "d", "r", "n"]


@dataclass(frozen=True, kw_only=True)
class TeslaResilientSensorEntityDescription(SensorEntityDescription, VehicleEntityDescription):
    """Describes a sensor reading one field of the vehicle's state."""

    value_fn: Callable[[VehicleState], StateType] | None = None


def _tyre(key: str, field: Field) -> TeslaResilientSensorEntityDescription:
    return TeslaResilientSensorEntityDescription(
        key=key,
        translation_key=key,
        field=field,
        device_class=SensorDeviceClass.PRESSURE,
        native_unit_of_measurement=UnitOfPressure.BAR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
    )


SENSORS: tuple[TeslaResilientSensorEntityDescription, ...] = (
    TeslaResilientSensorEntityDescription(
        key="battery_level",
        field=Field.BATTERY_LEVEL,
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
    ),
    TeslaResilientSensorEntityDescription(
        key="battery_range",
        translation_key="battery_range",
        field=Field.BATTERY_RANGE,
        device_class=SensorDeviceClass.DISTANCE,
        native_unit_of_measurement=UnitOfLength.MILES,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
    ),
    TeslaResilientSensorEntityDescription(
        key="charging_state",
        translation_key="charging_state",
        field=Field.CHARGING_STATE,
        device_class=SensorDeviceClass.ENUM,
        options=CHARGING_STATES,
        value_fn=lambda state: (
            value if (value := state.value(Field.CHARGING_STATE)) in CHARGING_STATES else None
        ),
    ),
    TeslaResilientSensorEntityDescription(
        key="charger_power",
        translation_key="charger_power",
        field=Field.CHARGER_POWER,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
    ),
    TeslaResilientSensorEntityDescription(
        key="charge_rate",
        translation_key="charge_rate",
        field=Field.CHARGE_RATE,
        device_class=SensorDeviceClass.SPEED,
        native_unit_of_measurement=UnitOfSpeed.MILES_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
    ),
    TeslaResilientSensorEntityDescription(
        key="time_to_full_charge",
        translation_key="time_to_full_charge",
        field=Field.TIME_TO_FULL_CHARGE,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
    ),
    TeslaResilientSensorEntityDescription(
        key="charge_limit",
        translation_key="charge_limit",
        field=Field.CHARGE_LIMIT_SOC,
        native_unit_of_measurement=PERCENTAGE,
        entity_registry_enabled_default=False,
    ),
    TeslaResilientSensorEntityDescription(
        key="inside_temperature",
        translation_key="inside_temperature",
        field=Field.INSIDE_TEMP,
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
    ),
    TeslaResilientSensorEntityDescription(
        key="outside_temperature",
        translation_key="outside_temperature",
        field=Field.OUTSIDE_TEMP,
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
    ),
    TeslaResilientSensorEntityDescription(
        key="odometer",
        translation_key="odometer",
        field=Field.ODOMETER,
        device_class=SensorDeviceClass.DISTANCE,
        native_unit_of_measurement=UnitOfLength.MILES,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
    ),
    _tyre("tpms_front_left", Field.TPMS_FL),
    _tyre("tpms_front_right", Field.TPMS_FR),
    _tyre("tpms_rear_left", Field.TPMS_RL),
    _tyre("tpms_rear_right", Field.TPMS_RR),
    TeslaResilientSensorEntityDescription(
        key="shift_state",
        translation_key="shift_state",
        field=Field.SHIFT_STATE,
        device_class=SensorDeviceClass.ENUM,
        options=SHIFT_STATES,
        value_fn=lambda state: (
            value if (value := state.value(Field.SHIFT_STATE)) in SHIFT_STATES else None
        ),
    ),
    TeslaResilientSensorEntityDescription(
        key="speed",
        translation_key="speed",
        field=Field.SPEED,
        device_class=SensorDeviceClass.SPEED,
        native_unit_of_measurement=UnitOfSpeed.MILES_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add every vehicle's sensors."""
    async_add_entities(
        TeslaResilientSensorEntity(vehicle, description)
        for vehicle in entry.runtime_data.vehicles.values()
        for description in SENSORS
    )


class TeslaResilientSensorEntity(TeslaResilientEntity, SensorEntity):
    """A sensor showing one field of the vehicle's state."""

    entity_description: TeslaResilientSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """The field's value."""
        if (value_fn := self.entity_description.value_fn) is not None:
            return value_fn(self.vehicle.state)
        value = self.field_value
        return value if isinstance(value, str | int | float) else None
