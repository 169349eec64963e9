"""Buttons: wake, flash the lights, honk."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription

from .entity import TeslaResilientEntity, VehicleAction, VehicleEntityDescription, vehicle_platform
from .router import Command

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class TeslaResilientButtonEntityDescription(ButtonEntityDescription, VehicleEntityDescription):
    """Describes a button by its action."""

    press_fn: VehicleAction


BUTTONS: tuple[TeslaResilientButtonEntityDescription, ...] = (
    TeslaResilientButtonEntityDescription(
        key="wake",
        translation_key="wake",
        press_fn=lambda vehicle: vehicle.async_command(Command.WAKE_UP),
    ),
    TeslaResilientButtonEntityDescription(
        key="flash_lights",
        translation_key="flash_lights",
        press_fn=lambda vehicle: vehicle.async_command(Command.FLASH_LIGHTS),
    ),
    TeslaResilientButtonEntityDescription(
        key="honk",
        translation_key="honk",
        press_fn=lambda vehicle: vehicle.async_command(Command.HONK_HORN),
    ),
)


class TeslaResilientButtonEntity(TeslaResilientEntity, ButtonEntity):
    """A button of the vehicle."""

    entity_description: TeslaResilientButtonEntityDescription

    async def async_press(self) -> None:
        """Run the button's action."""
        await self.entity_description.press_fn(self.vehicle)


async_setup_entry = vehicle_platform(TeslaResilientButtonEntity, BUTTONS)
