"""One vehicle state merged from both links, every field with its source and age."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final


class Source(StrEnum):
    """Where a value came from."""

    CLOUD = "cloud"
    BLUETOOTH = "bluetooth"


class Field(StrEnum):
    """Every vehicle fact an entity can show; both links report in these keys."""

    # security controller (Bluetooth answers these even while the car sleeps)
    LOCKED = "locked"
    ASLEEP = "asleep"
    USER_PRESENT = "user_present"
    DOOR_DF = "door_df"
    DOOR_DR = "door_dr"
    DOOR_PF = "door_pf"
    DOOR_PR = "door_pr"
    TRUNK_OPEN = "trunk_open"
    FRUNK_OPEN = "frunk_open"
    # charge
    BATTERY_LEVEL = "battery_level"
    BATTERY_RANGE = "battery_range"
    CHARGING_STATE = "charging_state"
    CHARGER_POWER = "charger_power"
    CHARGE_RATE = "charge_rate"
    TIME_TO_FULL_CHARGE = "time_to_full_charge"
    CHARGE_LIMIT_SOC = "charge_limit_soc"
    CHARGE_CURRENT_REQUEST = "charge_current_request"
    CHARGE_CURRENT_REQUEST_MAX = "charge_current_request_max"
    CHARGE_PORT_DOOR_OPEN = "charge_port_door_open"
    CHARGE_PORT_LATCH_ENGAGED = "charge_port_latch_engaged"
    CABLE_CONNECTED = "cable_connected"
    CHARGING = "charging"
    # climate
    CLIMATE_ON = "climate_on"
    INSIDE_TEMP = "inside_temp"
    OUTSIDE_TEMP = "outside_temp"
    DRIVER_TEMP_SETTING = "driver_temp_setting"
    # vehicle
    WINDOW_FD = "window_fd"
    WINDOW_FP = "window_fp"
    WINDOW_RD = "window_rd"
    WINDOW_RP = "window_rp"
    SENTRY_MODE = "sentry_mode"
    ODOMETER = "odometer"
    TPMS_FL = "tpms_fl"
    TPMS_FR = "tpms_fr"
    TPMS_RL = "tpms_rl"
    TPMS_RR = "tpms_rr"
    SOFTWARE_VERSION = "software_version"
    # drive
    SHIFT_STATE = "shift_state"
    SPEED = "speed"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    HEADING = "heading"


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A value, the link it came from, and when (monotonic seconds) the car reported it."""

    value: Any
    source: Source
    at: float


DRIVING_SHIFT: Final = frozenset({"d", "r", "n"})
"""Shift states of a car that is moving or about to."""


@dataclass
class VehicleState:
    """The freshest value of every field either link has reported.

    `revision` counts the changes a user could see (a value, its source, or a value gone).
    """

    fields: dict[Field, FieldValue] = field(default_factory=dict)
    revision: int = field(default=0, compare=False)

    def update(self, values: Mapping[Field, Any], source: Source, at: float) -> set[Field]:
        """Merge values from one link; older news never replaces newer. Returns changed fields."""
        changed: set[Field] = set()
        for key, value in values.items():
            current = self.fields.get(key)
            if current is not None and current.at > at:
                continue
            if current is None or current.value != value or current.source != source:
                changed.add(key)
            self.fields[key] = FieldValue(value, source, at)
        if changed:
            self.revision += 1
        return changed

    def get(self, key: Field) -> FieldValue | None:
        """Return the freshest report of one field, if any."""
        return self.fields.get(key)

    def value(self, key: Field) -> Any:
        """Return the freshest value of one field, or None when no link has reported it."""
        found = self.fields.get(key)
        return None if found is None else found.value

    @property
    def active(self) -> bool:
        """Whether something is going on in the car: charging, climate, someone in it, driving."""
        return (
            self.value(Field.CHARGING) is True
            or self.value(Field.CLIMATE_ON) is True
            or self.value(Field.USER_PRESENT) is True
            or self.value(Field.SHIFT_STATE) in DRIVING_SHIFT
        )

    def expire(self, max_age: Callable[[Field], float | None], now: float) -> set[Field]:
        """Drop fields older than their maximum age; returns what became unknown."""
        dropped = {
            key
            for key, found in self.fields.items()
            if (limit := max_age(key)) is not None and now - found.at > limit
        }
        for key in dropped:
            del self.fields[key]
        if dropped:
            self.revision += 1
        return dropped

    def expire_from(self, source: Source, max_age: float, now: float) -> set[Field]:
        """Drop the fields `source` reported last, once older than `max_age` seconds."""

        def limit(key: Field) -> float | None:
            found = self.fields.get(key)
            return max_age if found is not None and found.source is source else None

        return self.expire(limit, now)

    def sources(self, keys: Iterable[Field]) -> dict[str, str]:
        """Source of each known key, for diagnostics and attributes."""
        return {str(key): str(found.source) for key in keys if (found := self.fields.get(key))}
