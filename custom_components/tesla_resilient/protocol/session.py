"""Authenticated sessions with one car domain: handshake, signing, checking what comes back."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from . import crypto
from .proto import signatures, universal

RoutableMessage = universal.RoutableMessage

ENCRYPT_RESPONSE: Final = 1 << universal.Flags.FLAG_ENCRYPT_RESPONSE
"""Request flag asking the car to encrypt its answer (firmware 2024.38 and later)."""

BLE_TTL_S: Final = 30
"""Seconds a Bluetooth command stays valid: proxies can be slow."""

CLOUD_TTL_S: Final = 10
"""Seconds a command signed for the cloud stays valid."""

_NOT_ON_WHITELIST: Final = signatures.Session_Info_Status.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST


class ProtocolError(Exception):
    """Something the car (or whoever answered) sent that the protocol does not accept."""


class UntrustedReply(ProtocolError):
    """An answer that failed authentication: bad tag, wrong request, replayed or plaintext."""


class KeyNotOnCar(ProtocolError):
    """The car answered that our key is not on its list."""


class CarKeyChanged(ProtocolError):
    """Authentic session info, but from a car key other than the pinned one."""


class Signature(Enum):
    """How a command is authenticated."""

    AES_GCM = crypto.AES_GCM_PERSONALIZED
    """Encrypted and authenticated: Bluetooth."""
    HMAC = crypto.HMAC_PERSONALIZED
    """Authenticated in the clear: the Fleet API's signed commands."""


class Keyring:
    """Our key pair, the car's pinned public key and the shared keys derived from them."""

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        vin: str,
        pinned: bytes | None,
        *,
        on_secret: Callable[[bytes], None] | None = None,
    ) -> None:
        """Hold the keys; `on_secret` learns every derived key (to keep it out of logs)."""
        self.vin = vin
        self.pinned = pinned
        self.public_key = private_key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint
        )
        self._private_key = private_key
        self._on_secret = on_secret
        self._shared: dict[bytes, bytes] = {}

    def shared_key(self, car_key: bytes) -> bytes:
        """Return K for a car public key; raise InvalidPublicKey for bytes that are not one."""
        if (key := self._shared.get(car_key)) is None:
            key = crypto.shared_key(self._private_key, car_key)
            self._shared[car_key] = key
            if self._on_secret is not None:
                self._on_secret(key)
        return key

    def pin(self, car_key: bytes) -> None:
        """Remember the car's key the first time; refuse any other afterwards."""
        if self.pinned is None:
            self.pinned = car_key
        elif not crypto.tags_equal(car_key, self.pinned):
            raise CarKeyChanged


@dataclass
class Request:
    """A message on its way to the car and what its answer must match."""

    message: RoutableMessage
    domain: int
    request_hash: bytes = b""
    encrypted_reply: bool = False
    seen_counters: set[int] = field(default_factory=set)

    @property
    def uuid(self) -> bytes:
        """The message's 16-byte id, echoed by the car as `request_uuid`."""
        return bytes(self.message.uuid)

    @property
    def signed(self) -> bool:
        """Whether the message is a signed command (not a handshake or an unsigned request)."""
        return bool(self.request_hash)


def new_message(domain: int, routing_address: bytes) -> RoutableMessage:
    """Start a message to a car domain from our routing address, with a fresh id."""
    message = RoutableMessage()
    message.to_destination.domain = cast(universal.Domain, domain)
    message.from_destination.routing_address = routing_address
    message.uuid = os.urandom(16)
    return message


class Session:
    """One domain's session: epoch, counter and the car's clock, kept in step with the car.

    The same session signs for Bluetooth (AES-GCM, type 5) and for the cloud's `signed_command`
    (HMAC, type 8); only the signature differs. As vehicle-command's `internal/authentication`
    (`signer.go`, `peer.go`) and `internal/dispatcher` (answers that fail authentication are
    dropped, not believed).
    """

    def __init__(
        self,
        keyring: Keyring,
        domain: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """Start without session info; `handshake` asks for it."""
        self.keyring = keyring
        self.domain = domain
        self._clock = clock
        self._random = random
        self._key: bytes | None = None
        self.epoch = b""
        self.counter = 0
        self._clock_offset = 0.0

    @property
    def ready(self) -> bool:
        """Whether the session has authentic session info to sign with."""
        return self._key is not None

    def forget(self) -> None:
        """Drop the session info: the next command starts with a handshake."""
        self._key = None

    def handshake(self, routing_address: bytes) -> Request:
        """Build the session info request; its id is the challenge the answer's tag covers."""
        message = new_message(self.domain, routing_address)
        message.session_info_request.public_key = self.keyring.public_key
        return Request(message, self.domain)

    def accept_session_info(self, reply: RoutableMessage, challenge: bytes) -> None:
        """Take session info answering `challenge` if its tag verifies and the key is pinned."""
        info = signatures.SessionInfo()
        try:
            info.ParseFromString(reply.session_info)
        except DecodeError as err:
            raise UntrustedReply from err
        if info.status == _NOT_ON_WHITELIST:
            raise KeyNotOnCar
        if not challenge or bytes(reply.request_uuid) != challenge:
            raise UntrustedReply
        try:
            key = self.keyring.shared_key(bytes(info.publicKey))
        except crypto.InvalidPublicKey as err:
            raise UntrustedReply from err
        expected = crypto.session_info_tag(key, self.keyring.vin, challenge, reply.session_info)
        if not crypto.tags_equal(expected, bytes(reply.signature_data.session_info_tag.tag)):
            raise UntrustedReply
        self.keyring.pin(bytes(info.publicKey))
        self._key = key
        self.epoch = bytes(info.epoch)
        self.counter = info.counter
        self._clock_offset = self._clock() - info.clock_time

    def car_clock(self) -> int:
        """Estimate the car's clock: seconds into its epoch."""
        return max(0, int(self._clock() - self._clock_offset))

    def sign(
        self,
        payload: bytes,
        routing_address: bytes,
        *,
        signature: Signature = Signature.AES_GCM,
        encrypt_reply: bool = True,
        ttl_s: int = BLE_TTL_S,
    ) -> Request:
        """Sign (and for AES-GCM encrypt) one command with the next counter."""
        key = self._key
        if key is None:
            raise ProtocolError("no session")
        self.counter += 1
        flags = ENCRYPT_RESPONSE if encrypt_reply else 0
        expires_at = self.car_clock() + ttl_s
        metadata = crypto.command_metadata(
            signature_type=signature.value,
            domain=self.domain,
            vin=self.keyring.vin,
            epoch=self.epoch,
            expires_at=expires_at,
            counter=self.counter,
            flags=flags,
        )
        message = new_message(self.domain, routing_address)
        message.flags = flags
        signature_data = message.signature_data
        signature_data.signer_identity.public_key = self.keyring.public_key
        if signature is Signature.AES_GCM:
            nonce = self._random(crypto.NONCE_SIZE)
            ciphertext, tag = crypto.gcm_seal(key, nonce, payload, metadata)
            message.protobuf_message_as_bytes = ciphertext
            gcm = signature_data.AES_GCM_Personalized_data
            gcm.nonce, gcm.epoch, gcm.counter, gcm.expires_at, gcm.tag = (
                nonce,
                self.epoch,
                self.counter,
                expires_at,
                tag,
            )
        else:
            tag = crypto.hmac_command_tag(key, metadata, payload)
            message.protobuf_message_as_bytes = payload
            hmac = signature_data.HMAC_Personalized_data
            hmac.epoch, hmac.counter, hmac.expires_at, hmac.tag = (
                self.epoch,
                self.counter,
                expires_at,
                tag,
            )
        return Request(
            message,
            self.domain,
            crypto.request_hash(signature.value, tag, self.domain),
            encrypted_reply=encrypt_reply,
        )

    def open(self, request: Request, reply: RoutableMessage) -> bytes:
        """Return the authentic payload of a reply to `request`; raise UntrustedReply otherwise.

        A reply to a request that asked for encryption must be encrypted for that request
        (the request hash is in the authenticated data) with a response counter not seen before.
        """
        if reply.from_destination.domain != request.domain:
            raise UntrustedReply
        if not reply.signature_data.HasField("AES_GCM_Response_data"):
            if request.encrypted_reply:
                raise UntrustedReply
            return bytes(reply.protobuf_message_as_bytes)
        key = self._key
        data = reply.signature_data.AES_GCM_Response_data
        if key is None or data.counter in request.seen_counters:
            raise UntrustedReply
        metadata = crypto.response_metadata(
            domain=request.domain,
            vin=self.keyring.vin,
            counter=data.counter,
            flags=reply.flags,
            request_hash=request.request_hash,
            fault=reply.signedMessageStatus.signed_message_fault,
        )
        try:
            plaintext = crypto.gcm_open(
                key, bytes(data.nonce), bytes(reply.protobuf_message_as_bytes), data.tag, metadata
            )
        except (InvalidTag, ValueError) as err:
            raise UntrustedReply from err
        request.seen_counters.add(data.counter)
        return plaintext
