"""Locks: the doors and the charge cable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.lock import LockEntity, LockEntityDescription
from homeassistant.exceptions import ServiceValidationError

from .const import DOMAIN
from .entity import TeslaResilientEntity, VehicleAction, VehicleEntityDescription, vehicle_platform
from .router import Command
from .state import Field
from .vehicle import VehicleRuntime

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class TeslaResilientLockEntityDescription(LockEntityDescription, VehicleEntityDescription):
    """Describes a lock by its field (true when locked) and its two actions."""

    lock_fn: VehicleAction
    unlock_fn: VehicleAction


async def _cable_locks_itself(vehicle: VehicleRuntime) -> None:
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="cable_locks_itself")


LOCKS: tuple[TeslaResilientLockEntityDescription, ...] = (
    TeslaResilientLockEntityDescription(
        key="doors",
        translation_key="doors",
        field=Field.LOCKED,
        lock_fn=lambda vehicle: vehicle.async_command(
            Command.DOOR_LOCK, optimistic={Field.LOCKED: True}
        ),
        unlock_fn=lambda vehicle: vehicle.async_command(
            Command.DOOR_UNLOCK, optimistic={Field.LOCKED: False}
        ),
    ),
    TeslaResilientLockEntityDescription(
        key="charge_cable",
        translation_key="charge_cable",
        field=Field.CHARGE_PORT_LATCH_ENGAGED,
        lock_fn=_cable_locks_itself,
        unlock_fn=lambda vehicle: vehicle.async_command(
            Command.UNLOCK_CHARGE_PORT,
            optimistic={Field.CHARGE_PORT_LATCH_ENGAGED: False, Field.CHARGE_PORT_DOOR_OPEN: True},
        ),
    ),
)


class TeslaResilientLockEntity(TeslaResilientEntity, LockEntity):
    """A lock of the vehicle."""

    entity_description: TeslaResilientLockEntityDescription

    @property
    def is_locked(self) -> bool | None:
        """Whether it is locked."""
        value = self.field_value
        return None if value is None else bool(value)

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock it."""
        await self.entity_description.lock_fn(self.vehicle)

    async def async_unlock(self, **kwargs: Any) -> None:
        """Unlock it."""
        await self.entity_description.unlock_fn(self.vehicle)


async_setup_entry = vehicle_platform(TeslaResilientLockEntity, LOCKS)
