"""Covers: trunk, frunk, charge port and windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.cover import (
    CoverDeviceClass,
    CoverEntity,
    CoverEntityDescription,
    CoverEntityFeature,
)

from .entity import TeslaResilientEntity, VehicleAction, VehicleEntityDescription, vehicle_platform
from .router import Command
from .state import Field, VehicleState
from .vehicle import VehicleRuntime

PARALLEL_UPDATES = 1

WINDOWS = (Field.WINDOW_FD, Field.WINDOW_FP, Field.WINDOW_RD, Field.WINDOW_RP)


@dataclass(frozen=True, kw_only=True)
class TeslaResilientCoverEntityDescription(CoverEntityDescription, VehicleEntityDescription):
    """Describes a cover by how it reads closed and how it opens and (maybe) closes."""

    closed_fn: Callable[[VehicleState], bool]
    open_fn: VehicleAction
    close_fn: VehicleAction | None = None


async def _close_windows(vehicle: VehicleRuntime) -> None:
    params: dict[str, Any] = {"command": "close"}
    if (lat := vehicle.state.value(Field.LATITUDE)) is not None and (
        lon := vehicle.state.value(Field.LONGITUDE)
    ) is not None:
        params |= {"lat": lat, "lon": lon}
    await vehicle.async_command(
        Command.WINDOW_CONTROL, params, optimistic=dict.fromkeys(WINDOWS, False)
    )


COVERS: tuple[TeslaResilientCoverEntityDescription, ...] = (
    TeslaResilientCoverEntityDescription(
        key="trunk",
        translation_key="trunk",
        field=Field.TRUNK_OPEN,
        device_class=CoverDeviceClass.DOOR,
        closed_fn=lambda state: not state.value(Field.TRUNK_OPEN),
        open_fn=lambda vehicle: vehicle.async_move_trunk("rear", open_=True),
        close_fn=lambda vehicle: vehicle.async_move_trunk("rear", open_=False),
    ),
    TeslaResilientCoverEntityDescription(
        key="frunk",
        translation_key="frunk",
        field=Field.FRUNK_OPEN,
        device_class=CoverDeviceClass.DOOR,
        closed_fn=lambda state: not state.value(Field.FRUNK_OPEN),
        open_fn=lambda vehicle: vehicle.async_move_trunk("front", open_=True),
    ),
    TeslaResilientCoverEntityDescription(
        key="charge_port",
        translation_key="charge_port",
        field=Field.CHARGE_PORT_DOOR_OPEN,
        device_class=CoverDeviceClass.DOOR,
        closed_fn=lambda state: not state.value(Field.CHARGE_PORT_DOOR_OPEN),
        open_fn=lambda vehicle: vehicle.async_command(
            Command.CHARGE_PORT_DOOR_OPEN, optimistic={Field.CHARGE_PORT_DOOR_OPEN: True}
        ),
        close_fn=lambda vehicle: vehicle.async_command(
            Command.CHARGE_PORT_DOOR_CLOSE, optimistic={Field.CHARGE_PORT_DOOR_OPEN: False}
        ),
    ),
    TeslaResilientCoverEntityDescription(
        key="windows",
        translation_key="windows",
        requires=WINDOWS,
        device_class=CoverDeviceClass.WINDOW,
        closed_fn=lambda state: not any(state.value(window) for window in WINDOWS),
        open_fn=lambda vehicle: vehicle.async_command(
            Command.WINDOW_CONTROL, {"command": "vent"}, optimistic=dict.fromkeys(WINDOWS, True)
        ),
        close_fn=_close_windows,
    ),
)


class TeslaResilientCoverEntity(TeslaResilientEntity, CoverEntity):
    """A cover of the vehicle."""

    entity_description: TeslaResilientCoverEntityDescription

    def __init__(
        self, vehicle: VehicleRuntime, description: TeslaResilientCoverEntityDescription
    ) -> None:
        """Offer closing only where the car can close it."""
        super().__init__(vehicle, description)
        self._attr_supported_features = CoverEntityFeature.OPEN
        if description.close_fn is not None:
            self._attr_supported_features |= CoverEntityFeature.CLOSE

    @property
    def is_closed(self) -> bool:
        """Whether it is closed."""
        return self.entity_description.closed_fn(self.vehicle.state)

    async def async_open_cover(self, **kwargs: Any) -> None:
        """Open it."""
        await self.entity_description.open_fn(self.vehicle)

    async def async_close_cover(self, **kwargs: Any) -> None:
        """Close it."""
        if (close_fn := self.entity_description.close_fn) is not None:
            await close_fn(self.vehicle)


async_setup_entry = vehicle_platform(TeslaResilientCoverEntity, COVERS)
