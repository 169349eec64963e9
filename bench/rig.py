"""What every scenario stands on: settings, a car on simulated time and its simulated cloud."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import jwt
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from bench.settings import Settings
from bench.simtime import SimulatedTime
from custom_components.tesla_resilient.clock import DATA_CLOCK, Clock
from simulator.ble_car import BleCar
from simulator.ble_proxy import SimulatedBluetoothProxy
from simulator.clock import WALL_EPOCH, FakeClock
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

DAY_START = "2025-06-16 07:00:00+00:00"
"""Midnight in the test instance's time zone (US/Pacific): scenarios start their day here."""

OAUTH_TOKEN_PATH = "/oauth2/v3/token"
OAUTH_AUTHORIZE_PATH = "/oauth2/v3/authorize"


@dataclass(slots=True)
class Context:
    """What a scenario gets: Home Assistant, the freezer that owns its time, and the settings."""

    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    settings: Settings


class Running:
    """Used as `async with`: `start` on the way in, `stop` on the way out, whatever happened."""

    async def start(self) -> None:
        """Bring the part up."""

    async def stop(self) -> None:
        """Take the part down."""

    async def __aenter__(self) -> Self:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()


class Rig(Running):
    """One virtual car and its simulated Fleet API, on simulated time shared with `hass`.

    Use as `async with Rig(ctx) as rig:`; the cloud answers after `settings.cloud_latency_s` of
    simulated time, and `rig.time` moves every clock together. Tesla Resilient reads the car's
    clock too: its ages and deadlines then move with the loop's timers, not with the machine.
    """

    def __init__(
        self, ctx: Context, car: VirtualCar | None = None, *, vin: str | None = None, name: str = ""
    ) -> None:
        """Build the car (on a clock that reads the frozen wall time) and its cloud.

        `vin` and `name` give the built car another VIN (and so its sleep model) and name.
        """
        self.hass = ctx.hass
        self.settings = ctx.settings
        self.clock = FakeClock(start=time.time() - WALL_EPOCH)
        extra: dict[str, Any] = {"vin": vin} if vin else {}
        if name:
            extra["display_name"] = name
        self.car = car or VirtualCar(clock=self.clock, wall_clock=self.clock.wall, **extra)
        self.cloud = FleetApiSimulator(
            self.car,
            clock=self.clock,
            wall_clock=self.clock.wall,
            latency_s=ctx.settings.cloud_latency_s,
        )
        self.time = SimulatedTime(ctx.hass, ctx.freezer, self.clock)

    async def start(self) -> None:
        """Start the cloud, take over time and hand the car's clock to Tesla Resilient.

        The integration's default `Clock` holds the machine's `time.monotonic` and `time.time`,
        which freezegun does not reach once the integration was imported before time froze
        (the simulator imports its protocol module), so it is always put here explicitly.
        """
        self.time.__enter__()
        self.hass.data[DATA_CLOCK] = Clock(monotonic=self.clock, wall=self.clock.wall)
        await self.cloud.start()

    async def stop(self) -> None:
        """Stop the cloud and give time back."""
        try:
            await self.cloud.stop()
            await self.time.settle()
        finally:
            self.hass.data.pop(DATA_CLOCK, None)
            self.time.__exit__()

    def oauth_token(self) -> dict[str, Any]:
        """A token as Home Assistant's OAuth2 helpers store it, issued by the simulated cloud."""
        lifetime = self.cloud.token_lifetime_s
        return {
            "access_token": self.cloud.access_token,
            "refresh_token": self.cloud.refresh_token,
            "token_type": "Bearer",
            "expires_in": int(lifetime),
            "expires_at": time.time() + lifetime,
        }

    async def import_credential(self, domain: str) -> None:
        """Register the simulated cloud's OAuth client for `domain`, as a user would."""
        assert await async_setup_component(self.hass, "application_credentials", {})
        await async_import_client_credential(
            self.hass,
            domain,
            ClientCredential(self.cloud.client_id, self.cloud.client_secret, "simulator"),
            domain,
        )

    @property
    def token_url(self) -> str:
        """The simulated cloud's OAuth token endpoint."""
        return f"{self.cloud.base_url}{OAUTH_TOKEN_PATH}"

    @property
    def authorize_url(self) -> str:
        """The simulated cloud's OAuth authorize endpoint."""
        return f"{self.cloud.base_url}{OAUTH_AUTHORIZE_PATH}"


class Radio(Running):
    """The car's Bluetooth face, heard by a virtual proxy registered with Home Assistant.

    Needs Home Assistant's Bluetooth set up (the `enable_bluetooth` fixture). Each exchange over
    the air takes `settings.ble_latency_s` of simulated time.
    """

    def __init__(self, rig: Rig) -> None:
        """Give `rig`'s car a Bluetooth face and a proxy in range."""
        self.car = BleCar(rig.car)
        rig.cloud.attach_ble_car(self.car)  # one key list: keys paired here sign cloud commands
        self.proxy = SimulatedBluetoothProxy(
            rig.hass, self.car, latency_s=rig.settings.ble_latency_s
        )

    async def start(self) -> None:
        """Put the proxy on air."""
        await self.proxy.async_start()

    async def stop(self) -> None:
        """Take the proxy off air."""
        await self.proxy.async_stop()

    @property
    def address(self) -> str:
        """The address Home Assistant knows the car by."""
        return self.proxy.address


def token_subject(access_token: str) -> str:
    """The account id a Tesla access token names (its `sub` claim)."""
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return str(claims["sub"])
