"""The config flow's remaining paths: bad URLs, rejected regions, lost credentials, options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_ADDRESS, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData, UnknownHandler
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_resilient.application_key import KEY_FILE
from custom_components.tesla_resilient.const import (
    CONF_APPLICATION_DOMAIN,
    CONF_ROUTE_PREFERENCE,
    CONF_SKIP_CLOUD_POLL,
    CONF_VIN,
    DOMAIN,
    SUBENTRY_VEHICLE_KEY,
)
from custom_components.tesla_resilient.keys import load_private_key
from simulator.fleet_api import FleetApiSimulator

from .common import APPLICATION_DOMAIN, VIN, account_entry, tesla_servers_at
from .test_config_flow import (
    sign_in,
    start_oauth,
    start_server_reconfigure,
    submit_token_form,
    suggested,
)

UNREACHABLE = "http://127.0.0.1:9"


def oauth_entry(hass: HomeAssistant, fleet_api: FleetApiSimulator) -> MockConfigEntry:
    """An entry made by signing in with Tesla, for the simulator's account."""
    return account_entry(
        hass, fleet_api, oauth_token={CONF_ACCESS_TOKEN: fleet_api.access_token, "expires_at": 0}
    )


def bluetooth_only_entry(hass: HomeAssistant) -> MockConfigEntry:
    """An entry made by pairing a car over Bluetooth, without an account."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=VIN,
        title="Model 3 000001",
        data={CONF_VIN: VIN, CONF_ADDRESS: "AA:BB:CC:DD:EE:01"},
    )
    entry.add_to_hass(hass)
    return entry


def default_of(result: dict[str, Any], key: str) -> Any:
    """The default a form field shows before the user changes it."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return marker.default()
    raise KeyError(key)


# -- URLs ----------------------------------------------------------------------------------------


async def test_token_way_rejects_a_url_yarl_cannot_parse(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    token = fleet_api.access_token
    result = await submit_token_form(hass, "https://api.example.com:99999", token)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "token"
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert suggested(result, CONF_ACCESS_TOKEN) == token
    assert not fleet_api.requests


# -- OAuth2 --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("current_request_with_host", "credentials")
async def test_oauth_way_rejected_by_a_region_outranks_an_unreachable_one(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
    other_api: FleetApiSimulator,
) -> None:
    with tesla_servers_at(fleet_api, (other_api.base_url, UNREACHABLE)):
        result = await sign_in(hass, hass_client_no_auth, await start_oauth(hass))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_auth"
    assert [(r.path, r.status) for r in other_api.requests] == [("/api/1/users/region", 401)]
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_oauth_reconfigure_without_application_credentials(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    entry = oauth_entry(hass, fleet_api)
    data = dict(entry.data)

    result = await start_server_reconfigure(hass, entry)
    assert result["step_id"] == "reconfigure_server"
    assert [str(key) for key in result["data_schema"].schema] == [CONF_URL]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet_api.base_url}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_server"
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_URL) == fleet_api.base_url
    assert entry.data == data
    assert not fleet_api.requests


# -- Options and subentry types ------------------------------------------------------------------


async def test_account_options_show_defaults_then_keep_the_choice(
    hass: HomeAssistant, token_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(token_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert default_of(result, CONF_ROUTE_PREFERENCE) == "automatic"
    assert default_of(result, CONF_SKIP_CLOUD_POLL) is True
    assert suggested(result, CONF_ROUTE_PREFERENCE) is None

    chosen = {CONF_ROUTE_PREFERENCE: "bluetooth_first", CONF_SKIP_CLOUD_POLL: False}
    result = await hass.config_entries.options.async_configure(result["flow_id"], chosen)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert token_entry.options == chosen

    result = await hass.config_entries.options.async_init(token_entry.entry_id)
    assert suggested(result, CONF_ROUTE_PREFERENCE) == "bluetooth_first"
    assert suggested(result, CONF_SKIP_CLOUD_POLL) is False


async def test_options_show_the_application_key_and_check_its_domain(
    hass: HomeAssistant, token_entry: MockConfigEntry
) -> None:
    """The public key to publish and Tesla's link are shown; a domain must be a host name."""
    result = await hass.config_entries.options.async_init(token_entry.entry_id)
    placeholders = result["description_placeholders"]
    pem = await hass.async_add_executor_job(Path(hass.config.path(KEY_FILE)).read_text)
    assert placeholders["public_key"] == public_key_pem(pem)
    assert "PRIVATE" not in placeholders["public_key"]
    assert placeholders["link"] == f"https://tesla.com/_ak/{APPLICATION_DOMAIN}"
    assert placeholders["key_path"] == "/.well-known/appspecific/com.tesla.3p.public-key.pem"

    chosen = {CONF_ROUTE_PREFERENCE: "automatic", CONF_SKIP_CLOUD_POLL: True}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**chosen, CONF_APPLICATION_DOMAIN: "https://example.com/key"}
    )
    assert result["errors"] == {CONF_APPLICATION_DOMAIN: "invalid_domain"}
    assert token_entry.options[CONF_APPLICATION_DOMAIN] == APPLICATION_DOMAIN

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**chosen, CONF_APPLICATION_DOMAIN: " Keys.Example.ORG "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert token_entry.options == {**chosen, CONF_APPLICATION_DOMAIN: "keys.example.org"}


def public_key_pem(private_pem: str) -> str:
    return (
        load_private_key(private_pem)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def test_options_reject_an_unknown_route(
    hass: HomeAssistant, token_entry: MockConfigEntry
) -> None:
    before = dict(token_entry.options)
    result = await hass.config_entries.options.async_init(token_entry.entry_id)
    with pytest.raises(InvalidData) as err:
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_ROUTE_PREFERENCE: "carrier_pigeon"}
        )
    assert set(err.value.schema_errors) == {CONF_ROUTE_PREFERENCE}
    assert token_entry.options == before


async def test_only_an_account_has_options_and_bluetooth_keys(
    hass: HomeAssistant, token_entry: MockConfigEntry
) -> None:
    car_entry = bluetooth_only_entry(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU

    assert token_entry.supports_options
    assert not car_entry.supports_options
    assert set(token_entry.supported_subentry_types) == {SUBENTRY_VEHICLE_KEY}
    assert car_entry.supported_subentry_types == {}

    result = await hass.config_entries.subentries.async_init(
        (token_entry.entry_id, SUBENTRY_VEHICLE_KEY), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_vehicles"
    with pytest.raises(UnknownHandler):
        await hass.config_entries.subentries.async_init(
            (car_entry.entry_id, SUBENTRY_VEHICLE_KEY), context={"source": SOURCE_USER}
        )
