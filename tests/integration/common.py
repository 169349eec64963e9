"""Helpers for the cloud path's tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.components.lock import DOMAIN as LOCK_DOMAIN
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_ACCESS_TOKEN,
    CONF_TOKEN,
    CONF_URL,
    SERVICE_LOCK,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.application_key import KEY_FILE
from custom_components.tesla_resilient.const import (
    CONF_APPLICATION_DOMAIN,
    CONF_PROVIDER,
    DOMAIN,
)
from custom_components.tesla_resilient.keys import generate_private_key, public_key_bytes
from custom_components.tesla_resilient.tokens import token_subject
from simulator.fleet_api import FleetApiSimulator

VIN = "5YJ3E7EB0NF000001"
OTHER_VIN = "5YJ3E7EB0NF000002"

APPLICATION_DOMAIN = "app.example.com"

type Advance = Callable[[float], Awaitable[None]]


def application_key_on_cars(
    hass: HomeAssistant, api: FleetApiSimulator, config_dir: Path, vins: Iterable[str] = (VIN,)
) -> dict[str, str]:
    """Give Home Assistant an application key, added to `vins` as with Tesla's virtual-key link.

    Home Assistant's configuration folder moves to `config_dir`, where the key file is written.
    Returns the entry options that name the application's domain.
    """
    hass.config.config_dir = str(config_dir)
    pem = generate_private_key()
    Path(hass.config.path(KEY_FILE)).write_text(pem)
    api.application_public_key = public_key_bytes(pem)
    for vin in vins:
        api.enroll_application_key(vin)
    return {CONF_APPLICATION_DOMAIN: APPLICATION_DOMAIN}


def account_entry(
    hass: HomeAssistant,
    api: FleetApiSimulator,
    *,
    oauth_token: dict[str, Any] | None = None,
    **options: Any,
) -> MockConfigEntry:
    """An entry of the simulator's account, added to Home Assistant.

    Signed in with Tesla when `oauth_token` is the token Home Assistant stored, else made the
    token way (Tesla's own Fleet API with an access token: Home Assistant signs). `options` go
    to MockConfigEntry (a title, subentries).
    """
    data: dict[str, Any] = {CONF_URL: api.base_url}
    if oauth_token is None:
        data |= {CONF_PROVIDER: "tesla", CONF_ACCESS_TOKEN: api.access_token}
    else:
        data |= {"auth_implementation": "sim", CONF_TOKEN: oauth_token}
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=token_subject(api.access_token), data=data, **options
    )
    entry.add_to_hass(hass)
    return entry


def entity_id(hass: HomeAssistant, platform: str, key: str) -> str:
    """The entity id of one of the car's entities, by its unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{VIN}-{key}")
    assert found is not None, f"{platform} {key} not registered"
    return found


def state_of(hass: HomeAssistant, platform: str, key: str) -> Any:
    """The state object of one of the car's entities."""
    state = hass.states.get(entity_id(hass, platform, key))
    assert state is not None
    return state


async def lock_doors(hass: HomeAssistant) -> None:
    """Lock the car through its door lock entity, as the dashboard does."""
    await hass.services.async_call(
        LOCK_DOMAIN, SERVICE_LOCK, {ATTR_ENTITY_ID: entity_id(hass, "lock", "doors")}, blocking=True
    )


def requests_to(sim: FleetApiSimulator, suffix: str) -> int:
    """How many requests reached a path ending in `suffix`."""
    return sum(1 for record in sim.requests if record.path.endswith(suffix))


@contextmanager
def tesla_servers_at(auth: FleetApiSimulator, regions: Sequence[str]) -> Iterator[None]:
    """Send Tesla's sign-in to `auth` and try the regional Fleet API servers `regions` in order."""
    with (
        patch(
            "custom_components.tesla_resilient.application_credentials.AUTHORIZE_URL",
            f"{auth.base_url}/oauth2/v3/authorize",
        ),
        patch(
            "custom_components.tesla_resilient.application_credentials.TOKEN_URL",
            f"{auth.base_url}/oauth2/v3/token",
        ),
        patch("custom_components.tesla_resilient.config_flow.FLEET_API_SERVERS", tuple(regions)),
    ):
        yield
