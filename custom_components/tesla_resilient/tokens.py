"""Where a cloud link gets its bearer token: the user's own, or Home Assistant's OAuth2 session."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
import jwt
from homeassistant.const import CONF_ACCESS_TOKEN
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session

from .cloud_errors import Trace, cloud_error, from_status
from .const import (
    CONF_REFRESH_TOKEN,
    CONF_TOKEN_EXPIRES_AT,
    TESLA_TOKEN_LIFETIME,
    TOKEN_REFRESH_MARGIN,
    TOKEN_URL,
)
from .health import Outcome


class TokenSource(Protocol):
    """Where a link gets its bearer token, and whether it can get a fresh one."""

    async def access_token(self) -> str:
        """Return a token believed valid now."""

    async def force_refresh(self) -> bool:
        """Replace a token the server refused; return False when this source cannot."""


class StaticToken:
    """A token given by the user and never refreshed here (a provider's API token)."""

    def __init__(self, access_token: str) -> None:
        """Hold the token."""
        self._token = access_token

    async def access_token(self) -> str:
        """Return the token as given."""
        return self._token

    async def force_refresh(self) -> bool:
        """Refuse: a static token cannot be refreshed."""
        return False


class OAuthToken:
    """Tokens from Home Assistant's OAuth2 session for the entry, refreshed when due."""

    def __init__(self, session: OAuth2Session) -> None:
        """Use the entry's OAuth2 session."""
        self._session = session
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """Refresh when the token is about to expire, then return it."""
        async with self._lock:
            await self._guard(self._session.async_ensure_token_valid())
        token: str = self._session.token[CONF_ACCESS_TOKEN]
        return token

    async def force_refresh(self) -> bool:
        """Refresh now, whatever the stored expiry says."""
        async with self._lock:
            session = self._session
            new_token = await self._guard(session.implementation.async_refresh_token(session.token))
            session.hass.config_entries.async_update_entry(
                session.config_entry, data={**session.config_entry.data, "token": new_token}
            )
        return True

    @staticmethod
    async def _guard[T](pending: Awaitable[T]) -> T:
        try:
            return await pending
        except aiohttp.ClientResponseError as err:
            outcome = (
                Outcome.AUTH_FAILED
                if err.status in (400, 401, 403)
                else from_status(err.status, err, Trace()).outcome
            )
            raise cloud_error(
                outcome, sent=False, detail=f"token refresh HTTP {err.status}"
            ) from err
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise cloud_error(
                Outcome.TRANSPORT, sent=False, detail=f"token refresh {type(err).__name__}"
            ) from err


type TokenStore = Callable[[Mapping[str, Any]], None]
"""Keeps a refreshed token's access token, rotated refresh token and expiry at once."""


class RefreshingToken:
    """Tesla's own tokens, refreshed here: what a self-hosted tesla-http-proxy forwards to Tesla.

    The proxy holds no tokens of its own (vehicle-command `pkg/proxy`: it forwards the bearer
    token it is given), and Tesla's access tokens last about 8 hours; so the integration
    refreshes the access token against Tesla's token endpoint shortly before it expires or
    when an answer was 401, and stores the refresh token Tesla rotates at once, before it is
    used again.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        client_id: str,
        refresh_token: str,
        *,
        store: TokenStore,
        access_token: str | None = None,
        expires_at: float = 0.0,
        wall: Callable[[], float] = time.time,
        token_url: str | None = None,
    ) -> None:
        """Refresh with `client_id` and `refresh_token`; `store` keeps what each refresh gives."""
        self._session = session
        self._client_id = client_id
        self._refresh_token = refresh_token
        self._store = store
        self._access = access_token
        self._expires_at = expires_at
        self._wall = wall
        self._token_url = token_url
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        """Return the access token, refreshed first when it is missing or about to expire."""
        async with self._lock:
            margin = TOKEN_REFRESH_MARGIN.total_seconds()
            if self._access is None or self._wall() >= self._expires_at - margin:
                await self._refresh()
            assert self._access is not None
            return self._access

    async def force_refresh(self) -> bool:
        """Refresh now: the server refused the access token."""
        async with self._lock:
            await self._refresh()
        return True

    async def _refresh(self) -> None:
        """Ask Tesla for a new access token; raise CloudAuthError when it refuses the refresh token.

        Tesla answers a refresh token it no longer knows with 400 or 401 (`login_required`);
        anything else (5xx, no answer) says nothing about the sign-in.
        """
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "refresh_token": self._refresh_token,
        }
        url = self._token_url or TOKEN_URL
        try:
            async with self._session.post(url, data=form) as answer:
                if answer.status in (400, 401, 403):
                    raise cloud_error(
                        Outcome.AUTH_FAILED,
                        sent=False,
                        detail=f"token refresh HTTP {answer.status}",
                    )
                answer.raise_for_status()
                body = await answer.json(content_type=None)
        except aiohttp.ClientResponseError as err:
            raise from_status(err.status, err, Trace()) from err
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
            raise cloud_error(
                Outcome.TRANSPORT, sent=False, detail=f"token refresh {type(err).__name__}"
            ) from err
        access = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(access, str) or not access:
            raise cloud_error(Outcome.SERVER_ERROR, sent=False, detail="token refresh answer")
        lifetime = body.get("expires_in")
        if not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = TESLA_TOKEN_LIFETIME.total_seconds()
        self._access = access
        self._expires_at = self._wall() + float(lifetime)
        if isinstance(rotated := body.get("refresh_token"), str) and rotated:
            self._refresh_token = rotated
        self._store(
            {
                CONF_ACCESS_TOKEN: access,
                CONF_REFRESH_TOKEN: self._refresh_token,
                CONF_TOKEN_EXPIRES_AT: self._expires_at,
            }
        )


def _claims(access_token: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def token_scopes(access_token: str) -> frozenset[str] | None:
    """Return the scopes a Tesla JWT grants, or None when it is not a readable JWT."""
    scopes = (_claims(access_token) or {}).get("scp")
    if isinstance(scopes, str):
        return frozenset(scopes.split())
    if isinstance(scopes, list):
        return frozenset(str(scope) for scope in scopes)
    return None


def token_subject(access_token: str) -> str | None:
    """Return the account a Tesla JWT belongs to, or None when it is not a readable JWT."""
    subject = (_claims(access_token) or {}).get("sub")
    return str(subject) if subject else None
