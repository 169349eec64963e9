"""Who serves an account's Fleet API: Tesla itself, Teslemetry, Tessie or a self-hosted proxy."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from yarl import URL

from .const import CONF_AUTH_IMPLEMENTATION, CONF_PROVIDER


class Provider(StrEnum):
    """The server an entry's cloud link talks to, and so who signs its commands."""

    TESLA = "tesla"
    """Tesla's own Fleet API: commands to most cars are signed here, with a key the car knows."""
    TESLEMETRY = "teslemetry"
    """Teslemetry: a long-lived token; it signs commands with its own key on the car."""
    TESSIE = "tessie"
    """Tessie: a long-lived token; it signs, wakes and reads the car's answers itself."""
    PROXY = "proxy"
    """A self-hosted tesla-http-proxy: it signs with its key and forwards Tesla's 8-hour tokens."""

    @property
    def label(self) -> str:
        """The provider's name as its users know it."""
        return _LABELS[self]

    @property
    def signs_commands(self) -> bool:
        """Whether the provider signs commands itself, so the integration sends them plain."""
        return self is not Provider.TESLA

    @property
    def separate_cloud(self) -> bool:
        """Whether the provider is a party of its own between Home Assistant and Tesla's cloud."""
        return self is not Provider.TESLA


_LABELS: Final = {
    Provider.TESLA: "Tesla Fleet API",
    Provider.TESLEMETRY: "Teslemetry",
    Provider.TESSIE: "Tessie",
    Provider.PROXY: "tesla-http-proxy (Tesla Fleet API)",
}
_HOSTS: Final = {
    "api.teslemetry.com": Provider.TESLEMETRY,
    "api.tessie.com": Provider.TESSIE,
}
_TESLA_SUFFIXES: Final = (".vn.cloud.tesla.com", ".vn.cloud.tesla.cn")


def provider_of(data: Mapping[str, Any]) -> Provider:
    """Return an entry's provider: as stored, else inferred from how the entry was made.

    Entries made before providers existed: a Tesla sign-in is Tesla's; a token entry is named
    by its server (Teslemetry's and Tessie's fixed hosts, Tesla's regional servers), and any
    other https server is taken to be a self-hosted proxy. A plain http server is not one:
    vehicle-command's proxy serves TLS only (`cmd/tesla-http-proxy`: ListenAndServeTLS), so
    it is a Fleet API server Home Assistant signs for, as before providers.
    """
    if stored := data.get(CONF_PROVIDER):
        return Provider(stored)
    if CONF_AUTH_IMPLEMENTATION in data:
        return Provider.TESLA
    try:
        url = URL(str(data.get("url") or ""))
        host, scheme = (url.host or "").lower(), url.scheme
    except (TypeError, ValueError):
        host, scheme = "", ""
    if host.endswith(".teslemetry.com") or host == "teslemetry.com":
        return Provider.TESLEMETRY
    if found := _HOSTS.get(host):
        return found
    if host.endswith(_TESLA_SUFFIXES) or scheme == "http":
        return Provider.TESLA
    return Provider.PROXY
