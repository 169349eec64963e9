"""Runtime data of a config entry: its links, its cloud's health, its vehicles and their clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .clock import Clock

if TYPE_CHECKING:
    from .cloud import CloudLink
    from .cloud_health import CloudHealthCoordinator
    from .vehicle import VehicleRuntime


@dataclass(frozen=True, slots=True)
class CloudAccount:
    """An entry's cloud account: its link and the coordinator that watches the link's health."""

    link: CloudLink
    health: CloudHealthCoordinator


@dataclass(frozen=True, slots=True)
class TeslaResilientData:
    """What a loaded entry holds: its cloud account (None for a car without one) and vehicles."""

    account: CloudAccount | None
    clock: Clock
    location: bool
    vehicles: dict[str, VehicleRuntime]


type TeslaResilientConfigEntry = ConfigEntry[TeslaResilientData]
