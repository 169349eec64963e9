"""Signed cloud commands: Tesla's vehicle protocol carried by the Fleet API's `signed_command`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from typing import Any, Final

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from .ble_conversation import Conversation, OnOther
from .ble_messages import COMMANDS
from .cloud import CloudLink
from .cloud_errors import CloudBadRequest, CloudError, CommandRejected
from .errors import (
    BluetoothError,
    CarBusy,
    CarKeyMismatch,
    KeyNotPaired,
    UnsupportedCommand,
    UntrustedResponse,
)
from .errors import CommandRejected as CarRefused
from .health import Outcome
from .protocol import (
    CarKeyChanged,
    Keyring,
    Reply,
    Request,
    RoutableMessage,
    Session,
    Signature,
    UntrustedReply,
    read_reply,
)
from .protocol.session import CLOUD_TTL_S
from .router import BENIGN_REASONS, Delivery

_MAYBE_RAN: Final = frozenset(
    {Outcome.TRANSPORT, Outcome.SERVER_ERROR, Outcome.VEHICLE_UNAVAILABLE}
)
"""Outcomes after which a signed command that went out may have reached the car."""


class SigningKeyUnknown(CloudBadRequest):
    """The car needs signed commands and knows no key Home Assistant has; it ran nothing."""

    def __init__(self, detail: str = "no key the car knows") -> None:
        """Nothing reached the car."""
        super().__init__(Outcome.BAD_REQUEST, sent=False, detail=detail)


class UntrustedCloudReply(CloudError):
    """The car's answer through the cloud failed authentication: the command may have run."""

    def __init__(self, detail: str = "the car's answer failed authentication") -> None:
        """Count the command as gone out, with nothing trustworthy back."""
        super().__init__(Outcome.BAD_REQUEST, sent=True, detail=detail)


class CarBusyCloud(CloudBadRequest):
    """The car answered that it is busy and ran nothing."""

    def __init__(self) -> None:
        """Say the car answered and ran nothing."""
        super().__init__(Outcome.BAD_REQUEST, sent=True, detail="the car is busy")


def may_have_run(err: CloudError) -> bool:
    """Whether a signed command that ended in `err` may have run on the car."""
    if isinstance(err, UntrustedCloudReply):
        return True
    return err.sent and err.outcome in _MAYBE_RAN


class CloudTransport:
    """The `signed_command` endpoint as a conversation's transport: one message, one answer.

    As vehicle-command's `pkg/connector/inet`: the request is a base64 RoutableMessage, HTTP 200
    carries the car's RoutableMessage, which is read and authenticated like a Bluetooth answer.
    """

    def __init__(self, cloud: CloudLink, vin: str) -> None:
        """Carry messages to `vin` over `cloud`."""
        self._cloud = cloud
        self._vin = vin
        self._address = os.urandom(16)
        self._delivery = Delivery.NOT_SENT
        self.handshakes = 0

    @property
    def routing_address(self) -> bytes:
        """The address the car answers to."""
        return self._address

    @property
    def delivery(self) -> Delivery:
        """How far the signed request being run got."""
        return self._delivery

    def start_request(self) -> None:
        """Nothing of the next signed request has gone out yet."""
        self._delivery = Delivery.NOT_SENT

    async def exchange(
        self, session: Session, request: Request, *, on_other: OnOther | None = None
    ) -> Reply:
        """Send `request` through `signed_command` and read the car's answer."""
        if request.message.HasField("session_info_request"):
            self.handshakes += 1
        try:
            raw = await self._cloud.signed_command(self._vin, request.message.SerializeToString())
        except CloudError as err:
            if request.signed and may_have_run(err):
                self._delivery = Delivery.MAYBE_DELIVERED
            raise
        if request.signed:
            self._delivery = Delivery.MAYBE_DELIVERED
        answer = RoutableMessage()
        try:
            answer.ParseFromString(raw)
            return read_reply(session, request, answer)
        except CarKeyChanged as err:
            raise CarKeyMismatch(self._delivery) from err
        except (DecodeError, UntrustedReply) as err:
            raise UntrustedResponse(self._delivery) from err

    async def send(self, data: bytes) -> None:
        """Unanswered messages (pairing requests) do not go through the cloud."""
        raise UnsupportedCommand(Delivery.NOT_SENT, "pairing")

    async def next_message(self, domain: int, wait_s: float) -> RoutableMessage | None:
        """Return None: the cloud answers each request once, nothing else arrives."""
        return None


class CloudSigner:
    """Signs one car's cloud commands with a key the car knows, keeping sessions between them.

    The sessions may be the Bluetooth link's for the same key: the car keeps one session per key
    and domain, so a command over either route needs no handshake after one on the other.
    Commands are signed with HMAC (signature type 8) as Tesla's own client does for the cloud.
    """

    def __init__(
        self,
        cloud: CloudLink,
        vin: str,
        keyring: Keyring,
        *,
        sessions: Mapping[int, Session] | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        """Sign for `vin` with `keyring`, sharing `sessions` when given.

        `monotonic` is the integration's clock, on which new sessions estimate the car's.
        """
        self._transport = CloudTransport(cloud, vin)
        self._conversation = Conversation(
            self._transport,
            keyring,
            sessions=sessions,
            signature=Signature.HMAC,
            ttl_s=CLOUD_TTL_S,
            **({} if monotonic is None else {"clock": monotonic}),
        )
        self._lock = asyncio.Lock()

    @property
    def handshakes(self) -> int:
        """Session-info requests sent through the cloud so far."""
        return self._transport.handshakes

    async def command(self, name: str, params: Mapping[str, Any]) -> None:
        """Run one command; raise a CloudError saying how far it got when it did not run."""
        command = COMMANDS.get(name)
        if command is None:
            raise CloudBadRequest(Outcome.BAD_REQUEST, sent=False, detail=f"no signed {name}")
        try:
            payload = command.build(params)
        except (KeyError, ValueError, TypeError) as err:
            raise CloudBadRequest(Outcome.BAD_REQUEST, sent=False, detail=name) from err
        async with self._lock:
            self._transport.start_request()
            try:
                answer = await self._conversation.signed(command.domain, payload)
            except CloudError as err:
                if self._transport.delivery is Delivery.NOT_SENT:
                    err.sent = False  # it failed on the way to a session: the command never left
                raise
            except KeyNotPaired as err:
                raise SigningKeyUnknown from err
            except CarBusy as err:
                raise CarBusyCloud from err
            except CarRefused as err:
                raise CommandRejected(err.reason or "") from err
            except BluetoothError as err:
                if err.delivery is Delivery.NOT_SENT:
                    raise CloudBadRequest(
                        Outcome.BAD_REQUEST, sent=False, detail=type(err).__name__
                    ) from err
                raise UntrustedCloudReply from err
        if not answer.ok and answer.reason not in BENIGN_REASONS:
            raise CommandRejected(answer.reason)
