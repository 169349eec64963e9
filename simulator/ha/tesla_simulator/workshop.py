"""A second account for the demo: a Model S behind a self-hosted tesla-http-proxy over TLS."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.core import HomeAssistant

from custom_components.tesla_resilient import tokens
from simulator.fleet_api import FleetApiSimulator
from simulator.providers import ProviderFront, ProviderKind, self_signed_certificate
from simulator.vehicle import VirtualCar

from .const import (
    HOST,
    PROXY_CA,
    PROXY_DETAILS,
    PROXY_KEY,
    WORKSHOP_CAR_NAME,
    WORKSHOP_SECRET,
    WORKSHOP_TOKEN_LIFETIME_S,
    WORKSHOP_VIN,
)


def _certificate(config_dir: Path) -> tuple[bytes, bytes]:
    """Return the proxy's certificate and key, made once and kept, as the add-on keeps its own."""
    ca, key = config_dir / PROXY_CA, config_dir / PROXY_KEY
    if ca.exists() and key.exists():
        return ca.read_bytes(), key.read_bytes()
    certificate, private_key = self_signed_certificate(HOST)
    ca.write_bytes(certificate)
    key.write_bytes(private_key)
    key.chmod(0o600)
    return certificate, private_key


def _write_details(config_dir: Path, front: ProviderFront, api: FleetApiSimulator) -> None:
    """Write what the proxy form asks, readable by the owner only: it holds a refresh token."""
    details = {
        "url": front.base_url,
        "ca_certificate": str(config_dir / PROXY_CA),
        "refresh_token": api.refresh_token,
        "client_id": api.client_id,
    }
    path = config_dir / PROXY_DETAILS
    path.write_text(json.dumps(details, indent=2))
    path.chmod(0o600)


class Workshop:
    """The workshop's account (its own simulated Fleet API) and the proxy in front of it."""

    def __init__(self, api: FleetApiSimulator, front: ProviderFront) -> None:
        """Hold the account and its proxy."""
        self.api = api
        self.front = front

    async def stop(self) -> None:
        """Stop the proxy, then the account's cloud."""
        await self.front.stop()
        await self.api.stop()


async def async_start_workshop(hass: HomeAssistant, port: int) -> Workshop:
    """Start the workshop account on `port` and its proxy on the next; say how to add it.

    Tesla's token endpoint is the workshop account's own in this simulated world, so the proxy
    entry's refreshes go there; the details land in the configuration folder.
    """
    config_dir = Path(hass.config.config_dir)
    car = VirtualCar(vin=WORKSHOP_VIN, display_name=WORKSHOP_CAR_NAME)
    api = FleetApiSimulator(
        car,
        host=HOST,
        port=port,
        token_lifetime_s=WORKSHOP_TOKEN_LIFETIME_S,
        secret=WORKSHOP_SECRET,
    )
    await api.start()
    tokens.TOKEN_URL = f"{api.base_url}/oauth2/v3/token"  # type: ignore[attr-defined]
    certificate = await hass.async_add_executor_job(_certificate, config_dir)
    front = ProviderFront(
        ProviderKind.PROXY, api, host=HOST, port=port + 1, certificate=certificate
    )
    try:
        await front.start()
    except OSError:
        await api.stop()
        raise
    await hass.async_add_executor_job(_write_details, config_dir, front, api)
    return Workshop(api, front)
