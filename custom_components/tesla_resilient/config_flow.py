"""Config flow: a Tesla account by OAuth2, or any Fleet-API-compatible server by token."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import voluptuous as vol
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN, CONF_URL
from homeassistant.core import callback
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .application_key import PUBLIC_KEY_PATH, async_public_key_pem
from .cloud import CloudLink
from .cloud_errors import CloudAuthError, CloudError, PaymentRequired, RegionNotRegistered
from .cloud_session import cloud_session
from .const import (
    CONF_APPLICATION_DOMAIN,
    CONF_AUTH_IMPLEMENTATION,
    CONF_PROVIDER,
    CONF_REFRESH_TOKEN,
    CONF_ROUTE_PREFERENCE,
    CONF_SKIP_CLOUD_POLL,
    CONF_VIN,
    DOMAIN,
    FLEET_API_SERVERS,
    LOGGER,
    SCOPES,
    SUBENTRY_VEHICLE_KEY,
)
from .pairing import BluetoothPairingFlowMixin, VehicleKeySubentryFlow
from .provider_flow import FlowError, ProviderFlowMixin, base_url
from .providers import Provider, provider_of
from .repairs import APPLICATION_KEY_LINK
from .router import RoutePreference
from .tokens import OAuthToken, StaticToken, TokenSource

_URL_FIELD = {
    vol.Required(CONF_URL): TextSelector(TextSelectorConfig(type=TextSelectorType.URL)),
}
_TOKEN_FIELD = {
    vol.Required(CONF_ACCESS_TOKEN): TextSelector(
        TextSelectorConfig(type=TextSelectorType.PASSWORD)
    ),
}
TOKEN_SCHEMA = vol.Schema({**_URL_FIELD, **_TOKEN_FIELD})
REAUTH_TOKEN_SCHEMA = vol.Schema(_TOKEN_FIELD)
URL_SCHEMA = vol.Schema(_URL_FIELD)


EXAMPLE_TOKEN_SERVER: Final = FLEET_API_SERVERS[0]
"""Shown as an example of Tesla's own Fleet API servers (hassfest keeps URLs out of strings)."""


class TeslaResilientFlowHandler(
    BluetoothPairingFlowMixin,
    ProviderFlowMixin,
    config_entry_oauth2_flow.AbstractOAuth2FlowHandler,
    domain=DOMAIN,
):
    """Add a Tesla account or a Bluetooth-only car; reauthenticate and reconfigure."""

    DOMAIN = DOMAIN
    VERSION = 1

    @property
    def logger(self) -> logging.Logger:
        """Return the integration's logger."""
        return LOGGER

    @property
    def extra_authorize_data(self) -> dict[str, Any]:
        """Ask Tesla for the scopes the integration uses."""
        return {"scope": " ".join(SCOPES), "prompt": "login"}

    @property
    def _session(self) -> aiohttp.ClientSession:
        return cloud_session(self.hass)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the ways in: Tesla, a provider, Tesla's API with a token, Bluetooth alone."""
        return self.async_show_menu(
            step_id="user",
            menu_options=["oauth", "teslemetry", "tessie", "proxy", "token", "bluetooth_user"],
        )

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Let an account entry add a Bluetooth key per vehicle."""
        if CONF_VIN in config_entry.data:
            return {}
        return {SUBENTRY_VEHICLE_KEY: VehicleKeySubentryFlow}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Choose how commands travel and whether Bluetooth saves cloud requests."""
        return TeslaResilientOptionsFlow()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Only an account has options: a Bluetooth-only car has one link."""
        return CONF_VIN not in config_entry.data

    async def async_step_oauth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sign in with Tesla through the application credentials."""
        return await self.async_step_pick_implementation(user_input)

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Find the account's region, check the token and create or update the entry."""
        tokens = StaticToken(data[CONF_TOKEN][CONF_ACCESS_TOKEN])
        try:
            url = await self._async_find_server(tokens)
            account = await self._async_checked(url, tokens)
        except FlowError as err:
            return self.async_abort(reason=err.reason)
        entry_data = {**data, CONF_PROVIDER: Provider.TESLA, CONF_URL: account.base_url}
        if self.source == SOURCE_RECONFIGURE:
            return await self.async_finish_account(account, entry_data)
        await self.async_set_unique_id(account.unique_id)
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="account_mismatch")
            return self.async_update_reload_and_abort(self._get_reauth_entry(), data=entry_data)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(title=account.title, data=entry_data)

    async def _async_find_server(self, tokens: StaticToken) -> str:
        """Ask each of Tesla's regional servers which one holds the account."""
        reason = "cannot_connect"
        for server in FLEET_API_SERVERS:
            try:
                found = await CloudLink(self._session, server, tokens).region_server()
            except CloudAuthError:
                reason = "invalid_auth"
            except RegionNotRegistered:
                reason = "region_not_registered"
            except PaymentRequired:
                reason = "payment_required"
            except CloudError:
                continue
            else:
                return found or server
        raise FlowError(reason)

    async def async_step_token(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Use a base URL and an access token for any Fleet-API-compatible server."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if (url := base_url(user_input[CONF_URL])) is None:
                errors[CONF_URL] = "invalid_url"
            else:
                token = user_input[CONF_ACCESS_TOKEN]
                try:
                    account = await self._async_checked(url, StaticToken(token))
                except FlowError as err:
                    errors["base"] = err.reason
                else:
                    await self.async_set_unique_id(account.unique_id)
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(
                        title=account.title,
                        data={
                            CONF_PROVIDER: Provider.TESLA,
                            CONF_URL: account.base_url,
                            CONF_ACCESS_TOKEN: token,
                        },
                    )
        return self.async_show_form(
            step_id="token",
            data_schema=self.add_suggested_values_to_schema(TOKEN_SCHEMA, user_input),
            errors=errors,
            description_placeholders={"example_url": EXAMPLE_TOKEN_SERVER},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start over when the cloud rejects the credentials."""
        if CONF_AUTH_IMPLEMENTATION in entry_data:
            return await self.async_step_reauth_confirm()
        if CONF_REFRESH_TOKEN in entry_data:
            return await self.async_step_proxy()
        return await self.async_step_reauth_token()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm before signing in with Tesla again."""
        if user_input is None:
            return self.async_show_form(step_id="reauth_confirm")
        return await self.async_step_pick_implementation()

    async def async_step_reauth_token(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Take a new access token for the same account."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            token = user_input[CONF_ACCESS_TOKEN]
            try:
                account = await self._async_checked(entry.data[CONF_URL], StaticToken(token))
            except FlowError as err:
                errors["base"] = err.reason
            else:
                await self.async_set_unique_id(account.unique_id)
                self._abort_if_unique_id_mismatch(reason="account_mismatch")
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_ACCESS_TOKEN: token}
                )
        return self.async_show_form(
            step_id="reauth_token",
            data_schema=REAUTH_TOKEN_SCHEMA,
            errors=errors,
            description_placeholders={"url": entry.data[CONF_URL]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Keep the provider and change its server, or move the account to another provider."""
        entry = self._get_reconfigure_entry()
        if CONF_VIN in entry.data:
            return self.async_abort(reason="bluetooth_only_reconfigure")
        own_server = provider_of(entry.data) is Provider.TESLA
        return self.async_show_menu(
            step_id="reconfigure",
            menu_options=[
                *(["reconfigure_server"] if own_server else []),
                "oauth",
                "teslemetry",
                "tessie",
                "proxy",
            ],
        )

    async def async_step_reconfigure_server(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server (and, for a token, the token) of the same account."""
        entry = self._get_reconfigure_entry()
        oauth = CONF_AUTH_IMPLEMENTATION in entry.data
        errors: dict[str, str] = {}
        if user_input is not None:
            if (url := base_url(user_input[CONF_URL])) is None:
                errors[CONF_URL] = "invalid_url"
            else:
                updates = {CONF_URL: url}
                if not oauth:
                    updates[CONF_ACCESS_TOKEN] = user_input[CONF_ACCESS_TOKEN]
                try:
                    tokens = await self._async_tokens(entry, updates)
                    account = await self._async_checked(url, tokens)
                except FlowError as err:
                    errors["base"] = err.reason
                else:
                    await self.async_set_unique_id(account.unique_id)
                    self._abort_if_unique_id_mismatch(reason="account_mismatch")
                    return self.async_update_reload_and_abort(entry, data_updates=updates)
        suggested = user_input or {CONF_URL: entry.data[CONF_URL]}
        return self.async_show_form(
            step_id="reconfigure_server",
            data_schema=self.add_suggested_values_to_schema(
                URL_SCHEMA if oauth else TOKEN_SCHEMA, suggested
            ),
            errors=errors,
        )

    async def _async_tokens(self, entry: ConfigEntry, updates: Mapping[str, str]) -> TokenSource:
        if CONF_ACCESS_TOKEN in updates:
            return StaticToken(updates[CONF_ACCESS_TOKEN])
        try:
            implementation = await config_entry_oauth2_flow.async_get_config_entry_implementation(
                self.hass, entry
            )
        except ValueError as err:
            raise FlowError("invalid_auth") from err
        return OAuthToken(config_entry_oauth2_flow.OAuth2Session(self.hass, entry, implementation))


_DOMAIN_RE: Final = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
"""A host name such as example.com: where the application's public key is published."""


class TeslaResilientOptionsFlow(OptionsFlow):
    """An account's options: the command route, and skipping cloud polls in Bluetooth range.

    Also the domain of the owner's own Tesla application, whose key signs cloud commands.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and store the options; a domain must be a host name."""
        errors: dict[str, str] = {}
        if user_input is not None:
            domain = str(user_input.get(CONF_APPLICATION_DOMAIN) or "").strip().lower()
            if domain and not _DOMAIN_RE.match(domain):
                errors[CONF_APPLICATION_DOMAIN] = "invalid_domain"
            else:
                options = {**user_input, CONF_APPLICATION_DOMAIN: domain}
                if not domain:
                    options.pop(CONF_APPLICATION_DOMAIN)
                return self.async_create_entry(data=options)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_ROUTE_PREFERENCE, default=str(RoutePreference.AUTOMATIC)
                ): SelectSelector(
                    SelectSelectorConfig(
                        options=[str(preference) for preference in RoutePreference],
                        translation_key=CONF_ROUTE_PREFERENCE,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(CONF_SKIP_CLOUD_POLL, default=True): BooleanSelector(),
                vol.Optional(CONF_APPLICATION_DOMAIN): TextSelector(),
            }
        )
        domain = self.config_entry.options.get(CONF_APPLICATION_DOMAIN) or "<domain>"
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or self.config_entry.options
            ),
            errors=errors,
            description_placeholders={
                "public_key": await async_public_key_pem(self.hass),
                "key_path": PUBLIC_KEY_PATH,
                "link": APPLICATION_KEY_LINK.format(domain=domain),
            },
        )
