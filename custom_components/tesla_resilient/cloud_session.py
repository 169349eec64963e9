"""The shared cloud session: Home Assistant's aiohttp session, traced and bounded in time."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Final

import aiohttp
from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_create_clientsession
from homeassistant.helpers.singleton import singleton
from homeassistant.util.hass_dict import HassKey

from .cloud_errors import Trace, parse_retry_after
from .const import CONNECT_TIMEOUT, DOMAIN, REQUEST_TIMEOUT

TRACE: ContextVar[Trace | None] = ContextVar("tesla_resilient_cloud_trace", default=None)


async def _on_headers_sent(
    _session: aiohttp.ClientSession, _context: Any, _params: aiohttp.TraceRequestHeadersSentParams
) -> None:
    if (trace := TRACE.get()) is not None:
        trace.attempted = True


async def _on_request_end(
    _session: aiohttp.ClientSession, _context: Any, params: aiohttp.TraceRequestEndParams
) -> None:
    if (trace := TRACE.get()) is not None:
        trace.status = params.response.status
        trace.retry_after = parse_retry_after(params.response.headers.get("Retry-After"))


def trace_config() -> aiohttp.TraceConfig:
    """Aiohttp's tracing hooks that note in the running call's trace what the server answered.

    The library turns answers into its own exceptions and keeps the status line and headers to
    itself; aiohttp's public tracing tells the link whether a request went out (its headers were
    sent: a call that timed out before that never reached the server), its status and its
    Retry-After, whichever library version made the request.
    """
    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(_on_headers_sent)
    config.on_request_end.append(_on_request_end)
    return config


REQUEST_TIMEOUTS: Final = aiohttp.ClientTimeout(
    total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT, sock_read=REQUEST_TIMEOUT
)
"""Per request: a refused or unreachable server fails fast, a slow answer within the read budget."""


DATA_CLOUD_SESSION: HassKey[aiohttp.ClientSession] = HassKey(f"{DOMAIN}_cloud_session")
"""Where the shared cloud session is kept; put one there before setup to use another connector."""


@singleton(DATA_CLOUD_SESSION)
@callback
def cloud_session(hass: HomeAssistant) -> aiohttp.ClientSession:
    """Return the one HTTP session all cloud links share: traced and bounded in time.

    It belongs to no config entry (one entry unloading must not close it for the others and
    for config flows), so it is closed when Home Assistant closes. One given in
    hass.data[DATA_CLOUD_SESSION] before setup (a test's, say) is used instead; it needs
    `trace_config()` and `REQUEST_TIMEOUTS` like this one.
    """
    session = async_create_clientsession(
        hass, auto_cleanup=False, timeout=REQUEST_TIMEOUTS, trace_configs=[trace_config()]
    )

    async def _close(_event: Event) -> None:
        await session.close()

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, _close)
    return session
