"""Bluetooth keys and names: P-256 key generation and loading, VIN hashes, the car's local name."""

from __future__ import annotations

import hashlib
import re
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

LOCAL_NAME_RE: Final = re.compile(r"^S[0-9a-f]{16}[CDRP]$")
"""Local name a Tesla advertises: S, the first 8 bytes of SHA-1(VIN) in hex, a suffix."""

VIN_RE: Final = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
"""A 17-character vehicle identification number (no I, O or Q)."""


class InvalidPrivateKey(ValueError):
    """Stored key material that is not a P-256 private key."""

    def __init__(self) -> None:
        """Say what is wrong without repeating the key."""
        super().__init__("not a P-256 private key")


def generate_private_key() -> str:
    """Return a new P-256 private key as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """Load a P-256 private key from PEM; the error never repeats the input."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise InvalidPrivateKey


def public_key_bytes(private_key_pem: str) -> bytes:
    """Return the 65-byte uncompressed public key of a PEM private key."""
    return (
        load_private_key(private_key_pem)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )


def vin_hash(vin: str) -> str:
    """Return the 16 hex digits a car's local name is built from."""
    return hashlib.sha1(vin.encode()).hexdigest()[:16]


def local_name(vin: str) -> str:
    """Return the local name a car advertises."""
    return f"S{vin_hash(vin)}C"


def is_car_local_name(name: str | None) -> bool:
    """Whether a Bluetooth local name is a Tesla's."""
    return name is not None and LOCAL_NAME_RE.match(name) is not None


def vin_matches_local_name(vin: str, name: str) -> bool:
    """Whether a car with this VIN advertises this local name."""
    return is_car_local_name(name) and name[1:17] == vin_hash(vin)
