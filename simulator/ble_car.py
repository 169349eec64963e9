"""The virtual car's Bluetooth LE face: Tesla's vehicle-command protocol, answered by the car.

Sources: teslamotors/vehicle-command (`pkg/protocol/protocol.md`, `pkg/connector/ble`,
`internal/authentication`, `pkg/vehicle/security.go` for pairing) and the corrected notes in
reference/ble-protocol.md. What a car answers to an add-key request, and when, is not
documented: by default this car stays silent until the key card is tapped and then answers
once (`PairingAnswers`), accepts the request bare or inside a RoutableMessage, and can be told
to answer WAIT at once or never to answer.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from tesla_fleet_api.tesla.vehicle.proto import car_server_pb2 as cs
from tesla_fleet_api.tesla.vehicle.proto import vcsec_pb2 as vcsec
from tesla_fleet_api.tesla.vehicle.proto import vehicle_pb2 as vd
from tesla_fleet_api.tesla.vehicle.proto.errors_pb2 import GenericError_E
from tesla_fleet_api.tesla.vehicle.proto.keys_pb2 import Role
from tesla_fleet_api.tesla.vehicle.proto.signatures_pb2 import (
    Session_Info_Status,
    SessionInfo,
    SignatureType,
)
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import (
    Domain,
    Flags,
    MessageFault_E,
    OperationStatus_E,
    RoutableMessage,
)

from . import ble_crypto as crypto
from .vehicle import CarAsleep, CommandError, VirtualCar

_LOGGER = logging.getLogger(__name__)

SERVICE_UUID = "00000211-b2d1-43f0-9b88-960cebf8b91e"
WRITE_UUID = "00000212-b2d1-43f0-9b88-960cebf8b91e"
READ_UUID = "00000213-b2d1-43f0-9b88-960cebf8b91e"
VERSION_UUID = "00000214-b2d1-43f0-9b88-960cebf8b91e"

MAX_FRAME_BYTES = 1024
"""Largest message a frame may declare; a reply's whole frame, prefix included, fits too."""

FRAME_TIMEOUT_S = 1.0
"""A partial frame is discarded after this long without a new chunk."""

PAIRING_TIMEOUT_S = 90.0
"""How long the car waits for a key-card tap after a pairing request (longer than a phone's
one-minute wait, so the client's patience ends first)."""

MAX_CONNECTIONS = 3
MAX_EXPIRES_AT = 1 << 30
MAX_TTL_WITHOUT_COUNTER_S = 30
LAST_COUNTER = 0xFFFFFFFF
EPOCH_SIZE = 16

VCSEC = Domain.DOMAIN_VEHICLE_SECURITY
INFOTAINMENT = Domain.DOMAIN_INFOTAINMENT
_ENCRYPT_RESPONSE = 1 << Flags.FLAG_ENCRYPT_RESPONSE
_WL = vcsec.WhitelistOperation_information_E

Indicate = Callable[[bytes], None]
Random = Callable[[int], bytes]


def local_name(vin: str) -> str:
    """Return the BLE local name a car with this VIN advertises."""
    return crypto.local_name(vin)


class PairingAnswers(Enum):
    """What the car says about an add-key request, and when."""

    AFTER_TAP = "after_tap"
    """Nothing until the key card is tapped (or the request ends), then one terminal answer."""
    WAIT_AT_ONCE = "wait_at_once"
    """WAIT at once, then the terminal answer (the form tesla-fleet-api waits for)."""
    NEVER = "never"
    """Nothing at all: a tap adds the key silently; only a handshake shows it."""


class Busy(Enum):
    """How a busy car answers a signed message it does not run."""

    WAIT = "wait"
    """Operation status WAIT: try again later."""
    FAULT = "fault"
    """Message fault BUSY."""


class TooManyConnections(Exception):
    """The car already has as many BLE connections as it accepts."""


class _Silent(Exception):
    """The car takes the request and never answers it."""


class _Outbox(Protocol):
    """Where the car's answers to one face go: a BLE connection or a cloud request."""

    @property
    def via(self) -> str:
        """The face, as `VirtualCar.execute` records it: "ble" or "cloud"."""

    @property
    def frame_limit(self) -> int | None:
        """Largest reply frame the face carries; None for no limit."""

    def send(self, message: RoutableMessage) -> None:
        """Deliver one answer."""


@dataclass
class _CloudReplies:
    """Collects what the car answers one `signed_command` request.

    The Fleet API relays the car's RoutableMessage whole, base64 in JSON (Tesla's
    `signed_command` reference; vehicle-command `pkg/connector/inet/inet.go`): no frame limit.
    """

    via: str = "cloud"
    frame_limit: int | None = None
    replies: list[RoutableMessage] = dataclass_field(default_factory=list)

    def send(self, message: RoutableMessage) -> None:
        """Keep one answer."""
        self.replies.append(message)


class _Fault(Exception):
    """A message fault the car answers with."""

    def __init__(self, fault: MessageFault_E) -> None:
        super().__init__(MessageFault_E.Name(fault))
        self.fault = fault


@dataclass
class _Session:
    """Anti-replay state of one client key in one domain for the current epoch."""

    counter: int = 0
    window: int = 0
    responses: int = 0


@dataclass
class _ReplyTo:
    """Where a reply goes: a connection, the client's address and the request it answers."""

    connection: _Outbox
    routing_address: bytes
    request_uuid: bytes


@dataclass
class _PendingPairing:
    key: bytes
    role: int
    reply_to: _ReplyTo
    deadline: float
    requested_at: float


class BleConnection:
    """One central's GATT connection: writes in, indications out."""

    via = "ble"

    def __init__(self, car: BleCar, indicate: Indicate, mtu: int) -> None:
        """Attach to `car`; replies go to `indicate` in chunks of `mtu` - 3 bytes."""
        self.mtu = mtu
        self._car = car
        self._indicate = indicate
        self._buffer = bytearray()
        self._skip = 0
        self._last_chunk: float | None = None
        self.is_open = True

    @property
    def frame_limit(self) -> int | None:
        """Largest frame a reply may take: what both reference clients accept."""
        return MAX_FRAME_BYTES

    def write(self, chunk: bytes) -> None:
        """Take one GATT write to the WRITE characteristic and answer complete frames."""
        if not self.is_open:
            raise ConnectionError("connection closed")
        self._car.tick()
        now = self._car.car.clock()
        pending = self._buffer or self._skip
        if pending and self._last_chunk is not None and now - self._last_chunk >= FRAME_TIMEOUT_S:
            _LOGGER.debug("Discarding a partial frame after %.1f s", now - self._last_chunk)
            self._buffer.clear()
            self._skip = 0
        self._last_chunk = now
        data = bytes(chunk)
        if self._skip:
            skipped = min(self._skip, len(data))
            self._skip -= skipped
            data = data[skipped:]
        self._buffer += data
        for frame in self._complete_frames():
            self._car._receive(self, frame)

    def _complete_frames(self) -> list[bytes]:
        frames: list[bytes] = []
        while len(self._buffer) >= 2:
            length = int.from_bytes(self._buffer[:2], "big")
            total = length + 2
            if length > MAX_FRAME_BYTES:
                _LOGGER.debug("Dropping a frame that declares %d bytes", length)
                dropped = min(total, len(self._buffer))
                del self._buffer[:dropped]
                self._skip = total - dropped
                continue
            if len(self._buffer) < total:
                break
            frames.append(bytes(self._buffer[2:total]))
            del self._buffer[:total]
        return frames

    def send(self, message: RoutableMessage) -> None:
        """Indicate one framed message in MTU-sized chunks; nothing if the link is gone."""
        if not self.is_open:
            return
        forge = self._car.forge_replies
        for sent in [message] if forge is None else forge(message):
            self._send_one(sent)

    def _send_one(self, message: RoutableMessage) -> None:
        data = _serialized(message)
        garble = self._car.garble_replies
        size = max(1, self.mtu - 3)
        if self._car.oversized_length is not None:
            bogus = self._car.oversized_length.to_bytes(2, "big") + bytes(range(1, 21))
            self._indicate_chunk(bogus)
        for payload in [data] if garble is None else garble(data):
            frame = len(payload).to_bytes(2, "big") + payload
            for start in range(0, len(frame), size):
                self._indicate_chunk(frame[start : start + size])

    def _indicate_chunk(self, chunk: bytes) -> None:
        try:
            self._indicate(chunk)
        except Exception:
            _LOGGER.exception("The central failed to take an indication")

    def close(self) -> None:
        """Drop the connection; sessions stay with the car."""
        if self.is_open:
            self.is_open = False
            self._car._disconnected(self)


class BleCar:
    """The car's side of Tesla's BLE protocol, answering for a `VirtualCar`."""

    def __init__(
        self,
        car: VirtualCar,
        *,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        rng: Random = os.urandom,
    ) -> None:
        """Boot the car's BLE controller with its key pair (generated when not given)."""
        self.car = car
        self.local_name = local_name(car.vin)
        self._private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        self.public_key = crypto.public_bytes(self._private_key.public_key())
        self._rng = rng
        self._keys: dict[bytes, int] = {}
        self._slots: dict[bytes, int] = {}
        self._shared: dict[bytes, bytes] = {}
        self._sessions: dict[tuple[int, bytes], _Session] = {}
        self._connections: list[BleConnection] = []
        self._pairing: _PendingPairing | None = None
        self.pairing_answers = PairingAnswers.AFTER_TAP
        """How the car answers add-key requests."""
        self.tap_after_s: float | None = None
        """While set, the owner taps the key card this many seconds after a pairing request."""
        self.handshakes = 0
        """Session info requests answered over Bluetooth."""
        self.cloud_handshakes = 0
        """Session info requests answered through the Fleet API's `signed_command`."""
        self._via = "ble"
        self.busy: Busy | None = None
        """While set, signed messages are answered as busy and not run."""
        self.replay_replies = False
        """While set, an earlier reply of the same domain, readdressed, precedes every reply."""
        self.forge_replies: Callable[[RoutableMessage], list[RoutableMessage]] | None = None
        """While set, someone between the car and the air sends this instead of each reply
        (forged answers before the genuine one, or in its place)."""
        self.silent_categories: set[str] = set()
        """Vehicle-data categories (`charge_state`, `location_state`, ...) the car never answers,
        as one car met by others never answered location."""
        self.oversized_length: int | None = None
        """While set, a frame declaring this many bytes precedes every reply."""
        self.garble_replies: Callable[[bytes], list[bytes]] | None = None
        """While set, the air between car and phone turns each serialized reply into these
        payloads (truncated, flipped, replayed, dropped), each framed and indicated as sent."""
        self._replies: dict[int, RoutableMessage] = {}
        self.epoch = b""
        self._epoch_started = 0.0
        self._start_epoch()

    def __repr__(self) -> str:
        """Describe the car without its key material."""
        return f"BleCar({self.local_name}, keys={len(self._keys)})"

    # -- public controls -----------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """Connections currently open."""
        return len(self._connections)

    @property
    def awaiting_tap(self) -> bool:
        """Whether an add-key request waits for a key-card tap."""
        return self._pairing is not None

    @property
    def known_keys(self) -> set[bytes]:
        """Public keys on the car's whitelist."""
        return set(self._keys)

    def connect(self, indicate: Indicate, mtu: int = 23) -> BleConnection:
        """Accept a central's connection; replies go to `indicate`."""
        if len(self._connections) >= MAX_CONNECTIONS:
            raise TooManyConnections(f"{self.local_name} accepts {MAX_CONNECTIONS} connections")
        connection = BleConnection(self, indicate, mtu)
        self._connections.append(connection)
        return connection

    def _disconnected(self, connection: BleConnection) -> None:
        if connection in self._connections:
            self._connections.remove(connection)

    def add_known_key(self, public_key: bytes, role: int = Role.ROLE_OWNER) -> None:
        """Put a key on the whitelist without a key-card tap."""
        crypto.load_public_key(public_key)
        self._keys[public_key] = role
        if public_key not in self._slots:
            used = set(self._slots.values())
            self._slots[public_key] = next(
                slot for slot in range(len(used) + 1) if slot not in used
            )

    def remove_key(self, public_key: bytes) -> None:
        """Take a key off the whitelist and end its sessions."""
        self._keys.pop(public_key, None)
        self._slots.pop(public_key, None)
        self._shared.pop(public_key, None)
        for session in [s for s in self._sessions if s[1] == public_key]:
            del self._sessions[session]

    def key_role(self, public_key: bytes) -> int | None:
        """Return the role of a key on the whitelist (`keys.Role`), None for an unknown key."""
        return self._keys.get(public_key)

    def enroll_application_key(self, public_key: bytes) -> None:
        """Add an application's key as the owner approving `https://tesla.com/_ak/<domain>` does.

        Keys added through Tesla's virtual-key link are Fleet Manager keys (`Role.ROLE_FM`):
        they sign commands sent through the Fleet API's `signed_command`, and since firmware
        2023.38 the car refuses them over Bluetooth with
        MESSAGEFAULT_ERROR_INSUFFICIENT_PRIVILEGES (developer.tesla.com/docs/fleet-api, virtual
        keys and "Vehicle Commands"; teslamotors/vehicle-command README). A key already on the
        car keeps its role.
        """
        if public_key not in self._keys:
            self.add_known_key(public_key, Role.ROLE_FM)

    def cloud_exchange(self, message: bytes) -> RoutableMessage | None:
        """Answer one RoutableMessage relayed by the Fleet API's `signed_command`.

        The same verifier as over Bluetooth answers (session info, epoch, counters, expiry,
        faults with fresh session info, HMAC `HMAC_Personalized_data` signatures, AES-GCM
        replies when asked for): Tesla's servers check only the OAuth token and the car checks
        the signature against its own key list (developer.tesla.com/docs/fleet-api
        `signed_command`; vehicle-command `pkg/proxy/proxy.go`, `pkg/connector/inet/inet.go`).
        Commands run as `via="cloud"`; replies have no frame-size limit. Returns None when the
        car gives no answer; raises ValueError for bytes that are not a RoutableMessage.
        """
        request = RoutableMessage()
        try:
            request.ParseFromString(message)
        except DecodeError as err:
            raise ValueError("not a RoutableMessage") from err
        self.tick()
        outbox = _CloudReplies()
        payload = request.WhichOneof("payload")
        if payload == "session_info_request":
            self._on_session_info_request(outbox, request)
        elif payload == "protobuf_message_as_bytes":
            self._on_message(outbox, request)
        else:
            outbox.send(self._fault_reply(request, MessageFault_E.MESSAGEFAULT_ERROR_BAD_PARAMETER))
        return outbox.replies[-1] if outbox.replies else None

    def tap_key_card(self) -> None:
        """Approve the pending pairing request, as a key card tapped on the console does."""
        self._close_pairing_window()
        self._approve()

    def _approve(self) -> None:
        pending = self._pairing
        if pending is None:
            _LOGGER.debug("Key card tapped with no pairing request waiting")
            return
        self._pairing = None
        self.add_known_key(pending.key, pending.role)
        self._answer_pairing(
            pending.reply_to, _whitelist_status(_WL.WHITELISTOPERATION_INFORMATION_NONE)
        )

    def refuse_pairing(self) -> None:
        """Decline the pending pairing request, as the owner can on the screen."""
        self.tick()
        self._finish_pairing(_WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_UI_DENIED)

    def skew_counters(self, by: int) -> None:
        """Move every session's counter ahead, as another client using the same key does."""
        for session in self._sessions.values():
            session.counter += by

    def reboot(self) -> None:
        """Restart the security controller: a new epoch ends every session."""
        self._start_epoch()

    def tick(self) -> None:
        """Apply what the car's clock decides: the owner's tap when due, the window closing."""
        pending = self._pairing
        now = self.car.clock()
        if (
            pending is not None
            and self.tap_after_s is not None
            and now >= pending.requested_at + self.tap_after_s
            and now < pending.deadline
        ):
            self._approve()
            return
        self._close_pairing_window()

    def _close_pairing_window(self) -> None:
        pending = self._pairing
        if pending is not None and self.car.clock() >= pending.deadline:
            self._finish_pairing(
                _WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_TIMED_OUT_WAITING_FOR_TAP
            )

    # -- message handling ----------------------------------------------------------------------

    def _receive(self, connection: BleConnection, frame: bytes) -> None:
        bare = _present_key_request(frame)
        if bare is not None:
            self._on_vcsec_unsigned(_ReplyTo(connection, b"", b""), bare)
            return
        request = RoutableMessage()
        try:
            request.ParseFromString(frame)
        except DecodeError:
            _LOGGER.debug("Dropping a frame that is not a RoutableMessage")
            return
        payload = request.WhichOneof("payload")
        if payload == "session_info_request":
            self._on_session_info_request(connection, request)
        elif payload == "protobuf_message_as_bytes":
            self._on_message(connection, request)

    def _answering_domain(self, connection: _Outbox, request: RoutableMessage) -> int | None:
        """Return the domain a request goes to if it answers now; fault an unknown domain."""
        domain = _domain(request)
        if domain is None:
            connection.send(
                self._fault_reply(request, MessageFault_E.MESSAGEFAULT_ERROR_INVALID_DOMAINS)
            )
            return None
        return domain if self._domain_awake(domain) else None

    def _on_session_info_request(self, connection: _Outbox, request: RoutableMessage) -> None:
        if (domain := self._answering_domain(connection, request)) is None:
            return
        if connection.via == "cloud":
            self.cloud_handshakes += 1
        else:
            self.handshakes += 1
        key = request.session_info_request.public_key
        reply = _envelope(request, domain)
        if key in self._keys:
            self._attach_session_info(reply, domain, key, request.uuid)
        else:
            reply.session_info = _not_on_whitelist()
        connection.send(reply)

    def _on_message(self, connection: _Outbox, request: RoutableMessage) -> None:
        if (domain := self._answering_domain(connection, request)) is None:
            return
        if request.signature_data.WhichOneof("sig_type") not in (
            "AES_GCM_Personalized_data",
            "HMAC_Personalized_data",
        ):
            self._on_unsigned(connection, request, domain)
            return
        key = request.signature_data.signer_identity.public_key
        if key not in self._keys:
            reply = self._fault_reply(request, MessageFault_E.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID)
            reply.session_info = _not_on_whitelist()
            connection.send(reply)
            return
        if connection.via == "ble" and self._keys[key] == Role.ROLE_FM:
            connection.send(
                self._fault_reply(
                    request, MessageFault_E.MESSAGEFAULT_ERROR_INSUFFICIENT_PRIVILEGES, key
                )
            )
            return
        if self.busy is not None:
            connection.send(self._busy_reply(request))
            return
        self._via = connection.via
        try:
            plaintext, request_hash = self._verify(request, domain, key)
            payload = self._execute_signed(domain, key, plaintext)
            reply = self._signed_reply(
                request, domain, key, payload, request_hash, frame_limit=connection.frame_limit
            )
        except _Silent:
            _LOGGER.debug("Not answering a request for a silent category")
            return
        except _Fault as fault:
            reply = self._fault_reply(request, fault.fault, key)
        else:
            if isinstance(connection, BleConnection):
                self._replay_before(connection, request, domain, reply)
        finally:
            self._via = "ble"
        connection.send(reply)
        if self._session(domain, key).counter == LAST_COUNTER:
            self._start_epoch()

    def _replay_before(
        self,
        connection: BleConnection,
        request: RoutableMessage,
        domain: int,
        reply: RoutableMessage,
    ) -> None:
        """Send an earlier reply first while `replay_replies` is set (someone on the air)."""
        earlier = self._replies.get(domain)
        self._replies[domain] = reply
        if self.replay_replies and earlier is not None:
            replayed = RoutableMessage()
            replayed.CopyFrom(earlier)
            replayed.to_destination.routing_address = request.from_destination.routing_address
            replayed.request_uuid = request.uuid
            connection.send(replayed)

    def _on_unsigned(self, connection: _Outbox, request: RoutableMessage, domain: int) -> None:
        """Answer an unsigned message; through the cloud only a fault.

        The security controller's unsigned requests (status, pairing) are a Bluetooth matter:
        vehicle-command's `BodyControllerState` works over BLE only, and keys are added over
        BLE with a key-card tap or through Tesla's virtual-key link. The cloud face refuses
        them (sources are silent on the fault; BAD_PARAMETER, as for other refused unsigned
        messages).
        """
        if connection.via == "cloud":
            connection.send(
                self._fault_reply(request, MessageFault_E.MESSAGEFAULT_ERROR_BAD_PARAMETER)
            )
            return
        reply_to = _ReplyTo(connection, request.from_destination.routing_address, request.uuid)
        message = _unsigned_vcsec(request.protobuf_message_as_bytes) if domain == VCSEC else None
        if message is None or not self._on_vcsec_unsigned(reply_to, message):
            connection.send(
                self._fault_reply(request, MessageFault_E.MESSAGEFAULT_ERROR_BAD_PARAMETER)
            )

    def _on_vcsec_unsigned(self, reply_to: _ReplyTo, message: vcsec.UnsignedMessage) -> bool:
        """Answer what VCSEC accepts without a signature; False for anything else."""
        which = message.WhichOneof("sub_message")
        if which == "InformationRequest":
            self._send_vcsec(reply_to, self._information(message.InformationRequest))
            return True
        operation = message.WhitelistOperation
        if which == "WhitelistOperation" and operation.HasField(
            "addKeyToWhitelistAndAddPermissions"
        ):
            answer = self._request_pairing(reply_to, operation)
            if answer is not None:
                self._send_vcsec(reply_to, answer)
            return True
        return False

    def _domain_awake(self, domain: int) -> bool:
        if domain != INFOTAINMENT:
            return True
        try:
            self.car.require_awake()
        except CarAsleep:
            _LOGGER.debug("Infotainment asleep: no answer")
            return False
        self.car.touch()
        return True

    # -- authentication ------------------------------------------------------------------------

    def _verify(self, request: RoutableMessage, domain: int, key: bytes) -> tuple[bytes, bytes]:
        """Check a signed command in the car's order; return (plaintext, request hash)."""
        signature = request.signature_data
        gcm = signature.WhichOneof("sig_type") == "AES_GCM_Personalized_data"
        data = signature.AES_GCM_Personalized_data if gcm else signature.HMAC_Personalized_data
        session = self._session(domain, key)
        now = self._clock_time()
        if data.epoch and data.epoch != self.epoch:
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_INCORRECT_EPOCH)
        if data.expires_at and data.expires_at < now:
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_TIME_EXPIRED)
        if data.expires_at > MAX_EXPIRES_AT:
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_BAD_PARAMETER)
        if (data.counter == 0 or data.counter < session.counter) and (
            data.expires_at == 0 or data.expires_at - now > MAX_TTL_WITHOUT_COUNTER_S
        ):
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG)
        signature_type = (
            SignatureType.SIGNATURE_TYPE_AES_GCM_PERSONALIZED
            if gcm
            else SignatureType.SIGNATURE_TYPE_HMAC_PERSONALIZED
        )
        metadata = crypto.command_metadata(
            signature_type=signature_type,
            domain=domain,
            vin=self.car.vin,
            epoch=data.epoch,
            expires_at=data.expires_at,
            counter=data.counter,
            flags=request.flags,
        )
        shared = self.shared_key(key)
        payload = request.protobuf_message_as_bytes
        if gcm:
            gcm_data = signature.AES_GCM_Personalized_data
            try:
                plaintext = crypto.gcm_decrypt(
                    shared, gcm_data.nonce, payload, gcm_data.tag, metadata
                )
            except InvalidTag as err:
                raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_SIGNATURE) from err
        else:
            expected = crypto.hmac_command_tag(shared, metadata, payload)
            if not crypto.tags_equal(expected, data.tag):
                raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_SIGNATURE)
            plaintext = payload
        self._accept_counter(domain, session, data.counter)
        return plaintext, crypto.request_hash(signature_type, data.tag, domain)

    @staticmethod
    def _accept_counter(domain: int, session: _Session, counter: int) -> None:
        if domain == VCSEC:
            if counter <= session.counter:
                raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER)
            session.counter = counter
            return
        if counter == 0:
            return
        session.counter, session.window, accepted = crypto.update_sliding_window(
            session.counter, session.window, counter
        )
        if not accepted:
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER)

    def _start_epoch(self) -> None:
        self.epoch = self._rng(EPOCH_SIZE)
        self._epoch_started = self.car.clock()
        self._sessions.clear()

    def _clock_time(self) -> int:
        return int(self.car.clock() - self._epoch_started)

    def _session(self, domain: int, key: bytes) -> _Session:
        return self._sessions.setdefault((domain, key), _Session())

    def resume_session(self, domain: int, key: bytes, counter: int) -> None:
        """Take up a key's session in `domain` at `counter`, as a published test vector starts."""
        self._session(domain, key).counter = counter

    def shared_key(self, key: bytes) -> bytes:
        """Return the key this car shares with a client public key (ECDH, as both derive it)."""
        if key not in self._shared:
            self._shared[key] = crypto.shared_key(self._private_key, key)
        return self._shared[key]

    def _attach_session_info(
        self, reply: RoutableMessage, domain: int, key: bytes, challenge: bytes
    ) -> None:
        info = SessionInfo(
            counter=self._session(domain, key).counter,
            publicKey=self.public_key,
            epoch=self.epoch,
            clock_time=self._clock_time(),
            status=Session_Info_Status.SESSION_INFO_STATUS_OK,
            handle=self._slots.get(key, 0),
        )
        encoded = _serialized(info)
        reply.session_info = encoded
        reply.signature_data.session_info_tag.tag = crypto.session_info_tag(
            self.shared_key(key), self.car.vin, challenge, encoded
        )

    def _busy_reply(self, request: RoutableMessage) -> RoutableMessage:
        if self.busy is Busy.FAULT:
            return self._fault_reply(request, MessageFault_E.MESSAGEFAULT_ERROR_BUSY)
        reply = _envelope(request, request.to_destination.domain)
        reply.signedMessageStatus.operation_status = OperationStatus_E.OPERATIONSTATUS_WAIT
        return reply

    def _fault_reply(
        self, request: RoutableMessage, fault: MessageFault_E, key: bytes | None = None
    ) -> RoutableMessage:
        domain = request.to_destination.domain
        reply = _envelope(request, domain)
        reply.signedMessageStatus.operation_status = OperationStatus_E.OPERATIONSTATUS_ERROR
        reply.signedMessageStatus.signed_message_fault = fault
        if key is not None:
            self._attach_session_info(reply, domain, key, request.uuid)
        return reply

    def _signed_reply(
        self,
        request: RoutableMessage,
        domain: int,
        key: bytes,
        payload: bytes,
        request_hash: bytes,
        *,
        frame_limit: int | None,
    ) -> RoutableMessage:
        reply = _envelope(request, domain)
        if request.flags & _ENCRYPT_RESPONSE:
            session = self._session(domain, key)
            session.responses += 1
            nonce = self._rng(crypto.NONCE_SIZE)
            metadata = crypto.response_metadata(
                domain=domain,
                vin=self.car.vin,
                counter=session.responses,
                flags=reply.flags,
                request_hash=request_hash,
                fault=0,
            )
            ciphertext, tag = crypto.gcm_encrypt(self.shared_key(key), nonce, payload, metadata)
            reply.protobuf_message_as_bytes = ciphertext
            response_data = reply.signature_data.AES_GCM_Response_data
            response_data.nonce = nonce
            response_data.counter = session.responses
            response_data.tag = tag
        else:
            reply.protobuf_message_as_bytes = payload
        if frame_limit is not None and len(_serialized(reply)) + 2 > frame_limit:
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_RESPONSE_MTU_EXCEEDED)
        return reply

    # -- commands ------------------------------------------------------------------------------

    def _execute_signed(self, domain: int, key: bytes, plaintext: bytes) -> bytes:
        if domain == VCSEC:
            message = vcsec.UnsignedMessage()
            try:
                message.ParseFromString(plaintext)
            except DecodeError as err:
                raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_DECODING) from err
            return _serialized(self._vcsec_command(message, key))
        action = cs.Action()
        try:
            action.ParseFromString(plaintext)
        except DecodeError as err:
            raise _Fault(MessageFault_E.MESSAGEFAULT_ERROR_DECODING) from err
        return _serialized(self._infotainment_command(action.vehicleAction))

    def _run(self, name: str, params: dict[str, Any], *, infotainment: bool) -> str | None:
        """Run a Fleet API command on the car; return the car's refusal, if any."""
        try:
            self.car.execute(name, params, via=self._via, needs_infotainment=infotainment)
        except CommandError as err:
            return err.reason
        return None

    def _vcsec_command(
        self, message: vcsec.UnsignedMessage, signer: bytes
    ) -> vcsec.FromVCSECMessage:
        which = message.WhichOneof("sub_message")
        refusal: str | None
        if which == "InformationRequest":
            return self._information(message.InformationRequest)
        if which == "WhitelistOperation":
            return self._signed_whitelist_operation(message.WhitelistOperation, signer)
        if which == "RKEAction":
            refusal = self._rke(message.RKEAction)
        elif which == "closureMoveRequest":
            refusal = self._closures(message.closureMoveRequest)
        else:
            refusal = "unsupported"
        reply = vcsec.FromVCSECMessage()
        if refusal is not None:
            _LOGGER.debug("VCSEC refused %s: %s", which, refusal)
            reply.nominalError.genericError = GenericError_E.GENERICERROR_UNKNOWN
        return reply

    def _rke(self, action: int) -> str | None:
        rke = vcsec.RKEAction_E
        if action == rke.RKE_ACTION_WAKE_VEHICLE:
            self.car.wake(self._via)
            return None
        if action == rke.RKE_ACTION_OPEN_TRUNK:
            return self._closures(vcsec.ClosureMoveRequest(rearTrunk=_OPEN))
        if action == rke.RKE_ACTION_OPEN_FRUNK:
            return self._closures(vcsec.ClosureMoveRequest(frontTrunk=_OPEN))
        command = _RKE_COMMANDS.get(action)
        if command is None:
            return "unsupported"
        return self._run(command, {}, infotainment=False)

    def _closures(self, request: vcsec.ClosureMoveRequest) -> str | None:
        moves: list[tuple[str, dict[str, Any]]] = []
        car = self.car
        rear, front, port = request.rearTrunk, request.frontTrunk, request.chargePort
        if _wants_change(rear, is_open=car.trunk_open):
            moves.append(("actuate_trunk", {"which_trunk": "rear"}))
        if front == _CLOSE:
            return "the frunk closes by hand"
        if _wants_change(front, is_open=car.frunk_open):
            moves.append(("actuate_trunk", {"which_trunk": "front"}))
        if port == _OPEN or (port == _MOVE and not car.charge_port_door_open):
            # Opening an open port releases the cable, as the Fleet API's
            # `charge_port_door_open` ("opens the charge port or unlocks the charging cable").
            moves.append(("charge_port_door_open", {}))
        elif _wants_change(port, is_open=car.charge_port_door_open):
            moves.append(("charge_port_door_close", {}))
        others = (
            request.frontDriverDoor,
            request.frontPassengerDoor,
            request.rearDriverDoor,
            request.rearPassengerDoor,
            request.tonneau,
        )
        if any(others):
            return "unsupported closure"
        for name, params in moves:
            if (refusal := self._run(name, params, infotainment=False)) is not None:
                return refusal
        return None

    def _information(self, request: vcsec.InformationRequest) -> vcsec.FromVCSECMessage:
        reply = vcsec.FromVCSECMessage()
        kind = request.informationRequestType
        types = vcsec.InformationRequestType
        if kind == types.INFORMATION_REQUEST_TYPE_GET_STATUS:
            reply.vehicleStatus.CopyFrom(self.vehicle_status())
        elif kind == types.INFORMATION_REQUEST_TYPE_GET_WHITELIST_INFO:
            info = reply.whitelistInfo
            info.numberOfEntries = len(self._keys)
            for key in self._keys:
                info.whitelistEntries.add(publicKeySHA1=_key_id(key))
                info.slotMask |= 1 << self._slots[key]
        else:
            found = [k for k in self._keys if _matches(request, k, self._slots[k])]
            if not found:
                reply.nominalError.genericError = GenericError_E.GENERICERROR_UNKNOWN
            else:
                entry = reply.whitelistEntryInfo
                entry.keyId.publicKeySHA1 = _key_id(found[0])
                entry.publicKey.PublicKeyRaw = found[0]
                entry.slot = self._slots[found[0]]
                entry.keyRole = self._keys[found[0]]
        return reply

    def vehicle_status(self) -> vcsec.VehicleStatus:
        """Report closures, locks, sleep and user presence as VCSEC does."""
        car = self.car
        status = vcsec.VehicleStatus()
        closures = status.closureStatuses
        closures.frontDriverDoor = _closure_state(car.doors["df"])
        closures.frontPassengerDoor = _closure_state(car.doors["pf"])
        closures.rearDriverDoor = _closure_state(car.doors["dr"])
        closures.rearPassengerDoor = _closure_state(car.doors["pr"])
        closures.rearTrunk = _closure_state(car.trunk_open)
        closures.frontTrunk = _closure_state(car.frunk_open)
        closures.chargePort = _closure_state(car.charge_port_door_open)
        status.vehicleLockState = (
            vcsec.VehicleLockState_E.VEHICLELOCKSTATE_LOCKED
            if car.locked
            else vcsec.VehicleLockState_E.VEHICLELOCKSTATE_UNLOCKED
        )
        status.vehicleSleepStatus = (
            vcsec.VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
            if car.state == "asleep"
            else vcsec.VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_AWAKE
        )
        status.userPresence = (
            vcsec.UserPresence_E.VEHICLE_USER_PRESENCE_PRESENT
            if car.user_present
            else vcsec.UserPresence_E.VEHICLE_USER_PRESENCE_NOT_PRESENT
        )
        return status

    def _infotainment_command(self, action: cs.VehicleAction) -> cs.Response:
        response = cs.Response()
        which = action.WhichOneof("vehicle_action_msg")
        if which == "getVehicleData":
            asked = {
                target
                for request, (target, _build) in _CATEGORY_BUILDERS.items()
                if action.getVehicleData.HasField(request)
            }
            if asked & self.silent_categories:
                raise _Silent
            response.actionStatus.result = cs.OperationStatus_E.OPERATIONSTATUS_OK
            response.vehicleData.CopyFrom(vehicle_data(self.car, action.getVehicleData))
            return response
        if which == "ping":
            response.ping.ping_id = action.ping.ping_id
            _set_time(response.ping.local_timestamp, self.car.wall_clock())
            response.ping.last_remote_timestamp.CopyFrom(action.ping.local_timestamp)
            return response
        command = _infotainment_fleet_command(action)
        refusal = "unsupported" if command is None else self._run(*command, infotainment=True)
        status = response.actionStatus
        if refusal is None:
            status.result = cs.OperationStatus_E.OPERATIONSTATUS_OK
        else:
            status.result = cs.OperationStatus_E.OPERATIONSTATUS_ERROR
            status.result_reason.plain_text = refusal
        return response

    # -- pairing -------------------------------------------------------------------------------

    def _request_pairing(
        self, reply_to: _ReplyTo, operation: vcsec.WhitelistOperation
    ) -> vcsec.FromVCSECMessage | None:
        """Start waiting for a tap; return what the car answers at once, if anything."""
        change = operation.addKeyToWhitelistAndAddPermissions
        key = change.key.PublicKeyRaw
        try:
            crypto.load_public_key(key)
        except crypto.InvalidPublicKey:
            return _whitelist_status(_WL.WHITELISTOPERATION_INFORMATION_INVALID_PUBLIC_KEY)
        if key in self._keys:
            return _whitelist_status(
                _WL.WHITELISTOPERATION_INFORMATION_ATTEMPTING_TO_ADD_KEY_THAT_IS_ALREADY_ON_THE_WHITELIST
            )
        if self._pairing is not None and self._pairing.key != key:
            self._finish_pairing(
                _WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_CANCELLED
            )
        self._pairing = _PendingPairing(
            key=key,
            role=int(change.keyRole) or Role.ROLE_OWNER,
            reply_to=reply_to,
            deadline=self.car.clock() + PAIRING_TIMEOUT_S,
            requested_at=self.car.clock(),
        )
        if self.tap_after_s == 0:
            self._approve()
            return None
        if self.pairing_answers is not PairingAnswers.WAIT_AT_ONCE:
            return None
        reply = vcsec.FromVCSECMessage()
        reply.commandStatus.operationStatus = vcsec.OperationStatus_E.OPERATIONSTATUS_WAIT
        return reply

    def _finish_pairing(self, information: int) -> None:
        pending, self._pairing = self._pairing, None
        if pending is not None:
            self._answer_pairing(pending.reply_to, _whitelist_status(information))

    def _answer_pairing(self, reply_to: _ReplyTo, answer: vcsec.FromVCSECMessage) -> None:
        if self.pairing_answers is not PairingAnswers.NEVER:
            self._send_vcsec(reply_to, answer)

    def _signed_whitelist_operation(
        self, operation: vcsec.WhitelistOperation, signer: bytes
    ) -> vcsec.FromVCSECMessage:
        owner = self._keys.get(signer) == Role.ROLE_OWNER
        which = operation.WhichOneof("sub_message")
        if which == "addKeyToWhitelistAndAddPermissions":
            change = operation.addKeyToWhitelistAndAddPermissions
            if not owner:
                return _whitelist_status(
                    _WL.WHITELISTOPERATION_INFORMATION_NO_PERMISSION_TO_ADD, signer
                )
            try:
                self.add_known_key(change.key.PublicKeyRaw, int(change.keyRole) or Role.ROLE_OWNER)
            except crypto.InvalidPublicKey:
                return _whitelist_status(
                    _WL.WHITELISTOPERATION_INFORMATION_INVALID_PUBLIC_KEY, signer
                )
        elif which == "removePublicKeyFromWhitelist":
            if not owner:
                return _whitelist_status(
                    _WL.WHITELISTOPERATION_INFORMATION_NO_PERMISSION_TO_REMOVE, signer
                )
            self.remove_key(operation.removePublicKeyFromWhitelist.PublicKeyRaw)
        else:
            return _whitelist_status(_WL.WHITELISTOPERATION_INFORMATION_UNDOCUMENTED_ERROR, signer)
        return _whitelist_status(_WL.WHITELISTOPERATION_INFORMATION_NONE, signer)

    def _send_vcsec(self, reply_to: _ReplyTo, message: vcsec.FromVCSECMessage) -> None:
        reply = RoutableMessage()
        if reply_to.routing_address:
            reply.to_destination.routing_address = reply_to.routing_address
        reply.from_destination.domain = VCSEC
        reply.request_uuid = reply_to.request_uuid
        reply.protobuf_message_as_bytes = _serialized(message)
        reply_to.connection.send(reply)


# -- helpers -------------------------------------------------------------------------------------

_OPEN = vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_OPEN
_CLOSE = vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_CLOSE
_MOVE = vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_MOVE

_RKE_COMMANDS: dict[int, str] = {
    vcsec.RKEAction_E.RKE_ACTION_UNLOCK: "door_unlock",
    vcsec.RKEAction_E.RKE_ACTION_LOCK: "door_lock",
    vcsec.RKEAction_E.RKE_ACTION_AUTO_SECURE_VEHICLE: "door_lock",
    vcsec.RKEAction_E.RKE_ACTION_REMOTE_DRIVE: "remote_start_drive",
    vcsec.RKEAction_E.RKE_ACTION_OPEN_CHARGE_PORT: "charge_port_door_open",
    vcsec.RKEAction_E.RKE_ACTION_CLOSE_CHARGE_PORT: "charge_port_door_close",
}
"""Security-controller actions by the Fleet API command that does the same."""


def _wants_change(move: int, *, is_open: bool) -> bool:
    return move == _MOVE or (move == _OPEN and not is_open) or (move == _CLOSE and is_open)


def _domain(request: RoutableMessage) -> int | None:
    destination = request.to_destination
    if destination.WhichOneof("sub_destination") != "domain":
        return None
    if destination.domain in (VCSEC, INFOTAINMENT):
        return int(destination.domain)
    return None


def _envelope(request: RoutableMessage, domain: int) -> RoutableMessage:
    reply = RoutableMessage()
    reply.to_destination.routing_address = request.from_destination.routing_address
    reply.from_destination.domain = domain  # type: ignore[assignment]
    reply.request_uuid = request.uuid
    return reply


def _not_on_whitelist() -> bytes:
    return _serialized(
        SessionInfo(status=Session_Info_Status.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST)
    )


def _present_key_request(frame: bytes) -> vcsec.UnsignedMessage | None:
    """Decode a bare ToVCSECMessage presenting a new key, as the Go client sends it."""
    envelope = vcsec.ToVCSECMessage()
    try:
        envelope.ParseFromString(frame)
    except DecodeError:
        return None
    signed = envelope.signedMessage
    if signed.signatureType != vcsec.SignatureType.SIGNATURE_TYPE_PRESENT_KEY:
        return None
    message = vcsec.UnsignedMessage()
    try:
        message.ParseFromString(signed.protobufMessageAsBytes)
    except DecodeError:
        return None
    return message


def _unsigned_vcsec(payload: bytes) -> vcsec.UnsignedMessage | None:
    wrapped = _present_key_request(payload)
    if wrapped is not None:
        return wrapped
    message = vcsec.UnsignedMessage()
    try:
        message.ParseFromString(payload)
    except DecodeError:
        return None
    return message


def _whitelist_status(information: int, signer: bytes | None = None) -> vcsec.FromVCSECMessage:
    ok = information == _WL.WHITELISTOPERATION_INFORMATION_NONE
    operation_status = (
        vcsec.OperationStatus_E.OPERATIONSTATUS_OK
        if ok
        else vcsec.OperationStatus_E.OPERATIONSTATUS_ERROR
    )
    reply = vcsec.FromVCSECMessage()
    reply.commandStatus.operationStatus = operation_status
    whitelist = reply.commandStatus.whitelistOperationStatus
    whitelist.whitelistOperationInformation = information  # type: ignore[assignment]
    whitelist.operationStatus = operation_status
    if signer is not None:
        whitelist.signerOfOperation.publicKeySHA1 = _key_id(signer)
    return reply


def _key_id(key: bytes) -> bytes:
    return hashlib.sha1(key).digest()[:4]


def _matches(request: vcsec.InformationRequest, key: bytes, slot: int) -> bool:
    which = request.WhichOneof("key")
    if which == "keyId":
        return request.keyId.publicKeySHA1 == _key_id(key)
    if which == "publicKey":
        return request.publicKey == key
    return which == "slot" and request.slot == slot


def _closure_state(is_open: bool | int) -> vcsec.ClosureState_E:
    return (
        vcsec.ClosureState_E.CLOSURESTATE_OPEN
        if is_open
        else vcsec.ClosureState_E.CLOSURESTATE_CLOSED
    )


def _serialized(message: Any) -> bytes:
    """Encode a protobuf message (the generated classes carry no types)."""
    return bytes(message.SerializeToString())


def _set_time(stamp: Any, seconds: float) -> None:
    stamp.FromNanoseconds(int(seconds * 1e9))


def _choose(states: Any, option: str, fallback: str) -> None:
    """Set one of a state message's empty-message options, or `fallback` if none is so named."""
    names = states.DESCRIPTOR.fields_by_name
    getattr(states, option if option in names else fallback).SetInParent()


def _infotainment_fleet_command(action: cs.VehicleAction) -> tuple[str, dict[str, Any]] | None:
    """Translate an infotainment action to the Fleet API command and parameters it means."""
    which = action.WhichOneof("vehicle_action_msg")
    if which == "hvacAutoAction":
        on = action.hvacAutoAction.power_on
        return ("auto_conditioning_start" if on else "auto_conditioning_stop"), {}
    if which == "hvacTemperatureAdjustmentAction":
        temps = action.hvacTemperatureAdjustmentAction
        return "set_temps", {
            "driver_temp": round(temps.driver_temp_celsius, 2),
            "passenger_temp": round(temps.passenger_temp_celsius, 2),
        }
    if which == "chargingStartStopAction":
        start_stop = action.chargingStartStopAction.WhichOneof("charging_action")
        if start_stop == "start":
            return "charge_start", {}
        if start_stop == "stop":
            return "charge_stop", {}
        return None
    if which == "chargingSetLimitAction":
        return "set_charge_limit", {"percent": action.chargingSetLimitAction.percent}
    if which == "setChargingAmpsAction":
        return "set_charging_amps", {"charging_amps": action.setChargingAmpsAction.charging_amps}
    if which == "vehicleControlSetSentryModeAction":
        return "set_sentry_mode", {"on": action.vehicleControlSetSentryModeAction.on}
    if which == "vehicleControlWindowAction":
        command = action.vehicleControlWindowAction.WhichOneof("action")
        return ("window_control", {"command": command}) if command in ("vent", "close") else None
    simple = {
        "chargePortDoorOpen": "charge_port_door_open",
        "chargePortDoorClose": "charge_port_door_close",
        "vehicleControlFlashLightsAction": "flash_lights",
        "vehicleControlHonkHornAction": "honk_horn",
    }
    return (simple[which], {}) if which in simple else None


# -- vehicle data --------------------------------------------------------------------------------


def vehicle_data(car: VirtualCar, request: cs.GetVehicleData) -> vd.VehicleData:
    """Build the categories of vehicle data `request` asks for."""
    data = vd.VehicleData()
    now = car.wall_clock()
    for field, (target, build) in _CATEGORY_BUILDERS.items():
        if request.HasField(field):
            section = getattr(data, target)
            section.SetInParent()
            build(car, section)
            _set_time(section.timestamp, now)
    return data


def _charge_state(car: VirtualCar, state: vd.ChargeState) -> None:
    _choose(state.charging_state, car.charging_state, "Unknown")
    state.charge_limit_soc = car.charge_limit_soc
    state.charge_limit_soc_std = 80
    state.charge_limit_soc_min = 50
    state.charge_limit_soc_max = 100
    state.battery_level = car.battery_level
    state.usable_battery_level = car.battery_level
    state.battery_range = car.battery_range_mi
    state.est_battery_range = round(car.battery_range_mi * 0.92, 2)
    state.ideal_battery_range = car.battery_range_mi
    state.charge_port_door_open = car.charge_port_door_open
    _choose(state.charge_port_latch, car.charge_port_latch, "SNA")
    _choose(state.conn_charge_cable, "IEC" if car.cable_connected else "SNA", "SNA")
    state.charge_current_request = car.charge_current_request
    state.charge_current_request_max = car.charge_current_request_max
    state.charging_amps = car.charge_current_request
    state.charger_actual_current = car.charge_current_request if car.charging else 0
    state.charger_pilot_current = car.charge_current_request_max if car.cable_connected else 0
    state.charger_voltage = 230 if car.charging else 0
    state.charger_phases = 1 if car.charging else 0
    state.charger_power = car.charger_power_kw
    state.charge_rate_mph = round(car.charge_rate_mph)
    state.charge_rate_mph_float = car.charge_rate_mph
    state.minutes_to_full_charge = round(car.time_to_full_charge_h * 60)
    state.charge_energy_added = 0.0
    state.fast_charger_present = False
    state.scheduled_charging_pending = False
    state.user_charge_enable_request = car.charging
    state.charge_enable_request = car.charging


def _climate_state(car: VirtualCar, state: vd.ClimateState) -> None:
    state.inside_temp_celsius = car.inside_temp_c
    state.outside_temp_celsius = car.outside_temp_c
    state.driver_temp_setting = car.driver_temp_setting_c
    state.passenger_temp_setting = car.passenger_temp_setting_c
    state.min_avail_temp_celsius = 15.0
    state.max_avail_temp_celsius = 28.0
    state.is_climate_on = car.climate_on
    state.is_auto_conditioning_on = car.climate_on
    state.is_preconditioning = False
    state.fan_status = 3 if car.climate_on else 0
    state.is_front_defroster_on = False
    state.is_rear_defroster_on = False
    state.battery_heater = False
    state.steering_wheel_heater = False
    state.seat_heater_left = 0
    state.seat_heater_right = 0
    _choose(state.climate_keeper_mode, "Off", "Unknown")


def _drive_state(car: VirtualCar, state: vd.DriveState) -> None:
    _choose(state.shift_state, car.shift_state or "SNA", "Invalid")
    if car.speed_mph is not None:
        state.speed = car.speed_mph
        state.speed_float = car.speed_mph
    state.power = 0
    state.odometer_in_hundredths_of_a_mile = round(car.odometer_mi * 100)


def _location_state(car: VirtualCar, state: vd.LocationState) -> None:
    state.latitude = car.latitude
    state.longitude = car.longitude
    state.heading = car.heading
    state.gps_as_of = int(car.wall_clock())
    state.native_location_supported = True
    state.native_latitude = car.latitude
    state.native_longitude = car.longitude
    state.corrected_latitude = car.latitude
    state.corrected_longitude = car.longitude


def _closures_state(car: VirtualCar, state: vd.ClosuresState) -> None:
    state.door_open_driver_front = bool(car.doors["df"])
    state.door_open_driver_rear = bool(car.doors["dr"])
    state.door_open_passenger_front = bool(car.doors["pf"])
    state.door_open_passenger_rear = bool(car.doors["pr"])
    state.door_open_trunk_front = car.frunk_open
    state.door_open_trunk_rear = car.trunk_open
    state.window_open_driver_front = bool(car.windows["fd"])
    state.window_open_driver_rear = bool(car.windows["rd"])
    state.window_open_passenger_front = bool(car.windows["fp"])
    state.window_open_passenger_rear = bool(car.windows["rp"])
    state.locked = car.locked
    state.is_user_present = car.user_present
    state.sentry_mode_available = True
    _choose(state.sentry_mode_state, "Armed" if car.sentry_mode else "Off", "Off")
    state.valet_mode = False
    state.remote_start = False


def _tire_pressure_state(car: VirtualCar, state: vd.TirePressureState) -> None:
    seen = car.wall_clock()
    for wheel, bar in car.tpms_bar.items():
        setattr(state, f"tpms_pressure_{wheel}", bar)
        setattr(state, f"tpms_hard_warning_{wheel}", False)
        setattr(state, f"tpms_soft_warning_{wheel}", False)
        _set_time(getattr(state, f"tpms_last_seen_pressure_time_{wheel}"), seen)


_CATEGORY_BUILDERS: dict[str, tuple[str, Callable[[VirtualCar, Any], None]]] = {
    "getChargeState": ("charge_state", _charge_state),
    "getClimateState": ("climate_state", _climate_state),
    "getDriveState": ("drive_state", _drive_state),
    "getLocationState": ("location_state", _location_state),
    "getClosuresState": ("closures_state", _closures_state),
    "getTirePressureState": ("tire_pressure_state", _tire_pressure_state),
}
"""Each vehicle-data request, the section of the answer it fills and how."""
