"""Runtime data of a config entry: its links, its cloud's health, its vehicles and their clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

if TYPE_CHECKING:
    from .cloud import CloudLink
    from .cloud_health import CloudHealthCoordinator
    from .vehicle import VehicleRuntime


@dataclass(frozen=True, slots=True)
class Clock:
    """Time as the integration reads it: ages, deadlines and waits.

    Put a different one in hass.data[DATA_CLOCK] before setup to run on a simulated car's time.
    """

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


DATA_CLOCK: HassKey[Clock] = HassKey(f"{DOMAIN}_clock")


@dataclass
class TeslaResilientData:
    """What a loaded entry holds: cloud link and health (None without an account), vehicles."""

    cloud: CloudLink | None
    clock: Clock
    location: bool
    health: CloudHealthCoordinator | None = None
    vehicles: dict[str, VehicleRuntime] = field(default_factory=dict)


type TeslaResilientConfigEntry = ConfigEntry[TeslaResilientData]
