"""Keeps Bluetooth keys out of the logs: a filter that rewrites any record spelling a secret."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from typing import Final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

REDACTED: Final = "**REDACTED**"

_C_ESCAPES: Final = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}


def _c_escape(data: bytes) -> str:
    """Spell bytes as protobuf's text format does (octal escapes for the unprintable)."""
    return "".join(
        _C_ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte < 0x7F else f"\\{byte:03o}")
        for byte in data
    )


def secret_forms(secret: bytes) -> set[str]:
    """Return the ways a secret could be spelled in a log line."""
    forms = {
        secret.hex(),
        secret.hex().upper(),
        repr(secret)[2:-1],
        _c_escape(secret),
        str(int.from_bytes(secret, "big")),
    }
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + secret).decode()
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(secret)) // 6]
        forms |= {core, core.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= 12}


def private_key_forms(pem: str, key: ec.EllipticCurvePrivateKey) -> set[str]:
    """Return every spelling of a private key worth redacting: raw, hex, base64, DER and PEM."""
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    forms = secret_forms(scalar)
    encodings = [pem.strip()]
    for private_format in (
        serialization.PrivateFormat.PKCS8,
        serialization.PrivateFormat.TraditionalOpenSSL,
    ):
        der = key.private_bytes(
            serialization.Encoding.DER, private_format, serialization.NoEncryption()
        )
        forms |= secret_forms(der)
        encodings.append(
            key.private_bytes(
                serialization.Encoding.PEM, private_format, serialization.NoEncryption()
            )
            .decode()
            .strip()
        )
    for encoding in encodings:
        forms.add(encoding)
        forms.add(encoding.replace("\n", "\\n"))
        forms |= {
            line for line in encoding.splitlines() if len(line) >= 12 and not line.startswith("--")
        }
    return forms


class _SecretFilter(logging.Filter):
    """Rewrites any log record that spells a registered secret."""

    def __init__(self) -> None:
        super().__init__()
        self._owners: dict[int, frozenset[str]] = {}
        self._forms: tuple[str, ...] = ()

    def register(self, owner: object, forms: Iterable[str]) -> None:
        """Add secrets an owner holds."""
        self._owners[id(owner)] = self._owners.get(id(owner), frozenset()) | frozenset(forms)
        self._rebuild()

    def unregister(self, owner: object) -> None:
        """Forget an owner's secrets."""
        if self._owners.pop(id(owner), None) is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        self._forms = tuple(
            sorted({form for forms in self._owners.values() for form in forms}, key=len)[::-1]
        )

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact secrets from the formatted message; drop a record that cannot be formatted."""
        if not self._forms:
            return True
        try:
            message = record.getMessage()
        except Exception:
            return False
        redacted = message
        for form in self._forms:
            if form in redacted:
                redacted = redacted.replace(form, REDACTED)
        if redacted is not message:
            record.msg = redacted
            record.args = None
        return True


SECRET_FILTER: Final = _SecretFilter()
"""The one filter on the library's logger and this integration's Bluetooth loggers."""

FILTERED_LOGGERS: Final = (
    "tesla_fleet_api",
    "bleak",
    "bleak_retry_connector",
    "habluetooth",
    "custom_components.tesla_resilient",
)
"""Loggers whose records pass the filter: the libraries under the links and the integration's.

A filter on a logger sees only records logged to that very logger, so each module's logger of
the integration gets it as well (see `install`)."""


_INTEGRATION_MODULES: Final = tuple(
    f"custom_components.tesla_resilient.{module}"
    for module in (
        "ble",
        "ble_coordinator",
        "pairing",
        "protocol.messages",
        "protocol.session",
        "vehicle",
        "config_flow",
    )
)


def install() -> None:
    """Put the filter on every logger that may see Bluetooth key material; safe to repeat."""
    names = [*FILTERED_LOGGERS, *_INTEGRATION_MODULES]
    for name in names:
        logger = logging.getLogger(name)
        if SECRET_FILTER not in logger.filters:
            logger.addFilter(SECRET_FILTER)
