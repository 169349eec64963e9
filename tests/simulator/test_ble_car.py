"""The simulated car's Bluetooth face, driven by tesla-fleet-api's BLE client and by raw frames."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from cryptography.hazmat.primitives.asymmetric import ec
from tesla_fleet_api.const import BluetoothVehicleData
from tesla_fleet_api.exceptions import (
    NotOnWhitelistFault,
    TeslaFleetMessageFaultResponseSizeExceedsMTU,
    TeslaFleetMessageFaultTimeExpired,
    WhitelistOperationAttemptingToAddExistingKey,
)
from tesla_fleet_api.tesla.bluetooth import TeslaBluetooth
from tesla_fleet_api.tesla.vehicle import bluetooth as library_bluetooth
from tesla_fleet_api.tesla.vehicle.bluetooth import READ_UUID as LIBRARY_READ_UUID
from tesla_fleet_api.tesla.vehicle.bluetooth import VehicleBluetooth
from tesla_fleet_api.tesla.vehicle.proto import car_server_pb2 as cs
from tesla_fleet_api.tesla.vehicle.proto import vcsec_pb2 as vcsec
from tesla_fleet_api.tesla.vehicle.proto.errors_pb2 import GenericError_E
from tesla_fleet_api.tesla.vehicle.proto.signatures_pb2 import Session_Info_Status, SessionInfo
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import (
    Domain,
    MessageFault_E,
    RoutableMessage,
)

from custom_components.tesla_resilient.protocol import Keyring, Session, read_reply
from simulator import ble_car
from simulator import ble_crypto as crypto
from simulator.ble_car import (
    MAX_CONNECTIONS,
    PAIRING_TIMEOUT_S,
    READ_UUID,
    SERVICE_UUID,
    WRITE_UUID,
    BleCar,
    PairingAnswers,
    TooManyConnections,
    local_name,
)
from simulator.clock import FakeClock
from simulator.vehicle import COMMANDS, WAKE_DURATION_S, VirtualCar
from tests.simulator.frames import frame, parse_frames

VCSEC = Domain.DOMAIN_VEHICLE_SECURITY
INFOTAINMENT = Domain.DOMAIN_INFOTAINMENT
FAULT = MessageFault_E
WL = vcsec.WhitelistOperation_information_E
ENCRYPT_RESPONSE = 2


@pytest.fixture
def ble(car: VirtualCar) -> BleCar:
    """The car, answering add-key requests with WAIT at once: tesla-fleet-api's client waits for
    an answer, and these tests read the car's answers. The silent default has its own tests."""
    ble = BleCar(car)
    ble.pairing_answers = PairingAnswers.WAIT_AT_ONCE
    return ble


# -- a central that speaks raw frames -----------------------------------------------------------


class Central:
    """A phone or proxy on one connection: writes frames, reads indications."""

    def __init__(self, ble: BleCar, mtu: int = 23) -> None:
        self.chunks: list[bytes] = []
        self.mtu = mtu
        self.link = ble.connect(self.chunks.append, mtu)

    def write(self, data: bytes) -> list[RoutableMessage]:
        seen = len(self.chunks)
        size = self.mtu - 3
        for start in range(0, len(data), size):
            self.link.write(data[start : start + size])
        return parse_frames(self.chunks[seen:])

    def send(self, message: RoutableMessage | bytes) -> list[RoutableMessage]:
        raw = message if isinstance(message, bytes) else message.SerializeToString()
        return self.write(frame(raw))


class Signer:
    """A client key that builds its own AES-GCM commands, for faults a real client never sends."""

    def __init__(self, ble: BleCar, central: Central) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = crypto.public_bytes(self.key.public_key())
        self.address = os.urandom(16)
        self.vin = ble.car.vin
        self.central = central
        self.shared = crypto.shared_key(self.key, ble.public_key)
        self.info: dict[int, SessionInfo] = {}
        self.counters: dict[int, int] = {}

    def handshake(self, domain: int) -> RoutableMessage:
        request = RoutableMessage()
        request.to_destination.domain = domain  # type: ignore[assignment]
        request.from_destination.routing_address = self.address
        request.session_info_request.public_key = self.public
        request.uuid = os.urandom(16)
        (reply,) = self.central.send(request)
        self.learn(domain, reply, request.uuid)
        return reply

    def learn(self, domain: int, reply: RoutableMessage, challenge: bytes) -> SessionInfo:
        info = SessionInfo()
        info.ParseFromString(reply.session_info)
        expected = crypto.session_info_tag(self.shared, self.vin, challenge, reply.session_info)
        assert reply.signature_data.session_info_tag.tag == expected
        self.info[domain] = info
        self.counters[domain] = info.counter
        return info

    def command(
        self,
        domain: int,
        payload: bytes,
        *,
        counter: int | None = None,
        expires_in: int = 10,
        expires_at: int | None = None,
        epoch: bytes | None = None,
        flags: int = 0,
        hmac: bool = False,
    ) -> RoutableMessage:
        info = self.info[domain]
        if counter is None:
            self.counters[domain] += 1
            counter = self.counters[domain]
        if expires_at is None:
            expires_at = info.clock_time + expires_in
        epoch = info.epoch if epoch is None else epoch
        metadata = crypto.command_metadata(
            signature_type=8 if hmac else 5,
            domain=domain,
            vin=self.vin,
            epoch=epoch,
            expires_at=expires_at,
            counter=counter,
            flags=flags,
        )
        request = RoutableMessage()
        request.to_destination.domain = domain  # type: ignore[assignment]
        request.from_destination.routing_address = self.address
        request.uuid = os.urandom(16)
        request.flags = flags
        request.signature_data.signer_identity.public_key = self.public
        if hmac:
            request.protobuf_message_as_bytes = payload
            signed = request.signature_data.HMAC_Personalized_data
            signed.tag = crypto.hmac_command_tag(self.shared, metadata, payload)
        else:
            nonce = os.urandom(12)
            ciphertext, tag = crypto.gcm_encrypt(self.shared, nonce, payload, metadata)
            request.protobuf_message_as_bytes = ciphertext
            sealed = request.signature_data.AES_GCM_Personalized_data
            sealed.nonce = nonce
            sealed.tag = tag
        data = (
            request.signature_data.HMAC_Personalized_data
            if hmac
            else request.signature_data.AES_GCM_Personalized_data
        )
        data.epoch = epoch
        data.counter = counter
        data.expires_at = expires_at
        return request

    def send(self, request: RoutableMessage) -> RoutableMessage:
        (reply,) = self.central.send(request)
        return reply

    def open_response(self, request: RoutableMessage, reply: RoutableMessage) -> bytes:
        domain = request.to_destination.domain
        sealed = reply.signature_data.AES_GCM_Response_data
        tag = request.signature_data.AES_GCM_Personalized_data.tag
        metadata = crypto.response_metadata(
            domain=reply.from_destination.domain,
            vin=self.vin,
            counter=sealed.counter,
            flags=reply.flags,
            request_hash=crypto.request_hash(5, tag, domain),
            fault=reply.signedMessageStatus.signed_message_fault,
        )
        return crypto.gcm_decrypt(
            self.shared, sealed.nonce, reply.protobuf_message_as_bytes, sealed.tag, metadata
        )


@pytest.fixture
def signer(ble: BleCar) -> Signer:
    signer = Signer(ble, Central(ble, mtu=185))
    ble.add_known_key(signer.public)
    return signer


def rke(action: int) -> bytes:
    return bytes(vcsec.UnsignedMessage(RKEAction=action).SerializeToString())  # type: ignore[arg-type]


def ping() -> bytes:
    return bytes(
        cs.Action(vehicleAction=cs.VehicleAction(ping=cs.Ping(ping_id=7))).SerializeToString()
    )


def status_request() -> bytes:
    request = vcsec.InformationRequest(
        informationRequestType=vcsec.InformationRequestType.INFORMATION_REQUEST_TYPE_GET_STATUS
    )
    return bytes(vcsec.UnsignedMessage(InformationRequest=request).SerializeToString())


def unsigned(domain: int, payload: bytes, address: bytes = b"\x01" * 16) -> RoutableMessage:
    request = RoutableMessage()
    request.to_destination.domain = domain  # type: ignore[assignment]
    request.from_destination.routing_address = address
    request.protobuf_message_as_bytes = payload
    request.uuid = os.urandom(16)
    return request


def add_key_request(public_key: bytes) -> vcsec.UnsignedMessage:
    message = vcsec.UnsignedMessage()
    change = message.WhitelistOperation.addKeyToWhitelistAndAddPermissions
    change.key.PublicKeyRaw = public_key
    change.keyRole = 2
    message.WhitelistOperation.metadataForKey.keyFormFactor = 9  # type: ignore[assignment]
    return message


def vcsec_reply(reply: RoutableMessage) -> vcsec.FromVCSECMessage:
    message = vcsec.FromVCSECMessage()
    message.ParseFromString(reply.protobuf_message_as_bytes)
    return message


def new_public_key() -> bytes:
    return crypto.public_bytes(ec.generate_private_key(ec.SECP256R1()).public_key())


# -- tesla-fleet-api's own client over an in-memory GATT link ------------------------------------


class _ReadCharacteristic:
    uuid = LIBRARY_READ_UUID


Notify = Callable[[Any, bytearray], None]
PHONE_SEES_ADDRESS = "5C:6B:4F:00:00:01"


class FakeBleakClient:
    """Stands in for BleakClient: writes go into a BleConnection, indications go to the callback
    the library subscribed with `start_notify`, as bleak delivers them."""

    is_connected = True

    def __init__(self, ble: BleCar, mtu: int) -> None:
        self.mtu = mtu
        self.indications: list[bytes] = []
        self.writes: list[bytes] = []
        self._subscribers: list[Notify] = []
        self.link = ble.connect(self._indicate, mtu)

    async def start_notify(self, uuid: str, callback: Notify, **_kwargs: Any) -> None:
        assert uuid == LIBRARY_READ_UUID
        self._subscribers.append(callback)

    def _indicate(self, chunk: bytes) -> None:
        self.indications.append(chunk)
        for notify in self._subscribers:
            notify(_ReadCharacteristic, bytearray(chunk))

    async def write_gatt_char(self, uuid: str, data: bytes, response: bool = True) -> None:
        assert uuid == WRITE_UUID
        self.writes.append(bytes(data))
        size = self.mtu - 3
        for start in range(0, len(data), size):
            self.link.write(bytes(data[start : start + size]))

    async def disconnect(self) -> bool:
        self.link.close()
        return True

    def replies(self) -> list[RoutableMessage]:
        return parse_frames(self.indications)


class Phone:
    """tesla-fleet-api's VehicleBluetooth with its key, talking to the car in memory."""

    def __init__(self, ble: BleCar, *, paired: bool = True, mtu: int = 23) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.public = crypto.public_bytes(self.key.public_key())
        self.client = FakeBleakClient(ble, mtu)
        device = BLEDevice(PHONE_SEES_ADDRESS, ble.local_name, self.client, rssi=-60)
        self.vehicle = VehicleBluetooth(TeslaBluetooth(), ble.car.vin, self.key, device)  # type: ignore[no-untyped-call]
        if paired:
            ble.add_known_key(self.public)


@pytest.fixture(autouse=True)
def library_meets_the_fake_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's own `connect()` gets the in-memory client its BLEDevice carries, where
    bleak-retry-connector would hand it a connected BleakClient."""

    async def establish(_client_class: Any, device: BLEDevice, _name: str, **_kwargs: Any) -> Any:
        return device.details

    monkeypatch.setattr(library_bluetooth, "establish_connection", establish)


@pytest.fixture
def phone(ble: BleCar) -> Phone:
    return Phone(ble)


class ProtocolKey:
    """The phone's key sending what the library has no public method for, through our protocol.

    tesla-fleet-api signs RKE actions, closure requests and raw infotainment actions only in
    private methods; the integration's own protocol module signs the same messages with the same
    key, on a connection of its own.
    """

    def __init__(self, phone: Phone, ble: BleCar) -> None:
        keyring = Keyring(phone.key, ble.car.vin, None)
        self.sessions = {domain: Session(keyring, domain) for domain in (VCSEC, INFOTAINMENT)}
        self.central = Central(ble, mtu=185)
        self.address = os.urandom(16)

    def send(self, domain: int, payload: bytes) -> bytes:
        """Sign `payload` for `domain` (after a handshake when needed); the decrypted answer."""
        session = self.sessions[domain]
        if not session.ready:
            handshake = session.handshake(self.address)
            (info,) = self.central.send(handshake.message)
            read_reply(session, handshake, info)
        request = session.sign(payload, self.address)
        (reply,) = self.central.send(request.message)
        answer = read_reply(session, request, reply)
        assert answer.authentic
        assert answer.payload is not None
        return answer.payload

    def vcsec(self, message: vcsec.UnsignedMessage) -> vcsec.FromVCSECMessage:
        """Send a security-controller message; the controller's answer."""
        return vcsec.FromVCSECMessage.FromString(self.send(VCSEC, message.SerializeToString()))

    def infotainment(self, action: cs.Action) -> cs.Response:
        """Send an infotainment action; the car's answer."""
        return cs.Response.FromString(self.send(INFOTAINMENT, action.SerializeToString()))


@pytest.fixture
def key(phone: Phone, ble: BleCar) -> ProtocolKey:
    return ProtocolKey(phone, ble)


# -- GATT surface and connections ----------------------------------------------------------------


def test_gatt_names_match_the_library(car: VirtualCar) -> None:
    assert SERVICE_UUID == "00000211-b2d1-43f0-9b88-960cebf8b91e"
    assert READ_UUID == LIBRARY_READ_UUID
    key = ec.generate_private_key(ec.SECP256R1())
    phone = VehicleBluetooth(TeslaBluetooth(), car.vin, key)  # type: ignore[no-untyped-call]
    assert local_name(car.vin) == BleCar(car).local_name == phone.ble_name


def test_three_connections_at_most(ble: BleCar) -> None:
    links = [ble.connect(lambda _: None) for _ in range(MAX_CONNECTIONS)]
    assert ble.connections == 3
    with pytest.raises(TooManyConnections):
        ble.connect(lambda _: None)
    links[0].close()
    links[0].close()
    assert ble.connections == 2
    ble.connect(lambda _: None)
    assert ble.connections == 3


def test_write_after_close_fails(ble: BleCar) -> None:
    link = ble.connect(lambda _: None)
    link.close()
    with pytest.raises(ConnectionError):
        link.write(b"\x00\x01")


async def test_private_key_stays_out_of_repr_and_logs(
    car: VirtualCar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = ec.generate_private_key(ec.SECP256R1())
    ble = BleCar(car, private_key=key)
    phone = Phone(ble)
    await phone.vehicle.door_unlock()
    ble.reboot()
    await phone.vehicle.door_lock()
    Central(ble).write(frame(b"\xff\xff"))
    value = key.private_numbers().private_value
    for secret in (value.to_bytes(32, "big").hex(), str(value)):
        assert secret not in repr(ble)
        assert secret not in caplog.text


# -- handshake -----------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", [VCSEC, INFOTAINMENT])
def test_handshake_returns_signed_session_info(
    ble: BleCar, signer: Signer, clock: FakeClock, domain: int
) -> None:
    clock.advance(42)
    reply = signer.handshake(domain)

    info = signer.info[domain]
    assert info.publicKey == ble.public_key
    assert info.epoch == ble.epoch
    assert len(info.epoch) == 16
    assert info.clock_time == 42
    assert info.counter == 0
    assert info.status == Session_Info_Status.SESSION_INFO_STATUS_OK
    assert reply.from_destination.domain == domain
    assert reply.to_destination.routing_address == signer.address
    assert ble.handshakes == 1


def test_unknown_key_is_not_on_whitelist(ble: BleCar) -> None:
    central = Central(ble)
    request = RoutableMessage()
    request.to_destination.domain = VCSEC
    request.from_destination.routing_address = b"\x02" * 16
    request.session_info_request.public_key = new_public_key()

    (reply,) = central.send(request)

    info = SessionInfo.FromString(reply.session_info)
    assert info.status == Session_Info_Status.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
    assert not info.publicKey
    assert not reply.signature_data.HasField("session_info_tag")


async def test_library_with_unknown_key_is_refused(ble: BleCar, car: VirtualCar) -> None:
    stranger = Phone(ble, paired=False)
    with pytest.raises(NotOnWhitelistFault):
        await stranger.vehicle.door_unlock()
    assert car.locked


async def test_removed_key_is_refused_mid_session(
    ble: BleCar, phone: Phone, car: VirtualCar
) -> None:
    await phone.vehicle.door_unlock()
    ble.remove_key(phone.public)
    assert phone.public not in ble.known_keys

    with pytest.raises(NotOnWhitelistFault):
        await phone.vehicle.door_lock()
    assert not car.locked
    assert phone.client.replies()[-1].signedMessageStatus.signed_message_fault == (
        FAULT.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID
    )


# -- pairing -------------------------------------------------------------------------------------


async def test_pairing_approved_by_key_card(ble: BleCar, car: VirtualCar) -> None:
    phone = Phone(ble, paired=False)
    await phone.vehicle.pair()

    waiting = vcsec_reply(phone.client.replies()[-1])
    assert waiting.commandStatus.operationStatus == vcsec.OperationStatus_E.OPERATIONSTATUS_WAIT
    assert phone.public not in ble.known_keys

    ble.tap_key_card()

    done = vcsec_reply(phone.client.replies()[-1])
    assert done.commandStatus.operationStatus == vcsec.OperationStatus_E.OPERATIONSTATUS_OK
    assert done.commandStatus.whitelistOperationStatus.whitelistOperationInformation == (
        WL.WHITELISTOPERATION_INFORMATION_NONE
    )
    assert phone.public in ble.known_keys
    await phone.vehicle.door_unlock()
    assert not car.locked


async def test_pairing_refused_on_screen(ble: BleCar) -> None:
    phone = Phone(ble, paired=False)
    await phone.vehicle.pair()

    ble.refuse_pairing()

    status = vcsec_reply(phone.client.replies()[-1]).commandStatus
    assert status.operationStatus == vcsec.OperationStatus_E.OPERATIONSTATUS_ERROR
    assert status.whitelistOperationStatus.whitelistOperationInformation == (
        WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_UI_DENIED
    )
    ble.tap_key_card()
    assert phone.public not in ble.known_keys
    with pytest.raises(NotOnWhitelistFault):
        await phone.vehicle.door_unlock()


async def test_pairing_times_out_without_a_tap(ble: BleCar, clock: FakeClock) -> None:
    phone = Phone(ble, paired=False)
    await phone.vehicle.pair()
    clock.advance(PAIRING_TIMEOUT_S - 1)
    ble.tick()
    assert len(phone.client.replies()) == 1

    clock.advance(1)
    ble.tick()

    status = vcsec_reply(phone.client.replies()[-1]).commandStatus
    assert status.whitelistOperationStatus.whitelistOperationInformation == (
        WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_TIMED_OUT_WAITING_FOR_TAP
    )
    ble.tap_key_card()
    assert phone.public not in ble.known_keys


def test_pairing_timeout_is_noticed_on_the_next_write(ble: BleCar, clock: FakeClock) -> None:
    central = Central(ble)
    key = new_public_key()
    (waiting,) = central.send(unsigned(VCSEC, add_key_request(key).SerializeToString()))
    assert vcsec_reply(waiting).commandStatus.operationStatus == 1
    clock.advance(PAIRING_TIMEOUT_S + 5)

    timed_out, status = central.send(unsigned(VCSEC, status_request()))

    info = vcsec_reply(timed_out).commandStatus.whitelistOperationStatus
    assert info.whitelistOperationInformation == (
        WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_TIMED_OUT_WAITING_FOR_TAP
    )
    assert vcsec_reply(status).HasField("vehicleStatus")


def test_pairing_with_a_bare_present_key_message(ble: BleCar) -> None:
    central = Central(ble)
    key = new_public_key()
    envelope = vcsec.ToVCSECMessage()
    envelope.signedMessage.protobufMessageAsBytes = add_key_request(key).SerializeToString()
    envelope.signedMessage.signatureType = vcsec.SignatureType.SIGNATURE_TYPE_PRESENT_KEY

    (waiting,) = central.send(envelope.SerializeToString())
    assert vcsec_reply(waiting).commandStatus.operationStatus == 1
    assert waiting.from_destination.domain == VCSEC

    ble.tap_key_card()

    (done,) = parse_frames(central.chunks)[1:]
    assert vcsec_reply(done).commandStatus.operationStatus == 0
    assert key in ble.known_keys


def test_present_key_message_inside_a_routable_message(ble: BleCar) -> None:
    central = Central(ble)
    key = new_public_key()
    envelope = vcsec.ToVCSECMessage()
    envelope.signedMessage.protobufMessageAsBytes = add_key_request(key).SerializeToString()
    envelope.signedMessage.signatureType = vcsec.SignatureType.SIGNATURE_TYPE_PRESENT_KEY
    request = unsigned(VCSEC, envelope.SerializeToString(), address=b"\x05" * 16)

    (waiting,) = central.send(request)
    ble.tap_key_card()

    assert vcsec_reply(waiting).commandStatus.operationStatus == 1
    done = parse_frames(central.chunks)[-1]
    assert done.to_destination.routing_address == b"\x05" * 16
    assert done.request_uuid == request.uuid
    assert key in ble.known_keys


def test_new_pairing_request_cancels_the_previous_one(ble: BleCar) -> None:
    first, second = Central(ble), Central(ble)
    first_key, second_key = new_public_key(), new_public_key()
    first.send(unsigned(VCSEC, add_key_request(first_key).SerializeToString()))
    second.send(unsigned(VCSEC, add_key_request(second_key).SerializeToString()))

    cancelled = vcsec_reply(parse_frames(first.chunks)[-1])
    assert cancelled.commandStatus.whitelistOperationStatus.whitelistOperationInformation == (
        WL.WHITELISTOPERATION_INFORMATION_LOCAL_ENTITY_AUTH_FAILED_CANCELLED
    )
    ble.tap_key_card()
    assert ble.known_keys == {second_key}


@pytest.mark.parametrize(
    ("key", "information"),
    [
        (b"\x04" + bytes(64), WL.WHITELISTOPERATION_INFORMATION_INVALID_PUBLIC_KEY),
        (
            None,
            WL.WHITELISTOPERATION_INFORMATION_ATTEMPTING_TO_ADD_KEY_THAT_IS_ALREADY_ON_THE_WHITELIST,
        ),
    ],
)
def test_pairing_request_refused_at_once(
    ble: BleCar, signer: Signer, key: bytes | None, information: int
) -> None:
    central = Central(ble)
    (reply,) = central.send(
        unsigned(VCSEC, add_key_request(key or signer.public).SerializeToString())
    )

    status = vcsec_reply(reply).commandStatus
    assert status.operationStatus == vcsec.OperationStatus_E.OPERATIONSTATUS_ERROR
    assert status.whitelistOperationStatus.whitelistOperationInformation == information


async def test_library_pairing_a_known_key_raises(ble: BleCar, phone: Phone) -> None:
    with pytest.raises(WhitelistOperationAttemptingToAddExistingKey):
        await phone.vehicle.pair()


@pytest.mark.parametrize("bare", [True, False], ids=["bare", "routable"])
def test_by_default_the_car_is_silent_until_the_tap_then_answers_once(
    car: VirtualCar, bare: bool
) -> None:
    silent = BleCar(car)
    central = Central(silent)
    key = new_public_key()
    payload = add_key_request(key).SerializeToString()
    envelope = vcsec.ToVCSECMessage()
    envelope.signedMessage.protobufMessageAsBytes = payload
    envelope.signedMessage.signatureType = vcsec.SignatureType.SIGNATURE_TYPE_PRESENT_KEY

    sent = envelope.SerializeToString() if bare else unsigned(VCSEC, payload)
    assert central.send(sent) == []
    assert key not in silent.known_keys

    silent.tap_key_card()

    (done,) = parse_frames(central.chunks)
    assert vcsec_reply(done).commandStatus.operationStatus == 0
    assert key in silent.known_keys


def test_a_car_that_never_answers_still_adds_the_key_on_the_tap(car: VirtualCar) -> None:
    mute = BleCar(car)
    mute.pairing_answers = PairingAnswers.NEVER
    central = Central(mute)
    key = new_public_key()

    assert central.send(unsigned(VCSEC, add_key_request(key).SerializeToString())) == []
    mute.tap_key_card()

    assert central.chunks == []
    assert key in mute.known_keys


def test_the_owner_taps_after_the_set_delay(car: VirtualCar, clock: FakeClock) -> None:
    owner = BleCar(car)
    owner.tap_after_s = 20
    central = Central(owner)
    key = new_public_key()
    central.send(unsigned(VCSEC, add_key_request(key).SerializeToString()))

    clock.advance(19)
    owner.tick()
    assert key not in owner.known_keys
    clock.advance(1)
    owner.tick()

    assert key in owner.known_keys
    assert len(parse_frames(central.chunks)) == 1


def test_tap_without_request_does_nothing(ble: BleCar) -> None:
    ble.tap_key_card()
    ble.refuse_pairing()
    assert ble.known_keys == set()


def test_pairing_survives_a_closed_connection(ble: BleCar) -> None:
    central = Central(ble)
    key = new_public_key()
    central.send(unsigned(VCSEC, add_key_request(key).SerializeToString()))
    central.link.close()

    ble.tap_key_card()

    assert key in ble.known_keys
    assert len(parse_frames(central.chunks)) == 1


def test_owner_adds_and_removes_keys_with_signed_operations(ble: BleCar, signer: Signer) -> None:
    signer.handshake(VCSEC)
    other = new_public_key()
    added = signer.send(signer.command(VCSEC, add_key_request(other).SerializeToString()))
    assert vcsec_reply(added).commandStatus.operationStatus == 0
    assert other in ble.known_keys

    remove = vcsec.UnsignedMessage()
    remove.WhitelistOperation.removePublicKeyFromWhitelist.PublicKeyRaw = other
    removed = signer.send(signer.command(VCSEC, remove.SerializeToString()))
    assert vcsec_reply(removed).commandStatus.operationStatus == 0
    assert other not in ble.known_keys


def test_driver_key_may_not_add_keys(ble: BleCar, signer: Signer) -> None:
    ble.add_known_key(signer.public, role=3)
    signer.handshake(VCSEC)
    reply = signer.send(
        signer.command(VCSEC, add_key_request(new_public_key()).SerializeToString())
    )
    status = vcsec_reply(reply).commandStatus.whitelistOperationStatus
    assert (
        status.whitelistOperationInformation
        == WL.WHITELISTOPERATION_INFORMATION_NO_PERMISSION_TO_ADD
    )
    assert ble.known_keys == {signer.public}


def test_whitelist_entry_info(ble: BleCar, signer: Signer) -> None:
    signer.handshake(VCSEC)
    request = vcsec.UnsignedMessage()
    info = request.InformationRequest
    info.informationRequestType = (
        vcsec.InformationRequestType.INFORMATION_REQUEST_TYPE_GET_WHITELIST_ENTRY_INFO
    )
    info.keyId.publicKeySHA1 = hashlib.sha1(signer.public).digest()[:4]

    entry = vcsec_reply(signer.send(signer.command(VCSEC, request.SerializeToString())))

    assert entry.whitelistEntryInfo.publicKey.PublicKeyRaw == signer.public
    assert entry.whitelistEntryInfo.slot == 0
    info.slot = 5
    missing = vcsec_reply(signer.send(signer.command(VCSEC, request.SerializeToString())))
    assert missing.HasField("nominalError")


# -- VCSEC ---------------------------------------------------------------------------------------


VcsecCall = Callable[[VehicleBluetooth], Awaitable[dict[str, Any]]]


@pytest.mark.parametrize(
    ("call", "check"),
    [
        (lambda v: v.door_unlock(), lambda car: not car.locked),
        (lambda v: v.actuate_trunk("rear"), lambda car: car.trunk_open),
        (lambda v: v.actuate_trunk("front"), lambda car: car.frunk_open),
        (lambda v: v.charge_port_door_open(), lambda car: car.charge_port_door_open),
    ],
)
async def test_vcsec_commands_work_while_the_car_sleeps(
    phone: Phone, car: VirtualCar, call: VcsecCall, check: Callable[[VirtualCar], bool]
) -> None:
    car.charge_port_door_open = False
    car.sleep_now()

    result = await call(phone.vehicle)

    assert result == {"response": {"result": True, "reason": ""}}
    assert check(car)
    assert car.state == "asleep"
    assert sum(n for name, n in car.executions.items() if name.startswith("ble:")) == 1


async def test_door_lock_and_auto_secure(phone: Phone, key: ProtocolKey, car: VirtualCar) -> None:
    car.locked = False
    await phone.vehicle.door_lock()
    assert car.locked
    assert car.executions["ble:door_lock"] == 1
    car.locked = False
    key.vcsec(vcsec.UnsignedMessage(RKEAction=vcsec.RKEAction_E.RKE_ACTION_AUTO_SECURE_VEHICLE))
    assert car.locked


async def test_charge_port_close_refused_while_cable_connected(
    phone: Phone, car: VirtualCar
) -> None:
    result = await phone.vehicle.charge_port_door_close()
    assert result["response"]["result"] is False
    assert car.charge_port_door_open
    car.cable_connected = False
    result = await phone.vehicle.charge_port_door_close()
    assert result["response"]["result"] is True
    assert not car.charge_port_door_open


async def test_rke_open_trunk_only_opens(key: ProtocolKey, car: VirtualCar) -> None:
    for _ in range(2):
        key.vcsec(vcsec.UnsignedMessage(RKEAction=vcsec.RKEAction_E.RKE_ACTION_OPEN_TRUNK))
    assert car.trunk_open
    assert car.executions["ble:actuate_trunk"] == 1


async def test_closing_the_frunk_is_refused(key: ProtocolKey, car: VirtualCar) -> None:
    car.frunk_open = True
    move = vcsec.ClosureMoveRequest(frontTrunk=vcsec.ClosureMoveType_E.CLOSURE_MOVE_TYPE_CLOSE)
    answer = key.vcsec(vcsec.UnsignedMessage(closureMoveRequest=move))
    assert answer.nominalError.genericError == GenericError_E.GENERICERROR_UNKNOWN
    assert car.frunk_open


async def test_remote_drive_runs_the_fleet_command(
    phone: Phone, car: VirtualCar, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[VirtualCar] = []
    monkeypatch.setitem(COMMANDS, "remote_start_drive", lambda c, _: started.append(c))
    car.sleep_now()

    await phone.vehicle.remote_start_drive()

    assert started == [car]
    assert car.executions["ble:remote_start_drive"] == 1


async def test_wake_starts_the_car(phone: Phone, car: VirtualCar, clock: FakeClock) -> None:
    car.sleep_now()
    await phone.vehicle.wake_up()  # type: ignore[no-untyped-call]
    assert car.wakes["ble"] == 1
    clock.advance(WAKE_DURATION_S)
    assert car.state == "online"


async def test_signed_status_while_asleep(phone: Phone, car: VirtualCar) -> None:
    car.locked = False
    car.trunk_open = True
    car.doors["df"] = 1
    car.sleep_now()

    status = await phone.vehicle.vehicle_state()

    closed, opened = (
        vcsec.ClosureState_E.CLOSURESTATE_CLOSED,
        vcsec.ClosureState_E.CLOSURESTATE_OPEN,
    )
    assert status.vehicleLockState == vcsec.VehicleLockState_E.VEHICLELOCKSTATE_UNLOCKED
    assert status.vehicleSleepStatus == vcsec.VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
    assert status.userPresence == vcsec.UserPresence_E.VEHICLE_USER_PRESENCE_NOT_PRESENT
    assert status.closureStatuses.rearTrunk == opened
    assert status.closureStatuses.frontDriverDoor == opened
    assert status.closureStatuses.frontTrunk == closed
    assert status.closureStatuses.chargePort == opened


def test_unsigned_status_from_anyone(ble: BleCar, car: VirtualCar) -> None:
    car.user_present = True
    (awake,) = Central(ble).send(unsigned(VCSEC, status_request()))
    status = vcsec_reply(awake).vehicleStatus
    assert status.vehicleLockState == vcsec.VehicleLockState_E.VEHICLELOCKSTATE_LOCKED
    assert status.vehicleSleepStatus == vcsec.VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_AWAKE
    assert status.userPresence == vcsec.UserPresence_E.VEHICLE_USER_PRESENCE_PRESENT

    car.sleep_now()
    (asleep,) = Central(ble).send(unsigned(VCSEC, status_request()))
    assert vcsec_reply(asleep).vehicleStatus.vehicleSleepStatus == (
        vcsec.VehicleSleepStatus_E.VEHICLE_SLEEP_STATUS_ASLEEP
    )


@pytest.mark.parametrize("domain", [VCSEC, INFOTAINMENT])
def test_unsigned_commands_are_refused(ble: BleCar, car: VirtualCar, domain: int) -> None:
    payload = rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK) if domain == VCSEC else ping()
    (reply,) = Central(ble).send(unsigned(domain, payload))
    assert reply.signedMessageStatus.signed_message_fault == FAULT.MESSAGEFAULT_ERROR_BAD_PARAMETER
    assert car.locked


# -- infotainment --------------------------------------------------------------------------------


InfotainmentCall = Callable[[VehicleBluetooth], Awaitable[dict[str, Any]]]


@pytest.mark.parametrize(
    ("prepare", "call", "check"),
    [
        ({}, lambda v: v.auto_conditioning_start(), lambda car: car.climate_on),
        (
            {"climate_on": True},
            lambda v: v.auto_conditioning_stop(),
            lambda car: not car.climate_on,
        ),
        (
            {},
            lambda v: v.set_temps(22.5, 19.0),
            lambda car: (car.driver_temp_setting_c, car.passenger_temp_setting_c) == (22.5, 19.0),
        ),
        ({}, lambda v: v.charge_start(), lambda car: car.charging),
        ({"charging": True}, lambda v: v.charge_stop(), lambda car: not car.charging),
        ({}, lambda v: v.set_charge_limit(90), lambda car: car.charge_limit_soc == 90),
        ({}, lambda v: v.set_charging_amps(10), lambda car: car.charge_current_request == 10),
        ({}, lambda v: v.set_sentry_mode(True), lambda car: car.sentry_mode),
        ({}, lambda v: v.flash_lights(), lambda car: car.executions["flash_lights"] == 1),
        ({}, lambda v: v.honk_horn(), lambda car: car.executions["honk_horn"] == 1),
        ({}, lambda v: v.window_control("vent"), lambda car: set(car.windows.values()) == {1}),
        (
            {"windows": {"fd": 1, "rd": 1, "fp": 1, "rp": 1}},
            lambda v: v.window_control("close"),
            lambda car: set(car.windows.values()) == {0},
        ),
    ],
)
async def test_infotainment_commands_change_the_car(
    phone: Phone,
    car: VirtualCar,
    prepare: dict[str, Any],
    call: InfotainmentCall,
    check: Callable[[VirtualCar], bool],
) -> None:
    for attr, value in prepare.items():
        setattr(car, attr, value)

    result = await call(phone.vehicle)

    assert result == {"response": {"result": True, "reason": ""}}
    assert check(car)
    assert sum(n for name, n in car.executions.items() if name.startswith("ble:")) == 1


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (cs.VehicleAction(chargePortDoorOpen=cs.ChargePortDoorOpen()), "charge_port_door_open"),
        (cs.VehicleAction(chargePortDoorClose=cs.ChargePortDoorClose()), "charge_port_door_close"),
    ],
)
async def test_infotainment_charge_port_actions(
    key: ProtocolKey, car: VirtualCar, message: cs.VehicleAction, field: str
) -> None:
    car.cable_connected = False
    car.charge_port_door_open = field == "charge_port_door_close"
    answer = key.infotainment(cs.Action(vehicleAction=message))
    assert answer.actionStatus.result == cs.OperationStatus_E.OPERATIONSTATUS_OK
    assert car.charge_port_door_open is (field == "charge_port_door_open")
    assert car.executions[f"ble:{field}"] == 1


async def test_refused_infotainment_command_reports_the_reason(
    phone: Phone, car: VirtualCar
) -> None:
    result = await phone.vehicle.charge_stop()
    assert result == {"response": {"result": False, "reason": "not_charging"}}
    result = await phone.vehicle.media_next_track()
    assert result == {"response": {"result": False, "reason": "unsupported"}}
    assert not car.charging


async def test_ping(phone: Phone, clock: FakeClock) -> None:
    result = await phone.vehicle.ping()
    assert result["response"]["result"] is True
    assert result["response"]["reason"].seconds == int(clock.wall())


async def test_vehicle_data_one_category_at_a_time(phone: Phone, car: VirtualCar) -> None:
    vehicle = phone.vehicle
    car.charging = True
    car.sentry_mode = True
    car.shift_state = "P"

    charge = await vehicle.charge_state()
    climate = await vehicle.climate_state()
    drive = await vehicle.drive_state()
    location = await vehicle.location_state()
    closures = await vehicle.closures_state()
    tyres = await vehicle.tire_pressure_state()

    assert charge.battery_level == car.battery_level
    assert charge.charge_limit_soc == car.charge_limit_soc
    assert charge.charging_state.HasField("Charging")
    assert charge.charge_port_door_open is True
    assert charge.charge_port_latch.HasField("Engaged")
    assert climate.driver_temp_setting == pytest.approx(car.driver_temp_setting_c)
    assert climate.inside_temp_celsius == pytest.approx(car.inside_temp_c)
    assert climate.is_climate_on is False
    assert drive.shift_state.HasField("P")
    assert drive.odometer_in_hundredths_of_a_mile == round(car.odometer_mi * 100)
    assert location.latitude == pytest.approx(car.latitude)
    assert location.heading == car.heading
    assert closures.locked is True
    assert closures.sentry_mode_state.HasField("Armed")
    assert tyres.tpms_pressure_fl == pytest.approx(car.tpms_bar["fl"])
    assert charge.timestamp.seconds == int(car.wall_clock())
    assert not any(name.startswith("ble:") for name in car.executions)


async def test_reply_too_big_for_a_frame_is_a_fault(
    phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ble_car, "MAX_FRAME_BYTES", 400)
    everything = [
        BluetoothVehicleData.CHARGE_STATE,
        BluetoothVehicleData.CLIMATE_STATE,
        BluetoothVehicleData.DRIVE_STATE,
        BluetoothVehicleData.LOCATION_STATE,
        BluetoothVehicleData.CLOSURES_STATE,
        BluetoothVehicleData.TIRE_PRESSURE_STATE,
    ]
    with pytest.raises(TeslaFleetMessageFaultResponseSizeExceedsMTU):
        await phone.vehicle.vehicle_data(everything)
    assert (await phone.vehicle.charge_state()).battery_level > 0


def test_infotainment_is_silent_while_asleep(ble: BleCar, signer: Signer, car: VirtualCar) -> None:
    signer.handshake(INFOTAINMENT)
    car.sleep_now()
    central = signer.central
    before = len(central.chunks)
    handshakes = ble.handshakes

    request = RoutableMessage()
    request.to_destination.domain = INFOTAINMENT
    request.from_destination.routing_address = signer.address
    request.session_info_request.public_key = signer.public
    assert central.send(request) == []
    assert central.send(signer.command(INFOTAINMENT, ping())) == []
    assert central.send(unsigned(INFOTAINMENT, ping())) == []

    assert len(central.chunks) == before
    assert ble.handshakes == handshakes


async def test_wake_then_infotainment_answers(
    ble: BleCar, phone: Phone, signer: Signer, car: VirtualCar, clock: FakeClock
) -> None:
    car.sleep_now()
    assert signer.central.send(unsigned(INFOTAINMENT, ping())) == []

    await phone.vehicle.wake_up()  # type: ignore[no-untyped-call]
    clock.advance(WAKE_DURATION_S)

    signer.handshake(INFOTAINMENT)
    reply = signer.send(signer.command(INFOTAINMENT, ping()))
    assert cs.Response.FromString(reply.protobuf_message_as_bytes).ping.ping_id == 7


def test_infotainment_traffic_keeps_the_car_awake(
    ble: BleCar, signer: Signer, car: VirtualCar, clock: FakeClock
) -> None:
    for _ in range(3):
        clock.advance(car.idle_sleep_s - 1)
        signer.handshake(INFOTAINMENT)
        reply = signer.send(signer.command(INFOTAINMENT, ping()))
        assert not reply.HasField("signedMessageStatus")
    assert car.state == "online"
    clock.advance(car.idle_sleep_s)
    assert car.state == "asleep"


# -- faults --------------------------------------------------------------------------------------


def assert_fault(
    signer: Signer, reply: RoutableMessage, request: RoutableMessage, fault: int
) -> None:
    assert reply.signedMessageStatus.signed_message_fault == fault
    assert reply.signedMessageStatus.operation_status == 2
    assert reply.request_uuid == request.uuid
    domain = request.to_destination.domain
    signer.learn(domain, reply, request.uuid)


async def test_reboot_new_epoch_resyncs_the_library(
    ble: BleCar, phone: Phone, car: VirtualCar
) -> None:
    await phone.vehicle.door_unlock()
    old_epoch = ble.epoch
    handshakes = ble.handshakes

    ble.reboot()
    await phone.vehicle.door_lock()

    assert ble.epoch != old_epoch
    assert car.locked
    assert ble.handshakes == handshakes
    fault, _ = phone.client.replies()[-2:]
    assert (
        fault.signedMessageStatus.signed_message_fault == FAULT.MESSAGEFAULT_ERROR_INCORRECT_EPOCH
    )
    assert SessionInfo.FromString(fault.session_info).epoch == ble.epoch


async def test_library_recovers_from_a_counter_behind_the_car(
    phone: Phone, ble: BleCar, car: VirtualCar
) -> None:
    await phone.vehicle.door_unlock()
    await phone.vehicle.door_lock()
    ble.skew_counters(5)

    await phone.vehicle.door_unlock()

    assert not car.locked
    assert car.executions["ble:door_unlock"] == 2
    assert phone.client.replies()[-2].signedMessageStatus.signed_message_fault == (
        FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
    )


async def test_replayed_frame_is_refused(phone: Phone, car: VirtualCar) -> None:
    await phone.vehicle.door_unlock()
    car.locked = True
    command = phone.client.writes[-1]

    await phone.client.write_gatt_char(WRITE_UUID, command)

    replay = phone.client.replies()[-1]
    assert replay.signedMessageStatus.signed_message_fault == (
        FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
    )
    assert replay.session_info
    assert car.locked
    assert car.executions["ble:door_unlock"] == 1


async def test_expired_command_then_resync(phone: Phone, car: VirtualCar, clock: FakeClock) -> None:
    await phone.vehicle.door_unlock()
    clock.advance(60)

    with pytest.raises(TeslaFleetMessageFaultTimeExpired):
        await phone.vehicle.door_lock()
    assert not car.locked

    await phone.vehicle.door_lock()
    assert car.locked


def test_bad_signature_is_refused_with_session_info(signer: Signer, car: VirtualCar) -> None:
    signer.handshake(VCSEC)
    request = signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK))
    request.protobuf_message_as_bytes = (
        bytes([request.protobuf_message_as_bytes[0] ^ 1]) + (request.protobuf_message_as_bytes[1:])
    )

    reply = signer.send(request)

    assert_fault(signer, reply, request, FAULT.MESSAGEFAULT_ERROR_INVALID_SIGNATURE)
    assert car.locked


def test_tampered_flags_break_the_signature(signer: Signer, car: VirtualCar) -> None:
    signer.handshake(VCSEC)
    request = signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK))
    request.flags = ENCRYPT_RESPONSE
    reply = signer.send(request)
    assert_fault(signer, reply, request, FAULT.MESSAGEFAULT_ERROR_INVALID_SIGNATURE)
    assert car.locked


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"epoch": b"\x00" * 16, "expires_in": -5}, FAULT.MESSAGEFAULT_ERROR_INCORRECT_EPOCH),
        ({"expires_in": -5, "counter": 0}, FAULT.MESSAGEFAULT_ERROR_TIME_EXPIRED),
        ({"expires_at": (1 << 30) + 1, "counter": 0}, FAULT.MESSAGEFAULT_ERROR_BAD_PARAMETER),
        ({"counter": 0, "expires_in": 60}, FAULT.MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG),
        ({"counter": 3, "expires_in": 31}, FAULT.MESSAGEFAULT_ERROR_TIME_TO_LIVE_TOO_LONG),
        ({"counter": 5}, FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER),
        ({"counter": 4, "expires_in": 30}, FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER),
    ],
)
def test_checks_in_the_documented_order(
    signer: Signer, car: VirtualCar, clock: FakeClock, changes: dict[str, Any], fault: int
) -> None:
    clock.advance(100)
    signer.handshake(VCSEC)
    signer.send(signer.command(VCSEC, status_request(), counter=5))

    request = signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK), **changes)
    reply = signer.send(request)

    assert_fault(signer, reply, request, fault)
    assert car.locked


@pytest.mark.parametrize("destination", ["domain", "routing_address"])
def test_wrong_domain_has_no_session_info(signer: Signer, destination: str) -> None:
    signer.handshake(VCSEC)
    request = signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK))
    if destination == "domain":
        request.to_destination.domain = 5  # type: ignore[assignment]
    else:
        request.to_destination.routing_address = b"\x09" * 16

    reply = signer.send(request)

    assert (
        reply.signedMessageStatus.signed_message_fault == FAULT.MESSAGEFAULT_ERROR_INVALID_DOMAINS
    )
    assert not reply.session_info
    assert not reply.signature_data.HasField("session_info_tag")


def test_handshake_to_unknown_domain(ble: BleCar) -> None:
    request = RoutableMessage()
    request.to_destination.domain = Domain.DOMAIN_BROADCAST
    request.session_info_request.public_key = new_public_key()
    (reply,) = Central(ble).send(request)
    assert (
        reply.signedMessageStatus.signed_message_fault == FAULT.MESSAGEFAULT_ERROR_INVALID_DOMAINS
    )
    assert ble.handshakes == 0


def test_vcsec_counters_strictly_increase(signer: Signer, car: VirtualCar) -> None:
    signer.handshake(VCSEC)
    signer.send(signer.command(VCSEC, status_request(), counter=5))
    late = signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK), counter=4)
    assert_fault(signer, signer.send(late), late, FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER)
    assert signer.info[VCSEC].counter == 5


def test_infotainment_accepts_out_of_order_counters_once(signer: Signer, car: VirtualCar) -> None:
    signer.handshake(INFOTAINMENT)
    first = signer.send(signer.command(INFOTAINMENT, ping(), counter=5))
    late = signer.send(signer.command(INFOTAINMENT, ping(), counter=3))
    assert first.protobuf_message_as_bytes
    assert late.protobuf_message_as_bytes

    again = signer.command(INFOTAINMENT, ping(), counter=3)
    assert_fault(
        signer, signer.send(again), again, FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
    )
    too_old = signer.command(INFOTAINMENT, ping(), counter=40)
    signer.send(too_old)
    ancient = signer.command(INFOTAINMENT, ping(), counter=7)
    assert_fault(
        signer, signer.send(ancient), ancient, FAULT.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
    )


def test_counter_zero_with_short_life_is_accepted_by_infotainment(signer: Signer) -> None:
    signer.handshake(INFOTAINMENT)
    for _ in range(2):
        reply = signer.send(signer.command(INFOTAINMENT, ping(), counter=0, expires_in=5))
        assert cs.Response.FromString(reply.protobuf_message_as_bytes).ping.ping_id == 7


def test_command_without_epoch_uses_the_current_one(signer: Signer, car: VirtualCar) -> None:
    signer.handshake(VCSEC)
    reply = signer.send(signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK), epoch=b""))
    assert not reply.HasField("signedMessageStatus")
    assert not car.locked


def test_hmac_personalized_commands(signer: Signer, car: VirtualCar) -> None:
    signer.handshake(VCSEC)
    reply = signer.send(signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK), hmac=True))
    assert not reply.HasField("signedMessageStatus")
    assert not car.locked

    forged = signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_LOCK), hmac=True)
    forged.signature_data.HMAC_Personalized_data.tag = bytes(32)
    assert_fault(signer, signer.send(forged), forged, FAULT.MESSAGEFAULT_ERROR_INVALID_SIGNATURE)
    assert not car.locked


def test_undecodable_command_is_a_decoding_fault(signer: Signer) -> None:
    signer.handshake(INFOTAINMENT)
    request = signer.command(INFOTAINMENT, b"\xff\xff\xff")
    assert_fault(signer, signer.send(request), request, FAULT.MESSAGEFAULT_ERROR_DECODING)


# -- encrypted responses -------------------------------------------------------------------------


@pytest.mark.parametrize("domain", [VCSEC, INFOTAINMENT])
def test_encrypted_responses(signer: Signer, domain: int) -> None:
    signer.handshake(domain)
    payload = status_request() if domain == VCSEC else ping()
    counters = []
    for _ in range(2):
        request = signer.command(domain, payload, flags=ENCRYPT_RESPONSE)
        reply = signer.send(request)
        counters.append(reply.signature_data.AES_GCM_Response_data.counter)
        plaintext = signer.open_response(request, reply)
        if domain == VCSEC:
            assert vcsec.FromVCSECMessage.FromString(plaintext).HasField("vehicleStatus")
        else:
            assert cs.Response.FromString(plaintext).ping.ping_id == 7
        assert reply.protobuf_message_as_bytes != plaintext
    assert counters == [1, 2]


def test_plain_response_without_the_flag(signer: Signer) -> None:
    signer.handshake(VCSEC)
    reply = signer.send(signer.command(VCSEC, status_request()))
    assert not reply.signature_data.HasField("AES_GCM_Response_data")
    assert vcsec_reply(reply).HasField("vehicleStatus")


async def test_library_decrypts_every_reply(phone: Phone) -> None:
    await phone.vehicle.door_unlock()
    await phone.vehicle.ping()
    signed = [r for r in phone.client.replies() if r.HasField("protobuf_message_as_bytes")]
    assert len(signed) == 2
    assert all(r.signature_data.HasField("AES_GCM_Response_data") for r in signed)


# -- framing -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mtu", [23, 185])
async def test_long_replies_are_chunked_at_the_mtu(ble: BleCar, car: VirtualCar, mtu: int) -> None:
    phone = Phone(ble, mtu=mtu)
    charge = await phone.vehicle.charge_state()
    assert charge.battery_level == car.battery_level

    chunks = phone.client.indications
    reply_bytes = sum(len(chunk) for chunk in chunks)
    assert all(len(chunk) <= mtu - 3 for chunk in chunks)
    assert len(chunks) >= reply_bytes // (mtu - 3)
    assert phone.client.link.mtu == mtu
    if mtu == 23:
        assert max(len(chunk) for chunk in chunks) == 20


def test_mtu_can_change_after_connecting(ble: BleCar) -> None:
    central = Central(ble)
    central.link.mtu = 100
    central.mtu = 100
    (reply,) = central.send(unsigned(VCSEC, status_request()))
    assert all(len(chunk) <= 97 for chunk in central.chunks)
    assert max(len(chunk) for chunk in central.chunks) > 20
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_oversized_frame_is_dropped(ble: BleCar) -> None:
    central = Central(ble)
    oversized = (1100).to_bytes(2, "big") + bytes(1100)

    assert central.write(oversized) == []

    (reply,) = central.send(unsigned(VCSEC, status_request()))
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_oversized_frame_dropped_in_one_write(ble: BleCar) -> None:
    link_chunks: list[bytes] = []
    link = ble.connect(link_chunks.append)
    request = frame(unsigned(VCSEC, status_request()).SerializeToString())
    link.write((1025).to_bytes(2, "big") + bytes(1025) + request)
    (reply,) = parse_frames(link_chunks)
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_partial_frame_discarded_after_a_second(ble: BleCar, clock: FakeClock) -> None:
    central = Central(ble)
    request = frame(unsigned(VCSEC, status_request()).SerializeToString())
    central.link.write(request[:10])
    clock.advance(1.5)

    assert central.write(request) != []

    central.link.write(request[:10])
    clock.advance(0.5)
    (reply,) = central.write(request[10:])
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_partial_oversized_frame_skip_ends_after_a_second(ble: BleCar, clock: FakeClock) -> None:
    central = Central(ble)
    central.link.write((1100).to_bytes(2, "big") + bytes(18))
    clock.advance(2)
    (reply,) = central.send(unsigned(VCSEC, status_request()))
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_garbage_frame_is_ignored(ble: BleCar) -> None:
    central = Central(ble)
    assert central.write(frame(b"\xff\xff\xff\xff")) == []
    assert central.write(frame(b"")) == []
    (reply,) = central.send(unsigned(VCSEC, status_request()))
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_a_failing_central_does_not_break_the_car(ble: BleCar) -> None:
    def broken(_: bytes) -> None:
        raise RuntimeError("radio gone")

    link = ble.connect(broken)
    link.write(frame(unsigned(VCSEC, status_request()).SerializeToString()))
    (reply,) = Central(ble).send(unsigned(VCSEC, status_request()))
    assert vcsec_reply(reply).HasField("vehicleStatus")


def test_sessions_outlive_connections(ble: BleCar, signer: Signer, car: VirtualCar) -> None:
    signer.handshake(VCSEC)
    signer.central.link.close()
    signer.central = Central(ble)
    reply = signer.send(signer.command(VCSEC, rke(vcsec.RKEAction_E.RKE_ACTION_UNLOCK)))
    assert not reply.HasField("signedMessageStatus")
    assert not car.locked
