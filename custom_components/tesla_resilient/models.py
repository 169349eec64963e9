"""Runtime data of a config entry: its links, its cloud's health, its vehicles and their clock."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntry

from .clock import Clock
from .providers import Provider

if TYPE_CHECKING:
    from .application_key import ApplicationKey
    from .cloud import CloudLink
    from .cloud_health import CloudHealthCoordinator
    from .vehicle import VehicleRuntime


@dataclass(frozen=True, slots=True)
class CloudAccount:
    """An entry's cloud account: its link and the coordinator that watches the link's health.

    With the application's key when the owner named the domain it is published on.
    """

    link: CloudLink
    health: CloudHealthCoordinator
    application_key: ApplicationKey | None = None
    application_domain: str | None = None
    provider: Provider = Provider.TESLA


@dataclass(frozen=True, slots=True)
class TeslaResilientData:
    """What a loaded entry holds: its cloud account (None for a car without one) and vehicles."""

    account: CloudAccount | None
    clock: Clock
    location: bool
    vehicles: dict[str, VehicleRuntime]


type TeslaResilientConfigEntry = ConfigEntry[TeslaResilientData]
