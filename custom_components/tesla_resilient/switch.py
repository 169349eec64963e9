"""Switches: charging and sentry mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription

from .entity import TeslaResilientEntity, VehicleAction, VehicleEntityDescription, vehicle_platform
from .router import Command
from .state import Field

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class TeslaResilientSwitchEntityDescription(SwitchEntityDescription, VehicleEntityDescription):
    """Describes a switch by its field (true when on) and its two actions."""

    on_fn: VehicleAction
    off_fn: VehicleAction


SWITCHES: tuple[TeslaResilientSwitchEntityDescription, ...] = (
    TeslaResilientSwitchEntityDescription(
        key="charging",
        translation_key="charging",
        field=Field.CHARGING,
        on_fn=lambda vehicle: vehicle.async_command(
            Command.CHARGE_START,
            optimistic={Field.CHARGING: True, Field.CHARGING_STATE: "charging"},
        ),
        off_fn=lambda vehicle: vehicle.async_command(
            Command.CHARGE_STOP, optimistic={Field.CHARGING: False, Field.CHARGING_STATE: "stopped"}
        ),
    ),
    TeslaResilientSwitchEntityDescription(
        key="sentry_mode",
        translation_key="sentry_mode",
        field=Field.SENTRY_MODE,
        on_fn=lambda vehicle: vehicle.async_command(
            Command.SET_SENTRY_MODE, {"on": True}, optimistic={Field.SENTRY_MODE: True}
        ),
        off_fn=lambda vehicle: vehicle.async_command(
            Command.SET_SENTRY_MODE, {"on": False}, optimistic={Field.SENTRY_MODE: False}
        ),
    ),
)


class TeslaResilientSwitchEntity(TeslaResilientEntity, SwitchEntity):
    """A switch of the vehicle."""

    entity_description: TeslaResilientSwitchEntityDescription

    @property
    def is_on(self) -> bool | None:
        """Whether it is on."""
        value = self.field_value
        return None if value is None else bool(value)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Turn it on."""
        await self.entity_description.on_fn(self.vehicle)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Turn it off."""
        await self.entity_description.off_fn(self.vehicle)


async_setup_entry = vehicle_platform(TeslaResilientSwitchEntity, SWITCHES)
