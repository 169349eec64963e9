"""What the integration asks the car over Bluetooth: signed requests with retries, pairing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from google.protobuf.message import DecodeError  # type: ignore[import-untyped]

from . import ble_messages
from .ble_messages import BleCommand, Category, Verdict, status_fields
from .const import WAKE_TIMEOUT
from .errors import (
    CarAsleep,
    CarBusy,
    CommandRejected,
    KeyNotPaired,
    LinkLost,
    PairingRefused,
    PairingTimedOut,
    UntrustedResponse,
)
from .protocol import (
    DOMAINS,
    INFOTAINMENT,
    VCSEC,
    Keyring,
    Reply,
    Request,
    RoutableMessage,
    Session,
    Signature,
    add_key_request,
    fault_name,
)
from .protocol.proto import universal, vcsec
from .protocol.session import BLE_TTL_S
from .router import BENIGN_REASONS, Command, Delivery
from .state import Field

_LOGGER = logging.getLogger(__name__)

BUSY_RETRIES: Final = 3
BUSY_RETRY_S: Final = 2.0
"""A car that answers WAIT is asked again this many times, this many seconds apart."""

RESYNC_RETRIES: Final = 3
"""Times a command is signed again after the car sent fresh session info with a fault."""

STATUS_FRESH_S: Final = 5.0
"""How old a security-controller status may be and still decide whether the car is awake."""

WAKE_POLL_S: Final = 1.0
"""Seconds between status reads while waiting for the car to wake."""

PAIRING_POLL_S: Final = 2.0
"""Seconds between handshakes that check whether the car has added the key."""

_FAULT = universal.MessageFault_E
_RESYNC: Final = frozenset(
    {
        _FAULT.MESSAGEFAULT_ERROR_INCORRECT_EPOCH,
        _FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER,
        _FAULT.MESSAGEFAULT_ERROR_TIME_EXPIRED,
    }
)
"""Faults that come with fresh session info: signing again fixes them."""

_KEY_UNKNOWN: Final = frozenset(
    {_FAULT.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID, _FAULT.MESSAGEFAULT_ERROR_INACTIVE_KEY}
)
_WL: Final = vcsec.WhitelistOperation_information_E
_TAP_TIMED_OUT: Final = (
    _WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_TIMED_OUT_WAITING_FOR_TAP
)
_ALREADY_ON_LIST: Final = (
    _WL.WHITELISTOPERATION_INFORMATION_ATTEMPTING_TO_ADD_KEY_THAT_IS_ALREADY_ON_THE_WHITELIST
)

OnOther = Callable[[RoutableMessage], None]


def _loop_time() -> float:
    """Read the running loop's clock, the one `asyncio.sleep` and the link's timeouts wait on."""
    return asyncio.get_running_loop().time()


class Transport(Protocol):
    """The radio under a conversation: one connection, answers matched to requests."""

    @property
    def routing_address(self) -> bytes:
        """The address the car answers to."""

    @property
    def delivery(self) -> Delivery:
        """How far the request being run got."""

    def start_request(self) -> None:
        """Nothing of the next request has been written yet."""

    async def exchange(
        self, session: Session, request: Request, *, on_other: OnOther | None = None
    ) -> Reply:
        """Send `request` and return its answer; other messages go to `on_other`."""

    async def send(self, data: bytes) -> None:
        """Write one message that awaits no answer."""

    async def next_message(self, domain: int, wait_s: float) -> RoutableMessage | None:
        """Return the next message from `domain`, or None after `wait_s`."""


class Conversation:
    """One key's sessions with one car, and the requests built on them.

    No Home Assistant imports: the link in `ble.py` supplies the transport (writes, answers
    matched to requests) and turns what goes wrong on the radio into the same errors.
    """

    def __init__(
        self,
        transport: Transport,
        keyring: Keyring,
        *,
        sessions: Mapping[int, Session] | None = None,
        signature: Signature = Signature.AES_GCM,
        ttl_s: int = BLE_TTL_S,
        clock: Callable[[], float] = _loop_time,
    ) -> None:
        """Talk over `transport` with the keys in `keyring`.

        `sessions` are another conversation's with the same key (the car keeps one session per
        key and domain, whichever way a message comes); `signature` and `ttl_s` say how commands
        are signed: AES-GCM for Bluetooth, HMAC for the cloud's `signed_command`. `clock` is
        the integration's monotonic clock (the event loop's by default): sessions estimate the
        car's clock on it. Waits (a status read's age, waking) go by the event loop's clock,
        which their sleeps follow.
        """
        self._transport = transport
        self.keyring = keyring
        self._domain_sessions = dict(sessions or {})
        for domain in DOMAINS:
            self._domain_sessions.setdefault(domain, Session(keyring, domain, clock=clock))
        self._signature = signature
        self._ttl_s = ttl_s
        self._asleep: bool | None = None
        self._status_at: float | None = None

    @property
    def sessions(self) -> Mapping[int, Session]:
        """The sessions per domain, to share with a conversation over another route."""
        return self._domain_sessions

    async def handshake(self, domain: int, *, on_other: OnOther | None = None) -> Reply:
        """Ask for session info; the answer is checked and pinned by the session."""
        session = self._domain_sessions[domain]
        transport = self._transport
        return await transport.exchange(
            session, session.handshake(transport.routing_address), on_other=on_other
        )

    async def signed(self, domain: int, payload: bytes) -> Verdict:
        """Run one signed request; sign again when the car resynchronises or asks to wait."""
        session, transport = self._domain_sessions[domain], self._transport
        resyncs = waits = 0
        while True:
            if not session.ready and (await self.handshake(domain)).not_on_car:
                raise KeyNotPaired
            transport.start_request()
            request = session.sign(
                payload, transport.routing_address, signature=self._signature, ttl_s=self._ttl_s
            )
            reply = await transport.exchange(session, request)
            if reply.not_on_car or reply.fault in _KEY_UNKNOWN:
                raise KeyNotPaired
            if reply.fault == _FAULT.MESSAGEFAULT_ERROR_BUSY:
                raise CarBusy
            if reply.fault in _RESYNC and resyncs < RESYNC_RETRIES:
                resyncs += 1
                if not reply.authentic:
                    session.forget()
                continue
            if reply.fault:
                raise CommandRejected(Delivery.REJECTED, fault_name(reply.fault))
            if not reply.wait:
                try:
                    answer = ble_messages.verdict(domain, reply.payload or b"")
                except DecodeError as err:
                    raise UntrustedResponse(transport.delivery) from err
                if not answer.wait:
                    return answer
            if waits >= BUSY_RETRIES:
                raise CarBusy
            waits += 1
            await asyncio.sleep(BUSY_RETRY_S)

    async def status(self) -> dict[Field, Any]:
        """Read the security controller's status: answered while the car sleeps."""
        answer = await self.signed(VCSEC, ble_messages.status_request().SerializeToString())
        if answer.status is None:
            raise CommandRejected(Delivery.REJECTED, answer.reason or "no status")
        values = status_fields(answer.status)
        self._asleep = values.get(Field.ASLEEP)
        self._status_at = _loop_time()
        return values

    async def read(self, category: Category) -> dict[Field, Any]:
        """Read one infotainment category; refused without sending while the car sleeps."""
        asleep = self._asleep
        if asleep is None or self._status_stale():
            asleep = (await self.status()).get(Field.ASLEEP)
        if asleep:
            raise CarAsleep
        answer = await self.signed(INFOTAINMENT, ble_messages.read_request(category))
        if answer.data is None:
            raise CommandRejected(Delivery.REJECTED, answer.reason or "no data")
        return ble_messages.category_fields(category, answer.data)

    def _status_stale(self) -> bool:
        return self._status_at is None or _loop_time() - self._status_at > STATUS_FRESH_S

    async def _ensure_awake(self) -> None:
        if self._asleep is False and not self._status_stale():
            return
        if not (await self.status()).get(Field.ASLEEP):
            return
        await self.signed(VCSEC, ble_messages.COMMANDS[Command.WAKE_UP].build({}))
        deadline = _loop_time() + WAKE_TIMEOUT
        while (await self.status()).get(Field.ASLEEP):
            if _loop_time() >= deadline:
                raise CarAsleep
            await asyncio.sleep(WAKE_POLL_S)

    async def command(self, name: str, command: BleCommand, payload: bytes) -> None:
        """Run a command; infotainment is woken first. Benign refusals count as done."""
        if command.domain == INFOTAINMENT:
            await self._ensure_awake()
        answer = await self.signed(command.domain, payload)
        if name == Command.WAKE_UP:
            self._asleep = None
        elif command.domain == VCSEC:
            self._status_at = None
        if not answer.ok and answer.reason not in BENIGN_REASONS:
            raise CommandRejected(Delivery.REJECTED, answer.reason or None)

    async def pair(self, timeout_s: float) -> bytes:
        """Ask the car to add our key, wait for the key-card tap, confirm by a handshake.

        The request goes out as Tesla's client sends it and no answer is awaited: a car may stay
        silent until the tap, answer once, or never. What counts is the handshake: the car
        answers session info for our key instead of "not on the list". Returns the car's
        public key, to be pinned. A key already on the list is confirmed at once.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        answers: list[Verdict] = []

        def note(message: RoutableMessage) -> None:
            if message.WhichOneof("payload") == "protobuf_message_as_bytes":
                try:
                    answers.append(ble_messages.verdict(VCSEC, message.protobuf_message_as_bytes))
                except DecodeError:
                    _LOGGER.debug("Ignoring an undecodable pairing answer")

        await self._transport.send(add_key_request(self.keyring.public_key))
        _LOGGER.debug("Asked the car to add our key; waiting for a key-card tap")
        confirm = True
        while True:
            if confirm:
                answers.clear()
                try:
                    car_key = await self._confirm_paired(note)
                except (LinkLost, UntrustedResponse) as err:
                    _LOGGER.debug("A handshake during pairing failed (%s); waiting on", err)
                    car_key = None
                if car_key is not None:
                    return car_key
                _raise_for_refusal(answers)
            if (remaining := deadline - loop.time()) <= 0:
                break
            message = await self._transport.next_message(VCSEC, min(PAIRING_POLL_S, remaining))
            if message is not None:
                note(message)
            _raise_for_refusal(answers)
            confirm = message is None or any(answer.ok for answer in answers)
        raise PairingTimedOut(Delivery.MAYBE_DELIVERED)

    async def _confirm_paired(self, on_other: OnOther | None = None) -> bytes | None:
        """Return the car's key once it knows ours, None while ours is not on its list."""
        reply = await self.handshake(VCSEC, on_other=on_other)
        if reply.not_on_car:
            return None
        if self.keyring.pinned is None:
            raise UntrustedResponse
        return self.keyring.pinned


def _raise_for_refusal(answers: list[Verdict]) -> None:
    """End pairing when the car said no (a key already on the list is no refusal)."""
    for answer in answers:
        if answer.ok or answer.wait or answer.whitelist == _ALREADY_ON_LIST:
            continue
        if answer.whitelist == _TAP_TIMED_OUT:
            raise PairingTimedOut(Delivery.MAYBE_DELIVERED)
        raise PairingRefused(Delivery.REJECTED, answer.reason or None)
