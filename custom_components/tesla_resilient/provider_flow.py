"""Config-flow steps of the providers: Teslemetry, Tessie and a self-hosted tesla-http-proxy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_URL
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from yarl import URL

from .clock import DATA_CLOCK, Clock
from .cloud import TESLEMETRY_SERVER, TESSIE_SERVER, CloudLink
from .cloud_data import VehicleSummary
from .cloud_errors import (
    CloudAuthError,
    CloudError,
    MissingScopes,
    PaymentRequired,
    RegionNotRegistered,
    UntrustedCertificate,
)
from .cloud_session import cloud_session
from .const import (
    CONF_CA_CERT,
    CONF_CLIENT_ID,
    CONF_PROVIDER,
    CONF_REFRESH_TOKEN,
    CONF_TESLA_SERVER,
    CONF_TOKEN_EXPIRES_AT,
    CONF_VEHICLES,
    CONF_VIN,
    FLEET_API_SERVERS,
    LOGGER,
)
from .providers import Provider
from .proxy_link import CertificateUnreadable, async_proxy_session
from .tokens import RefreshingToken, StaticToken, TokenSource, token_subject

SERVICE_SERVERS: Final = {
    Provider.TESLEMETRY: TESLEMETRY_SERVER,
    Provider.TESSIE: TESSIE_SERVER,
}
"""The fixed server of each token service, as tesla-fleet-api's classes name it."""

SERVICE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_ACCESS_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)
PROXY_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
        vol.Optional(CONF_CA_CERT): TextSelector(TextSelectorConfig(multiline=True)),
        vol.Required(CONF_REFRESH_TOKEN): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Required(CONF_CLIENT_ID): TextSelector(),
    }
)
PROXY_ADDON_CERT: Final = "/share/tesla/selfsigned.pem"
"""Where the tesla-http-proxy add-on writes its certificate; shown as an example path."""


class FlowError(Exception):
    """A check that failed, named by its translation key (and the field it belongs to)."""

    def __init__(self, reason: str, field: str = "base") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class Account:
    """The account a set of credentials opens."""

    unique_id: str
    title: str
    base_url: str
    """The server that answered: the one asked, or the one a 421 sent the account to."""
    vins: frozenset[str]


def base_url(text: str) -> str | None:
    """Return the server's base URL without a trailing slash, or None when it is not one."""
    try:
        url = URL(text.strip())
    except (TypeError, ValueError):
        return None
    if url.scheme not in ("http", "https") or not url.host or url.query_string or url.fragment:
        return None
    return str(url).rstrip("/")


async def _account_id(link: CloudLink, token: str, vehicles: list[VehicleSummary]) -> str:
    """Name the account: the token's subject, else the server's user id, else its VINs."""
    if subject := token_subject(token):
        return subject
    try:
        if account := await link.account_id():
            return account
    except CloudError:
        LOGGER.debug("Server gives no user id; identifying the account by its vehicles")
    return "vins:" + ",".join(sorted(vehicle.vin for vehicle in vehicles))


async def probe(link: CloudLink, tokens: TokenSource) -> Account:
    """List the products with the credentials and name the account, or raise FlowError."""
    try:
        vehicles = await link.products()
        token = await tokens.access_token()
        unique_id = await _account_id(link, token, vehicles)
    except CloudAuthError as err:
        raise FlowError("invalid_auth") from err
    except RegionNotRegistered as err:
        raise FlowError("region_not_registered") from err
    except MissingScopes as err:
        raise FlowError("missing_scopes") from err
    except UntrustedCertificate as err:
        raise FlowError("invalid_certificate") from err
    except PaymentRequired as err:
        raise FlowError("payment_required") from err
    except CloudError as err:
        raise FlowError("cannot_connect") from err
    if not vehicles:
        raise FlowError("no_vehicles")
    names = ", ".join(vehicle.display_name for vehicle in vehicles)
    vins = frozenset(vehicle.vin for vehicle in vehicles)
    return Account(unique_id, names, link.base_url, vins)


async def _tesla_server(link: CloudLink) -> str:
    """Ask the provider which of Tesla's servers holds the account; the first when it cannot say.

    The provider forwards `users/region` to Tesla; the answer is where the health probe asks
    Tesla's own /status. A provider that names itself, or none, leaves Tesla's first server.
    """
    try:
        found = await link.region_server()
    except CloudError:
        found = None
    return found if found and found != link.base_url else FLEET_API_SERVERS[0]


def _stored_vins(entry: ConfigEntry) -> frozenset[str]:
    return frozenset(vehicle[CONF_VIN] for vehicle in entry.data.get(CONF_VEHICLES, ()))


class ProviderFlowMixin(ConfigFlow):
    """Steps that add, reauthenticate or move an account to Teslemetry, Tessie or a proxy."""

    async def _async_checked(self, url: str, tokens: TokenSource) -> Account:
        """Check the credentials on Home Assistant's cloud session."""
        return await self._async_checked_on(cloud_session(self.hass), url, tokens)

    async def _async_checked_on(
        self, session: aiohttp.ClientSession, url: str, tokens: TokenSource
    ) -> Account:
        try:
            return await probe(CloudLink(session, url, tokens), tokens)
        except FlowError:
            raise
        except Exception as err:
            LOGGER.exception("Unexpected error checking the credentials")
            raise FlowError("unknown") from err

    async def async_finish_account(
        self, account: Account, data: dict[str, Any]
    ) -> ConfigFlowResult:
        """Create the entry, or move the entry being reconfigured or reauthenticated to `data`.

        A moved entry keeps its id, unique id, Bluetooth keys, options and its stored vehicle
        list: it must be the same account, by its id or by the cars it lists.
        """
        if self.source in (SOURCE_RECONFIGURE, SOURCE_REAUTH):
            entry = (
                self._get_reconfigure_entry()
                if self.source == SOURCE_RECONFIGURE
                else self._get_reauth_entry()
            )
            if account.unique_id != entry.unique_id and not account.vins & _stored_vins(entry):
                return self.async_abort(reason="account_mismatch")
            kept = {CONF_VEHICLES: entry.data[CONF_VEHICLES]} if CONF_VEHICLES in entry.data else {}
            return self.async_update_reload_and_abort(entry, data={**kept, **data})
        await self.async_set_unique_id(account.unique_id)
        self._abort_if_unique_id_configured()
        if any(account.vins & _stored_vins(other) for other in self._async_current_entries()):
            # Another way in names the account differently (a JWT subject, a user id).
            return self.async_abort(reason="already_configured")
        return self.async_create_entry(title=account.title, data=data)

    async def async_step_teslemetry(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Teslemetry: its long-lived access token; it signs commands itself."""
        return await self._async_step_service(Provider.TESLEMETRY, user_input)

    async def async_step_tessie(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Tessie: its long-lived access token; it signs commands and wakes the car itself."""
        return await self._async_step_service(Provider.TESSIE, user_input)

    async def _async_step_service(
        self, provider: Provider, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        server = SERVICE_SERVERS[provider]
        if user_input is not None:
            token = user_input[CONF_ACCESS_TOKEN].strip()
            try:
                account = await self._async_checked(server, StaticToken(token))
            except FlowError as err:
                errors[err.field] = err.reason
            else:
                link = CloudLink(cloud_session(self.hass), account.base_url, StaticToken(token))
                data = {
                    CONF_PROVIDER: provider,
                    CONF_URL: account.base_url,
                    CONF_ACCESS_TOKEN: token,
                    CONF_TESLA_SERVER: await _tesla_server(link),
                }
                return await self.async_finish_account(account, data)
        return self.async_show_form(
            step_id="teslemetry" if provider is Provider.TESLEMETRY else "tessie",
            data_schema=self.add_suggested_values_to_schema(SERVICE_SCHEMA, user_input),
            errors=errors,
            description_placeholders={"url": server},
        )

    async def async_step_proxy(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a self-hosted tesla-http-proxy: its URL and CA, and Tesla's refresh token to keep."""
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input = dict(user_input)
            try:
                data, account = await self._async_check_proxy(user_input)
            except FlowError as err:
                errors[err.field] = err.reason
            else:
                return await self.async_finish_account(account, data)
        return self.async_show_form(
            step_id="proxy",
            data_schema=self.add_suggested_values_to_schema(
                PROXY_SCHEMA, user_input or self._proxy_suggestions()
            ),
            errors=errors,
            description_placeholders={"certificate_path": PROXY_ADDON_CERT},
        )

    def _proxy_suggestions(self) -> Mapping[str, Any]:
        """Return what an entry being moved or reauthenticated knows of its proxy."""
        if self.source not in (SOURCE_RECONFIGURE, SOURCE_REAUTH):
            return {}
        entry = (
            self._get_reconfigure_entry()
            if self.source == SOURCE_RECONFIGURE
            else self._get_reauth_entry()
        )
        if entry.data.get(CONF_PROVIDER) != Provider.PROXY:
            return {}
        return {key: entry.data[key] for key in (CONF_URL, CONF_CA_CERT) if key in entry.data}

    async def _async_check_proxy(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], Account]:
        """Refresh Tesla's token once, list the cars through the proxy; the data to store.

        Tesla rotates the refresh token at once: the rotated one replaces the input, so a
        second try after another failure does not send a refresh token Tesla has replaced.
        """
        if (url := base_url(user_input[CONF_URL])) is None:
            raise FlowError("invalid_url", CONF_URL)
        ca = str(user_input.get(CONF_CA_CERT) or "").strip()
        try:
            session = await async_proxy_session(self.hass, ca)
        except CertificateUnreadable as err:
            raise FlowError("certificate_unreadable", CONF_CA_CERT) from err
        refreshed: dict[str, Any] = {}

        def store(tokens: Mapping[str, Any]) -> None:
            refreshed.update(tokens)
            user_input[CONF_REFRESH_TOKEN] = tokens[CONF_REFRESH_TOKEN]

        tokens = RefreshingToken(
            cloud_session(self.hass),
            user_input[CONF_CLIENT_ID].strip(),
            user_input[CONF_REFRESH_TOKEN].strip(),
            store=store,
            wall=(self.hass.data.get(DATA_CLOCK) or Clock()).wall,
        )
        try:
            try:
                await tokens.access_token()
            except CloudAuthError as err:
                raise FlowError("refresh_token_refused") from err
            except CloudError as err:
                raise FlowError("tesla_cannot_connect") from err
            account = await self._async_checked_on(session, url, tokens)
            tesla = await _tesla_server(CloudLink(session, account.base_url, tokens))
        finally:
            await session.close()
        data = {
            CONF_PROVIDER: Provider.PROXY,
            CONF_URL: account.base_url,
            CONF_CA_CERT: ca,
            CONF_CLIENT_ID: user_input[CONF_CLIENT_ID].strip(),
            CONF_REFRESH_TOKEN: refreshed[CONF_REFRESH_TOKEN],
            CONF_ACCESS_TOKEN: refreshed[CONF_ACCESS_TOKEN],
            CONF_TOKEN_EXPIRES_AT: refreshed[CONF_TOKEN_EXPIRES_AT],
            CONF_TESLA_SERVER: tesla,
        }
        return data, account
