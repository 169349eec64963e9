"""Where a cloud link gets its bearer token: the user's own, or Home Assistant's OAuth2 session."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, Protocol

import aiohttp
import jwt
from homeassistant.const import CONF_ACCESS_TOKEN
from homeassistant.helpers.config_entry_oauth2_flow import OAuth2Session

from .cloud_errors import Trace, cloud_error, from_status
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
