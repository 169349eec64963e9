"""The simulated car's BLE crypto and replies against Tesla's published protocol vectors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from tesla_fleet_api.tesla.vehicle.proto.car_server_pb2 import Action
from tesla_fleet_api.tesla.vehicle.proto.signatures_pb2 import SessionInfo
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import (
    Domain,
    MessageFault_E,
    RoutableMessage,
)
from tesla_fleet_api.tesla.vehicle.proto.vcsec_pb2 import FromVCSECMessage, UnsignedMessage

from simulator import ble_crypto as crypto
from simulator.ble_car import BleCar
from simulator.clock import FakeClock
from simulator.vehicle import VirtualCar
from tests.simulator.frames import frame, parse_frames

VECTORS: dict[str, dict[str, Any]] = {
    vector["id"]: vector
    for vector in json.loads(
        (Path(__file__).parent.parent / "fixtures" / "tesla_protocol_vectors.json").read_text()
    )["vectors"]
}
INFOTAINMENT = Domain.DOMAIN_INFOTAINMENT
VCSEC = Domain.DOMAIN_VEHICLE_SECURITY


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def exchange(ble: BleCar, message: bytes) -> list[RoutableMessage]:
    chunks: list[bytes] = []
    link = ble.connect(chunks.append, mtu=185)
    link.write(frame(message))
    link.close()
    return parse_frames(chunks)


def vector_car(
    vin: str, vehicle_scalar: str, epoch: str, clock: FakeClock
) -> tuple[VirtualCar, BleCar]:
    """A car holding a vector's vehicle key, booted into the vector's epoch."""
    car = VirtualCar(vin=vin, clock=clock, wall_clock=clock.wall, idle_sleep_s=86_400)
    rng_values = iter([h(epoch)])
    ble = BleCar(
        car,
        private_key=crypto.private_key_from_scalar(h(vehicle_scalar)),
        rng=lambda size: next(rng_values, bytes(size)),
    )
    return car, ble


@pytest.fixture
def spec_car(clock: FakeClock) -> tuple[VirtualCar, BleCar]:
    """The car of protocol.md's examples: session counter 6, 2650 s into its epoch."""
    keys = VECTORS["spec_test_keys"]
    handshake = VECTORS["spec_handshake"]
    car, ble = vector_car(
        handshake["vin"],
        keys["vehicle_private_scalar"],
        handshake["session_info_decoded"]["epoch"],
        clock,
    )
    client = h(keys["client_public_uncompressed"])
    ble.add_known_key(client)
    ble.resume_session(INFOTAINMENT, client, handshake["session_info_decoded"]["counter"])
    clock.advance(handshake["session_info_decoded"]["clock_time"])
    return car, ble


def test_public_key_encoding() -> None:
    keys = VECTORS["spec_test_keys"]
    for scalar, public, pem in (
        ("vehicle_private_scalar", "vehicle_public_uncompressed", "vehicle_private_pem"),
        ("client_private_scalar", "client_public_uncompressed", "client_private_pem"),
    ):
        from_scalar = crypto.private_key_from_scalar(h(keys[scalar]))
        from_pem = load_pem_private_key(keys[pem].encode(), password=None)
        assert crypto.public_bytes(from_scalar.public_key()) == h(keys[public])
        assert crypto.public_bytes(from_pem.public_key()) == h(keys[public])  # type: ignore[arg-type]
    native = VECTORS["go_local_public_bytes_and_padding"]
    key = crypto.private_key_from_scalar(h(native["private_scalar"]))
    assert crypto.public_bytes(key.public_key()) == h(native["public_uncompressed"])


def test_car_public_key_is_its_private_keys() -> None:
    keys = VECTORS["spec_test_keys"]
    car = VirtualCar(vin="5YJ30123456789ABC")
    ble = BleCar(car, private_key=crypto.private_key_from_scalar(h(keys["vehicle_private_scalar"])))
    assert ble.public_key == h(keys["vehicle_public_uncompressed"])


def test_local_name() -> None:
    vector = VECTORS["spec_ble_local_name"]
    assert crypto.local_name(vector["vin"]) == vector["local_name"]
    assert BleCar(VirtualCar(vin=vector["vin"])).local_name == vector["local_name"]


def test_metadata_tlv() -> None:
    vector = VECTORS["spec_metadata_tlv_examples"]
    assert crypto.encode_metadata([(2, b"abc")]) == h(vector["tlv_vin_abc"]) + b"\xff"
    assert crypto.encode_metadata([(5, crypto.u32(100))]) == h(vector["tlv_counter_100"]) + b"\xff"
    assert crypto.encode_metadata([(2, b"abc"), (5, crypto.u32(100))]) == h(
        vector["serialize_counter100_vin_abc"]
    )


def test_metadata_checksum() -> None:
    vector = VECTORS["go_metadata_checksum"]
    metadata = crypto.encode_metadata(
        (item["tag"], h(item["value_hex"])) for item in vector["items"]
    )
    assert metadata == h(vector["serialized_metadata_derived"])
    assert hashlib.sha256(metadata).digest() == h(vector["sha256"])
    assert hashlib.sha512(metadata).digest() == h(vector["sha512"])


@pytest.mark.parametrize(
    "items", [[(5, b"\x01"), (2, b"vin")], [(2, b"a"), (2, b"b")], [(2, bytes(256))]]
)
def test_metadata_refuses_bad_items(items: list[tuple[int, bytes]]) -> None:
    with pytest.raises(ValueError, match="metadata"):
        crypto.encode_metadata(items)


def test_key_agreement_both_ways() -> None:
    vector = VECTORS["spec_key_agreement"]
    keys = VECTORS["spec_test_keys"]
    client = crypto.private_key_from_scalar(h(vector["client_private_scalar"]))
    vehicle = crypto.private_key_from_scalar(h(keys["vehicle_private_scalar"]))
    from_client = crypto.shared_key(client, h(vector["vehicle_public_uncompressed"]))
    from_vehicle = crypto.shared_key(vehicle, h(keys["client_public_uncompressed"]))
    assert from_client == from_vehicle == h(vector["shared_key_K"])
    assert crypto.session_info_key(from_vehicle) == h(vector["session_info_key"])


def test_key_agreement_keeps_leading_zero() -> None:
    vector = VECTORS["go_ecdh_shared_secret_leading_zero"]
    vehicle = crypto.private_key_from_scalar(h(vector["vehicle_private_scalar"]))
    phone = h(vector["phone_public_uncompressed"])
    secret = crypto.ecdh_secret(vehicle, phone)
    assert secret == h(vector["shared_secret_x"])
    assert secret[0] == 0
    assert crypto.shared_key(vehicle, phone) == h(vector["derived_shared_key_K"])
    padding = VECTORS["go_local_public_bytes_and_padding"]["padding_case"]
    tiny = crypto.private_key_from_scalar(h(padding["private_scalar"]))
    assert crypto.ecdh_secret(tiny, h(padding["peer_public"])) == h(
        padding["shared_secret_x_padded"]
    )


def test_key_agreement_rejects_invalid_points() -> None:
    vector = VECTORS["go_ecdh_shared_secret_leading_zero"]
    vehicle = crypto.private_key_from_scalar(h(vector["vehicle_private_scalar"]))
    tampered = bytearray(h(vector["phone_public_uncompressed"]))
    tampered[1] ^= 1
    for bad in (bytes(tampered), b"\x04" + bytes(64), b"\x02" + bytes(32)):
        with pytest.raises(crypto.InvalidPublicKey):
            crypto.shared_key(vehicle, bad)


def test_session_info_tag() -> None:
    vector = VECTORS["spec_handshake"]
    tag = crypto.session_info_tag(
        h(vector["shared_key_K"]),
        vector["vin"],
        h(vector["request_uuid"]),
        h(vector["session_info_bytes"]),
    )
    assert tag == h(vector["session_info_tag"])
    metadata = crypto.encode_metadata(
        [(0, b"\x06"), (2, vector["vin"].encode()), (6, h(vector["request_uuid"]))]
    )
    assert metadata == h(vector["session_info_metadata"])


def test_car_answers_handshake_like_the_spec(spec_car: tuple[VirtualCar, BleCar]) -> None:
    _, ble = spec_car
    vector = VECTORS["spec_handshake"]
    request = RoutableMessage()
    request.to_destination.domain = INFOTAINMENT
    request.from_destination.routing_address = h(vector["client_routing_address"])
    request.session_info_request.public_key = h(vector["client_public_uncompressed"])
    request.uuid = h(vector["request_uuid"])
    wire = RoutableMessage.FromString(
        h(VECTORS["derived_wire_encodings_of_spec_examples"]["handshake_request"])
    )
    assert wire == request

    (reply,) = exchange(ble, request.SerializeToString())

    assert reply.session_info == h(vector["session_info_bytes"])
    assert reply.signature_data.session_info_tag.tag == h(vector["session_info_tag"])
    assert reply.to_destination.routing_address == h(vector["client_routing_address"])
    assert reply.from_destination.domain == INFOTAINMENT
    assert reply.request_uuid == h(vector["request_uuid"])
    info = SessionInfo.FromString(reply.session_info)
    assert info.counter == vector["session_info_decoded"]["counter"]
    assert info.clock_time == vector["session_info_decoded"]["clock_time"]
    assert ble.handshakes == 1


def hvac_request() -> RoutableMessage:
    vector = VECTORS["spec_aes_gcm_command_hvac_on"]
    request = RoutableMessage()
    request.to_destination.domain = vector["domain"]
    request.from_destination.routing_address = h(vector["client_routing_address"])
    request.protobuf_message_as_bytes = h(vector["ciphertext"])
    request.uuid = h(vector["message_uuid"])
    request.signature_data.signer_identity.public_key = h(vector["signer_public_key"])
    data = request.signature_data.AES_GCM_Personalized_data
    data.epoch = h(vector["epoch"])
    data.nonce = h(vector["nonce"])
    data.counter = vector["counter"]
    data.expires_at = vector["expires_at"]
    data.tag = h(vector["tag"])
    return request


def test_hvac_on_command_crypto() -> None:
    vector = VECTORS["spec_aes_gcm_command_hvac_on"]
    metadata = crypto.command_metadata(
        signature_type=5,
        domain=vector["domain"],
        vin=vector["vin"],
        epoch=h(vector["epoch"]),
        expires_at=vector["expires_at"],
        counter=vector["counter"],
        flags=vector["flags"],
    )
    assert metadata == h(vector["metadata"])
    key = h(vector["shared_key_K"])
    sealed = crypto.gcm_encrypt(
        key, h(vector["nonce"]), h(vector["plaintext_carserver_action"]), metadata
    )
    assert sealed == (h(vector["ciphertext"]), h(vector["tag"]))
    opened = crypto.gcm_decrypt(
        key, h(vector["nonce"]), h(vector["ciphertext"]), h(vector["tag"]), metadata
    )
    assert opened == h(vector["plaintext_carserver_action"])
    assert Action.FromString(opened).vehicleAction.hvacAutoAction.power_on
    with pytest.raises(InvalidTag):
        crypto.gcm_decrypt(key, h(vector["nonce"]), h(vector["ciphertext"]), bytes(16), metadata)


def test_car_runs_the_spec_hvac_command(spec_car: tuple[VirtualCar, BleCar]) -> None:
    car, ble = spec_car
    request = hvac_request()
    wire = RoutableMessage.FromString(
        h(VECTORS["derived_wire_encodings_of_spec_examples"]["hvac_on_command"])
    )
    assert wire == request
    was_on = car.climate_on

    (reply,) = exchange(ble, request.SerializeToString())

    assert (was_on, car.climate_on) == (False, True)
    assert car.executions["ble:auto_conditioning_start"] == 1
    assert not reply.HasField("signedMessageStatus")
    assert reply.protobuf_message_as_bytes == h(
        VECTORS["derived_aes_gcm_response_to_hvac_on"]["plaintext_carserver_response"]
    )
    assert reply.request_uuid == request.uuid

    (replay,) = exchange(ble, request.SerializeToString())
    assert (
        replay.signedMessageStatus.signed_message_fault
        == MessageFault_E.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
    )
    assert car.executions["ble:auto_conditioning_start"] == 1


def test_car_verifies_go_known_answer(clock: FakeClock) -> None:
    vector = VECTORS["go_gcm_known_answer_verifier_side"]
    _, ble = vector_car(
        vector["verifier_name"], vector["verifier_private_scalar"], vector["verifier_epoch"], clock
    )
    signer = h(vector["signer_public_uncompressed"])
    assert ble.public_key == h(vector["derived_verifier_public"])
    assert ble.shared_key(signer) == h(vector["derived_shared_key_K"])
    ble.add_known_key(signer)
    request = RoutableMessage.FromString(h(vector["encoded_routable_message"]))
    data = request.signature_data.AES_GCM_Personalized_data
    assert (data.counter, data.expires_at) == (4294967295, 50000)
    metadata = crypto.command_metadata(
        signature_type=5,
        domain=VCSEC,
        vin=vector["verifier_name"],
        epoch=data.epoch,
        expires_at=data.expires_at,
        counter=data.counter,
        flags=request.flags,
    )
    assert metadata == h(vector["derived_metadata"])
    assert hashlib.sha256(metadata).digest() == h(vector["derived_aad_sha256"])
    plaintext = crypto.gcm_decrypt(
        h(vector["derived_shared_key_K"]),
        data.nonce,
        request.protobuf_message_as_bytes,
        data.tag,
        metadata,
    )
    assert plaintext == h(vector["expected_plaintext"])
    new_key = UnsignedMessage.FromString(
        plaintext
    ).WhitelistOperation.addKeyToWhitelistAndAddPermissions
    assert new_key.key.PublicKeyRaw not in ble.known_keys

    request.signature_data.signer_identity.public_key = signer
    (reply,) = exchange(ble, request.SerializeToString())

    status = FromVCSECMessage.FromString(reply.protobuf_message_as_bytes).commandStatus
    assert status.whitelistOperationStatus.whitelistOperationInformation == 0
    assert new_key.key.PublicKeyRaw in ble.known_keys
    assert ble.epoch != h(vector["verifier_epoch"])


def test_request_hash() -> None:
    vector = VECTORS["go_request_id_hash"]
    tag = h(vector["hmac_tag"])
    assert crypto.request_hash(8, tag, VCSEC) == h(vector["vcsec_request_hash"])
    assert crypto.request_hash(8, tag, INFOTAINMENT) == h(vector["infotainment_request_hash"])


def test_hmac_personalized_command() -> None:
    vector = VECTORS["derived_hmac_personalized_hvac_on"]
    hvac = VECTORS["spec_aes_gcm_command_hvac_on"]
    key = h(vector["shared_key_K"])
    metadata = crypto.command_metadata(
        signature_type=8,
        domain=INFOTAINMENT,
        vin=hvac["vin"],
        epoch=h(hvac["epoch"]),
        expires_at=hvac["expires_at"],
        counter=hvac["counter"],
        flags=0,
    )
    assert metadata == h(vector["metadata"])
    assert crypto.command_hmac_key(key) == h(vector["command_hmac_key"])
    tag = crypto.hmac_command_tag(key, metadata, h(vector["payload"]))
    assert tag == h(vector["tag"])
    assert crypto.request_hash(8, tag, INFOTAINMENT) == h(
        vector["request_hash_if_sent_to_infotainment"]
    )
    assert crypto.request_hash(8, tag, VCSEC) == h(vector["request_hash_if_sent_to_vcsec"])


@pytest.mark.parametrize("case", VECTORS["go_sliding_window"]["cases"])
def test_sliding_window(case: dict[str, Any]) -> None:
    assert crypto.update_sliding_window(case["counter"], case["window"], case["new"]) == (
        case["exp_counter"],
        case["exp_window"],
        case["ok"],
    )


def test_encrypted_response_cross_check() -> None:
    vector = VECTORS["derived_aes_gcm_response_to_hvac_on"]
    hvac = VECTORS["spec_aes_gcm_command_hvac_on"]
    request_hash = crypto.request_hash(5, h(hvac["tag"]), INFOTAINMENT)
    assert request_hash == h(vector["request_hash"])
    metadata = crypto.response_metadata(
        domain=vector["response_domain"],
        vin=vector["vin"],
        counter=vector["response_counter"],
        flags=vector["response_flags"],
        request_hash=request_hash,
        fault=vector["fault"],
    )
    assert metadata == h(vector["metadata"])
    assert hashlib.sha256(metadata).digest() == h(vector["aad_sha256"])
    sealed = crypto.gcm_encrypt(
        h(vector["shared_key_K"]),
        h(vector["nonce"]),
        h(vector["plaintext_carserver_response"]),
        metadata,
    )
    assert sealed == (h(vector["ciphertext"]), h(vector["tag"]))


def test_car_encrypts_its_response_to_the_spec_key(spec_car: tuple[VirtualCar, BleCar]) -> None:
    """The car's own encrypted answer opens with the vector's K and the response metadata."""
    _, ble = spec_car
    hvac = VECTORS["spec_aes_gcm_command_hvac_on"]
    key = h(hvac["shared_key_K"])
    metadata = crypto.command_metadata(
        signature_type=5,
        domain=INFOTAINMENT,
        vin=hvac["vin"],
        epoch=h(hvac["epoch"]),
        expires_at=hvac["expires_at"],
        counter=hvac["counter"],
        flags=2,
    )
    ciphertext, tag = crypto.gcm_encrypt(
        key, h(hvac["nonce"]), h(hvac["plaintext_carserver_action"]), metadata
    )
    request = hvac_request()
    request.flags = 2
    request.protobuf_message_as_bytes = ciphertext
    request.signature_data.AES_GCM_Personalized_data.tag = tag

    (reply,) = exchange(ble, request.SerializeToString())

    sealed = reply.signature_data.AES_GCM_Response_data
    assert sealed.counter == 1
    assert sealed.nonce == bytes(12)
    response_metadata = crypto.response_metadata(
        domain=INFOTAINMENT,
        vin=hvac["vin"],
        counter=1,
        flags=0,
        request_hash=crypto.request_hash(5, tag, INFOTAINMENT),
        fault=0,
    )
    plaintext = crypto.gcm_decrypt(
        key, sealed.nonce, reply.protobuf_message_as_bytes, sealed.tag, response_metadata
    )
    assert plaintext == h(
        VECTORS["derived_aes_gcm_response_to_hvac_on"]["plaintext_carserver_response"]
    )


def test_car_answers_unsigned_whitelist_info_request() -> None:
    vector = VECTORS["spec_debug_tx_unsigned_vcsec_info_request"]
    ble = BleCar(VirtualCar())
    ble.add_known_key(h(VECTORS["spec_test_keys"]["client_public_uncompressed"]))
    assert h(vector["ble_frame"]) == frame(h(vector["routable_message"]))
    chunks: list[bytes] = []
    link = ble.connect(chunks.append)
    frame_bytes = h(vector["ble_frame"])
    for start in range(0, len(frame_bytes), 20):
        link.write(frame_bytes[start : start + 20])

    (reply,) = parse_frames(chunks)

    assert reply.to_destination.routing_address == h(
        vector["decoded"]["from_destination.routing_address"]
    )
    assert reply.request_uuid == h(vector["decoded"]["uuid"])
    info = FromVCSECMessage.FromString(reply.protobuf_message_as_bytes).whitelistInfo
    assert info.numberOfEntries == 1
    key_id = hashlib.sha1(h(VECTORS["spec_test_keys"]["client_public_uncompressed"])).digest()[:4]
    assert [entry.publicKeySHA1 for entry in info.whitelistEntries] == [key_id]
