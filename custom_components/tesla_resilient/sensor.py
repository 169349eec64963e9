"""Sensors: battery, charging, temperatures, tyres, driving, the cloud's status and its cost."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfLength,
    UnitOfPower,
    UnitOfPressure,
    UnitOfSpeed,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .billing import month_start
from .entity import (
    BluetoothEntity,
    CloudHealthEntity,
    TeslaResilientEntity,
    VehicleEntityDescription,
    async_add_vehicle_entities,
)
from .health import CloudStatus
from .models import TeslaResilientConfigEntry
from .router import Route
from .state import Field, VehicleState
from .vehicle import LastCommand, VehicleRuntime

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


CLOUD_STATUS = SensorEntityDescription(
    key="cloud_status",
    translation_key="cloud_status",
    device_class=SensorDeviceClass.ENUM,
    options=[str(status) for status in CloudStatus],
)
BLUETOOTH_SIGNAL = SensorEntityDescription(
    key="bluetooth_signal",
    translation_key="bluetooth_signal",
    device_class=SensorDeviceClass.SIGNAL_STRENGTH,
    native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
    entity_registry_enabled_default=False,
)
LAST_COMMAND_ROUTE = TeslaResilientSensorEntityDescription(
    key="last_command_route",
    translation_key="last_command_route",
    device_class=SensorDeviceClass.ENUM,
    options=[str(route) for route in Route],
    entity_category=EntityCategory.DIAGNOSTIC,
)
CLOUD_COST = TeslaResilientSensorEntityDescription(
    key="cloud_cost",
    translation_key="cloud_cost",
    device_class=SensorDeviceClass.MONETARY,
    native_unit_of_measurement="USD",
    state_class=SensorStateClass.TOTAL,
    suggested_display_precision=2,
    entity_category=EntityCategory.DIAGNOSTIC,
)

ATTR_CONFIRMED = "confirmed"
ATTR_COMMAND = "command"


def _bluetooth_entities(vehicle: VehicleRuntime) -> list[Entity]:
    return [BluetoothSignalEntity(vehicle, BLUETOOTH_SIGNAL)]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the cloud's status and every vehicle's sensors."""
    if (account := entry.runtime_data.account) is not None:
        async_add_entities([CloudStatusEntity(account.health, CLOUD_STATUS)])

    def entities(vehicle: VehicleRuntime) -> list[Entity]:
        found: list[Entity] = [
            TeslaResilientSensorEntity(vehicle, description) for description in SENSORS
        ]
        found.append(LastCommandRouteEntity(vehicle, LAST_COMMAND_ROUTE))
        if vehicle.cloud_coordinator is not None:
            found.append(CloudCostEntity(vehicle, CLOUD_COST))
        return found

    async_add_vehicle_entities(hass, entry, async_add_entities, entities, _bluetooth_entities)


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


class CloudStatusEntity(CloudHealthEntity, SensorEntity):
    """The account's cloud status, since when, what fails and the latest error."""

    @property
    def native_value(self) -> str:
        """Online, degraded, outage, auth_failed or rate_limited."""
        return str(self.coordinator.data.status)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        """Since when, what fails, the latest failure's kind, and who failed."""
        since = self.coordinator.since()
        last_error = self.coordinator.health.last_error
        party = self.coordinator.data.failing_party
        return {
            "since": None if since is None else since.isoformat(),
            "failing": sorted(str(capability) for capability in self.coordinator.data.failing),
            "last_error": None if last_error is None else str(last_error),
            "failing_party": None if party is None else str(party),
        }


class BluetoothSignalEntity(BluetoothEntity, SensorEntity):
    """Signal strength of the car's Bluetooth advertisements."""

    @property
    def available(self) -> bool:
        """Available while an adapter or proxy hears the car."""
        assert self.vehicle.bluetooth is not None
        return self.vehicle.bluetooth.link.in_range

    @property
    def native_value(self) -> int | None:
        """The latest advertisement's RSSI."""
        assert self.vehicle.bluetooth is not None
        return self.vehicle.bluetooth.link.rssi


class LastCommandRouteEntity(TeslaResilientEntity, SensorEntity, RestoreEntity):
    """The link the latest command went over, and whether the car confirmed it."""

    entity_description: TeslaResilientSensorEntityDescription
    _restored: LastCommand | None = None

    async def async_added_to_hass(self) -> None:
        """Show the last command from before a restart until the next one."""
        await super().async_added_to_hass()
        last = await self.async_get_last_state()
        if last is not None and last.state in tuple(Route):
            self._restored = LastCommand(
                str(last.attributes.get(ATTR_COMMAND, "")),
                Route(last.state),
                last.attributes.get(ATTR_CONFIRMED) is True,
            )

    @property
    def _last(self) -> LastCommand | None:
        return self.vehicle.last_command or self._restored

    @property
    def native_value(self) -> str | None:
        """Cloud or Bluetooth."""
        return None if (last := self._last) is None else str(last.route)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The command, and whether the car confirmed it."""
        if (last := self._last) is None:
            return None
        return {ATTR_COMMAND: last.command, ATTR_CONFIRMED: last.confirmed}


class CloudCostEntity(TeslaResilientEntity, RestoreSensor):
    """What the integration's cloud requests for this vehicle cost this month, at Tesla's prices."""

    entity_description: TeslaResilientSensorEntityDescription

    def __init__(
        self, vehicle: VehicleRuntime, description: TeslaResilientSensorEntityDescription
    ) -> None:
        """Count the vehicle's billed cloud requests."""
        super().__init__(vehicle, description)
        self._cost = vehicle.cost

    async def async_added_to_hass(self) -> None:
        """Carry this month's total over a restart."""
        await super().async_added_to_hass()
        last_state = await self.async_get_last_state()
        last = await self.async_get_last_sensor_data()
        if (
            last_state is not None
            and last is not None
            and isinstance(last.native_value, int | float)
            and last_state.attributes.get("last_reset") is not None
        ):
            self._cost.restore(
                float(last.native_value),
                dt_util.parse_datetime(str(last_state.attributes["last_reset"])),
                dt_util.now(),
            )

    @property
    def native_value(self) -> float:
        """The estimated cost so far this month, in USD."""
        self._cost.roll(dt_util.now())
        return round(self._cost.usd, 4)

    @property
    def last_reset(self) -> datetime:
        """The start of this month."""
        return month_start(dt_util.now())
