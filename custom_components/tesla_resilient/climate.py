"""Climate: cabin conditioning on or off, and its target temperature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.climate import ClimateEntity, ClimateEntityDescription
from homeassistant.components.climate.const import ATTR_HVAC_MODE, ClimateEntityFeature, HVACMode
from homeassistant.const import ATTR_TEMPERATURE, UnitOfTemperature

from .const import TEMPERATURE_RANGE
from .entity import TeslaResilientEntity, VehicleEntityDescription, vehicle_platform
from .router import Command
from .state import Field

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class TeslaResilientClimateEntityDescription(ClimateEntityDescription, VehicleEntityDescription):
    """Describes the cabin climate by whether conditioning is on."""


CLIMATE = TeslaResilientClimateEntityDescription(
    key="climate", translation_key="climate", field=Field.CLIMATE_ON
)


class TeslaResilientClimateEntity(TeslaResilientEntity, ClimateEntity):
    """The cabin's conditioning."""

    entity_description: TeslaResilientClimateEntityDescription

    _attr_hvac_modes = [HVACMode.OFF, HVACMode.HEAT_COOL]
    _attr_temperature_unit = UnitOfTemperature.CELSIUS
    _attr_min_temp, _attr_max_temp = TEMPERATURE_RANGE
    _attr_target_temperature_step = 0.5
    _attr_supported_features = (
        ClimateEntityFeature.TARGET_TEMPERATURE
        | ClimateEntityFeature.TURN_ON
        | ClimateEntityFeature.TURN_OFF
    )

    @property
    def hvac_mode(self) -> HVACMode | None:
        """Conditioning on or off."""
        value = self.field_value
        if value is None:
            return None
        return HVACMode.HEAT_COOL if value else HVACMode.OFF

    @property
    def current_temperature(self) -> float | None:
        """The cabin's temperature."""
        value = self.vehicle.state.value(Field.INSIDE_TEMP)
        return value if isinstance(value, int | float) else None

    @property
    def target_temperature(self) -> float | None:
        """The driver's temperature setting."""
        value = self.vehicle.state.value(Field.DRIVER_TEMP_SETTING)
        return value if isinstance(value, int | float) else None

    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Start or stop conditioning."""
        if hvac_mode == HVACMode.OFF:
            await self.async_turn_off()
        else:
            await self.async_turn_on()

    async def async_turn_on(self) -> None:
        """Start conditioning."""
        await self.vehicle.async_command(
            Command.AUTO_CONDITIONING_START, optimistic={Field.CLIMATE_ON: True}
        )

    async def async_turn_off(self) -> None:
        """Stop conditioning."""
        await self.vehicle.async_command(
            Command.AUTO_CONDITIONING_STOP, optimistic={Field.CLIMATE_ON: False}
        )

    async def async_set_temperature(self, **kwargs: Any) -> None:
        """Set the cabin temperature, and the mode when one is given."""
        if (temperature := kwargs.get(ATTR_TEMPERATURE)) is not None:
            await self.vehicle.async_command(
                Command.SET_TEMPS,
                {"driver_temp": temperature, "passenger_temp": temperature},
                optimistic={Field.DRIVER_TEMP_SETTING: temperature},
            )
        if (mode := kwargs.get(ATTR_HVAC_MODE)) is not None:
            await self.async_set_hvac_mode(mode)


async_setup_entry = vehicle_platform(TeslaResilientClimateEntity, (CLIMATE,))
