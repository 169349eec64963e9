"""Messages on the wire: framing, reassembly, unsigned and pairing requests, reading replies."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from .proto import keys, universal, vcsec
from .session import (
    KeyNotOnCar,
    Request,
    RoutableMessage,
    Session,
    UntrustedReply,
    new_message,
)

_LOGGER = logging.getLogger(__name__)

MAX_FRAME_BYTES: Final = 1024
"""Largest message a frame may declare; a larger length is garbage."""

VCSEC: Final = universal.Domain.DOMAIN_VEHICLE_SECURITY
INFOTAINMENT: Final = universal.Domain.DOMAIN_INFOTAINMENT
DOMAINS: Final[frozenset[int]] = frozenset({VCSEC, INFOTAINMENT})

_WAIT: Final = universal.OperationStatus_E.OPERATIONSTATUS_WAIT


def frame(message: bytes) -> bytes:
    """Prefix a serialized message with its 2-byte big-endian length."""
    if len(message) > 0xFFFF:
        raise ValueError("message too long for a frame")
    return len(message).to_bytes(2, "big") + message


class FrameBuffer:
    """Reassembles the car's indications into messages, each framed by a 2-byte length.

    As vehicle-command's `pkg/connector/ble`: a length above MAX_FRAME_BYTES is garbage.

    A frame starts with an indication. One that declares more than MAX_FRAME_BYTES or does not
    decode is dropped up to the next indication that began after it (or entirely), so at most one
    partial frame of bounded size is ever held.
    """

    def __init__(self, deliver: Callable[[RoutableMessage], None]) -> None:
        """Hand every complete message to `deliver`."""
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


DISCONNECTED: Final = object()
"""Put in every queue when the connection drops: no answer will come over it."""


class Inbox:
    """The car's answers, reassembled from indications and kept per domain until taken."""

    def __init__(self, routing_address: bytes) -> None:
        """Take messages addressed to `routing_address` (or to nobody, as pairing answers are)."""
        self.routing_address = routing_address
        self.frames = FrameBuffer(self._on_message)
        self.queues: dict[int, asyncio.Queue[Any]] = {domain: asyncio.Queue() for domain in DOMAINS}

    def indication(self, _sender: Any, data: bytearray) -> None:
        """Take one indication from the car (the only characteristic subscribed to)."""
        self.frames.receive(bytes(data))

    def _on_message(self, message: RoutableMessage) -> None:
        queue = self.queues.get(message.from_destination.domain)
        address = bytes(message.to_destination.routing_address)
        if queue is None or address not in (self.routing_address, b""):
            _LOGGER.debug("Ignoring a message for someone else")
            return
        _LOGGER.debug("Received response from domain %s", message.from_destination.domain)
        queue.put_nowait(message)

    def take(self, domain: int) -> list[RoutableMessage]:
        """Remove and return what arrived for `domain` and was not waited for."""
        queue, taken = self.queues[domain], []
        while not queue.empty():
            if (message := queue.get_nowait()) is not DISCONNECTED:
                taken.append(message)
        return taken

    def reset(self) -> None:
        """Start a new connection: no partial frame, no stale answers."""
        self.frames.clear()
        for domain in DOMAINS:
            self.take(domain)

    def disconnected(self) -> None:
        """Wake every waiter: no answer will come over this connection."""
        self.frames.clear()
        for queue in self.queues.values():
            queue.put_nowait(DISCONNECTED)


def unsigned_vcsec(message: vcsec.UnsignedMessage, routing_address: bytes) -> Request:
    """Wrap an unsigned security-controller message (what it accepts without a signature)."""
    routable = new_message(VCSEC, routing_address)
    routable.protobuf_message_as_bytes = message.SerializeToString()
    return Request(routable, VCSEC)


def add_key_payload(
    public_key: bytes,
    role: int = keys.Role.ROLE_DRIVER,
    form_factor: int = vcsec.KeyFormFactor.KEY_FORM_FACTOR_CLOUD_KEY,
) -> vcsec.UnsignedMessage:
    """Build the whitelist operation that asks the car to add `public_key` with `role`."""
    message = vcsec.UnsignedMessage()
    operation = message.WhitelistOperation
    change = operation.addKeyToWhitelistAndAddPermissions
    change.key.PublicKeyRaw = public_key
    change.keyRole = cast(keys.Role, role)
    operation.metadataForKey.keyFormFactor = cast(vcsec.KeyFormFactor, form_factor)
    return message


def add_key_request(public_key: bytes, role: int = keys.Role.ROLE_DRIVER) -> bytes:
    """Build the add-key request as Tesla's client sends it: a bare PRESENT_KEY ToVCSECMessage.

    As vehicle-command's `pkg/vehicle/security.go` (`SendAddKeyRequestWithRole`): no
    `RoutableMessage` around it, and no answer is awaited.
    """
    envelope = vcsec.ToVCSECMessage()
    signed = envelope.signedMessage
    signed.protobufMessageAsBytes = add_key_payload(public_key, role).SerializeToString()
    signed.signatureType = vcsec.SignatureType.SIGNATURE_TYPE_PRESENT_KEY
    return bytes(envelope.SerializeToString())


def add_key_routable(public_key: bytes, routing_address: bytes, role: int) -> Request:
    """Build the add-key request in tesla-fleet-api's form: unsigned, in a RoutableMessage."""
    return unsigned_vcsec(add_key_payload(public_key, role), routing_address)


@dataclass(frozen=True)
class Reply:
    """What one answer from the car says, and whether it is authenticated."""

    authentic: bool
    """Encrypted for the request, or carrying session info whose tag covers the request."""
    payload: bytes | None = None
    fault: int = 0
    wait: bool = False
    not_on_car: bool = False


def fault_name(fault: int) -> str:
    """Name a message fault, also one this protocol version does not know."""
    try:
        return str(universal.MessageFault_E.Name(cast(universal.MessageFault_E, fault)))
    except ValueError:
        return f"fault {fault}"


def read_reply(session: Session, request: Request, reply: RoutableMessage) -> Reply:
    """Read one answer to `request`; raise UntrustedReply for one that is not to be believed.

    Session info attached to any answer is taken when its tag verifies (a fault carries fresh
    session info so the next attempt is signed in step). A plaintext answer to a request that
    asked for an encrypted one raises UntrustedReply: it must not end the wait.
    """
    if reply.from_destination.domain != request.domain:
        raise UntrustedReply
    if request.uuid and reply.request_uuid and bytes(reply.request_uuid) != request.uuid:
        raise UntrustedReply
    status = reply.signedMessageStatus
    kind = reply.WhichOneof("payload")
    authentic = False
    if kind == "session_info":
        try:
            session.accept_session_info(reply, request.uuid)
        except KeyNotOnCar:
            return Reply(authentic=False, fault=status.signed_message_fault, not_on_car=True)
        authentic = True
    if status.signed_message_fault:
        return Reply(authentic=authentic, fault=status.signed_message_fault)
    if status.operation_status == _WAIT:
        return Reply(authentic=authentic, wait=True)
    if kind == "session_info":
        return Reply(authentic=True)
    if kind != "protobuf_message_as_bytes":
        raise UntrustedReply
    if request.signed:
        return Reply(authentic=True, payload=session.open(request, reply))
    return Reply(authentic=False, payload=bytes(reply.protobuf_message_as_bytes))
