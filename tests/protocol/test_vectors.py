"""The integration's protocol module against Tesla's published vectors (tests/fixtures).

Each test builds or checks what a real car and Tesla's own client agree on: the shared key, the
session-info tag, a signed command byte for byte, an encrypted answer, the add-key request.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custom_components.tesla_resilient.protocol import (
    INFOTAINMENT,
    VCSEC,
    CarKeyChanged,
    KeyNotOnCar,
    Keyring,
    RoutableMessage,
    Session,
    Signature,
    UntrustedReply,
    add_key_request,
    crypto,
    read_reply,
)
from custom_components.tesla_resilient.protocol.proto import signatures, vcsec

VECTORS: dict[str, dict[str, Any]] = {
    vector["id"]: vector
    for vector in json.loads(
        (Path(__file__).parents[1] / "fixtures" / "tesla_protocol_vectors.json").read_text()
    )["vectors"]
}


def h(value: str) -> bytes:
    return bytes.fromhex(value)


def key_from(scalar: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(h(scalar), "big"), ec.SECP256R1())


class Clock:
    """Seconds on our side, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spec_session(
    pinned: bytes | None = None, nonce: bytes = b""
) -> tuple[Session, Clock, dict[str, Any]]:
    """protocol.md's client, its infotainment session and the handshake it answers."""
    keys = VECTORS["spec_test_keys"]
    handshake = VECTORS["spec_handshake"]
    keyring = Keyring(key_from(keys["client_private_scalar"]), handshake["vin"], pinned)
    clock = Clock()
    session = Session(keyring, INFOTAINMENT, clock=clock, random=lambda size: nonce[:size])
    return session, clock, handshake


def session_info_reply(handshake: dict[str, Any], tag: str | None = None) -> RoutableMessage:
    reply = RoutableMessage()
    reply.to_destination.routing_address = h(handshake["client_routing_address"])
    reply.from_destination.domain = INFOTAINMENT  # type: ignore[assignment]
    reply.request_uuid = h(handshake["request_uuid"])
    reply.session_info = h(handshake["session_info_bytes"])
    reply.signature_data.session_info_tag.tag = h(tag or handshake["session_info_tag"])
    return reply


# -- key agreement and metadata ------------------------------------------------------------------


def test_shared_key_matches_the_spec_and_pads_a_leading_zero() -> None:
    agreement = VECTORS["spec_key_agreement"]
    shared = crypto.shared_key(
        key_from(agreement["client_private_scalar"]), h(agreement["vehicle_public_uncompressed"])
    )
    assert shared.hex() == agreement["shared_key_K"]

    padded = VECTORS["go_ecdh_shared_secret_leading_zero"]
    assert padded["shared_secret_x"].startswith("00")
    shared = crypto.shared_key(
        key_from(padded["vehicle_private_scalar"]), h(padded["phone_public_uncompressed"])
    )
    assert shared.hex() == padded["derived_shared_key_K"]


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x04" + bytes(64), b"\x02" + bytes(32), bytes(65)],
    ids=["empty", "inf", "c", "0"],
)
def test_bytes_that_are_no_public_key_are_refused(raw: bytes) -> None:
    with pytest.raises(crypto.InvalidPublicKey):
        crypto.load_public_key(raw)


def test_metadata_and_request_hash_match_the_vectors() -> None:
    tlv = VECTORS["spec_metadata_tlv_examples"]
    assert crypto.encode_metadata([(2, b"abc"), (5, crypto.u32(100))]) == h(
        tlv["serialize_counter100_vin_abc"]
    )
    with pytest.raises(ValueError):
        crypto.encode_metadata([(5, b""), (2, b"")])
    ids = VECTORS["go_request_id_hash"]
    tag = h(ids["hmac_tag"])
    assert crypto.request_hash(8, tag, VCSEC).hex() == ids["vcsec_request_hash"]
    assert crypto.request_hash(8, tag, INFOTAINMENT).hex() == ids["infotainment_request_hash"]


# -- session info --------------------------------------------------------------------------------


def test_session_info_with_its_tag_starts_the_session_and_pins_the_car() -> None:
    session, clock, handshake = spec_session()
    decoded = handshake["session_info_decoded"]

    session.accept_session_info(session_info_reply(handshake), h(handshake["request_uuid"]))

    assert session.ready
    assert session.epoch.hex() == decoded["epoch"]
    assert session.counter == decoded["counter"]
    assert session.car_clock() == decoded["clock_time"]
    clock.now += 5
    assert session.car_clock() == decoded["clock_time"] + 5
    assert session.keyring.pinned == h(decoded["publicKey"])


def test_session_info_answering_another_challenge_or_with_a_bad_tag_is_untrusted() -> None:
    session, _clock, handshake = spec_session()
    other_challenge = bytes(16)
    with pytest.raises(UntrustedReply):
        session.accept_session_info(session_info_reply(handshake), other_challenge)
    forged = session_info_reply(handshake, tag="00" * 32)
    with pytest.raises(UntrustedReply):
        session.accept_session_info(forged, h(handshake["request_uuid"]))
    assert not session.ready
    assert session.keyring.pinned is None


def test_authentic_session_info_from_an_unpinned_car_key_is_refused() -> None:
    other_car = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    session, _clock, handshake = spec_session(pinned=other_car)

    with pytest.raises(CarKeyChanged):
        session.accept_session_info(session_info_reply(handshake), h(handshake["request_uuid"]))
    assert not session.ready


def test_unknown_key_answer_says_so() -> None:
    session, _clock, handshake = spec_session()
    reply = session_info_reply(handshake)
    reply.session_info = signatures.SessionInfo(
        status=signatures.Session_Info_Status.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
    ).SerializeToString()
    with pytest.raises(KeyNotOnCar):
        session.accept_session_info(reply, h(handshake["request_uuid"]))


# -- signing -------------------------------------------------------------------------------------


def _spec_command_session(signature_nonce: bytes = b"") -> tuple[Session, dict[str, Any]]:
    command = VECTORS["spec_aes_gcm_command_hvac_on"]
    session, _clock, handshake = spec_session(nonce=signature_nonce or h(command["nonce"]))
    session.accept_session_info(session_info_reply(handshake), h(handshake["request_uuid"]))
    return session, command


def test_aes_gcm_command_matches_the_spec_byte_for_byte() -> None:
    session, command = _spec_command_session()
    ttl = command["expires_at"] - VECTORS["spec_handshake"]["session_info_decoded"]["clock_time"]

    request = session.sign(
        h(command["plaintext_carserver_action"]),
        h(command["client_routing_address"]),
        encrypt_reply=False,
        ttl_s=ttl,
    )

    message = request.message
    data = message.signature_data.AES_GCM_Personalized_data
    assert message.to_destination.domain == command["domain"]
    assert message.protobuf_message_as_bytes.hex() == command["ciphertext"]
    assert data.tag.hex() == command["tag"]
    assert (data.counter, data.expires_at, data.epoch.hex()) == (
        command["counter"],
        command["expires_at"],
        command["epoch"],
    )
    assert message.signature_data.signer_identity.public_key.hex() == command["signer_public_key"]
    assert (
        request.request_hash.hex() == VECTORS["derived_aes_gcm_response_to_hvac_on"]["request_hash"]
    )


def test_hmac_command_for_the_cloud_route_matches_its_vector() -> None:
    session, command = _spec_command_session()
    hmac_vector = VECTORS["derived_hmac_personalized_hvac_on"]
    ttl = command["expires_at"] - VECTORS["spec_handshake"]["session_info_decoded"]["clock_time"]

    request = session.sign(
        h(hmac_vector["payload"]),
        h(command["client_routing_address"]),
        signature=Signature.HMAC,
        encrypt_reply=False,
        ttl_s=ttl,
    )

    data = request.message.signature_data.HMAC_Personalized_data
    assert data.tag.hex() == hmac_vector["tag"]
    assert request.message.protobuf_message_as_bytes.hex() == hmac_vector["payload"]
    assert request.request_hash.hex() == hmac_vector["request_hash_if_sent_to_infotainment"]


def test_each_command_takes_the_next_counter() -> None:
    session, command = _spec_command_session(signature_nonce=bytes(12))
    first = session.sign(b"\x01", bytes(16))
    second = session.sign(b"\x01", bytes(16))
    data = [r.message.signature_data.AES_GCM_Personalized_data for r in (first, second)]
    assert [d.counter for d in data] == [command["counter"], command["counter"] + 1]
    assert first.message.flags == 2
    assert first.message.uuid != second.message.uuid


# -- answers -------------------------------------------------------------------------------------


def _encrypted_answer(counter: int | None = None) -> tuple[Session, Any, RoutableMessage]:
    session, command = _spec_command_session()
    answer = VECTORS["derived_aes_gcm_response_to_hvac_on"]
    ttl = command["expires_at"] - VECTORS["spec_handshake"]["session_info_decoded"]["clock_time"]
    request = session.sign(
        h(command["plaintext_carserver_action"]),
        h(command["client_routing_address"]),
        encrypt_reply=True,
        ttl_s=ttl,
    )
    # The vector's request is the spec's (flags 0); its hash, not the flags, binds the answer.
    request.request_hash = h(answer["request_hash"])
    reply = RoutableMessage()
    reply.from_destination.domain = answer["response_domain"]
    reply.request_uuid = request.uuid
    reply.protobuf_message_as_bytes = h(answer["ciphertext"])
    data = reply.signature_data.AES_GCM_Response_data
    data.nonce = h(answer["nonce"])
    data.counter = answer["response_counter"] if counter is None else counter
    data.tag = h(answer["tag"])
    return session, request, reply


def test_encrypted_answer_opens_once_and_a_replay_is_untrusted() -> None:
    session, request, reply = _encrypted_answer()
    expected = VECTORS["derived_aes_gcm_response_to_hvac_on"]["plaintext_carserver_response"]

    assert session.open(request, reply).hex() == expected
    with pytest.raises(UntrustedReply):
        session.open(request, reply)


def test_answer_for_another_request_or_with_another_counter_is_untrusted() -> None:
    session, request, reply = _encrypted_answer(counter=2)
    with pytest.raises(UntrustedReply):
        session.open(request, reply)
    session, request, reply = _encrypted_answer()
    request.request_hash = bytes(17)
    with pytest.raises(UntrustedReply):
        session.open(request, reply)


def test_plaintext_answer_to_a_request_that_asked_for_encryption_is_untrusted() -> None:
    session, request, reply = _encrypted_answer()
    reply.ClearField("signature_data")
    reply.protobuf_message_as_bytes = h(
        VECTORS["derived_aes_gcm_response_to_hvac_on"]["plaintext_carserver_response"]
    )
    with pytest.raises(UntrustedReply):
        read_reply(session, request, reply)


def test_a_fault_with_fresh_session_info_resynchronises() -> None:
    session, command = _spec_command_session()
    handshake = VECTORS["spec_handshake"]
    request = session.sign(b"\x01", h(command["client_routing_address"]))
    request.message.uuid = h(handshake["request_uuid"])
    reply = session_info_reply(handshake)
    reply.signedMessageStatus.signed_message_fault = 4  # type: ignore[assignment]
    session.counter = 99

    answer = read_reply(session, request, reply)

    assert answer.authentic
    assert answer.fault == 4
    assert session.counter == handshake["session_info_decoded"]["counter"]


# -- pairing -------------------------------------------------------------------------------------


def test_add_key_request_is_a_bare_present_key_message() -> None:
    public = h(VECTORS["spec_test_keys"]["client_public_uncompressed"])

    envelope = vcsec.ToVCSECMessage.FromString(add_key_request(public))

    signed = envelope.signedMessage
    assert signed.signatureType == vcsec.SignatureType.SIGNATURE_TYPE_PRESENT_KEY
    operation = vcsec.UnsignedMessage.FromString(signed.protobufMessageAsBytes).WhitelistOperation
    change = operation.addKeyToWhitelistAndAddPermissions
    assert change.key.PublicKeyRaw == public
    assert operation.metadataForKey.keyFormFactor == vcsec.KeyFormFactor.KEY_FORM_FACTOR_CLOUD_KEY
    # Not a RoutableMessage in disguise: no destination, no payload field of one.
    assert not RoutableMessage.FromString(add_key_request(public)).HasField("to_destination")
