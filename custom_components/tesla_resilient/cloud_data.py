"""Fleet API answers read into the project's vocabulary: vehicle summaries and `Field` snapshots."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .cloud_errors import MalformedAnswerError
from .const import MODELS
from .state import Field

ONLINE: Final = "online"
ASLEEP: Final = "asleep"
OFFLINE: Final = "offline"
SIGNING_REQUIRED: Final = "required"


@dataclass(frozen=True, slots=True)
class VehicleSummary:
    """A vehicle as the account's product list describes it."""

    vin: str
    display_name: str
    state: str
    command_signing: str | None = None
    """`off`, `allowed` or `required` (Tesla signs-or-refuses commands to a `required` car)."""

    @property
    def signing_required(self) -> bool:
        """Whether the account's list says the car takes only signed commands.

        As core's tesla_fleet, which signs when the list says `required`.
        """
        return self.command_signing == SIGNING_REQUIRED

    @property
    def model(self) -> str | None:
        """Model name decoded from the VIN."""
        return MODELS.get(self.vin[3]) if len(self.vin) > 3 else None


@dataclass(frozen=True, slots=True)
class CloudSnapshot:
    """Vehicle facts from one data call and the car's own Unix time of them."""

    values: dict[Field, Any]
    timestamp: float | None

    @property
    def timestamp_ms(self) -> int | None:
        """The car's time of the data in milliseconds, as Tesla writes it."""
        return None if self.timestamp is None else round(self.timestamp * 1000)


def response(answer: Any) -> Any:
    """Return the `response` member of an answer; raise MalformedAnswerError without one."""
    if not isinstance(answer, Mapping) or "response" not in answer:
        raise MalformedAnswerError
    return answer["response"]


def summary(product: Any) -> VehicleSummary | None:
    """Read one entry of the product list; None for anything that is not a vehicle."""
    if not isinstance(product, Mapping) or not isinstance(vin := product.get("vin"), str):
        return None
    return VehicleSummary(
        vin=vin,
        display_name=str(product.get("display_name") or vin),
        state=str(product.get("state") or OFFLINE),
        command_signing=signing
        if isinstance(signing := product.get("command_signing"), str)
        else None,
    )


def _bool(value: Any) -> bool:
    return bool(value)


def _latched(value: Any) -> bool:
    return str(value) == "Engaged"


def _snake(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in text).lstrip("_")


def _shift(value: Any) -> str:
    return "p" if value in (None, "") else str(value).lower()


def _number(value: Any) -> Any:
    """Return a finite number as given; None for anything else (NaN, infinities, huge ints)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:
        return None


def _speed(value: Any) -> Any:
    return 0 if value is None else _number(value)


def _cable(value: Any) -> bool:
    return value not in (None, "", "<invalid>")


def _version(value: Any) -> str | None:
    return str(value).split(" ", 1)[0] if value else None


SECTIONS: Final = ("charge_state", "climate_state", "vehicle_state", "drive_state")
"""The parts of a vehicle_data answer that carry fields, each with the car's timestamp."""

MAPPING: Final[tuple[tuple[Field, str, str, Callable[[Any], Any]], ...]] = (
    (Field.LOCKED, "vehicle_state", "locked", _bool),
    (Field.USER_PRESENT, "vehicle_state", "is_user_present", _bool),
    (Field.DOOR_DF, "vehicle_state", "df", _bool),
    (Field.DOOR_DR, "vehicle_state", "dr", _bool),
    (Field.DOOR_PF, "vehicle_state", "pf", _bool),
    (Field.DOOR_PR, "vehicle_state", "pr", _bool),
    (Field.TRUNK_OPEN, "vehicle_state", "rt", _bool),
    (Field.FRUNK_OPEN, "vehicle_state", "ft", _bool),
    (Field.WINDOW_FD, "vehicle_state", "fd_window", _bool),
    (Field.WINDOW_FP, "vehicle_state", "fp_window", _bool),
    (Field.WINDOW_RD, "vehicle_state", "rd_window", _bool),
    (Field.WINDOW_RP, "vehicle_state", "rp_window", _bool),
    (Field.SENTRY_MODE, "vehicle_state", "sentry_mode", _bool),
    (Field.ODOMETER, "vehicle_state", "odometer", _number),
    (Field.TPMS_FL, "vehicle_state", "tpms_pressure_fl", _number),
    (Field.TPMS_FR, "vehicle_state", "tpms_pressure_fr", _number),
    (Field.TPMS_RL, "vehicle_state", "tpms_pressure_rl", _number),
    (Field.TPMS_RR, "vehicle_state", "tpms_pressure_rr", _number),
    (Field.SOFTWARE_VERSION, "vehicle_state", "car_version", _version),
    (Field.BATTERY_LEVEL, "charge_state", "battery_level", _number),
    (Field.BATTERY_RANGE, "charge_state", "battery_range", _number),
    (Field.CHARGING_STATE, "charge_state", "charging_state", _snake),
    (Field.CHARGER_POWER, "charge_state", "charger_power", _number),
    (Field.CHARGE_RATE, "charge_state", "charge_rate", _number),
    (Field.TIME_TO_FULL_CHARGE, "charge_state", "time_to_full_charge", _number),
    (Field.CHARGE_LIMIT_SOC, "charge_state", "charge_limit_soc", _number),
    (Field.CHARGE_CURRENT_REQUEST, "charge_state", "charge_current_request", _number),
    (Field.CHARGE_CURRENT_REQUEST_MAX, "charge_state", "charge_current_request_max", _number),
    (Field.CHARGE_PORT_DOOR_OPEN, "charge_state", "charge_port_door_open", _bool),
    (Field.CHARGE_PORT_LATCH_ENGAGED, "charge_state", "charge_port_latch", _latched),
    (Field.CABLE_CONNECTED, "charge_state", "conn_charge_cable", _cable),
    (Field.CLIMATE_ON, "climate_state", "is_climate_on", _bool),
    (Field.INSIDE_TEMP, "climate_state", "inside_temp", _number),
    (Field.OUTSIDE_TEMP, "climate_state", "outside_temp", _number),
    (Field.DRIVER_TEMP_SETTING, "climate_state", "driver_temp_setting", _number),
    (Field.SHIFT_STATE, "drive_state", "shift_state", _shift),
    (Field.SPEED, "drive_state", "speed", _speed),
    (Field.LATITUDE, "drive_state", "latitude", _number),
    (Field.LONGITUDE, "drive_state", "longitude", _number),
    (Field.HEADING, "drive_state", "heading", _number),
)
"""Where each field sits in a vehicle_data answer and how its value reads."""


def snapshot_from_vehicle_data(data: Mapping[str, Any]) -> CloudSnapshot:
    """Map a Fleet API vehicle_data response body to fields and the car's data time."""
    values: dict[Field, Any] = {}
    for key, section_name, name, convert in MAPPING:
        section = data.get(section_name)
        if isinstance(section, Mapping) and name in section:
            values[key] = convert(section[name])
    charge = data.get("charge_state")
    if isinstance(charge, Mapping) and "charging_state" in charge:
        values[Field.CHARGING] = charge["charging_state"] in ("Charging", "Starting")
        if Field.CABLE_CONNECTED not in values:
            values[Field.CABLE_CONNECTED] = charge["charging_state"] != "Disconnected"
    stamps = [
        section["timestamp"]
        for name in SECTIONS
        if isinstance(section := data.get(name), Mapping)
        and _number(section.get("timestamp")) is not None
    ]
    return CloudSnapshot(values, max(stamps) / 1000 if stamps else None)
