"""The virtual Bluetooth proxy carries the simulated car through Home Assistant's Bluetooth."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from datetime import timedelta
from unittest.mock import AsyncMock, call, patch

import bleak
import pytest
from bleak import BleakClient
from bleak.exc import BleakError
from bleak_retry_connector import BleakNotFoundError, establish_connection
from cryptography.hazmat.primitives.asymmetric import ec
from habluetooth import (
    CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS,
    UNAVAILABLE_TRACK_SECONDS,
    BluetoothServiceInfoBleak,
    HaBleakClientWrapper,
    get_manager,
)
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from simulator.ble_car import (
    READ_UUID,
    SERVICE_UUID,
    VERSION_UUID,
    WRITE_UUID,
    BleCar,
    PairingAnswers,
    TooManyConnections,
    local_name,
)
from simulator.ble_proxy import (
    CONNECTION_SLOTS,
    GATT_VERSION,
    MAX_ATTRIBUTE_LENGTH,
    NEGOTIATED_MTU,
    SimulatedBluetoothProxy,
)
from simulator.vehicle import VirtualCar

ECHO_NAME = "S0123456789abcdefC"
STALE_S = CONNECTABLE_FALLBACK_MAXIMUM_STALE_ADVERTISEMENT_SECONDS
SWEEP_S = UNAVAILABLE_TRACK_SECONDS


class EchoLink:
    """A link to `EchoCar`: every write comes back reversed as an indication."""

    def __init__(self, car: EchoCar, indicate: Callable[[bytes], None]) -> None:
        self.car = car
        self.indicate = indicate

    def write(self, chunk: bytes) -> None:
        self.car.written.append(chunk)
        self.indicate(chunk[::-1])

    def close(self) -> None:
        self.car.links.remove(self)


class EchoCar:
    """A radio that answers every write, to test the transport on its own."""

    local_name = ECHO_NAME

    def __init__(self) -> None:
        self.links: list[EchoLink] = []
        self.written: list[bytes] = []

    def connect(self, indicate: Callable[[bytes], None], mtu: int = 23) -> EchoLink:
        if len(self.links) >= 3:
            raise TooManyConnections
        link = EchoLink(self, indicate)
        self.links.append(link)
        return link


@pytest.fixture
def echo_car() -> EchoCar:
    return EchoCar()


@pytest.fixture
async def echo_proxy(
    hass: HomeAssistant, ha_bluetooth: None, echo_car: EchoCar, ble_no_backoff: None
) -> AsyncGenerator[SimulatedBluetoothProxy]:
    proxy = SimulatedBluetoothProxy(hass, echo_car)
    await proxy.async_start()
    try:
        yield proxy
    finally:
        await proxy.async_stop()


async def _connect(
    hass: HomeAssistant,
    proxy: SimulatedBluetoothProxy,
    disconnected: Callable[[BleakClient], None] | None = None,
) -> BleakClient:
    device = bluetooth.async_ble_device_from_address(hass, proxy.address, connectable=True)
    assert device is not None
    return await establish_connection(
        bleak.BleakClient, device, "car", disconnected_callback=disconnected, max_attempts=1
    )


def _service_info(hass: HomeAssistant, address: str) -> BluetoothServiceInfoBleak | None:
    return bluetooth.async_last_service_info(hass, address, connectable=True)


def _fire_after(hass: HomeAssistant, seconds: float) -> None:
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


# -- advertising ---------------------------------------------------------------------------------


async def test_car_is_discovered_through_the_proxy(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy, car: VirtualCar
) -> None:
    infos = [
        info
        for info in bluetooth.async_discovered_service_info(hass)
        if info.name == local_name(car.vin)
    ]

    assert len(infos) == 1
    info = infos[0]
    assert info.address == ble_proxy.address == "AA:BB:CC:DD:EE:01"
    assert info.source == ble_proxy.source
    assert info.service_uuids == []
    assert info.rssi == -62
    assert info.connectable
    device = bluetooth.async_ble_device_from_address(hass, ble_proxy.address, connectable=True)
    assert device is not None
    assert device.name == local_name(car.vin)
    assert bluetooth.async_scanner_count(hass, connectable=True) >= 1


async def test_car_keeps_advertising_while_asleep(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy, car: VirtualCar
) -> None:
    car.sleep_now()
    ble_proxy.rssi = -75

    _fire_after(hass, ble_proxy.advertise_interval_s)
    await hass.async_block_till_done()

    info = _service_info(hass, ble_proxy.address)
    assert info is not None
    assert info.rssi == -75


async def test_advertise_now_pushes_one_advertisement(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy
) -> None:
    before = _service_info(hass, ble_proxy.address)
    ble_proxy.rssi = -70

    ble_proxy.advertise_now()

    after = _service_info(hass, ble_proxy.address)
    assert after is not None
    assert after is not before
    assert after.rssi == -70


async def test_advertise_now_needs_a_started_proxy(hass: HomeAssistant, echo_car: EchoCar) -> None:
    proxy = SimulatedBluetoothProxy(hass, echo_car)

    with pytest.raises(RuntimeError):
        proxy.advertise_now()


async def test_out_of_range_car_leaves_home_assistant_and_comes_back(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy
) -> None:
    gone: list[str] = []
    bluetooth.async_track_unavailable(
        hass, lambda info: gone.append(info.address), ble_proxy.address, connectable=True
    )
    before = _service_info(hass, ble_proxy.address)
    assert before is not None

    ble_proxy.in_range = False
    ble_proxy.rssi = -90
    ble_proxy.advertise_now()
    _fire_after(hass, ble_proxy.advertise_interval_s)
    info = _service_info(hass, ble_proxy.address)
    assert info is not None
    assert info.rssi == -62

    _fire_after(hass, STALE_S + 1)
    _fire_after(hass, STALE_S + SWEEP_S)
    await hass.async_block_till_done()

    assert gone == [ble_proxy.address]
    assert bluetooth.async_ble_device_from_address(hass, ble_proxy.address, True) is None

    ble_proxy.in_range = True

    info = _service_info(hass, ble_proxy.address)
    assert info is not None
    assert info.rssi == -90


async def test_back_in_range_before_expiry_keeps_the_car(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy
) -> None:
    ble_proxy.in_range = False
    ble_proxy.in_range = True

    _fire_after(hass, STALE_S + 1)
    _fire_after(hass, STALE_S + SWEEP_S)
    await hass.async_block_till_done()

    assert bluetooth.async_ble_device_from_address(hass, ble_proxy.address, True) is not None


async def test_stop_unregisters_the_scanner(
    hass: HomeAssistant, ble_proxy: SimulatedBluetoothProxy
) -> None:
    count = bluetooth.async_scanner_count(hass, connectable=True)

    await ble_proxy.async_stop()

    assert bluetooth.async_scanner_count(hass, connectable=True) == count - 1
    with pytest.raises(RuntimeError):
        ble_proxy.advertise_now()


# -- GATT client ----------------------------------------------------------------------------------


async def test_home_assistant_connects_through_the_proxy_client(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy, echo_car: EchoCar
) -> None:
    assert bleak.BleakClient is HaBleakClientWrapper

    client = await _connect(hass, echo_proxy)

    assert client.is_connected
    assert client.mtu_size == NEGOTIATED_MTU
    assert echo_proxy.connections == 1
    assert len(echo_car.links) == 1
    allocations = get_manager().async_current_allocations(echo_proxy.source)
    assert allocations is not None
    assert [(a.slots, a.free, a.allocated) for a in allocations] == [
        (CONNECTION_SLOTS, CONNECTION_SLOTS - 1, [echo_proxy.address])
    ]

    await client.disconnect()

    assert not client.is_connected
    assert echo_proxy.connections == 0
    assert echo_car.links == []


async def test_services_are_the_tesla_gatt_table(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy
) -> None:
    client = await _connect(hass, echo_proxy)

    service = client.services.get_service(SERVICE_UUID)
    assert service is not None
    properties = {char.uuid: char.properties for char in service.characteristics}
    assert properties == {
        WRITE_UUID: ["write"],
        READ_UUID: ["indicate"],
        VERSION_UUID: ["read"],
    }
    indicate = client.services.get_characteristic(READ_UUID)
    assert indicate is not None
    assert [d.uuid for d in indicate.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
    assert await client.read_gatt_char(VERSION_UUID) == bytearray(GATT_VERSION)
    with pytest.raises(BleakError):
        await client.read_gatt_char(READ_UUID)
    with pytest.raises(BleakError):
        await client.read_gatt_char("00002a00-0000-1000-8000-00805f9b34fb")


async def test_writes_reach_the_car_and_indications_come_back(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy, echo_car: EchoCar
) -> None:
    client = await _connect(hass, echo_proxy)
    received: list[bytes] = []

    await client.write_gatt_char(WRITE_UUID, b"before", response=True)
    await hass.async_block_till_done()
    await client.start_notify(READ_UUID, lambda _char, data: received.append(bytes(data)))
    indicate = client.services.get_characteristic(READ_UUID)
    assert indicate is not None
    cccd = indicate.descriptors[0].handle
    assert await client.read_gatt_descriptor(cccd) == bytearray(b"\x02\x00")
    await client.write_gatt_char(WRITE_UUID, b"\x00\x03abc", response=True)
    await hass.async_block_till_done()

    assert echo_car.written == [b"before", b"\x00\x03abc"]
    assert received == [b"cba\x03\x00"]
    assert echo_proxy.round_trips == 2

    await client.stop_notify(READ_UUID)
    await client.write_gatt_char(WRITE_UUID, b"after", response=True)
    await hass.async_block_till_done()

    assert received == [b"cba\x03\x00"]
    assert await client.read_gatt_descriptor(cccd) == bytearray(b"\x00\x00")


async def test_writes_the_car_does_not_take_are_refused(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy, echo_car: EchoCar
) -> None:
    client = await _connect(hass, echo_proxy)

    with pytest.raises(BleakError):
        await client.write_gatt_char(WRITE_UUID, b"x", response=False)
    with pytest.raises(BleakError):
        await client.write_gatt_char(VERSION_UUID, b"x", response=True)
    with pytest.raises(BleakError):
        await client.write_gatt_char(WRITE_UUID, bytes(MAX_ATTRIBUTE_LENGTH + 1), response=True)
    with pytest.raises(BleakError):
        await client.start_notify(WRITE_UUID, lambda _char, _data: None)

    assert echo_car.written == []
    assert echo_proxy.round_trips == 0


async def test_latency_delays_each_write(
    hass: HomeAssistant, ha_bluetooth: None, echo_car: EchoCar, ble_no_backoff: None
) -> None:
    proxy = SimulatedBluetoothProxy(hass, echo_car, latency_s=0.3)
    await proxy.async_start()

    with patch("simulator.ble_proxy.asyncio.sleep", new=AsyncMock()) as sleep:
        client = await _connect(hass, proxy)
        assert sleep.await_args_list == [call(0.3)]
        await client.write_gatt_char(WRITE_UUID, b"x", response=True)
        assert sleep.await_args_list == [call(0.3), call(0.3)]

    assert echo_car.written == [b"x"]
    await proxy.async_stop()


async def test_a_busy_car_refuses_a_fourth_central(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy, echo_car: EchoCar
) -> None:
    others = [echo_car.connect(lambda _chunk: None) for _ in range(3)]

    with pytest.raises(BleakError):
        await _connect(hass, echo_proxy)

    others[0].close()
    client = await _connect(hass, echo_proxy)
    assert client.is_connected


async def test_the_proxy_has_three_connection_slots(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy
) -> None:
    clients = [await _connect(hass, echo_proxy) for _ in range(CONNECTION_SLOTS)]

    with pytest.raises(BleakError):
        await _connect(hass, echo_proxy)

    await clients[0].disconnect()
    assert (await _connect(hass, echo_proxy)).is_connected


async def test_out_of_range_drops_links_and_refuses_new_ones(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy, echo_car: EchoCar
) -> None:
    dropped: list[BleakClient] = []
    client = await _connect(hass, echo_proxy, dropped.append)
    await client.start_notify(READ_UUID, lambda _char, _data: None)

    echo_proxy.in_range = False

    assert dropped == [client]
    assert not client.is_connected
    assert echo_car.links == []
    assert echo_proxy.connections == 0
    with pytest.raises(BleakError):
        await client.write_gatt_char(WRITE_UUID, b"x", response=True)
    with pytest.raises(BleakError):
        await _connect(hass, echo_proxy)

    echo_proxy.in_range = True

    assert (await _connect(hass, echo_proxy)).is_connected


async def test_requested_disconnect_does_not_call_the_drop_callback(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy
) -> None:
    dropped: list[BleakClient] = []
    client = await _connect(hass, echo_proxy, dropped.append)

    await client.disconnect()
    echo_proxy.in_range = False

    assert dropped == []


async def test_stopping_the_proxy_drops_links(
    hass: HomeAssistant, echo_proxy: SimulatedBluetoothProxy, echo_car: EchoCar
) -> None:
    dropped: list[BleakClient] = []
    client = await _connect(hass, echo_proxy, dropped.append)

    await echo_proxy.async_stop()

    assert dropped == [client]
    assert echo_car.links == []


# -- the Tesla library over Home Assistant's Bluetooth -------------------------------------------


async def test_tesla_fleet_api_pairs_commands_and_reads_through_home_assistant(
    hass: HomeAssistant,
    ble_proxy: SimulatedBluetoothProxy,
    ble_car: BleCar,
    car: VirtualCar,
    ble_private_key: ec.EllipticCurvePrivateKey,
    tesla_ble_through_ha: None,
) -> None:
    from tesla_fleet_api.tesla.bluetooth import TeslaBluetooth  # noqa: PLC0415
    from tesla_fleet_api.tesla.vehicle.proto.vcsec_pb2 import (  # noqa: PLC0415
        VehicleLockState_E,
        VehicleSleepStatus_E,
    )

    device = bluetooth.async_ble_device_from_address(hass, ble_proxy.address, connectable=True)
    assert device is not None
    vehicle = TeslaBluetooth().vehicles.createBluetooth(car.vin, ble_private_key, device)
    # The library's client waits for an answer to its add-key request.
    ble_car.pairing_answers = PairingAnswers.WAIT_AT_ONCE

    await vehicle.connect()
    await vehicle.pair()
    ble_car.tap_key_card()
    await hass.async_block_till_done()
    await vehicle.handshakeVehicleSecurity()

    await vehicle.door_unlock()
    assert car.locked is False
    await vehicle.door_lock()
    assert car.locked is True

    car.sleep_now()
    status = await vehicle.vehicle_state()
    assert status.vehicleLockState == VehicleLockState_E.VEHICLELOCKSTATE_LOCKED
    assert status.vehicleSleepStatus == VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
    assert ble_proxy.round_trips >= 5

    ble_proxy.in_range = False
    assert vehicle.client is not None
    assert not vehicle.client.is_connected
    # The library passes bleak's error on until 1.18 wraps it in a transport error of its own.
    with pytest.raises((BleakNotFoundError, *_library_transport_errors())):
        await vehicle.door_unlock()
    assert car.locked is True

    ble_proxy.in_range = True
    await vehicle.door_unlock()
    assert car.locked is False
    await vehicle.disconnect()


def _library_transport_errors() -> tuple[type[BaseException], ...]:
    """The library's own transport error, where it has one (its errors are BaseExceptions)."""
    from tesla_fleet_api import exceptions  # noqa: PLC0415

    error = getattr(exceptions, "BluetoothTransportError", None)
    return (error,) if isinstance(error, type) and issubclass(error, BaseException) else ()
