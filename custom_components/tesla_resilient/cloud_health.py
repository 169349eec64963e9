"""Watches one account's cloud: every classified outcome and a free probe feed its health."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .billing import request_cost
from .cloud import CloudLink
from .cloud_errors import CloudError, OutcomeReport, Request
from .const import DOMAIN, LOGGER
from .health import AccountHealth, Beat, Capability, CloudStatus

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .billing import CostMeter
    from .clock import Clock


class HeartbeatTarget(Protocol):
    """A vehicle's cloud poll, as the account's heartbeat drives it."""

    def holding_back(self, now: float) -> bool:
        """Whether a rate limit holds this vehicle's calls back at `now`."""

    async def async_heartbeat(self, budget: float) -> None:
        """Poll once as the heartbeat; the state call gets `budget` seconds."""


class AccountVehicle(Protocol):
    """What the account's health needs of one of its vehicles."""

    cost: CostMeter

    @property
    def cloud_coordinator(self) -> HeartbeatTarget | None:
        """The vehicle's cloud poll."""
        ...

    def bluetooth_says_awake(self) -> bool:
        """Whether Bluetooth answers now and says the car is awake."""


@dataclass(frozen=True, slots=True)
class HealthView:
    """What users see of the cloud's health: account status, what fails, and each vehicle's."""

    status: CloudStatus
    failing: frozenset[Capability]
    vehicles: Mapping[str, tuple[CloudStatus, frozenset[Capability]]]


class CloudHealthCoordinator(DataUpdateCoordinator[HealthView]):
    """Runs an account's one heartbeat and feeds its health from every cloud call.

    While healthy the heartbeat is the vehicle state poll, one vehicle at a time in turn, every
    `heartbeat_interval`; once something has failed it is the free `/status` probe, every
    `probe_interval_fast`, until the health is sure again. Entities hear of it only when what
    they show changes.
    """

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        cloud: CloudLink,
        health: AccountHealth,
        *,
        clock: Clock,
        vehicles: Callable[[], Mapping[str, AccountVehicle]],
    ) -> None:
        """Watch `cloud` into `health`; `vehicles()` are the account's vehicles at the time."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} cloud health",
            update_interval=timedelta(seconds=health.probe_interval(clock.monotonic())),
            always_update=False,
        )
        self.cloud = cloud
        self.health = health
        self.clock = clock
        self.vehicles = vehicles
        self.data = self._view()
        self._turn = 0
        self._beating = False

    def _view(self) -> HealthView:
        now = self.clock.monotonic()
        health = self.health
        return HealthView(
            health.status(now),
            frozenset(health.failing(now)),
            {
                vin: (health.vehicle_status(vin, now), frozenset(health.failing(now, vin)))
                for vin in health.vins
            },
        )

    def since(self) -> datetime | None:
        """When the current account status began, as a time of day."""
        if (since := self.health.since) is None:
            return None
        wall = self.clock.wall() - (self.clock.monotonic() - since)
        return dt_util.utc_from_timestamp(wall)

    def _bluetooth_says_awake(self, vin: str) -> bool:
        vehicle = self.vehicles().get(vin)
        return vehicle is not None and vehicle.bluetooth_says_awake()

    @callback
    def async_record(self, report: OutcomeReport) -> None:
        """Take one classified cloud call into the health, and into its vehicle's bill."""
        health = self.health
        capability = report.request.capability
        if capability is None:
            changed = health.record_probe(report.outcome, report.at, retry_after=report.retry_after)
        elif report.request is Request.VEHICLE_STATE and report.vin is not None:
            changed = health.record_heartbeat(
                report.vin, report.outcome, report.at, retry_after=report.retry_after
            )
        else:
            changed = health.record(
                capability,
                report.outcome,
                report.at,
                vin=report.vin,
                retry_after=report.retry_after,
            )
        if report.vin is not None:
            if report.data_timestamp_ms is not None:
                changed |= health.record_data_timestamp(
                    report.vin,
                    report.data_timestamp_ms,
                    report.at,
                    self._bluetooth_says_awake(report.vin),
                )
            if (vehicle := self.vehicles().get(report.vin)) is not None and (
                cost := request_cost(report)
            ):
                vehicle.cost.add(cost, dt_util.now())
        if self._beating:
            if changed:
                self.data = self._view()
                self.async_update_listeners()
            return
        if changed:
            self.async_set_updated_data(self._view())
        wanted = health.probe_interval(report.at)
        if self.update_interval is None or wanted < self.update_interval.total_seconds():
            self.update_interval = timedelta(seconds=wanted)
            self._schedule_refresh()

    def _next_heartbeat(self, now: float) -> HeartbeatTarget | None:
        """Return the vehicle whose turn it is, skipping those a rate limit holds back."""
        polled = [
            coordinator
            for vehicle in self.vehicles().values()
            if (coordinator := vehicle.cloud_coordinator) is not None
        ]
        for step in range(len(polled)):
            coordinator = polled[(self._turn + step) % len(polled)]
            if not coordinator.holding_back(now):
                self._turn = (self._turn + step + 1) % len(polled)
                return coordinator
        return None

    async def _async_update_data(self) -> HealthView:
        """Send the schedule's next request; its outcome arrives through `async_record`.

        The heartbeat polls the next vehicle's state (and its data when due); /status answers
        instead once something failed, or when a rate limit holds every vehicle back.
        """
        now = self.clock.monotonic()
        heartbeat = (
            self._next_heartbeat(now) if self.health.next_beat(now) is Beat.HEARTBEAT else None
        )
        self._beating = True
        try:
            if heartbeat is not None:
                await heartbeat.async_heartbeat(self.health.heartbeat_timeout)
            else:
                with contextlib.suppress(CloudError):
                    await self.cloud.status(self.health.probe_timeout)
        finally:
            self._beating = False
        now = self.clock.monotonic()
        self.health.refresh(now)
        self.update_interval = timedelta(seconds=self.health.probe_interval(now))
        return self._view()
