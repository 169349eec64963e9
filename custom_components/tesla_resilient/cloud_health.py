"""Watches one account's cloud: every classified outcome and a free probe feed its health."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Protocol

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .billing import request_cost
from .cloud import CloudLink
from .cloud_errors import CloudError, OutcomeReport, Request
from .const import DOMAIN, LOGGER
from .health import AccountHealth, Beat, Capability, CloudStatus, Outcome
from .health_terms import is_outage_evidence

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


class FailingParty(StrEnum):
    """Who failed, as the cloud status entity tells it."""

    PROVIDER = "provider"
    """Teslemetry, Tessie or the proxy does not answer while Tesla's own /status does."""
    TESLA = "tesla"
    """Tesla's cloud does not answer (with a provider: nor does Tesla's own /status)."""
    CAR = "car"
    """The cloud answers, for a car that sleeps or cannot be reached."""


CAR_OUTCOMES: Final = frozenset({Outcome.ASLEEP, Outcome.VEHICLE_UNAVAILABLE})
CAR_ANSWERS: Final = frozenset({Request.VEHICLE_DATA, Request.COMMAND, Request.SIGNED_COMMAND})


@dataclass(frozen=True, slots=True)
class HealthView:
    """What users see of the cloud's health: account status, what fails, and each vehicle's.

    `failing_party` names who failed: None while nothing does.
    """

    status: CloudStatus
    failing: frozenset[Capability]
    vehicles: Mapping[str, tuple[CloudStatus, frozenset[Capability]]]
    failing_party: FailingParty | None = None


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
        separate_provider: bool = False,
    ) -> None:
        """Watch `cloud` into `health`; `vehicles()` are the account's vehicles at the time.

        With `separate_provider` the account's server is a provider's in front of Tesla's,
        and the /status probe asks Tesla's own server: its answer tells who failed.
        """
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
        self.separate_provider = separate_provider
        self._tesla_answers: bool | None = None
        self._car_trouble: set[str] = set()
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
            self._failing_party(now),
        )

    def _failing_party(self, now: float) -> FailingParty | None:
        """Name who failed: the provider or Tesla during an outage, else a car in trouble.

        With a provider in between, Tesla's own /status decides: answered, the provider is
        the one failing; not answered, or not asked yet, Tesla.
        """
        health = self.health
        status = health.status(now)
        last = health.last_error
        if status in (CloudStatus.OUTAGE, CloudStatus.DEGRADED) and (
            last is not None and is_outage_evidence(last)
        ):
            if self.separate_provider and self._tesla_answers:
                return FailingParty.PROVIDER
            return FailingParty.TESLA
        if self._car_trouble:
            return FailingParty.CAR
        return None

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
        changed = self._note_party(report)
        if capability is None:
            changed |= health.record_probe(
                report.outcome, report.at, retry_after=report.retry_after
            )
        elif report.request is Request.VEHICLE_STATE and report.vin is not None:
            changed |= health.record_heartbeat(
                report.vin, report.outcome, report.at, retry_after=report.retry_after
            )
        else:
            changed |= health.record(
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

    def _note_party(self, report: OutcomeReport) -> bool:
        """Keep what tells who failed; returns whether it changed.

        Tesla's /status answer, and the cars whose latest call ended asleep or unreachable,
        until the car itself answers (its data or a command; a wake request or the state call
        answer for Tesla's servers, not for the car).
        """
        before = (self._tesla_answers, frozenset(self._car_trouble))
        if report.request is Request.STATUS:
            self._tesla_answers = report.outcome is Outcome.SUCCESS
        elif report.vin is not None:
            if report.outcome in CAR_OUTCOMES:
                self._car_trouble.add(report.vin)
            elif report.outcome is Outcome.SUCCESS and report.request in CAR_ANSWERS:
                self._car_trouble.discard(report.vin)
        return before != (self._tesla_answers, frozenset(self._car_trouble))

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
