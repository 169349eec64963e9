"""Numbers: charge limit and charging current."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
)
from homeassistant.const import PERCENTAGE, UnitOfElectricCurrent

from .const import CHARGE_LIMIT_RANGE, DEFAULT_MAX_CHARGING_AMPS
from .entity import TeslaResilientEntity, VehicleEntityDescription, vehicle_platform
from .router import Command
from .state import Field, VehicleState
from .vehicle import VehicleRuntime

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class TeslaResilientNumberEntityDescription(NumberEntityDescription, VehicleEntityDescription):
    """Describes a number by its field, its setter and, when the car decides, its maximum."""

    set_fn: Callable[[VehicleRuntime, int], Awaitable[None]]
    max_fn: Callable[[VehicleState], float] | None = None


NUMBERS: tuple[TeslaResilientNumberEntityDescription, ...] = (
    TeslaResilientNumberEntityDescription(
        key="charge_limit",
        translation_key="charge_limit",
        field=Field.CHARGE_LIMIT_SOC,
        native_min_value=CHARGE_LIMIT_RANGE[0],
        native_max_value=CHARGE_LIMIT_RANGE[1],
        native_step=1,
        native_unit_of_measurement=PERCENTAGE,
        device_class=NumberDeviceClass.BATTERY,
        set_fn=lambda vehicle, value: vehicle.async_command(
            Command.SET_CHARGE_LIMIT, {"percent": value}, optimistic={Field.CHARGE_LIMIT_SOC: value}
        ),
    ),
    TeslaResilientNumberEntityDescription(
        key="charging_current",
        translation_key="charging_current",
        field=Field.CHARGE_CURRENT_REQUEST,
        native_min_value=0,
        native_max_value=DEFAULT_MAX_CHARGING_AMPS,
        native_step=1,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        device_class=NumberDeviceClass.CURRENT,
        max_fn=lambda state: (
            state.value(Field.CHARGE_CURRENT_REQUEST_MAX) or DEFAULT_MAX_CHARGING_AMPS
        ),
        set_fn=lambda vehicle, value: vehicle.async_command(
            Command.SET_CHARGING_AMPS,
            {"charging_amps": value},
            optimistic={Field.CHARGE_CURRENT_REQUEST: value},
        ),
    ),
)


class TeslaResilientNumberEntity(TeslaResilientEntity, NumberEntity):
    """A number setting of the vehicle."""

    entity_description: TeslaResilientNumberEntityDescription

    @property
    def native_value(self) -> float | None:
        """The current setting."""
        value = self.field_value
        return value if isinstance(value, int | float) else None

    @property
    def native_max_value(self) -> float:
        """The largest setting the car accepts."""
        if (max_fn := self.entity_description.max_fn) is not None:
            return max_fn(self.vehicle.state)
        return super().native_max_value

    async def async_set_native_value(self, value: float) -> None:
        """Change the setting."""
        await self.entity_description.set_fn(self.vehicle, round(value))


async_setup_entry = vehicle_platform(TeslaResilientNumberEntity, NUMBERS)
