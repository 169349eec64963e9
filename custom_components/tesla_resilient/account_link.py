"""How an entry reaches its cloud: its provider's tokens, its session and its health probe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError
from homeassistant.helpers.config_entry_oauth2_flow import (
    OAuth2Session,
    async_get_config_entry_implementation,
)

from .clock import Clock
from .cloud import CloudLink
from .cloud_session import cloud_session
from .const import (
    CONF_AUTH_IMPLEMENTATION,
    CONF_CA_CERT,
    CONF_CLIENT_ID,
    CONF_REFRESH_TOKEN,
    CONF_TESLA_SERVER,
    CONF_TOKEN_EXPIRES_AT,
    DOMAIN,
    FLEET_API_SERVERS,
    LOGGER,
)
from .models import TeslaResilientConfigEntry
from .providers import Provider
from .proxy_link import CertificateUnreadable, async_proxy_session
from .tokens import OAuthToken, RefreshingToken, StaticToken, TokenSource
from .tokens import token_scopes as jwt_scopes


def _granted_scopes(token: dict[str, Any]) -> frozenset[str] | None:
    """Scopes of an OAuth token: as the token endpoint listed them, or as the JWT claims."""
    if isinstance(scope := token.get("scope"), str):
        return frozenset(scope.split())
    return jwt_scopes(token[CONF_ACCESS_TOKEN])


async def _async_tokens(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, clock: Clock
) -> tuple[TokenSource, frozenset[str] | None]:
    if CONF_REFRESH_TOKEN in entry.data:
        current: str | None = entry.data.get(CONF_ACCESS_TOKEN)

        @callback
        def store(tokens: Mapping[str, Any]) -> None:
            hass.config_entries.async_update_entry(entry, data={**entry.data, **tokens})

        refreshing = RefreshingToken(
            cloud_session(hass),
            entry.data[CONF_CLIENT_ID],
            entry.data[CONF_REFRESH_TOKEN],
            store=store,
            access_token=current,
            expires_at=float(entry.data.get(CONF_TOKEN_EXPIRES_AT, 0.0)),
            wall=clock.wall,
        )
        return refreshing, None if current is None else jwt_scopes(current)
    if CONF_AUTH_IMPLEMENTATION not in entry.data:
        access_token: str = entry.data[CONF_ACCESS_TOKEN]
        return StaticToken(access_token), jwt_scopes(access_token)
    try:
        implementation = await async_get_config_entry_implementation(hass, entry)
    except ValueError as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="oauth_implementation_unavailable"
        ) from err
    session = OAuth2Session(hass, entry, implementation)
    return OAuthToken(session), _granted_scopes(entry.data[CONF_TOKEN])


async def _async_proxy_session(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry
) -> aiohttp.ClientSession:
    """Open the proxy's own TLS session, trusting its CA; it closes when the entry unloads."""
    try:
        session = await async_proxy_session(hass, entry.data.get(CONF_CA_CERT, ""))
    except CertificateUnreadable as err:
        raise ConfigEntryError(
            translation_domain=DOMAIN, translation_key="invalid_certificate"
        ) from err
    entry.async_on_unload(session.close)
    return session


async def async_cloud_link(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, clock: Clock, provider: Provider
) -> tuple[CloudLink, frozenset[str] | None]:
    """Return the entry's cloud link and the scopes its token grants (None when unknown).

    A proxy gets its own TLS session; every provider in front of Tesla has its /status probe
    sent to Tesla's own server, which tells whether Tesla answers while the provider does not.
    """
    tokens, scopes = await _async_tokens(hass, entry, clock)

    @callback
    def server_moved(url: str) -> None:
        LOGGER.info("Tesla moved the account to %s; using it from now on", url)
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_URL: url})

    session, status_probe = cloud_session(hass), None
    if provider is Provider.PROXY:
        session = await _async_proxy_session(hass, entry)
    if provider.separate_cloud:
        tesla = entry.data.get(CONF_TESLA_SERVER) or FLEET_API_SERVERS[0]
        status_probe = (cloud_session(hass), tesla)
    cloud = CloudLink(
        session,
        entry.data[CONF_URL],
        tokens,
        monotonic=clock.monotonic,
        on_server_moved=server_moved,
        status_probe=status_probe,
    )
    return cloud, scopes
