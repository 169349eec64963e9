"""Cryptography of Tesla's vehicle-command protocol, seen from the car's side.

The primitives both ends share (key agreement, metadata, tags, AES-GCM, request hashes) are the
integration's own `protocol.crypto`, as Tesla's vehicle-command defines them
(`pkg/protocol/protocol.md`, `internal/authentication`): tests/simulator/test_ble_vectors.py checks
the car with them against Tesla's vectors. What only the car does lives here: the verifier's
sliding window of counters (`internal/authentication/window.go`), keys from raw scalars.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from custom_components.tesla_resilient.keys import local_name
from custom_components.tesla_resilient.protocol.crypto import (
    GCM_TAG_SIZE,
    NONCE_SIZE,
    PUBLIC_KEY_SIZE,
    VCSEC_REQUEST_HASH_SIZE,
    InvalidPublicKey,
    command_metadata,
    encode_metadata,
    hmac_command_tag,
    load_public_key,
    request_hash,
    response_metadata,
    session_info_tag,
    shared_key,
    tags_equal,
    u32,
)
from custom_components.tesla_resilient.protocol.crypto import gcm_open as gcm_decrypt
from custom_components.tesla_resilient.protocol.crypto import gcm_seal as gcm_encrypt

__all__ = [
    "GCM_TAG_SIZE",
    "NONCE_SIZE",
    "PUBLIC_KEY_SIZE",
    "VCSEC_REQUEST_HASH_SIZE",
    "WINDOW_SIZE",
    "InvalidPublicKey",
    "command_hmac_key",
    "command_metadata",
    "ecdh_secret",
    "encode_metadata",
    "gcm_decrypt",
    "gcm_encrypt",
    "hmac_command_tag",
    "load_public_key",
    "local_name",
    "private_key_from_scalar",
    "public_bytes",
    "request_hash",
    "response_metadata",
    "session_info_key",
    "session_info_tag",
    "shared_key",
    "tags_equal",
    "u32",
    "update_sliding_window",
]

WINDOW_SIZE = 32
_UINT64_MASK = (1 << 64) - 1


def public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    """Encode a P-256 public key as 0x04 || X || Y."""
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    """Build a P-256 private key from its 32-byte big-endian scalar."""
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def ecdh_secret(private_key: ec.EllipticCurvePrivateKey, peer_public: bytes) -> bytes:
    """Return the ECDH x-coordinate, left-padded to 32 bytes."""
    secret = private_key.exchange(ec.ECDH(), load_public_key(peer_public))
    return secret.rjust(32, b"\x00")


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def session_info_key(key: bytes) -> bytes:
    """Return the key that authenticates session info."""
    return _hmac(key, b"session info")


def command_hmac_key(key: bytes) -> bytes:
    """Return the key that authenticates HMAC-signed commands."""
    return _hmac(key, b"authenticated command")


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
