"""Cryptography of Tesla's vehicle-command protocol, seen from the car's side."""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tesla_fleet_api.tesla.vehicle.proto.signatures_pb2 import SignatureType, Tag
from tesla_fleet_api.tesla.vehicle.proto.universal_message_pb2 import Domain

PUBLIC_KEY_SIZE = 65
NONCE_SIZE = 12
GCM_TAG_SIZE = 16
WINDOW_SIZE = 32
VCSEC_REQUEST_HASH_SIZE = 17
_UINT64_MASK = (1 << 64) - 1


class InvalidPublicKey(ValueError):
    """Bytes that are not an uncompressed point on P-256."""


def local_name(vin: str) -> str:
    """Return the BLE local name a car with this VIN advertises."""
    return "S" + hashlib.sha1(vin.encode()).digest()[:8].hex() + "C"


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """Encode a P-256 public key as 0x04 || X || Y."""
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """Decode an uncompressed P-256 public key, refusing anything else."""
    if len(raw) != PUBLIC_KEY_SIZE or raw[0] != 0x04:
        raise InvalidPublicKey("not an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as err:
        raise InvalidPublicKey("not a point on P-256") from err


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """Build a P-256 private key from its 32-byte big-endian scalar."""
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def ecdh_secret(private_key: ec.EllipticCurvePrivateKey, peer_public: bytes) -> bytes:
    """Return the ECDH x-coordinate, left-padded to 32 bytes."""
    secret = private_key.exchange(ec.ECDH(), load_public_key(peer_public))
    return secret.rjust(32, b"\x00")


def shared_key(private_key: ec.EllipticCurvePrivateKey, peer_public: bytes) -> bytes:
    """Return the session key K = SHA1(ECDH x-coordinate)[:16]."""
    return hashlib.sha1(ecdh_secret(private_key, peer_public)).digest()[:16]


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def session_info_key(key: bytes) -> bytes:
    """Return the key that authenticates session info."""
    return _hmac(key, b"session info")


def command_hmac_key(key: bytes) -> bytes:
    """Return the key that authenticates HMAC-signed commands."""
    return _hmac(key, b"authenticated command")


def u32(value: int) -> bytes:
    """Encode an unsigned 32-bit integer big-endian."""
    return struct.pack(">I", value)


def encode_metadata(items: Iterable[tuple[int, bytes]]) -> bytes:
    """Serialize metadata as TLV entries in ascending tag order, ended by TAG_END."""
    out = bytearray()
    last = -1
    for tag, value in items:
        if tag <= last:
            raise ValueError("metadata tags must be strictly ascending")
        if len(value) > 255:
            raise ValueError("metadata value longer than 255 bytes")
        out += bytes((tag, len(value))) + value
        last = tag
    out.append(Tag.TAG_END)
    return bytes(out)


def session_info_tag(key: bytes, vin: str, challenge: bytes, session_info: bytes) -> bytes:
    """Authenticate serialized session info for the client that sent `challenge`."""
    metadata = encode_metadata(
        (
            (Tag.TAG_SIGNATURE_TYPE, bytes((SignatureType.SIGNATURE_TYPE_HMAC,))),
            (Tag.TAG_PERSONALIZATION, vin.encode()),
            (Tag.TAG_CHALLENGE, challenge),
        )
    )
    return _hmac(session_info_key(key), metadata + session_info)


def command_metadata(
    *,
    signature_type: int,
    domain: int,
    vin: str,
    epoch: bytes,
    expires_at: int,
    counter: int,
    flags: int,
) -> bytes:
    """Serialize the metadata a signed command is authenticated over."""
    items: list[tuple[int, bytes]] = [
        (Tag.TAG_SIGNATURE_TYPE, bytes((signature_type,))),
        (Tag.TAG_DOMAIN, bytes((domain,))),
        (Tag.TAG_PERSONALIZATION, vin.encode()),
    ]
    if epoch:
        items.append((Tag.TAG_EPOCH, epoch))
    items += [(Tag.TAG_EXPIRES_AT, u32(expires_at)), (Tag.TAG_COUNTER, u32(counter))]
    if flags:
        items.append((Tag.TAG_FLAGS, u32(flags)))
    return encode_metadata(items)


def response_metadata(
    *, domain: int, vin: str, counter: int, flags: int, request_hash: bytes, fault: int
) -> bytes:
    """Serialize the metadata an encrypted response is authenticated over."""
    return encode_metadata(
        (
            (Tag.TAG_SIGNATURE_TYPE, bytes((SignatureType.SIGNATURE_TYPE_AES_GCM_RESPONSE,))),
            (Tag.TAG_DOMAIN, bytes((domain,))),
            (Tag.TAG_PERSONALIZATION, vin.encode()),
            (Tag.TAG_COUNTER, u32(counter)),
            (Tag.TAG_FLAGS, u32(flags)),
            (Tag.TAG_REQUEST_HASH, request_hash),
            (Tag.TAG_FAULT, u32(fault)),
        )
    )


def request_hash(signature_type: int, tag: bytes, domain: int) -> bytes:
    """Identify a request in its response: signature type byte || tag, short for VCSEC."""
    digest = bytes((signature_type,)) + tag
    if domain == Domain.DOMAIN_VEHICLE_SECURITY:
        return digest[:VCSEC_REQUEST_HASH_SIZE]
    return digest


def gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, metadata: bytes) -> tuple[bytes, bytes]:
    """Encrypt with AES-GCM over AAD = SHA256(metadata); return (ciphertext, tag)."""
    sealed = AESGCM(key).encrypt(nonce, plaintext, hashlib.sha256(metadata).digest())
    return sealed[:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]


def gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, metadata: bytes) -> bytes:
    """Decrypt AES-GCM over AAD = SHA256(metadata); raise InvalidTag when forged."""
    if len(nonce) != NONCE_SIZE or len(tag) != GCM_TAG_SIZE:
        raise InvalidTag
    return AESGCM(key).decrypt(nonce, ciphertext + tag, hashlib.sha256(metadata).digest())


def hmac_command_tag(key: bytes, metadata: bytes, payload: bytes) -> bytes:
    """Return the HMAC-SHA256 tag of an HMAC-personalized command."""
    return _hmac(command_hmac_key(key), metadata + payload)


def tags_equal(left: bytes, right: bytes) -> bool:
    """Compare authentication tags in constant time."""
    return hmac.compare_digest(left, right)


def update_sliding_window(counter: int, window: int, new: int) -> tuple[int, int, bool]:
    """Accept `new` unless already seen or too old; return (counter, window, accepted).

    `counter` is the highest counter seen; bit n of `window` marks counter - n - 1 as seen.
    """
    if new > counter:
        shift = new - counter
        if shift > 64:
            return new, 0, True
        return new, ((window << shift) | (1 << (shift - 1))) & _UINT64_MASK, True
    age = counter - new
    if age == 0 or age > WINDOW_SIZE:
        return counter, window, False
    bit = 1 << (age - 1)
    if window & bit:
        return counter, window, False
    return counter, window | bit, True
