"""The Bluetooth link: one car over Home Assistant's Bluetooth, in Tesla's vehicle protocol."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import bleak
from bleak.exc import BleakError
from bleak_retry_connector import (
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
    establish_connection,
)
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .ble_conversation import Conversation, OnOther
from .ble_messages import COMMANDS, Category
from .errors import (
    UNREACHABLE,
    BluetoothError,
    CarKeyMismatch,
    CarOutOfRange,
    ConnectFailed,
    LinkLost,
    NoConnectionSlot,
    ResponseTimeout,
    UnsupportedCommand,
    UntrustedResponse,
)
from .keys import load_private_key, local_name, vin_matches_local_name
from .protocol import (
    DISCONNECTED,
    VCSEC,
    CarKeyChanged,
    Inbox,
    Keyring,
    Reply,
    Request,
    RoutableMessage,
    Session,
    UntrustedReply,
    frame,
    read_reply,
)
from .redaction import SECRET_FILTER, private_key_forms, secret_forms
from .router import Delivery
from .state import Field

_LOGGER = logging.getLogger(__name__)

SERVICE_UUID: Final = "00000211-b2d1-43f0-9b88-960cebf8b91e"
WRITE_UUID: Final = "00000212-b2d1-43f0-9b88-960cebf8b91e"
READ_UUID: Final = "00000213-b2d1-43f0-9b88-960cebf8b91e"

RESPONSE_TIMEOUT_S: Final = 10.0
"""Seconds to wait for the car's answer to one message; proxies add a few hundred ms per hop."""

REFUSAL_GRACE_S: Final = 1.0
"""Seconds an unauthenticated refusal (busy, unknown key) waits for an authentic answer first."""

CONNECT_ATTEMPTS: Final = 3
"""Connection attempts before the car counts as unreachable."""

IDLE_DISCONNECT_S: Final = 20.0
"""Seconds without traffic before the link lets go of one of the car's three connection slots."""

PAIRING_TIMEOUT_S: Final = 60.0
"""Seconds the owner has to tap a key card on the console (Tesla's app allows about as long)."""

DEFAULT_MTU: Final = 23
"""The ATT MTU every Bluetooth LE link starts with."""


class BluetoothLink:
    """One car over Bluetooth LE: finds it through Home Assistant, keeps one session, pins its key.

    Operations are serialized. The connection is reused and released after an idle period; the
    sessions outlive connections, so a burst of commands costs one handshake per domain.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        vin: str,
        private_key_pem: str,
        pinned_car_key: bytes | None,
        *,
        address: str | None = None,
        response_timeout_s: float = RESPONSE_TIMEOUT_S,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        """Prepare the link; nothing goes on air until the first operation."""
        self.hass = hass
        self.vin = vin
        self._address = address
        self._timeout_s = response_timeout_s
        self._refused = False
        self._lock = asyncio.Lock()
        self._cancel_idle: CALLBACK_TYPE | None = None
        self._closed = False
        self._unreachable_at: float | None = None
        self._client: Any = None
        self._written = False
        key = load_private_key(private_key_pem)
        SECRET_FILTER.register(self, private_key_forms(private_key_pem, key))
        self.inbox = Inbox(os.urandom(16))
        self._keyring = Keyring(key, vin, pinned_car_key, on_secret=self._remember_secret)
        self._conversation = (
            Conversation(self, self._keyring)
            if monotonic is None
            else Conversation(self, self._keyring, clock=monotonic)
        )

    @property
    def keyring(self) -> Keyring:
        """The paired key and the car's pinned key: the cloud signs with them too."""
        return self._keyring

    @property
    def sessions(self) -> Mapping[int, Session]:
        """The car's sessions for this key, one per domain, shared with the cloud's signer."""
        return self._conversation.sessions

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
        return self._client is not None and bool(self._client.is_connected)

    @property
    def refused(self) -> bool:
        """Whether the link stopped for good because an unexpected car key answered."""
        return self._refused

    @property
    def car_public_key(self) -> bytes | None:
        """The car's public key: pinned at setup, or learned by pairing."""
        return self._keyring.pinned

    def _remember_secret(self, secret: bytes) -> None:
        SECRET_FILTER.register(self, secret_forms(secret))

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

    # -- the connection ------------------------------------------------------------------------

    async def _connected_client(self) -> Any:
        """Return the open connection, opening one through an adapter or proxy if needed."""
        if self.connected:
            return self._client
        info = self._service_info()
        if info is None:
            raise CarOutOfRange
        address = info.address

        def _latest_device() -> Any:
            return bluetooth.async_ble_device_from_address(self.hass, address, connectable=True)

        self.inbox.reset()
        try:
            client = await establish_connection(
                bleak.BleakClient,
                info.device,
                self.local_name,
                disconnected_callback=self._on_disconnected,
                max_attempts=CONNECT_ATTEMPTS,
                ble_device_callback=_latest_device,
            )
        except BleakOutOfConnectionSlotsError as err:
            raise NoConnectionSlot from err
        except BleakNotFoundError as err:
            raise CarOutOfRange from err
        except (BleakError, TimeoutError) as err:
            raise ConnectFailed from err
        self._client = client
        try:
            await client.start_notify(READ_UUID, self.inbox.indication)
        except (BleakError, TimeoutError) as err:
            self._client = None
            await client.disconnect()
            raise ConnectFailed from err
        _LOGGER.debug("Connected to %s at %s", self.local_name, address)
        return client

    @callback
    def _on_disconnected(self, client: Any) -> None:
        if client is self._client:
            _LOGGER.debug("Connection to %s closed", self.local_name)
            self._client = None
            self.inbox.disconnected()

    @property
    def routing_address(self) -> bytes:
        """The address the car answers to."""
        return self.inbox.routing_address

    @property
    def delivery(self) -> Delivery:
        """How far the request being run got, for an error that ends it now."""
        return Delivery.MAYBE_DELIVERED if self._written else Delivery.NOT_SENT

    def start_request(self) -> None:
        """Nothing of the next request has been written yet."""
        self._written = False

    async def _write(self, data: bytes, *, counts: bool) -> None:
        """Write one framed message in chunks of the connection's packet size."""
        client = await self._connected_client()
        payload = frame(data)
        size = max(DEFAULT_MTU, int(client.mtu_size)) - 3
        chunks = [payload[start : start + size] for start in range(0, len(payload), size)]
        for index, chunk in enumerate(chunks):
            if counts and index == len(chunks) - 1:
                self._written = True
            await client.write_gatt_char(WRITE_UUID, chunk, True)

    async def send(self, data: bytes) -> None:
        """Write one message that awaits no answer (it may still have reached the car)."""
        self.inbox.take(VCSEC)
        await self._write(data, counts=True)

    async def next_message(self, domain: int, wait_s: float) -> RoutableMessage | None:
        """Return the next message from `domain`, or None after `wait_s`; reconnect if dropped."""
        try:
            async with asyncio.timeout(wait_s):
                message = await self.inbox.queues[domain].get()
        except TimeoutError:
            return None
        if message is DISCONNECTED:
            await self._connected_client()
            return None
        return message  # type: ignore[no-any-return]

    async def exchange(
        self, session: Session, request: Request, *, on_other: OnOther | None = None
    ) -> Reply:
        """Send one request and wait for its authentic answer.

        Answers that fail authentication are dropped and the wait goes on. A refusal that is not
        authenticated (busy, unknown key) waits a short grace for an authentic answer before it
        counts; when the time is up with only untrusted answers, the result is UntrustedResponse.
        """
        handshake = request.message.HasField("session_info_request")
        for stale in self.inbox.take(request.domain):
            if on_other is not None:
                on_other(stale)
        await self._write(request.message.SerializeToString(), counts=not handshake)
        queue = self.inbox.queues[request.domain]
        loop = asyncio.get_running_loop()
        held: Reply | None = None
        untrusted = False
        try:
            async with asyncio.timeout(self._timeout_s) as deadline:
                while True:
                    message = await queue.get()
                    if message is DISCONNECTED:
                        raise LinkLost(self.delivery)
                    if handshake and message.WhichOneof("payload") != "session_info":
                        if on_other is not None:
                            on_other(message)
                        continue
                    try:
                        reply = read_reply(session, request, message)
                    except CarKeyChanged as err:
                        self._refused = True
                        raise CarKeyMismatch(self.delivery) from err
                    except UntrustedReply:
                        _LOGGER.debug("Dropping an answer that failed authentication")
                        untrusted = True
                        continue
                    if reply.authentic or not request.signed:
                        return reply
                    if held is None:
                        held = reply
                        grace = loop.time() + REFUSAL_GRACE_S
                        if (when := deadline.when()) is None or grace < when:
                            deadline.reschedule(grace)
        except TimeoutError as err:
            if held is not None:
                return held
            if untrusted:
                raise UntrustedResponse(self.delivery) from err
            raise ResponseTimeout(self.delivery) from err

    # -- operations ----------------------------------------------------------------------------

    async def _run[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        if self._refused:
            raise CarKeyMismatch
        async with self._lock:
            self._cancel_idle_timer()
            self._written = False
            try:
                result = await operation()
            except UNREACHABLE:
                self._unreachable_at = bluetooth.MONOTONIC_TIME()
                raise
            except BluetoothError:
                raise
            except TimeoutError as err:
                raise ResponseTimeout(self.delivery) from err
            except (BleakError, EOFError, ConnectionError) as err:
                raise LinkLost(self.delivery) from err
            finally:
                self._start_idle_timer()
            self._unreachable_at = None
            return result

    async def async_status(self) -> dict[Field, Any]:
        """Read the security controller's status: answered while the car sleeps, never wakes it."""
        return await self._read(self._conversation.status)

    async def async_read(self, category: Category | str) -> dict[Field, Any]:
        """Read one infotainment category; refused without sending while the car sleeps."""
        chosen = Category(category)
        return await self._read(lambda: self._conversation.read(chosen))

    async def _read(self, operation: Callable[[], Awaitable[dict[Field, Any]]]) -> dict[Field, Any]:
        """Run a read, once more if the link dropped under it: reads are safe to repeat.

        A read the car left unanswered is not repeated: that would only double the wait.
        """
        try:
            return await self._run(operation)
        except ResponseTimeout:
            raise
        except LinkLost:
            _LOGGER.debug("The link to %s dropped during a read; reading again", self.local_name)
            return await self._run(operation)

    async def async_command(self, name: str, **params: Any) -> None:
        """Run a command by its Fleet API name; raises a BluetoothError saying how far it got."""
        command = COMMANDS.get(name)
        if command is None:
            raise UnsupportedCommand(Delivery.NOT_SENT, name)
        try:
            payload = command.build(params)
        except (KeyError, ValueError, TypeError) as err:
            raise UnsupportedCommand(Delivery.NOT_SENT, name) from err
        await self._run(lambda: self._conversation.command(name, command, payload))

    async def async_pair(self, timeout_s: float = PAIRING_TIMEOUT_S) -> bytes:
        """Ask the car to add our key and wait for the key-card tap; return the car's key.

        See `Conversation.pair`: no answer is awaited, a handshake confirms the key.
        """
        return await self._run(lambda: self._conversation.pair(timeout_s))

    # -- connection lifetime -------------------------------------------------------------------

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
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except (BleakError, TimeoutError, EOFError) as err:
                _LOGGER.debug("Disconnect from %s failed: %s", self.local_name, err)

    async def async_disconnect(self) -> None:
        """Release the connection now; the sessions are kept for the next one."""
        self._cancel_idle_timer()
        async with self._lock:
            await self._async_disconnect()

    async def async_close(self) -> None:
        """Disconnect and forget the link's secrets; no timer outlives the link."""
        self._closed = True
        await self.async_disconnect()
        SECRET_FILTER.unregister(self)
