"""A virtual Bluetooth proxy that plugs the simulated car into Home Assistant's Bluetooth."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Buffer, Callable
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Final, Protocol
from uuid import UUID

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str
from bleak_retry_connector.bluez import Allocations
from bluetooth_data_tools import monotonic_time_coarse
from habluetooth import (
    CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS,
    BaseHaRemoteScanner,
    BluetoothScanningMode,
    HaBluetoothConnector,
    get_manager,
)
from homeassistant.components import bluetooth
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later, async_track_time_interval

from simulator.ble_car import READ_UUID, SERVICE_UUID, VERSION_UUID, WRITE_UUID, TooManyConnections

CONNECTION_SLOTS = 3
"""Connections an ESPHome Bluetooth proxy holds at once."""

NEGOTIATED_MTU = 247
"""ATT MTU the proxy and the car agree on."""

MAX_ATTRIBUTE_LENGTH = 512
"""Longest value a GATT write with response may carry."""

GATT_VERSION = (1).to_bytes(4, "big")
"""Value of the car's readable version characteristic."""

CCCD_UUID = normalize_uuid_str("2902")
CCCD_INDICATE = b"\x02\x00"
CCCD_OFF = b"\x00\x00"

SERVICE_HANDLE = 0x0010
WRITE_HANDLE = 0x0012
READ_HANDLE = 0x0014
READ_CCCD_HANDLE = 0x0015
VERSION_HANDLE = 0x0017


class LinkFault(Enum):
    """A radio fault the proxy puts on every link while it is set."""

    DROP_MID_WRITE = "drop_mid_write"
    """The link drops halfway through a write: the car gets part of the chunk."""
    DROP_BEFORE_REPLY = "drop_before_reply"
    """The car takes the whole write, then the link drops before its answer gets back."""
    GARBLE_REPLIES = "garble_replies"
    """One byte in the middle of every indication from the car is flipped."""
    CUT_MID_REPLY = "cut_mid_reply"
    """The next reply that spans several indications stops after its first one and the link
    drops (the proxy's `on_cut` runs then, say a car restarting); the fault then clears."""


class CarLink(Protocol):
    """One open GATT link as the car's side sees it."""

    def write(self, chunk: bytes) -> None:
        """Take a write to the write characteristic."""

    def close(self) -> None:
        """End the link."""


class BluetoothCar(Protocol):
    """The car's radio: what `simulator.ble_car.BleCar` offers a transport."""

    @property
    def local_name(self) -> str:
        """The name the car advertises."""

    def connect(self, indicate: Callable[[bytes], None], mtu: int = 23) -> CarLink:
        """Open a link; replies arrive through `indicate`."""


BLEAK_2: Final = "handle" in inspect.signature(BleakGATTService.__init__).parameters
"""Whether bleak's GATT classes are plain data (bleak 1.0 and later) or abstract (0.22)."""


def tesla_services(mtu: int = NEGOTIATED_MTU) -> BleakGATTServiceCollection:
    """Build the GATT table a Tesla exposes: write, indicate and version characteristics."""
    if not BLEAK_2:
        from simulator.bleak_022 import abstract_gatt_services  # noqa: PLC0415

        return abstract_gatt_services(mtu)
    collection = BleakGATTServiceCollection()
    service = BleakGATTService(None, SERVICE_HANDLE, SERVICE_UUID)
    collection.add_service(service)
    read = BleakGATTCharacteristic(
        None, READ_HANDLE, READ_UUID, ["indicate"], lambda: mtu - 3, service
    )
    for characteristic in (
        BleakGATTCharacteristic(
            None, WRITE_HANDLE, WRITE_UUID, ["write"], lambda: mtu - 3, service
        ),
        read,
        BleakGATTCharacteristic(
            None, VERSION_HANDLE, VERSION_UUID, ["read"], lambda: mtu - 3, service
        ),
    ):
        collection.add_characteristic(characteristic)
    collection.add_descriptor(BleakGATTDescriptor(None, READ_CCCD_HANDLE, CCCD_UUID, read))
    return collection


class SimulatedBleakClient(BaseBleakClient):
    """A Bleak backend that reaches the simulated car through a `SimulatedBluetoothProxy`."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        proxy: SimulatedBluetoothProxy,
        **kwargs: Any,
    ) -> None:
        """Prepare a client; nothing goes on air until `connect`."""
        super().__init__(address_or_ble_device, **kwargs)
        self._proxy = proxy
        self._connection: CarLink | None = None
        self._notify: NotifyCallback | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._frame_left = 0
        """Bytes of the reply being indicated that are still to come."""
        self._mtu = proxy.mtu
        self._cutting = False

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU."""
        return self._mtu

    @property
    def is_connected(self) -> bool:
        """Whether the link to the car is up."""
        return self._connection is not None

    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        """Open a link to the car through the proxy (bleak 2 passes `pair`, 0.22 does not)."""
        if self._connection is not None:
            return
        proxy = self._proxy
        self._require_in_range()
        await proxy.async_air_delay()
        self._require_in_range()
        self._loop = asyncio.get_running_loop()
        self._frame_left = 0
        if proxy.other_clients and proxy.used_slots() >= CONNECTION_SLOTS:
            raise BleakError(f"{proxy.name} has no free connection slot")
        try:
            self._mtu = proxy.mtu
            self._connection = proxy.ble_car.connect(self._on_indication, self._mtu)
        except TooManyConnections as err:
            raise BleakError(f"{self.address} refused the connection: {err}") from err
        self.services = tesla_services(self._mtu)
        proxy.client_connected(self)

    def _require_in_range(self) -> None:
        if not self._proxy.in_range:
            raise TimeoutError(f"{self.address} did not answer through {self._proxy.name}")

    async def disconnect(self) -> None:
        """Close the link; the disconnect callback is kept for drops the client did not ask for."""
        self._close()

    def drop(self) -> None:
        """Lose the link as a car that drives away does, and tell the client."""
        if self._connection is None:
            return
        self._close()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        self._notify = None
        if connection is None:
            return
        connection.close()
        self._proxy.client_disconnected(self)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Bond with the peripheral; a Tesla does not use Bluetooth bonding."""
        raise NotImplementedError

    async def unpair(self) -> None:
        """Remove a bond; a Tesla does not use Bluetooth bonding."""
        raise NotImplementedError

    async def get_services(self, **kwargs: Any) -> BleakGATTServiceCollection:
        """Return the car's GATT table."""
        return self._services()

    def _services(self) -> BleakGATTServiceCollection:
        if self._connection is None or self.services is None:
            raise BleakError("Not connected")
        return self.services

    def _characteristic(self, specifier: object) -> BleakGATTCharacteristic:
        """Resolve what the client passed: bleak 2 passes the characteristic, 0.22 a specifier."""
        if isinstance(specifier, BleakGATTCharacteristic):
            self._services()
            return specifier
        if not isinstance(specifier, int | str | UUID):
            raise BleakError(f"Characteristic {specifier!r} was not found")
        characteristic = self._services().get_characteristic(specifier)
        if characteristic is None:
            raise BleakError(f"Characteristic {specifier} was not found")
        return characteristic

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        """Read the version characteristic."""
        characteristic = self._characteristic(characteristic)
        if "read" not in characteristic.properties:
            raise BleakError(f"Characteristic {characteristic.uuid} is not readable")
        await self._proxy.async_air_delay()
        self._services()
        return bytearray(GATT_VERSION)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Buffer, response: bool
    ) -> None:
        """Write to the car's write characteristic; replies come back as indications."""
        characteristic = self._characteristic(characteristic)
        if "write" not in characteristic.properties or not response:
            raise BleakError(f"Characteristic {characteristic.uuid} takes writes with response")
        value = bytes(data)
        if len(value) > MAX_ATTRIBUTE_LENGTH:
            raise BleakError(f"Write of {len(value)} bytes exceeds {MAX_ATTRIBUTE_LENGTH}")
        await self._proxy.async_air_delay()
        if self._connection is None:
            raise BleakError("Disconnected while writing")
        self._proxy.round_trips += 1
        fault = self._proxy.fault
        if fault is LinkFault.DROP_MID_WRITE:
            self._connection.write(value[: len(value) // 2])
            self.drop()
            raise BleakError("Disconnected while writing")
        self._connection.write(value)
        if fault is LinkFault.DROP_BEFORE_REPLY:
            self.drop()

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        """Read the indication switch (CCCD) of the car's indicate characteristic."""
        self._descriptor(descriptor)
        return bytearray(CCCD_INDICATE if self._notify is not None else CCCD_OFF)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Buffer) -> None:
        """Switch indications off through the CCCD; switching on needs `start_notify`."""
        self._descriptor(descriptor)
        if bytes(data) != CCCD_OFF:
            raise BleakError("Enable indications with start_notify")
        self._notify = None

    def _descriptor(self, specifier: object) -> BleakGATTDescriptor:
        """Resolve what the client passed: bleak 2 passes the descriptor, 0.22 its handle."""
        handle = specifier.handle if isinstance(specifier, BleakGATTDescriptor) else specifier
        if not isinstance(handle, int):
            raise BleakError(f"Descriptor {specifier!r} was not found")
        descriptor = self._services().get_descriptor(handle)
        if descriptor is None:
            raise BleakError(f"Descriptor {handle} was not found")
        return descriptor

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Subscribe to the car's indications."""
        characteristic = self._characteristic(characteristic)
        if "indicate" not in characteristic.properties:
            raise BleakError(f"Characteristic {characteristic.uuid} does not indicate")
        self._notify = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Unsubscribe from the car's indications."""
        self._characteristic(characteristic)
        self._notify = None

    def _on_indication(self, chunk: bytes) -> None:
        if self._connection is None or self._loop is None or self._cutting:
            return
        starts = self._frame_left == 0
        if starts and len(chunk) >= 2:
            self._frame_left = max(0, int.from_bytes(chunk[:2], "big") + 2 - len(chunk))
        else:
            self._frame_left = max(0, self._frame_left - len(chunk))
        if self._proxy.fault is LinkFault.CUT_MID_REPLY and starts and self._frame_left:
            self._proxy.fault = None
            self._cutting = True
            self._loop.call_soon(self._deliver, self._connection, bytes(chunk))
            self._loop.call_soon(self._cut)
            return
        if self._proxy.fault is LinkFault.GARBLE_REPLIES and len(chunk) > 4:
            middle = len(chunk) // 2
            chunk = chunk[:middle] + bytes((chunk[middle] ^ 0xFF,)) + chunk[middle + 1 :]
        self._loop.call_soon(self._deliver, self._connection, bytes(chunk))

    def _cut(self) -> None:
        self._cutting = False
        self.drop()
        if self._proxy.on_cut is not None:
            self._proxy.on_cut()

    def _deliver(self, connection: CarLink, chunk: bytes) -> None:
        if self._connection is connection and self._notify is not None:
            self._notify(bytearray(chunk))


class _ProxyScanner(BaseHaRemoteScanner):
    """The proxy's scanner as Home Assistant's Bluetooth manager sees it."""

    def hear(self, address: str, rssi: int, local_name: str) -> None:
        """Pass one advertisement (with its scan response) to Home Assistant."""
        self._async_on_advertisement(
            address, rssi, local_name, [], {}, {}, None, {}, monotonic_time_coarse()
        )

    def forget(self, address: str) -> None:
        """Drop an address the proxy no longer hears."""
        self._previous_service_info.pop(address, None)


class SimulatedBluetoothProxy:
    """An ESPHome-style Bluetooth proxy that hears one simulated car and connects to it."""

    def __init__(
        self,
        hass: HomeAssistant,
        ble_car: BluetoothCar,
        *,
        address: str = "AA:BB:CC:DD:EE:01",
        source: str = "AA:BB:CC:00:00:01",
        name: str = "Tesla simulator proxy",
        rssi: int = -62,
        latency_s: float = 0.0,
        advertise_interval_s: float = 1.0,
    ) -> None:
        """Describe the proxy; `async_start` puts it on air."""
        self.hass = hass
        self.ble_car = ble_car
        self.address = address
        self.source = source
        self.name = name
        self.rssi = rssi
        self.latency_s = latency_s
        self.advertise_interval_s = advertise_interval_s
        self.round_trips = 0
        self.fault: LinkFault | None = None
        """A radio fault on every link while set."""
        self.mtu = NEGOTIATED_MTU
        """ATT MTU of the links opened from now on (23 is what every link starts with)."""
        self.on_cut: Callable[[], None] | None = None
        """Runs when CUT_MID_REPLY has cut a reply short."""
        self.other_clients = 0
        """Connection slots held by links to other devices."""
        self._in_range = True
        self._clients: list[SimulatedBleakClient] = []
        self._unsubscribes: list[CALLBACK_TYPE] = []
        self._cancel_forget: CALLBACK_TYPE | None = None
        self.scanner = _ProxyScanner(
            source,
            name,
            HaBluetoothConnector(
                client=self._client_class(), source=source, can_connect=self._can_connect
            ),
            True,
            BluetoothScanningMode.ACTIVE,
            BluetoothScanningMode.ACTIVE,
        )

    def _client_class(self) -> type[SimulatedBleakClient]:
        proxy = self

        class ProxyClient(SimulatedBleakClient):
            """A client bound to this proxy."""

            def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
                super().__init__(address_or_ble_device, proxy=proxy, **kwargs)

        return ProxyClient

    @property
    def started(self) -> bool:
        """Whether the proxy is registered with Home Assistant."""
        return bool(self._unsubscribes)

    @property
    def connections(self) -> int:
        """Links to the car open through this proxy."""
        return len(self._clients)

    @property
    def in_range(self) -> bool:
        """Whether the car is within the proxy's radio range."""
        return self._in_range

    @in_range.setter
    def in_range(self, value: bool) -> None:
        if value == self._in_range:
            return
        self._in_range = value
        if value:
            self._cancel_pending_forget()
            if self.started:
                self.advertise_now()
            return
        for client in list(self._clients):
            client.drop()
        if self.started:
            self._cancel_forget = async_call_later(
                self.hass, CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS, self._forget
            )

    async def async_start(self) -> None:
        """Register with Home Assistant's Bluetooth manager and start advertising the car."""
        if self.started:
            return
        self._unsubscribes = [
            bluetooth.async_register_scanner(self.hass, self.scanner),
            self.scanner.async_setup(),
            async_track_time_interval(
                self.hass,
                self._on_advertise_interval,
                timedelta(seconds=self.advertise_interval_s),
                name=f"{self.name} advertisements",
            ),
        ]
        self._report_allocations()
        if self._in_range:
            self.advertise_now()

    async def async_stop(self) -> None:
        """Drop every link and leave Home Assistant's Bluetooth manager."""
        for client in list(self._clients):
            client.drop()
        self._cancel_pending_forget()
        unsubscribes, self._unsubscribes = self._unsubscribes, []
        for unsubscribe in reversed(unsubscribes):
            unsubscribe()

    def advertise_now(self) -> None:
        """Let Home Assistant hear one advertisement from the car, if it is in range."""
        if not self.started:
            raise RuntimeError("the proxy is not started")
        if not self._in_range:
            return
        self.scanner.hear(self.address, self.rssi, self.ble_car.local_name)

    @callback
    def _on_advertise_interval(self, _now: datetime) -> None:
        self.advertise_now()

    @callback
    def _forget(self, _now: datetime) -> None:
        self._cancel_forget = None
        self.scanner.forget(self.address)

    def _cancel_pending_forget(self) -> None:
        if self._cancel_forget is not None:
            self._cancel_forget()
            self._cancel_forget = None

    def _can_connect(self) -> bool:
        return self.started and self.used_slots() < CONNECTION_SLOTS

    def used_slots(self) -> int:
        """Return how many of the proxy's connection slots are taken, by us and by others."""
        return len(self._clients) + self.other_clients

    def drop_links(self) -> None:
        """Lose every open link at once, as when the car's radio restarts."""
        for client in list(self._clients):
            client.drop()

    def occupy_slots(self, count: int) -> None:
        """Let links to other devices hold `count` of the proxy's connection slots."""
        self.other_clients = count
        self._report_allocations()

    async def async_air_delay(self) -> None:
        """Wait for one exchange over the air, as long as `latency_s`."""
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)

    def client_connected(self, client: SimulatedBleakClient) -> None:
        """Count a link that opened through this proxy."""
        self._clients.append(client)
        self._report_allocations()

    def client_disconnected(self, client: SimulatedBleakClient) -> None:
        """Release the slot of a link that closed."""
        if client in self._clients:
            self._clients.remove(client)
        self._report_allocations()

    def _report_allocations(self) -> None:
        if not self.started:
            return
        get_manager().async_on_allocation_changed(
            Allocations(
                adapter=self.source,
                slots=CONNECTION_SLOTS,
                free=max(0, CONNECTION_SLOTS - self.used_slots()),
                allocated=[self.address] if self._clients else [],
            )
        )
