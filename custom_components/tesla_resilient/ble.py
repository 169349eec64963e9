"""The Bluetooth link: tesla-fleet-api's VehicleBluetooth over Home Assistant's Bluetooth stack."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import re
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

import bleak_retry_connector
from bleak.exc import BleakError
from bleak_retry_connector import (
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
    establish_connection,
)
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from tesla_fleet_api import TeslaBluetooth
from tesla_fleet_api.const import BluetoothVehicleData
from tesla_fleet_api.exceptions import (
    MESSAGE_FAULTS,
    NotOnWhitelistFault,
    SignedMessageInformationFaultNotOnWhitelist,
    TeslaFleetError,
    TeslaFleetMessageFaultBusy,
    TeslaFleetMessageFaultInactiveKey,
    TeslaFleetMessageFaultTimeExpired,
    TeslaFleetMessageFaultUnknownKeyId,
)
from tesla_fleet_api.tesla.vehicle.bluetooth import (
    READ_UUID,
    WRITE_UUID,
    VehicleBluetooth,
    prependLength,
)
from tesla_fleet_api.tesla.vehicle.proto.keys_pb2 import Role
from tesla_fleet_api.tesla.vehicle.proto.signatures_pb2 import (
    Session_Info_Status,
    SessionInfo,
    SignatureType,
    Tag,
)
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import (
    Destination,
    Domain,
    OperationStatus_E,
    RoutableMessage,
)
from tesla_fleet_api.tesla.vehicle.proto.vcsec_pb2 import (
    WHITELISTOPERATION_INFORMATION_ATTEMPTING_TO_ADD_KEY_THAT_IS_ALREADY_ON_THE_WHITELIST,
    WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_TIMED_OUT_WAITING_FOR_TAP,
    ClosureState_E,
    FromVCSECMessage,
    KeyFormFactor,
    KeyMetadata,
    PermissionChange,
    PublicKey,
    UnsignedMessage,
    UserPresence_E,
    VehicleLockState_E,
    VehicleSleepStatus_E,
    WhitelistOperation,
)

from .router import Delivery
from .state import Field

_LOGGER = logging.getLogger(__name__)
_LIBRARY_LOGGER = logging.getLogger("tesla_fleet_api")

RESPONSE_TIMEOUT_S: Final = 10.0
"""Seconds to wait for the car's answer to one message; proxies add a few hundred ms per hop."""

CONNECT_ATTEMPTS: Final = 3
"""Connection attempts before the car counts as unreachable."""

IDLE_DISCONNECT_S: Final = 20.0
"""Seconds without traffic before the link lets go of one of the car's three connection slots."""

STATUS_FRESH_S: Final = 5.0
"""How old a security-controller status may be and still decide whether the car is awake."""

WAKE_TIMEOUT_S: Final = 45.0
"""Seconds to wait for infotainment to come up after a wake request."""

WAKE_POLL_S: Final = 1.0
"""Seconds between status reads while waiting for the car to wake."""

PAIRING_TIMEOUT_S: Final = 120.0
"""Seconds the owner has to tap a key card on the console."""

DEFAULT_MTU: Final = 23
"""The ATT MTU every Bluetooth LE link starts with."""

MAX_FRAME_BYTES: Final = 1024
"""Largest message a frame from the car may declare; a larger length is garbage."""

LOCAL_NAME_RE: Final = re.compile(r"^S[0-9a-f]{16}[CDRP]$")
"""Local name a Tesla advertises: S, the first 8 bytes of SHA-1(VIN) in hex, a suffix."""

VIN_RE: Final = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
"""A 17-character vehicle identification number (no I, O or Q)."""

REDACTED: Final = "**REDACTED**"

_SESSION_INFO_LABEL: Final = b"session info"
_TAP_TIMED_OUT: Final = (
    WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_TIMED_OUT_WAITING_FOR_TAP
)
_ALREADY_PAIRED: Final = (
    WHITELISTOPERATION_INFORMATION_ATTEMPTING_TO_ADD_KEY_THAT_IS_ALREADY_ON_THE_WHITELIST
)
_DISCONNECTED: Final = object()


class Category(StrEnum):
    """One infotainment data category, read with one request."""

    CHARGE = "charge"
    CLIMATE = "climate"
    DRIVE = "drive"
    LOCATION = "location"
    CLOSURES = "closures"
    TIRE_PRESSURE = "tire_pressure"


_CATEGORY_REQUEST: Final[Mapping[Category, tuple[BluetoothVehicleData, str]]] = {
    Category.CHARGE: (BluetoothVehicleData.CHARGE_STATE, "charge_state"),
    Category.CLIMATE: (BluetoothVehicleData.CLIMATE_STATE, "climate_state"),
    Category.DRIVE: (BluetoothVehicleData.DRIVE_STATE, "drive_state"),
    Category.LOCATION: (BluetoothVehicleData.LOCATION_STATE, "location_state"),
    Category.CLOSURES: (BluetoothVehicleData.CLOSURES_STATE, "closures_state"),
    Category.TIRE_PRESSURE: (BluetoothVehicleData.TIRE_PRESSURE_STATE, "tire_pressure_state"),
}

BENIGN_REASONS: Final = frozenset({"already_set", "not_charging", "is_charging", "requested"})
"""Refusals that mean the car is already where the command wanted it."""


class BluetoothError(Exception):
    """A Bluetooth operation that did not succeed; `delivery` says how far it got.

    `translation_key` names the integration's exception text for it (placeholder: reason).
    """

    message = "Bluetooth operation failed"
    translation_key = "bluetooth_error"

    def __init__(self, delivery: Delivery = Delivery.NOT_SENT, reason: str | None = None) -> None:
        """Keep how far the operation got and the car's reason, if it gave one."""
        super().__init__(self.message if reason is None else f"{self.message}: {reason}")
        self.delivery = delivery
        self.reason = reason


class CarOutOfRange(BluetoothError):
    """No Bluetooth adapter or proxy can reach the car."""

    message = "The car is out of Bluetooth range"
    translation_key = "bluetooth_out_of_range"


class NoConnectionSlot(BluetoothError):
    """Every proxy or adapter that hears the car is out of connection slots."""

    message = "No Bluetooth connection slot is free"
    translation_key = "bluetooth_no_connection_slot"


class ConnectFailed(BluetoothError):
    """The car is heard but the connection could not be opened."""

    message = "Could not connect to the car"
    translation_key = "bluetooth_cannot_connect"


class LinkLost(BluetoothError):
    """The connection dropped or timed out before the car answered."""

    message = "The Bluetooth connection was lost"
    translation_key = "bluetooth_link_lost"


class ResponseTimeout(LinkLost):
    """The car did not answer in time."""

    message = "The car did not answer over Bluetooth"
    translation_key = "bluetooth_timeout"


class CarBusy(BluetoothError):
    """The car answered that it is busy and ran nothing; the command may go another way."""

    message = "The car is busy"
    translation_key = "bluetooth_busy"


class CarAsleep(BluetoothError):
    """Infotainment sleeps: it answers nothing until woken."""

    message = "The car is asleep"
    translation_key = "bluetooth_car_asleep"


class CommandRejected(BluetoothError):
    """The car answered and refused."""

    message = "The car refused the command"
    translation_key = "bluetooth_command_rejected"


class UnsupportedCommand(BluetoothError):
    """A command the Bluetooth link cannot carry."""

    message = "This command is not available over Bluetooth"
    translation_key = "bluetooth_unsupported_command"


class UntrustedResponse(BluetoothError):
    """An answer whose authentication failed (wrong session-info tag or response tag)."""

    message = "The car's answer failed authentication"
    translation_key = "bluetooth_untrusted_response"


class KeyNotPaired(BluetoothError):
    """The car does not (or no longer) know our key; it ran nothing we sent."""

    message = "The car does not know this Bluetooth key"
    translation_key = "bluetooth_key_not_paired"


class CarKeyMismatch(BluetoothError):
    """A car answered with a public key other than the one pinned at pairing."""

    message = "The car answered with an unexpected public key"
    translation_key = "bluetooth_car_key_mismatch"


class PairingRefused(BluetoothError):
    """The car refused to add our key."""

    message = "The car refused the new key"
    translation_key = "pairing_refused"


class PairingTimedOut(BluetoothError):
    """No key card was tapped in time."""

    message = "No key card was tapped in time"
    translation_key = "pairing_timeout"


_UNREACHABLE: Final = (CarOutOfRange, NoConnectionSlot, ConnectFailed)
"""Failures that mean the car could not be reached at all (as opposed to a refusal)."""


class InvalidPrivateKey(ValueError):
    """Stored key material that is not a P-256 private key."""

    def __init__(self) -> None:
        """Say what is wrong without repeating the key."""
        super().__init__("not a P-256 private key")


def generate_private_key() -> str:
    """Return a new P-256 private key as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """Load a P-256 private key from PEM; the error never repeats the input."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise InvalidPrivateKey


def public_key_bytes(private_key_pem: str) -> bytes:
    """Return the 65-byte uncompressed public key of a PEM private key."""
    return (
        load_private_key(private_key_pem)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def vin_hash(vin: str) -> str:
    """Return the 16 hex digits a car's local name is built from."""
    return hashlib.sha1(vin.encode()).hexdigest()[:16]


def local_name(vin: str) -> str:
    """Return the local name a car advertises."""
    return f"S{vin_hash(vin)}C"


def is_car_local_name(name: str | None) -> bool:
    """Whether a Bluetooth local name is a Tesla's."""
    return name is not None and LOCAL_NAME_RE.match(name) is not None


def vin_matches_local_name(vin: str, name: str) -> bool:
    """Whether a car with this VIN advertises this local name."""
    return is_car_local_name(name) and name[1:17] == vin_hash(vin)


def session_info_tag(shared_key: bytes, vin: str, challenge: bytes, session_info: bytes) -> bytes:
    """Return the HMAC a car puts on session info sent in answer to `challenge`."""
    personalization = vin.encode()
    metadata = bytes(
        (Tag.TAG_SIGNATURE_TYPE, 1, SignatureType.SIGNATURE_TYPE_HMAC, Tag.TAG_PERSONALIZATION)
    )
    metadata += bytes((len(personalization),)) + personalization
    metadata += bytes((Tag.TAG_CHALLENGE, len(challenge))) + challenge + bytes((Tag.TAG_END,))
    key = hmac.new(shared_key, _SESSION_INFO_LABEL, hashlib.sha256).digest()
    return hmac.new(key, metadata + session_info, hashlib.sha256).digest()


_C_ESCAPES: Final = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}


def _c_escape(data: bytes) -> str:
    """Spell bytes as protobuf's text format does (octal escapes for the unprintable)."""
    return "".join(
        _C_ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}")
        for byte in data
    )


def _secret_forms(secret: bytes) -> set[str]:
    """Return the ways a secret could be spelled in a log line."""
    forms = {
        secret.hex(),
        secret.hex().upper(),
        repr(secret)[2:-1],
        _c_escape(secret),
        str(int.from_bytes(secret, "big")),
    }
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + secret).decode()
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(secret)) // 6]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= 12}


def _private_key_forms(pem: str, key: ec.EllipticCurvePrivateKey) -> set[str]:
    """Return every spelling of a private key worth redacting: raw, hex, base64, DER and PEM."""
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    forms = _secret_forms(scalar)
    encodings = [pem.strip()]
    for private_format in (
        serialization.PrivateFormat.PKCS8,
        serialization.PrivateFormat.TraditionalOpenSSL,
    ):
        der = key.private_bytes(
            serialization.Encoding.DER, private_format, serialization.NoEncryption()
        )
        forms |= _secret_forms(der)
        encodings.append(
            key.private_bytes(
                serialization.Encoding.PEM, private_format, serialization.NoEncryption()
            )
            .decode()
            .strip()
        )
    for encoding in encodings:
        forms.add(encoding)
        forms.add(encoding.replace("\n", "\\n"))
        forms |= {
            line for line in encoding.splitlines() if len(line) >= 12 and not line.startswith("--")
        }
    return forms


class _SecretFilter(logging.Filter):
    """Rewrites any log record that spells a registered secret."""

    def __init__(self) -> None:
        super().__init__()
        self._owners: dict[int, frozenset[str]] = {}
        self._forms: tuple[str, ...] = ()

    def register(self, owner: object, forms: Iterable[str]) -> None:
        """Add secrets an owner holds."""
        self._owners[id(owner)] = self._owners.get(id(owner), frozenset()) | frozenset(forms)
        self._rebuild()

    def unregister(self, owner: object) -> None:
        """Forget an owner's secrets."""
        if self._owners.pop(id(owner), None) is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        self._forms = tuple(
            sorted({form for forms in self._owners.values() for form in forms}, key=len)[::-1]
        )

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact secrets from the formatted message; drop a record that cannot be formatted."""
        if not self._forms:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return False
        redacted = message
        for form in self._forms:
            if form in redacted:
                redacted = redacted.replace(form, REDACTED)
        if redacted is not message:
            record.msg = redacted
            record.args = None
        return True


SECRET_FILTER: Final = _SecretFilter()
"""The one filter on the library's logger and this integration's Bluetooth loggers."""

_FILTERED_LOGGERS: Final = (
    "tesla_fleet_api",
    __name__,
    "custom_components.tesla_resilient.pairing",
    "custom_components.tesla_resilient.ble_coordinator",
)


def _install_secret_filter() -> None:
    for name in _FILTERED_LOGGERS:
        logger = logging.getLogger(name)
        if SECRET_FILTER not in logger.filters:
            logger.addFilter(SECRET_FILTER)


_install_secret_filter()


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


_Call = Callable[[Any, Mapping[str, Any]], Awaitable[Any]]

_VCSEC_COMMANDS: Final[Mapping[str, _Call]] = {
    "door_lock": lambda v, _: v.door_lock(),
    "door_unlock": lambda v, _: v.door_unlock(),
    "actuate_trunk": lambda v, p: v.actuate_trunk(str(p["which_trunk"])),
    "charge_port_door_open": lambda v, _: v.charge_port_door_open(),
    "charge_port_door_close": lambda v, _: v.charge_port_door_close(),
    "unlock_charge_port": lambda v, _: v.charge_port_door_open(),
    "wake_up": lambda v, _: v.wake_up(),
}
"""Commands the security controller runs, even while infotainment sleeps."""

_INFOTAINMENT_COMMANDS: Final[Mapping[str, _Call]] = {
    "auto_conditioning_start": lambda v, _: v.auto_conditioning_start(),
    "auto_conditioning_stop": lambda v, _: v.auto_conditioning_stop(),
    "set_temps": lambda v, p: v.set_temps(
        float(p["driver_temp"]), float(p.get("passenger_temp", p["driver_temp"]))
    ),
    "charge_start": lambda v, _: v.charge_start(),
    "charge_stop": lambda v, _: v.charge_stop(),
    "set_charge_limit": lambda v, p: v.set_charge_limit(int(p["percent"])),
    "set_charging_amps": lambda v, p: v.set_charging_amps(int(p["charging_amps"])),
    "flash_lights": lambda v, _: v.flash_lights(),
    "honk_horn": lambda v, _: v.honk_horn(),
    "set_sentry_mode": lambda v, p: v.set_sentry_mode(bool(p["on"])),
    "window_control": lambda v, p: v.window_control(str(p["command"])),
}
"""Commands infotainment runs; the link wakes the car first."""

COMMANDS: Final = frozenset(_VCSEC_COMMANDS) | frozenset(_INFOTAINMENT_COMMANDS)
"""Every Fleet API command name the Bluetooth link carries."""


class _FrameBuffer:
    """Reassembles the car's indications into messages, each framed by a 2-byte big-endian length.

    A frame starts with an indication. One that declares more than MAX_FRAME_BYTES or does not
    decode is dropped up to the next indication that began after it (or entirely), so at most one
    partial frame of bounded size is ever held.
    """

    def __init__(self, deliver: Callable[[RoutableMessage], None]) -> None:
        self._deliver = deliver
        self._data = bytearray()
        self._starts: list[int] = []
        """Offsets in `_data`, all above zero, where later indications began."""

    def __len__(self) -> int:
        """Bytes held of a frame not yet complete."""
        return len(self._data)

    def clear(self) -> None:
        """Forget a partial frame: a new connection starts a new stream."""
        self._data.clear()
        self._starts.clear()

    def receive(self, chunk: bytes) -> None:
        """Add one indication and deliver every frame it completes, in order."""
        if not chunk:
            return
        if self._data:
            self._starts.append(len(self._data))
        self._data += chunk
        while len(self._data) >= 2:
            length = int.from_bytes(self._data[:2], "big")
            if length > MAX_FRAME_BYTES:
                _LOGGER.debug("Dropping a frame that declares %d bytes", length)
                self._resync()
                continue
            if len(self._data) < length + 2:
                return
            message = RoutableMessage()
            try:
                message.ParseFromString(bytes(self._data[2 : length + 2]))
            except DecodeError:
                _LOGGER.debug("Dropping a frame that is not a RoutableMessage")
                self._resync()
                continue
            del self._data[: length + 2]
            self._starts = [start - length - 2 for start in self._starts if start > length + 2]
            self._deliver(message)

    def _resync(self) -> None:
        if not self._starts:
            self.clear()
            return
        cut = self._starts[0]
        del self._data[:cut]
        self._starts = [start - cut for start in self._starts[1:]]


class _Vehicle(VehicleBluetooth):
    """VehicleBluetooth that connects through the link, authenticates session info and pins."""

    def __init__(self, link: BluetoothLink, key: ec.EllipticCurvePrivateKey) -> None:
        super().__init__(TeslaBluetooth(), link.vin, key)  # type: ignore[no-untyped-call]
        self._link = link
        self.command_written = False
        self._challenge: dict[int, bytes] = {}
        self._frames = _FrameBuffer(self._on_message)

    async def connect(self, max_attempts: int = CONNECT_ATTEMPTS) -> None:
        """Open the connection through Home Assistant's Bluetooth (adapters and proxies)."""
        self._frames.clear()
        self.client = await self._link.async_open_client(self._on_notify, max_attempts)

    def _on_notify(self, _sender: Any, data: bytearray) -> None:
        """Take one indication from the car (the only characteristic subscribed to)."""
        self._frames.receive(bytes(data))

    def _on_message(self, msg: Any) -> None:
        """Queue a message for its domain; one from a domain nobody waits on is dropped."""
        if msg.from_destination.domain in self._queues:
            super()._on_message(msg)
        else:
            _LOGGER.debug("Ignoring a message from domain %s", msg.from_destination.domain)

    async def _command(self, domain: Any, command: bytes, attempt: int = 0) -> dict[str, Any]:
        """Run the library's signed exchange; an answer it cannot read is untrusted."""
        try:
            return await super()._command(domain, command, attempt)
        except (ValueError, LookupError, struct.error) as err:
            raise UntrustedResponse(self.delivery) from err

    def validate_msg(self, msg: Any) -> None:
        """Accept session info only with a valid tag from the pinned key; raise on faults."""
        domain = msg.from_destination.domain
        # Empty session info is still an answer to a handshake: it must authenticate too.
        if msg.HasField("session_info"):
            info = SessionInfo.FromString(msg.session_info)
            if info.status == Session_Info_Status.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST:
                raise KeyNotPaired
            self._link.trust_session_info(
                info.publicKey,
                self._challenge.get(domain, b""),
                msg.request_uuid,
                msg.session_info,
                msg.signature_data.session_info_tag.tag,
            )
            session = self._sessions[domain]
            session.update(info)
            self._link.remember_secrets(session.sharedKey, session.hmac)
        fault = msg.signedMessageStatus.signed_message_fault
        if fault:
            if 0 < fault < len(MESSAGE_FAULTS):
                raise MESSAGE_FAULTS[fault]
            raise CommandRejected(Delivery.REJECTED, f"fault {fault}")

    @property
    def delivery(self) -> Delivery:
        """How far the command being run got, for an error that ends it now."""
        return Delivery.MAYBE_DELIVERED if self.command_written else Delivery.NOT_SENT

    async def _send(self, msg: Any, requires: str, wait_s: float = RESPONSE_TIMEOUT_S) -> Any:
        """Write one message in MTU-sized chunks and wait for its answer."""
        domain = msg.to_destination.domain
        queue = self._queues[domain]
        async with self._sessions[domain].lock:
            while not queue.empty():
                queue.get_nowait()
            await self.connect_if_needed()
            client = self.client
            if client is None:
                raise LinkLost
            self._challenge[domain] = msg.uuid
            is_command = not msg.HasField("session_info_request")
            payload = bytes(prependLength(msg.SerializeToString()))
            size = max(DEFAULT_MTU, client.mtu_size) - 3
            chunks = [payload[start : start + size] for start in range(0, len(payload), size)]
            for index, chunk in enumerate(chunks):
                if is_command and index == len(chunks) - 1:
                    self.command_written = True
                await client.write_gatt_char(WRITE_UUID, chunk, True)
            async with asyncio.timeout(wait_s):
                while True:
                    resp = await queue.get()
                    if resp is _DISCONNECTED:
                        raise LinkLost(self.delivery)
                    if msg.uuid and resp.request_uuid and resp.request_uuid != msg.uuid:
                        continue
                    self.validate_msg(resp)
                    if resp.HasField(requires) or (is_command and _busy(resp)):
                        return resp

    def connection_lost(self) -> None:
        """Wake every waiter: the answer will not come over this connection."""
        self.client = None
        self._frames.clear()
        for queue in self._queues.values():
            queue.put_nowait(_DISCONNECTED)

    async def next_security_message(self, wait_s: float) -> Any:
        """Wait for the security controller's next unsolicited message."""
        async with asyncio.timeout(wait_s):
            while True:
                resp = await self._queues[Domain.DOMAIN_VEHICLE_SECURITY].get()
                if resp is _DISCONNECTED:
                    raise LinkLost
                self.validate_msg(resp)
                if resp.HasField("protobuf_message_as_bytes"):
                    return resp

    def add_key_request(self) -> Any:
        """Build the unsigned request to add our key to the car's whitelist."""
        request = UnsignedMessage(
            WhitelistOperation=WhitelistOperation(
                addKeyToWhitelistAndAddPermissions=PermissionChange(
                    key=PublicKey(PublicKeyRaw=self._public_key),
                    keyRole=Role.ROLE_DRIVER,
                ),
                metadataForKey=KeyMetadata(keyFormFactor=KeyFormFactor.KEY_FORM_FACTOR_CLOUD_KEY),
            )
        )
        return RoutableMessage(
            to_destination=Destination(domain=Domain.DOMAIN_VEHICLE_SECURITY),
            from_destination=Destination(routing_address=self._from_destination),
            protobuf_message_as_bytes=request.SerializeToString(),
            uuid=os.urandom(16),
        )


_GAVE_UP_WAITING: Final = "Too many retries"
"""The library's reason when the car answered WAIT to every try of a command."""


def _busy(message: Any) -> bool:
    """Whether the car answered WAIT: busy, it ran nothing; the library signs the command again."""
    return bool(
        message.signedMessageStatus.operation_status == OperationStatus_E.OPERATIONSTATUS_WAIT
    )


class _Pairing(StrEnum):
    """Where an add-key request stands."""

    WAITING = "waiting"
    APPROVED = "approved"
    REFUSED = "refused"
    TIMED_OUT = "timed_out"


def _pairing_outcome(message: Any) -> _Pairing:
    """Read the car's answer to an add-key request."""
    vcsec = FromVCSECMessage.FromString(message.protobuf_message_as_bytes)
    if vcsec.HasField("nominalError"):
        return _Pairing.REFUSED
    status = vcsec.commandStatus
    information = status.whitelistOperationStatus.whitelistOperationInformation
    if information == _TAP_TIMED_OUT:
        return _Pairing.TIMED_OUT
    if information == _ALREADY_PAIRED:
        return _Pairing.APPROVED
    if information or status.operationStatus == OperationStatus_E.OPERATIONSTATUS_ERROR:
        return _Pairing.REFUSED
    if status.operationStatus == OperationStatus_E.OPERATIONSTATUS_WAIT:
        return _Pairing.WAITING
    return _Pairing.APPROVED


class BluetoothLink:
    """One car over Bluetooth LE: finds it through Home Assistant, keeps one session, pins its key.

    Operations are serialized. The connection is reused and released after an idle period; the
    session outlives connections, so a burst of commands costs one handshake per domain.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        vin: str,
        private_key_pem: str,
        pinned_car_key: bytes | None,
        *,
        address: str | None = None,
    ) -> None:
        """Prepare the link; nothing goes on air until the first operation."""
        self.hass = hass
        self.vin = vin
        self._address = address
        self._pinned = pinned_car_key
        self._refused = False
        self._lock = asyncio.Lock()
        self._cancel_idle: CALLBACK_TYPE | None = None
        self._closed = False
        self._unreachable_at: float | None = None
        self._status_at: float | None = None
        self._asleep: bool | None = None
        key = load_private_key(private_key_pem)
        SECRET_FILTER.register(self, _private_key_forms(private_key_pem, key))
        self._private_key = key
        self._shared_keys: dict[bytes, bytes] = {}
        self._vehicle = _Vehicle(self, key)

    @property
    def local_name(self) -> str:
        """The local name the car advertises (with its usual suffix)."""
        return local_name(self.vin)

    @property
    def address(self) -> str | None:
        """The car's Bluetooth address, once heard."""
        if (info := self._service_info()) is not None:
            return info.address
        return self._address

    @property
    def in_range(self) -> bool:
        """Whether an adapter or proxy currently hears the car."""
        return self._service_info() is not None

    @property
    def reachable(self) -> bool:
        """Whether the car is worth trying over Bluetooth now.

        It is when it is heard and either the latest attempt to reach it worked or it has
        advertised again since that attempt failed: a car just back in range is tried at once,
        a car that has left (whose last advertisement lingers for minutes) is not.
        """
        info = self._service_info()
        if info is None:
            return False
        failed_at = self._unreachable_at
        return failed_at is None or info.time >= failed_at

    @property
    def rssi(self) -> int | None:
        """Signal strength of the car's latest advertisement."""
        info = self._service_info()
        return None if info is None else info.rssi

    @property
    def connected(self) -> bool:
        """Whether a connection to the car is open."""
        client = self._vehicle.client
        return client is not None and bool(client.is_connected)

    @property
    def refused(self) -> bool:
        """Whether the link stopped for good because an unexpected car key answered."""
        return self._refused

    @property
    def car_public_key(self) -> bytes | None:
        """The car's public key: pinned at setup, or learned by pairing."""
        return self._pinned

    def _service_info(self) -> bluetooth.BluetoothServiceInfoBleak | None:
        if self._address is not None:
            info = bluetooth.async_last_service_info(self.hass, self._address, connectable=True)
            if (
                info is not None
                and vin_matches_local_name(self.vin, info.name)
                and bluetooth.async_address_present(self.hass, self._address, connectable=True)
            ):
                return info
        for info in bluetooth.async_discovered_service_info(self.hass, connectable=True):
            if vin_matches_local_name(self.vin, info.name):
                self._address = info.address
                return info
        return None

    async def async_open_client(
        self, on_notify: Callable[[Any, bytearray], None], max_attempts: int
    ) -> Any:
        """Connect to the car and subscribe to its answers."""
        info = self._service_info()
        if info is None:
            raise CarOutOfRange
        address = info.address

        def _latest_device() -> Any:
            return bluetooth.async_ble_device_from_address(self.hass, address, connectable=True)

        try:
            client = await establish_connection(
                bleak_retry_connector.BleakClientWithServiceCache,
                info.device,
                self.local_name,
                disconnected_callback=self._on_disconnected,
                max_attempts=max_attempts,
                ble_device_callback=_latest_device,
            )
        except BleakOutOfConnectionSlotsError as err:
            raise NoConnectionSlot from err
        except BleakNotFoundError as err:
            raise CarOutOfRange from err
        except (BleakError, TimeoutError) as err:
            raise ConnectFailed from err
        try:
            await client.start_notify(READ_UUID, on_notify)
        except (BleakError, TimeoutError) as err:
            await client.disconnect()
            raise ConnectFailed from err
        _LOGGER.debug("Connected to %s at %s", self.local_name, address)
        return client

    @callback
    def _on_disconnected(self, client: Any) -> None:
        if client is self._vehicle.client:
            _LOGGER.debug("Connection to %s closed", self.local_name)
            self._vehicle.connection_lost()

    def trust_session_info(
        self,
        car_key: bytes,
        challenge: bytes,
        echoed: bytes,
        session_info: bytes,
        tag: bytes,
    ) -> None:
        """Refuse session info that is not ours, fails its tag, or comes from an unpinned key."""
        if not challenge or echoed != challenge:
            raise UntrustedResponse(self._vehicle.delivery)
        try:
            shared = self._shared_key(car_key)
        except ValueError as err:
            raise UntrustedResponse(self._vehicle.delivery) from err
        expected = session_info_tag(shared, self.vin, challenge, session_info)
        if not hmac.compare_digest(expected, tag):
            raise UntrustedResponse(self._vehicle.delivery)
        if self._pinned is None:
            self._pinned = car_key
        elif car_key != self._pinned:
            self._refused = True
            raise CarKeyMismatch(self._vehicle.delivery)

    def _shared_key(self, car_key: bytes) -> bytes:
        if (shared := self._shared_keys.get(car_key)) is None:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), car_key)
            secret = self._private_key.exchange(ec.ECDH(), peer)
            shared = hashlib.sha1(secret).digest()[:16]
            self._shared_keys[car_key] = shared
            self.remember_secrets(shared)
        return shared

    def remember_secrets(self, *secrets: bytes | None) -> None:
        """Keep session keys out of the logs too."""
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= _secret_forms(secret)
        if forms:
            SECRET_FILTER.register(self, forms)

    async def _run[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        if self._refused:
            raise CarKeyMismatch
        async with self._lock:
            self._cancel_idle_timer()
            self._vehicle.command_written = False
            try:
                result = await operation()
            except _UNREACHABLE:
                self._unreachable_at = bluetooth.MONOTONIC_TIME()
                raise
            except BluetoothError:
                raise
            except TimeoutError as err:
                raise ResponseTimeout(self._vehicle.delivery) from err
            except (BleakError, EOFError, ConnectionError) as err:
                raise LinkLost(self._vehicle.delivery) from err
            except (InvalidTag, DecodeError) as err:
                raise UntrustedResponse(self._vehicle.delivery) from err
            except TeslaFleetError as err:
                raise self._library_error(err) from err
            finally:
                self._start_idle_timer()
            self._unreachable_at = None
            return result

    def _library_error(self, err: TeslaFleetError) -> BluetoothError:
        if isinstance(
            err,
            NotOnWhitelistFault
            | SignedMessageInformationFaultNotOnWhitelist
            | TeslaFleetMessageFaultUnknownKeyId
            | TeslaFleetMessageFaultInactiveKey,
        ):
            return KeyNotPaired()
        if isinstance(err, TeslaFleetMessageFaultBusy):
            return CarBusy()
        return CommandRejected(Delivery.REJECTED, type(err).__name__)

    async def _command(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one library call; a command that expired in transit is re-signed once."""
        try:
            return await call()
        except TeslaFleetMessageFaultTimeExpired:
            self._vehicle.command_written = False
            return await call()

    async def _status_locked(self) -> dict[Field, Any]:
        answer = await self._command(self._vehicle.vehicle_state)
        if isinstance(answer, dict):
            raise CommandRejected(Delivery.REJECTED, str(answer.get("reason") or "no status"))
        values = status_fields(answer)
        self._asleep = values.get(Field.ASLEEP)
        self._status_at = time.monotonic()
        return values

    async def async_status(self) -> dict[Field, Any]:
        """Read the security controller's status: answered while the car sleeps, never wakes it."""
        return await self._run(self._status_locked)

    async def async_read(self, category: Category | str) -> dict[Field, Any]:
        """Read one infotainment category; refused without sending while the car sleeps."""
        category = Category(category)
        endpoint, attribute = _CATEGORY_REQUEST[category]

        async def _read() -> dict[Field, Any]:
            asleep = self._asleep
            if asleep is None or self._status_stale():
                asleep = (await self._status_locked()).get(Field.ASLEEP)
            if asleep:
                raise CarAsleep
            answer = await self._command(lambda: self._vehicle.vehicle_data([endpoint]))
            if isinstance(answer, dict):
                raise CommandRejected(Delivery.REJECTED, str(answer.get("reason") or "no data"))
            return _CATEGORY_FIELDS[category](getattr(answer, attribute))

        return await self._run(_read)

    def _status_stale(self) -> bool:
        return self._status_at is None or time.monotonic() - self._status_at > STATUS_FRESH_S

    async def _ensure_awake(self) -> None:
        if self._asleep is False and not self._status_stale():
            return
        if not (await self._status_locked()).get(Field.ASLEEP):
            return
        await self._command(self._vehicle.wake_up)
        deadline = time.monotonic() + WAKE_TIMEOUT_S
        while (await self._status_locked()).get(Field.ASLEEP):
            if time.monotonic() >= deadline:
                raise CarAsleep
            await asyncio.sleep(WAKE_POLL_S)

    async def async_command(self, name: str, **params: Any) -> None:
        """Run a command by its Fleet API name; raises a BluetoothError saying how far it got."""
        vcsec = _VCSEC_COMMANDS.get(name)
        infotainment = _INFOTAINMENT_COMMANDS.get(name)
        chosen = vcsec or infotainment
        if chosen is None:
            raise UnsupportedCommand(Delivery.NOT_SENT, name)
        call = chosen

        async def _execute() -> None:
            if infotainment is not None:
                await self._ensure_awake()
                self._vehicle.command_written = False
            answer = await self._command(lambda: call(self._vehicle, params))
            if name == "wake_up":
                self._asleep = None
            elif name in _VCSEC_COMMANDS:
                self._status_at = None
            response = answer.get("response") if isinstance(answer, dict) else None
            if isinstance(response, dict) and response.get("result") is False:
                reason = str(response.get("reason") or "")
                if reason == _GAVE_UP_WAITING:
                    raise CarBusy
                if reason not in BENIGN_REASONS:
                    raise CommandRejected(Delivery.REJECTED, reason or None)

        await self._run(_execute)

    async def async_pair(self, timeout_s: float = PAIRING_TIMEOUT_S) -> bytes:
        """Ask the car to add our key, wait for the key-card tap, confirm by a handshake.

        Returns the car's public key, to be pinned.
        """

        async def _pair() -> bytes:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            vehicle = self._vehicle
            answer = await vehicle._send(
                vehicle.add_key_request(), "protobuf_message_as_bytes", RESPONSE_TIMEOUT_S
            )
            outcome = _pairing_outcome(answer)
            while outcome is _Pairing.WAITING:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    outcome = _pairing_outcome(await vehicle.next_security_message(remaining))
                except (TimeoutError, LinkLost):
                    break
            if outcome is _Pairing.REFUSED:
                raise PairingRefused(Delivery.REJECTED)
            try:
                await vehicle.handshakeVehicleSecurity()
            except KeyNotPaired as err:
                if outcome is _Pairing.APPROVED:
                    raise PairingRefused(Delivery.REJECTED) from err
                raise PairingTimedOut(Delivery.MAYBE_DELIVERED) from err
            if self._pinned is None:
                raise UntrustedResponse
            return self._pinned

        return await self._run(_pair)

    def _cancel_idle_timer(self) -> None:
        if self._cancel_idle is not None:
            self._cancel_idle()
            self._cancel_idle = None

    def _start_idle_timer(self) -> None:
        self._cancel_idle_timer()
        if self.connected and not self._closed:
            self._cancel_idle = async_call_later(self.hass, IDLE_DISCONNECT_S, self._on_idle)

    @callback
    def _on_idle(self, _now: Any) -> None:
        self._cancel_idle = None
        self.hass.async_create_background_task(
            self._async_disconnect_when_idle(), f"{self.local_name} idle disconnect"
        )

    async def _async_disconnect_when_idle(self) -> None:
        async with self._lock:
            await self._async_disconnect()

    async def _async_disconnect(self) -> None:
        client = self._vehicle.client
        self._vehicle.client = None
        if client is not None:
            try:
                await client.disconnect()
            except (BleakError, TimeoutError, EOFError) as err:
                _LOGGER.debug("Disconnect from %s failed: %s", self.local_name, err)

    async def async_disconnect(self) -> None:
        """Release the connection now; the session is kept for the next one."""
        self._cancel_idle_timer()
        async with self._lock:
            await self._async_disconnect()

    async def async_close(self) -> None:
        """Disconnect and forget the link's secrets; no timer outlives the link."""
        self._closed = True
        await self.async_disconnect()
        SECRET_FILTER.unregister(self)
