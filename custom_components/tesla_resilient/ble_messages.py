"""The car's Bluetooth messages in the integration's terms: commands out, Fields and verdicts in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, cast

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from .protocol import INFOTAINMENT, VCSEC
from .protocol.proto import car_server, errors, universal, vcsec
from .router import Command
from .state import Field

ClosureState_E = vcsec.ClosureState_E
VehicleLockState_E = vcsec.VehicleLockState_E
VehicleSleepStatus_E = vcsec.VehicleSleepStatus_E
UserPresence_E = vcsec.UserPresence_E


class Category(StrEnum):
    """One infotainment data category, read with one request."""

    CHARGE = "charge"
    CLIMATE = "climate"
    DRIVE = "drive"
    LOCATION = "location"
    CLOSURES = "closures"
    TIRE_PRESSURE = "tire_pressure"


_CATEGORY_REQUEST: Final[Mapping[Category, tuple[str, str]]] = {
    Category.CHARGE: ("getChargeState", "charge_state"),
    Category.CLIMATE: ("getClimateState", "climate_state"),
    Category.DRIVE: ("getDriveState", "drive_state"),
    Category.LOCATION: ("getLocationState", "location_state"),
    Category.CLOSURES: ("getClosuresState", "closures_state"),
    Category.TIRE_PRESSURE: ("getTirePressureState", "tire_pressure_state"),
}
"""The request field and the answer's section of each category."""


def _closure_open(state: int) -> bool | None:
    if state == ClosureState_E.CLOSURESTATE_UNKNOWN:
        return None
    return state != ClosureState_E.CLOSURESTATE_CLOSED


def status_fields(status: Any) -> dict[Field, Any]:
    """Map the security controller's VehicleStatus to fields."""
    values: dict[Field, Any] = {
        Field.LOCKED: status.vehicleLockState
        in (
            VehicleLockState_E.VEHICLELOCKSTATE_LOCKED,
            VehicleLockState_E.VEHICLELOCKSTATE_INTERNAL_LOCKED,
        )
    }
    if status.vehicleSleepStatus != VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_UNKNOWN:
        values[Field.ASLEEP] = (
            status.vehicleSleepStatus == VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
        )
    if status.userPresence != UserPresence_E.VEHICLE_USER_PRESENCE_UNKNOWN:
        values[Field.USER_PRESENT] = (
            status.userPresence == UserPresence_E.VEHICLE_USER_PRESENCE_PRESENT
        )
    if status.HasField("closureStatuses"):
        closures = status.closureStatuses
        for key, state in (
            (Field.DOOR_DF, closures.frontDriverDoor),
            (Field.DOOR_DR, closures.rearDriverDoor),
            (Field.DOOR_PF, closures.frontPassengerDoor),
            (Field.DOOR_PR, closures.rearPassengerDoor),
            (Field.TRUNK_OPEN, closures.rearTrunk),
            (Field.FRUNK_OPEN, closures.frontTrunk),
            (Field.CHARGE_PORT_DOOR_OPEN, closures.chargePort),
        ):
            if (is_open := _closure_open(state)) is not None:
                values[key] = is_open
    return values


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name).lstrip("_")


def _optional(message: Any, mapping: Iterable[tuple[Field, str]]) -> dict[Field, Any]:
    return {key: getattr(message, name) for key, name in mapping if message.HasField(name)}


def _charge_fields(charge: Any) -> dict[Field, Any]:
    values = _optional(
        charge,
        (
            (Field.BATTERY_LEVEL, "battery_level"),
            (Field.BATTERY_RANGE, "battery_range"),
            (Field.CHARGER_POWER, "charger_power"),
            (Field.CHARGE_LIMIT_SOC, "charge_limit_soc"),
            (Field.CHARGE_CURRENT_REQUEST, "charge_current_request"),
            (Field.CHARGE_CURRENT_REQUEST_MAX, "charge_current_request_max"),
            (Field.CHARGE_PORT_DOOR_OPEN, "charge_port_door_open"),
        ),
    )
    if charge.HasField("charge_rate_mph_float"):
        values[Field.CHARGE_RATE] = charge.charge_rate_mph_float
    elif charge.HasField("charge_rate_mph"):
        values[Field.CHARGE_RATE] = charge.charge_rate_mph
    if charge.HasField("minutes_to_full_charge"):
        values[Field.TIME_TO_FULL_CHARGE] = round(charge.minutes_to_full_charge / 60, 2)
    if charge.HasField("charge_port_latch") and (
        latch := charge.charge_port_latch.WhichOneof("type")
    ):
        values[Field.CHARGE_PORT_LATCH_ENGAGED] = latch == "Engaged"
    if charge.HasField("charging_state") and (state := charge.charging_state.WhichOneof("type")):
        values[Field.CHARGING_STATE] = _snake(state)
        values[Field.CHARGING] = state in ("Charging", "Starting")
        values[Field.CABLE_CONNECTED] = state != "Disconnected"
    return values


def _climate_fields(climate: Any) -> dict[Field, Any]:
    return _optional(
        climate,
        (
            (Field.INSIDE_TEMP, "inside_temp_celsius"),
            (Field.OUTSIDE_TEMP, "outside_temp_celsius"),
            (Field.DRIVER_TEMP_SETTING, "driver_temp_setting"),
            (Field.CLIMATE_ON, "is_climate_on"),
        ),
    )


def _drive_fields(drive: Any) -> dict[Field, Any]:
    values: dict[Field, Any] = {}
    shift = drive.shift_state.WhichOneof("type") if drive.HasField("shift_state") else None
    values[Field.SHIFT_STATE] = "p" if shift in (None, "Invalid", "SNA") else shift.lower()
    if drive.HasField("speed_float"):
        values[Field.SPEED] = drive.speed_float
    else:
        values[Field.SPEED] = drive.speed if drive.HasField("speed") else 0
    if drive.HasField("odometer_in_hundredths_of_a_mile"):
        values[Field.ODOMETER] = drive.odometer_in_hundredths_of_a_mile / 100
    return values


def _location_fields(location: Any) -> dict[Field, Any]:
    return _optional(
        location,
        (
            (Field.LATITUDE, "latitude"),
            (Field.LONGITUDE, "longitude"),
            (Field.HEADING, "heading"),
        ),
    )


def _closures_fields(closures: Any) -> dict[Field, Any]:
    values = _optional(
        closures,
        (
            (Field.DOOR_DF, "door_open_driver_front"),
            (Field.DOOR_DR, "door_open_driver_rear"),
            (Field.DOOR_PF, "door_open_passenger_front"),
            (Field.DOOR_PR, "door_open_passenger_rear"),
            (Field.FRUNK_OPEN, "door_open_trunk_front"),
            (Field.TRUNK_OPEN, "door_open_trunk_rear"),
            (Field.WINDOW_FD, "window_open_driver_front"),
            (Field.WINDOW_FP, "window_open_passenger_front"),
            (Field.WINDOW_RD, "window_open_driver_rear"),
            (Field.WINDOW_RP, "window_open_passenger_rear"),
            (Field.LOCKED, "locked"),
            (Field.USER_PRESENT, "is_user_present"),
        ),
    )
    if closures.HasField("sentry_mode_state") and (
        sentry := closures.sentry_mode_state.WhichOneof("type")
    ):
        values[Field.SENTRY_MODE] = sentry != "Off"
    return values


def _tire_fields(tires: Any) -> dict[Field, Any]:
    return _optional(
        tires,
        (
            (Field.TPMS_FL, "tpms_pressure_fl"),
            (Field.TPMS_FR, "tpms_pressure_fr"),
            (Field.TPMS_RL, "tpms_pressure_rl"),
            (Field.TPMS_RR, "tpms_pressure_rr"),
        ),
    )


_CATEGORY_FIELDS: Final[Mapping[Category, Callable[[Any], dict[Field, Any]]]] = {
    Category.CHARGE: _charge_fields,
    Category.CLIMATE: _climate_fields,
    Category.DRIVE: _drive_fields,
    Category.LOCATION: _location_fields,
    Category.CLOSURES: _closures_fields,
    Category.TIRE_PRESSURE: _tire_fields,
}


def read_request(category: Category) -> bytes:
    """Build the infotainment action that asks for one category."""
    action = car_server.Action()
    getattr(action.vehicleAction.getVehicleData, _CATEGORY_REQUEST[category][0]).SetInParent()
    return bytes(action.SerializeToString())


def category_fields(category: Category, data: Any) -> dict[Field, Any]:
    """Map one category's section of the car's VehicleData to fields."""
    return _CATEGORY_FIELDS[category](getattr(data, _CATEGORY_REQUEST[category][1]))


def status_request() -> vcsec.UnsignedMessage:
    """Build the security controller's status request (answered while the car sleeps)."""
    message = vcsec.UnsignedMessage()
    message.InformationRequest.informationRequestType = (
        vcsec.InformationRequestType.INFORMATION_REQUEST_TYPE_GET_STATUS
    )
    return message


@dataclass(frozen=True)
class BleCommand:
    """A Fleet API command as the car's Bluetooth domains take it."""

    domain: int
    build: Callable[[Mapping[str, Any]], bytes]


def _rke(action: int) -> Callable[[Mapping[str, Any]], bytes]:
    def build(_params: Mapping[str, Any]) -> bytes:
        message = vcsec.UnsignedMessage()
        message.RKEAction = cast(vcsec.RKEAction_E, action)
        return bytes(message.SerializeToString())

    return build


_MOVE: Final = vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_MOVE
_OPEN: Final = vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_OPEN
_CLOSE: Final = vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_CLOSE
_TRUNKS: Final = {"rear": "rearTrunk", "front": "frontTrunk"}


def _closure(closure: str | Callable[[Mapping[str, Any]], str], move: int) -> BleCommand:
    def build(params: Mapping[str, Any]) -> bytes:
        name = closure if isinstance(closure, str) else closure(params)
        message = vcsec.UnsignedMessage()
        setattr(message.closureMoveRequest, name, move)
        return bytes(message.SerializeToString())

    return BleCommand(VCSEC, build)


def _trunk(params: Mapping[str, Any]) -> str:
    which = str(params["which_trunk"])
    if which not in _TRUNKS:
        raise ValueError(f"no trunk {which!r}")
    return _TRUNKS[which]


def _action(fill: Callable[[Any, Mapping[str, Any]], None]) -> BleCommand:
    def build(params: Mapping[str, Any]) -> bytes:
        action = car_server.Action()
        fill(action.vehicleAction, params)
        return bytes(action.SerializeToString())

    return BleCommand(INFOTAINMENT, build)


def _set_temps(action: Any, params: Mapping[str, Any]) -> None:
    temps = action.hvacTemperatureAdjustmentAction
    temps.driver_temp_celsius = float(params["driver_temp"])
    temps.passenger_temp_celsius = float(params.get("passenger_temp", params["driver_temp"]))


def _window(action: Any, params: Mapping[str, Any]) -> None:
    command = str(params["command"])
    if command not in ("vent", "close"):
        raise ValueError(f"no window command {command!r}")
    getattr(action.vehicleControlWindowAction, command).SetInParent()


_RKE = vcsec.RKEAction_E

COMMANDS: Final[Mapping[str, BleCommand]] = {
    Command.DOOR_LOCK: BleCommand(VCSEC, _rke(_RKE.RKE_ACTION_LOCK)),
    Command.DOOR_UNLOCK: BleCommand(VCSEC, _rke(_RKE.RKE_ACTION_UNLOCK)),
    Command.ACTUATE_TRUNK: _closure(_trunk, _MOVE),
    Command.CHARGE_PORT_DOOR_OPEN: _closure("chargePort", _OPEN),
    Command.CHARGE_PORT_DOOR_CLOSE: _closure("chargePort", _CLOSE),
    Command.UNLOCK_CHARGE_PORT: _closure("chargePort", _OPEN),
    Command.WAKE_UP: BleCommand(VCSEC, _rke(_RKE.RKE_ACTION_WAKE_VEHICLE)),
    Command.AUTO_CONDITIONING_START: _action(
        lambda a, _: setattr(a.hvacAutoAction, "power_on", True)
    ),
    Command.AUTO_CONDITIONING_STOP: _action(
        lambda a, _: setattr(a.hvacAutoAction, "power_on", False)
    ),
    Command.SET_TEMPS: _action(_set_temps),
    Command.CHARGE_START: _action(lambda a, _: a.chargingStartStopAction.start.SetInParent()),
    Command.CHARGE_STOP: _action(lambda a, _: a.chargingStartStopAction.stop.SetInParent()),
    Command.SET_CHARGE_LIMIT: _action(
        lambda a, p: setattr(a.chargingSetLimitAction, "percent", int(p["percent"]))
    ),
    Command.SET_CHARGING_AMPS: _action(
        lambda a, p: setattr(a.setChargingAmpsAction, "charging_amps", int(p["charging_amps"]))
    ),
    Command.FLASH_LIGHTS: _action(lambda a, _: a.vehicleControlFlashLightsAction.SetInParent()),
    Command.HONK_HORN: _action(lambda a, _: a.vehicleControlHonkHornAction.SetInParent()),
    Command.SET_SENTRY_MODE: _action(
        lambda a, p: setattr(a.vehicleControlSetSentryModeAction, "on", bool(p["on"]))
    ),
    Command.WINDOW_CONTROL: _action(_window),
}
"""Every command the Bluetooth link carries (`router.COMMANDS` says which may go over it and
whether it is idempotent), with the car domain that runs it and how it is built.

The security controller runs its commands even while infotainment sleeps; the link wakes the
car before an infotainment command."""


@dataclass(frozen=True)
class Verdict:
    """What the car's decrypted answer says."""

    ok: bool
    reason: str = ""
    wait: bool = False
    """The car asked to try again later (busy, or waiting for a key-card tap)."""
    status: Any = None
    """The security controller's VehicleStatus, when it sent one."""
    data: Any = None
    """Infotainment's VehicleData, when it sent some."""
    whitelist: int = 0
    """The whitelist operation's information code, when it sent one."""


def verdict(domain: int, payload: bytes) -> Verdict:
    """Read a decrypted answer; raise DecodeError for bytes that are not one."""
    if domain == VCSEC:
        return _vcsec_verdict(vcsec.FromVCSECMessage.FromString(payload))
    response = car_server.Response.FromString(payload)
    if response.HasField("vehicleData"):
        return Verdict(ok=True, data=response.vehicleData)
    if response.HasField("ping"):
        return Verdict(ok=True)
    status = response.actionStatus
    if status.result == universal.OperationStatus_E.OPERATIONSTATUS_OK:
        return Verdict(ok=True)
    return Verdict(ok=False, reason=status.result_reason.plain_text)


def _vcsec_verdict(message: Any) -> Verdict:
    if message.HasField("nominalError"):
        return Verdict(
            ok=False, reason=_name(errors.GenericError_E, message.nominalError.genericError)
        )
    if message.HasField("vehicleStatus"):
        return Verdict(ok=True, status=message.vehicleStatus)
    status = message.commandStatus
    information = status.whitelistOperationStatus.whitelistOperationInformation
    operation = status.operationStatus
    if operation == vcsec.OperationStatus_E.OPERATIONSTATUS_WAIT:
        return Verdict(ok=False, wait=True, whitelist=information)
    if information or operation == vcsec.OperationStatus_E.OPERATIONSTATUS_ERROR:
        reason = (
            _name(vcsec.WhitelistOperation_information_E, information)
            if information
            else _name(
                vcsec.SignedMessage_information_E,
                status.signedMessageStatus.signedMessageInformation,
            )
        )
        return Verdict(ok=False, reason=reason, whitelist=information)
    return Verdict(ok=True)


def _name(enum: Any, value: int) -> str:
    try:
        return str(enum.Name(value))
    except ValueError:
        return str(value)


__all__ = ["DecodeError"]
