"""A self-hosted tesla-http-proxy's link: its CA, its own TLS session, Tesla's tokens kept fresh."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Final

import aiohttp
from homeassistant.core import HomeAssistant

from .cloud_session import REQUEST_TIMEOUTS, trace_config

PEM_BEGIN: Final = "-----BEGIN CERTIFICATE-----"


class CertificateUnreadable(Exception):
    """The CA certificate given is neither PEM text nor a readable file of it."""


def _read_ca(given: str) -> str:
    """Return PEM text: as given, or read from the file it names (blocking)."""
    text = given.strip()
    if not text or text.startswith(PEM_BEGIN):
        return text
    try:
        pem = Path(text).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CertificateUnreadable(type(err).__name__) from err
    if PEM_BEGIN not in pem:
        raise CertificateUnreadable("no PEM certificate in the file")
    return pem


def _ssl_context(given: str) -> ssl.SSLContext:
    """Build a context that trusts the proxy's CA, checking host names as usual (blocking).

    Without a CA the system's trusted authorities check the proxy, as for any server.
    """
    pem = _read_ca(given)
    try:
        return ssl.create_default_context(cadata=pem or None)
    except (ssl.SSLError, ValueError) as err:
        raise CertificateUnreadable(type(err).__name__) from err


async def async_proxy_session(hass: HomeAssistant, ca_certificate: str) -> aiohttp.ClientSession:
    """Open the proxy's own session: its CA trusted, traced and bounded like `cloud_session`.

    Its owner closes it (the entry when it unloads, the config flow when its check ends).
    `ssl.create_default_context` reads the CA and the system's store: it runs in the executor.
    """
    context = await hass.async_add_executor_job(_ssl_context, ca_certificate)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=REQUEST_TIMEOUTS,
        trace_configs=[trace_config()],
    )
