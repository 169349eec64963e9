"""Polls one vehicle through the cloud without ever waking it."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import UpdateFailed

from . import repairs
from .cloud import CloudLink
from .cloud_data import ASLEEP, ONLINE, CloudSnapshot
from .cloud_errors import (
    VEHICLE_SUBSCRIPTION,
    CloudAuthError,
    CloudError,
    CloudRateLimited,
    MissingScopes,
    PaymentRequired,
    VehicleAsleep,
)
from .const import (
    CLOUD_FIELD_MAX_AGE,
    DATA_INTERVAL_ACTIVE,
    DATA_INTERVAL_IDLE,
    DOMAIN,
    RATE_LIMIT_BACKOFF,
    SCOPE_DATA,
)
from .link_coordinator import LinkCoordinator
from .providers import provider_of
from .state import Field, Source, VehicleState

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

    from .clock import Clock


class CloudVehicleCoordinator(LinkCoordinator):
    """Reads one vehicle from the cloud into its merged state.

    It has no timer of its own: the account's heartbeat (`CloudHealthCoordinator`) refreshes one
    vehicle at a time, so the state poll and the health probe are one request. The free state
    call runs every poll; the paid data call only while the car is online, and seldom enough
    while it idles that it can fall asleep, and not while `skip_data` says Bluetooth answers
    instead. A rate limit holds every call back until Tesla's Retry-After has passed.
    """

    config_entry: ConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        cloud: CloudLink,
        vin: str,
        *,
        state: VehicleState,
        clock: Clock,
        location: bool,
        shown: Callable[[], Hashable],
        skip_data: Callable[[], bool] | None = None,
    ) -> None:
        """Poll `vin` through `cloud` into `state`; `shown` tells what its entities display.

        `skip_data` says when the paid data call waits (while Bluetooth answers instead).
        """
        super().__init__(
            hass,
            config_entry=entry,
            name=f"{DOMAIN} cloud {vin[-6:]}",
            update_interval=None,
            shown=shown,
        )
        self.cloud = cloud
        self.vin = vin
        self.state = state
        self.clock = clock
        self.location = location
        self.vehicle_state: str | None = None
        self.data_timestamp: float | None = None
        self.retry_at: float | None = None
        self._data_at: float | None = None
        self.skip_data: Callable[[], bool] = skip_data or (lambda: False)
        self.data = shown()
        self._expired = False
        self._state_budget: float | None = None
        self._unpaid = True
        """Whether a 402 repair may be up: setup may have raised one, so the first answer clears."""

    def holding_back(self, now: float) -> bool:
        """Whether a rate limit holds this vehicle's calls back at `now`."""
        return self.retry_at is not None and now < self.retry_at

    async def async_heartbeat(self, budget: float) -> None:
        """Poll once as the account's heartbeat: the state call gets `budget` seconds."""
        self._state_budget = budget
        try:
            await self.async_refresh()
        finally:
            self._state_budget = None

    async def async_read(self) -> None:
        """Ask whether the car is awake, and read its data only when it is and it is due."""
        if self.holding_back(self.clock.monotonic()):
            return
        self.retry_at = None
        try:
            self.vehicle_state = await self.cloud.vehicle_state(self.vin, budget=self._state_budget)
            if self.vehicle_state != ONLINE:
                self._note_awake(False, sleeping=self.vehicle_state == ASLEEP)
            elif self._data_due() and not self.skip_data():
                self.record(await self.cloud.vehicle_data(self.vin, location=self.location))
            else:
                self._note_awake(True)
        except VehicleAsleep:
            self.vehicle_state = ASLEEP
            self._note_awake(False)
        except CloudAuthError as err:
            self._expire_cloud_fields()
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="auth_failed"
            ) from err
        except MissingScopes as err:
            self._expire_cloud_fields()
            repairs.async_scopes_issue(
                self.hass,
                self.config_entry.entry_id,
                self.config_entry.title,
                SCOPE_DATA,
                missing=True,
            )
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloud_error",
                translation_placeholders={"error": str(err)},
            ) from err
        except PaymentRequired as err:
            self._expire_cloud_fields()
            self.payment_issue(err.reason)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="payment_required",
                translation_placeholders={"provider": provider_of(self.config_entry.data).label},
            ) from err
        except CloudRateLimited as err:
            wait = (
                RATE_LIMIT_BACKOFF.total_seconds() if err.retry_after is None else err.retry_after
            )
            self.retry_at = self.clock.monotonic() + wait
            self._expire_cloud_fields()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited",
                translation_placeholders={"seconds": str(round(wait))},
            ) from err
        except CloudError as err:
            self._expire_cloud_fields()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="cloud_error",
                translation_placeholders={"error": str(err)},
            ) from err
        if self._unpaid:
            self.payment_issue(None)

    def payment_issue(self, reason: str | None) -> None:
        """Raise the provider's 402 repair for this car's account (or car), or clear it (None)."""
        self._unpaid = reason is not None
        entry = self.config_entry
        title = entry.title
        if reason == VEHICLE_SUBSCRIPTION:
            title = f"{title}, {self.vin}"
        repairs.async_payment_issue(
            self.hass, entry.entry_id, provider_of(entry.data), reason, title=title, vin=self.vin
        )

    def record(self, snapshot: CloudSnapshot) -> None:
        """Merge one data answer, dated by the car's own timestamp."""
        now = self.clock.monotonic()
        at = now
        if snapshot.timestamp is not None:
            at = now - max(0.0, self.clock.wall() - snapshot.timestamp)
        self.vehicle_state = ONLINE
        self._data_at = now
        self.data_timestamp = snapshot.timestamp
        self.state.update(snapshot.values, Source.CLOUD, at)
        self.state.update({Field.ASLEEP: False}, Source.CLOUD, now)
        self._expire_cloud_fields()

    def _expire_cloud_fields(self) -> None:
        """Forget what only the cloud told, once it is too old to show.

        Runs while the cloud fails, and after each data answer: an answer that leaves a field out
        or carries the car's old timestamp (a frozen copy) must not keep an old value alive.
        """
        dropped = self.state.expire_from(
            Source.CLOUD, CLOUD_FIELD_MAX_AGE.total_seconds(), self.clock.monotonic()
        )
        if dropped:
            self._expired = True

    @callback
    def _async_refresh_finished(self) -> None:
        """Show fields that aged out even when the cloud keeps failing.

        Home Assistant tells listeners about a second failure in a row only when the data
        changed, and the state object stays the same object.
        """
        if self._expired:
            self._expired = False
            if not self.last_update_success:
                self.async_update_listeners()

    def _note_awake(self, awake: bool, *, sleeping: bool = False) -> None:
        """Record what the state call says; a car it calls asleep runs no climate, nobody in it.

        A Tesla does not sleep while its climate runs or someone is inside, so the last data
        call's "climate on" ends when the car is seen asleep, without paying for another. An
        offline car (no connection) may still run its climate, so nothing is inferred then.
        """
        values: dict[Field, Any] = {Field.ASLEEP: not awake}
        if not awake:
            self._data_at = None
        if sleeping:
            values |= {Field.CLIMATE_ON: False, Field.USER_PRESENT: False}
        self.state.update(values, Source.CLOUD, self.clock.monotonic())

    def _data_due(self) -> bool:
        """Whether to pay for a data call now.

        At once after the car was seen asleep; then every DATA_INTERVAL_ACTIVE while something
        happens in it, DATA_INTERVAL_IDLE while it idles (a data call keeps a car awake).
        """
        if self._data_at is None:
            return True
        interval = DATA_INTERVAL_ACTIVE if self.state.active else DATA_INTERVAL_IDLE
        return self.clock.monotonic() - self._data_at >= interval.total_seconds()
