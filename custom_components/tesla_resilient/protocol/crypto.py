"""The protocol's cryptography: key agreement, metadata, tags, AES-GCM and request hashes."""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Iterable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .proto import signatures, universal

# As vehicle-command defines them: pkg/protocol/protocol.md and internal/authentication
# (ecdh.go, metadata.go, peer.go); tests/protocol checks them against its vectors.

PUBLIC_KEY_SIZE: Final = 65
NONCE_SIZE: Final = 12
GCM_TAG_SIZE: Final = 16
VCSEC_REQUEST_HASH_SIZE: Final = 17
"""The security controller echoes a request hash cut to this many bytes."""

Tag = signatures.Tag
SignatureType = signatures.SignatureType

AES_GCM_PERSONALIZED: Final = SignatureType.SIGNATURE_TYPE_AES_GCM_PERSONALIZED
HMAC_PERSONALIZED: Final = SignatureType.SIGNATURE_TYPE_HMAC_PERSONALIZED
AES_GCM_RESPONSE: Final = SignatureType.SIGNATURE_TYPE_AES_GCM_RESPONSE

_SESSION_INFO_LABEL: Final = b"session info"
_COMMAND_LABEL: Final = b"authenticated command"


class InvalidPublicKey(ValueError):
    """Bytes that are not an uncompressed point on P-256."""

    def __init__(self) -> None:
        """Say what is wrong without repeating the bytes."""
        super().__init__("not an uncompressed P-256 public key")


def load_public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """Decode an uncompressed P-256 public key, refusing anything else."""
    if len(raw) != PUBLIC_KEY_SIZE or raw[:1] != b"\x04":
        raise InvalidPublicKey
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as err:
        raise InvalidPublicKey from err


def shared_key(private_key: ec.EllipticCurvePrivateKey, peer_public: bytes) -> bytes:
    """Return K = SHA1(ECDH x-coordinate, left-padded to 32 bytes)[:16]."""
    secret = private_key.exchange(ec.ECDH(), load_public_key(peer_public)).rjust(32, b"\x00")
    return hashlib.sha1(secret).digest()[:16]


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def tags_equal(left: bytes, right: bytes) -> bool:
    """Compare authentication tags in constant time."""
    return hmac.compare_digest(left, right)


def u32(value: int) -> bytes:
    """Encode an unsigned 32-bit integer big-endian."""
    return struct.pack(">I", value)


def encode_metadata(items: Iterable[tuple[int, bytes]]) -> bytes:
    """Serialize metadata as TLV entries (tag, 1-byte length, value) in ascending tag order."""
    out = bytearray()
    last = -1
    for tag, value in items:
        if tag <= last or len(value) > 255:
            raise ValueError("metadata tags must ascend and values fit 255 bytes")
        out += bytes((tag, len(value))) + value
        last = tag
    out.append(Tag.TAG_END)
    return bytes(out)


def session_info_tag(key: bytes, vin: str, challenge: bytes, session_info: bytes) -> bytes:
    """Return the HMAC a car puts on session info sent in answer to `challenge`."""
    metadata = encode_metadata(
        (
            (Tag.TAG_SIGNATURE_TYPE, bytes((SignatureType.SIGNATURE_TYPE_HMAC,))),
            (Tag.TAG_PERSONALIZATION, vin.encode()),
            (Tag.TAG_CHALLENGE, challenge),
        )
    )
    return _hmac(_hmac(key, _SESSION_INFO_LABEL), metadata + session_info)


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
    """Serialize the metadata a signed command is authenticated over (EPOCH and FLAGS when set)."""
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
    """Serialize the metadata an encrypted response is authenticated over (FLAGS always)."""
    return encode_metadata(
        (
            (Tag.TAG_SIGNATURE_TYPE, bytes((AES_GCM_RESPONSE,))),
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
    if domain == universal.Domain.DOMAIN_VEHICLE_SECURITY:
        return digest[:VCSEC_REQUEST_HASH_SIZE]
    return digest


def gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, metadata: bytes) -> tuple[bytes, bytes]:
    """Encrypt with AES-GCM over AAD = SHA256(metadata); return (ciphertext, tag)."""
    sealed = AESGCM(key).encrypt(nonce, plaintext, hashlib.sha256(metadata).digest())
    return sealed[:-GCM_TAG_SIZE], sealed[-GCM_TAG_SIZE:]


def gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, tag: bytes, metadata: bytes) -> bytes:
    """Decrypt AES-GCM over AAD = SHA256(metadata); raise InvalidTag when forged or malformed."""
    if len(nonce) != NONCE_SIZE or len(tag) != GCM_TAG_SIZE:
        raise InvalidTag
    return AESGCM(key).decrypt(nonce, ciphertext + tag, hashlib.sha256(metadata).digest())


def hmac_command_tag(key: bytes, metadata: bytes, payload: bytes) -> bytes:
    """Return the tag of an HMAC-personalized command (the Fleet API's signed commands)."""
    return _hmac(_hmac(key, _COMMAND_LABEL), metadata + payload)
