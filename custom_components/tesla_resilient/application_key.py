"""The application's own key: kept in the configuration folder, signing for cars that have it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import serialization
from homeassistant.core import HomeAssistant

from .cloud import CloudLink
from .cloud_errors import CloudError
from .cloud_signing import CloudSigner
from .const import LOGGER
from .keys import generate_private_key, load_private_key
from .protocol import Keyring
from .redaction import SECRET_FILTER, private_key_forms

KEY_FILE: Final = "tesla_resilient.key"
"""The private key's file in Home Assistant's configuration folder, created when missing.

As core's tesla_fleet (`tesla_fleet.key`): the owner publishes the public half at
`https://<domain>/.well-known/appspecific/com.tesla.3p.public-key.pem`, registers the domain
with Tesla, and adds the key to each car with Tesla's link `https://tesla.com/_ak/<domain>`.
Such a key is a Fleet Manager key: it signs cloud commands, not Bluetooth ones.
"""
PUBLIC_KEY_PATH: Final = "/.well-known/appspecific/com.tesla.3p.public-key.pem"
"""Where on the application's domain Tesla fetches its public key."""
RECHECK_AFTER_S: Final = 60.0
"""How long a car's answer stands before a command may ask Tesla again whether it has the key:
the owner who just approved the key on the phone presses again within a minute or so, and a
car without it costs at most one request a minute however often its buttons are pressed."""


def _read_or_create(path: Path) -> str:
    """Return the key file's PEM, writing a new key (readable by its owner only) when missing."""
    if path.exists():
        return path.read_text()
    pem = generate_private_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(pem)
    return pem


async def async_public_key_pem(hass: HomeAssistant) -> str:
    """Return the public key to publish, creating the key pair first when there is none."""
    pem = await hass.async_add_executor_job(_read_or_create, Path(hass.config.path(KEY_FILE)))
    return (
        load_private_key(pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class ApplicationKey:
    """The application's key and the account's cars that have it (Tesla's `fleet_status`)."""

    def __init__(
        self, cloud: CloudLink, private_key_pem: str, monotonic: Callable[[], float]
    ) -> None:
        """Sign with the key in `private_key_pem`; no car counts as having it until checked."""
        self._cloud = cloud
        self._monotonic = monotonic
        self._key = load_private_key(private_key_pem)
        SECRET_FILTER.register(self, private_key_forms(private_key_pem, self._key))
        self.paired: frozenset[str] = frozenset()
        self._asked: dict[str, float] = {}

    @classmethod
    async def async_load(
        cls, hass: HomeAssistant, cloud: CloudLink, monotonic: Callable[[], float]
    ) -> ApplicationKey:
        """Load the key from the configuration folder, creating it when missing."""
        pem = await hass.async_add_executor_job(_read_or_create, Path(hass.config.path(KEY_FILE)))
        return cls(cloud, pem, monotonic)

    async def async_check(self, vins: list[str]) -> None:
        """Ask Tesla which of `vins` have the key; when it cannot tell, keep its last word."""
        if not vins:
            return
        now = self._monotonic()
        try:
            paired = await self._cloud.fleet_status(vins)
        except CloudError as err:
            LOGGER.debug("Could not ask which cars have the application's key: %s", err)
            return
        self.paired = (self.paired - set(vins)) | paired
        self._asked.update(dict.fromkeys(vins, now))

    async def async_has_key(self, vin: str) -> bool:
        """Whether `vin` has the key, asking Tesla again when its last answer is a minute old.

        For a command to a car that had no key: the owner may have added it since.
        """
        asked = self._asked.get(vin)
        if vin not in self.paired and (
            asked is None or self._monotonic() - asked >= RECHECK_AFTER_S
        ):
            await self.async_check([vin])
        return vin in self.paired

    def signer(self, vin: str) -> CloudSigner | None:
        """Return a signer for `vin` when the car has the key, else None."""
        if vin not in self.paired:
            return None
        return CloudSigner(
            self._cloud, vin, Keyring(self._key, vin, None), monotonic=self._monotonic
        )
