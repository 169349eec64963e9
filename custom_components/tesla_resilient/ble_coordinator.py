"""Polls a paired vehicle over Bluetooth: security status always, infotainment while awake."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import UpdateFailed

from .ble import BluetoothLink
from .ble_messages import Category
from .clock import DATA_CLOCK, Clock
from .const import BLUETOOTH_FIELD_MAX_AGE, DATA_INTERVAL_IDLE, DOMAIN
from .errors import (
    UNREACHABLE,
    BluetoothError,
    CarAsleep,
    CarKeyMismatch,
    CarOutOfRange,
    KeyNotPaired,
)
from .link_coordinator import LinkCoordinator
from .state import Field, Source, VehicleState

_LOGGER = logging.getLogger(__name__)

BLUETOOTH_POLL_INTERVAL: Final = timedelta(seconds=30)
"""How often the security controller's status is read: free, local, and it never wakes the car."""

INFOTAINMENT_INTERVAL_ACTIVE: Final = timedelta(minutes=1)
"""Infotainment reads while the car charges, conditions, drives or has someone in it."""

INFOTAINMENT_INTERVAL_IDLE: Final = DATA_INTERVAL_IDLE
"""Infotainment reads while an awake car idles: a read counts as activity, so this is longer than
the 15 minutes a Tesla needs to fall asleep."""

CATEGORIES: Final = (
    Category.CHARGE,
    Category.CLIMATE,
    Category.DRIVE,
    Category.LOCATION,
    Category.CLOSURES,
    Category.TIRE_PRESSURE,
)
"""Infotainment data read over Bluetooth, one category per request."""

ISSUE_CAR_KEY_MISMATCH: Final = "car_key_mismatch"
ISSUE_KEY_NOT_PAIRED: Final = "key_not_paired"

CATEGORY_BACKOFF_MAX: Final = timedelta(hours=1)
"""Longest a category that keeps failing waits before it is asked again."""

_ENDS_THE_READ: Final = (CarKeyMismatch, KeyNotPaired, *UNREACHABLE)
"""Failures of one category that stop the whole refresh: the car, not the category, is the
trouble."""


@dataclass
class CategoryHealth:
    """How reading one infotainment category has been going."""

    failures: int = 0
    last_error: str | None = None
    retry_at: float | None = None

    def due(self, now: float) -> bool:
        """Whether the category is asked in a read at `now`."""
        return self.retry_at is None or now >= self.retry_at

    def failed(self, err: BluetoothError, now: float) -> None:
        """Count a failure; wait twice as long before each further try, up to an hour."""
        self.failures += 1
        self.last_error = err.translation_key
        first = INFOTAINMENT_INTERVAL_ACTIVE.total_seconds()
        wait = min(first * 2 ** (self.failures - 1), CATEGORY_BACKOFF_MAX.total_seconds())
        self.retry_at = now + wait

    def succeeded(self) -> None:
        """Forget earlier failures."""
        self.failures, self.last_error, self.retry_at = 0, None, None


def _update_failed(err: BluetoothError) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders={"reason": err.reason or ""},
    )


class BluetoothCoordinator(LinkCoordinator):
    """Reads one vehicle over Bluetooth into its merged state.

    Out of range is a quiet failure (the coordinator logs it once). A car that answers with a
    key other than the pinned one stops the Bluetooth link for good and raises a repair issue; a
    car that no longer knows our key raises another, cleared by the next good read.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        config_entry: ConfigEntry,
        link: BluetoothLink,
        state: VehicleState,
        *,
        name: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        """Poll `link` into `state`; `name` is the car's name in repair issues."""
        super().__init__(
            hass,
            config_entry=config_entry,
            name=f"{DOMAIN} bluetooth {link.vin[-6:]}",
            update_interval=BLUETOOTH_POLL_INTERVAL,
            shown=lambda: (state.revision, link.in_range, link.rssi, self._stopped),
        )
        self.link = link
        self.state = state
        self.car_name = name or config_entry.title
        self.clock = clock or hass.data.get(DATA_CLOCK) or Clock()
        self._infotainment_at: float | None = None
        self.categories = {category: CategoryHealth() for category in CATEGORIES}
        self._stopped = False
        self.data = self.shown()
        self.awake = False

    @property
    def stopped(self) -> bool:
        """Whether Bluetooth is off for this car because an unexpected key answered."""
        return self._stopped

    @callback
    def _async_refresh_finished(self) -> None:
        """Age values out while reads fail.

        A value last read over Bluetooth is shown for BLUETOOTH_FIELD_MAX_AGE, then goes unknown
        (a value another link reported since is left alone).
        """
        super()._async_refresh_finished()
        if not self.last_update_success and self.state.expire_from(
            Source.BLUETOOTH, BLUETOOTH_FIELD_MAX_AGE.total_seconds(), self.clock.monotonic()
        ):
            self.async_update_listeners()

    async def async_read(self) -> None:
        """Read the status, then the infotainment categories when the car is awake and it is due."""
        if self._stopped:
            raise _update_failed(CarKeyMismatch())
        if not self.link.in_range:
            raise _update_failed(CarOutOfRange())
        try:
            status = await self.link.async_status()
            self.awake = status.get(Field.ASLEEP) is False
            self.state.update(status, Source.BLUETOOTH, self.clock.monotonic())
            if status.get(Field.ASLEEP) is False:
                if self._infotainment_due():
                    await self._async_read_infotainment()
            else:
                self._infotainment_at = None
        except CarKeyMismatch as err:
            self._async_stop()
            raise _update_failed(err) from err
        except KeyNotPaired as err:
            self._async_issue(ISSUE_KEY_NOT_PAIRED)
            raise _update_failed(err) from err
        except BluetoothError as err:
            raise _update_failed(err) from err
        ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(ISSUE_KEY_NOT_PAIRED))

    async def _async_read_infotainment(self) -> None:
        """Read each due category on its own: one that fails or stays silent stops no other."""
        for category in CATEGORIES:
            health = self.categories[category]
            if not health.due(self.clock.monotonic()):
                continue
            try:
                values = await self.link.async_read(category)
            except CarAsleep:
                self._infotainment_at = None
                return
            except _ENDS_THE_READ:
                raise
            except BluetoothError as err:
                health.failed(err, self.clock.monotonic())
                _LOGGER.debug("Reading %s over Bluetooth failed: %s", category, err)
                continue
            health.succeeded()
            self.state.update(values, Source.BLUETOOTH, self.clock.monotonic())
        self._infotainment_at = self.clock.monotonic()

    def _infotainment_due(self) -> bool:
        if self._infotainment_at is None:
            return True
        interval = INFOTAINMENT_INTERVAL_ACTIVE if self.state.active else INFOTAINMENT_INTERVAL_IDLE
        return self.clock.monotonic() - self._infotainment_at >= interval.total_seconds()

    @callback
    def _async_stop(self) -> None:
        """Stop polling for good and tell the user why."""
        self._stopped = True
        self.update_interval = None
        self._async_issue(ISSUE_CAR_KEY_MISMATCH)

    def _issue_id(self, key: str) -> str:
        return f"{key}_{self.link.vin}"

    @callback
    def _async_issue(self, key: str) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._issue_id(key),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=key,
            translation_placeholders={"name": self.car_name, "vin": self.link.vin},
        )

    @callback
    def async_clear_issues(self) -> None:
        """Remove this car's Bluetooth repair issues (when its key is removed or paired again)."""
        for key in (ISSUE_CAR_KEY_MISMATCH, ISSUE_KEY_NOT_PAIRED):
            ir.async_delete_issue(self.hass, DOMAIN, self._issue_id(key))

    def diagnostics(self) -> dict[str, Any]:
        """Describe the Bluetooth link now, without key material."""
        now = self.clock.monotonic()
        return {
            "in_range": self.link.in_range,
            "rssi": self.link.rssi,
            "connected": self.link.connected,
            "stopped": self._stopped,
            "failing_categories": {
                str(category): {
                    "failures": health.failures,
                    "last_error": health.last_error,
                    "retry_in_s": max(0.0, round((health.retry_at or 0) - now, 1)),
                }
                for category, health in self.categories.items()
                if health.failures
            },
        }
