"""Both ways into the config flow, against the simulator over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest.mock import patch
from urllib.parse import parse_qs, urlsplit

import pytest
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_RECONFIGURE,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.tesla_resilient.cloud_errors import CloudError
from custom_components.tesla_resilient.const import CONF_PROVIDER, DOMAIN
from custom_components.tesla_resilient.health import Outcome
from custom_components.tesla_resilient.tokens import token_subject
from simulator.fleet_api import FaultKind, FleetApiSimulator
from tests.integration.common import account_entry, tesla_servers_at

REDIRECT = "https://example.com/auth/external/callback"


async def start_token_flow(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "oauth",
        "teslemetry",
        "tessie",
        "proxy",
        "token",
        "bluetooth_user",
    ]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "token"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "token"
    return result


async def submit_token_form(hass: HomeAssistant, url: str, token: str) -> dict[str, Any]:
    """Start the token way and submit its form; return what the flow answers."""
    result = await start_token_flow(hass)
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url, CONF_ACCESS_TOKEN: token}
    )


async def start_server_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Reconfigure an entry of Tesla's own API: keep the provider, change the server."""
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "reconfigure"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_server"}
    )


def suggested(result: dict[str, Any], key: str) -> Any:
    for marker in result["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise KeyError(key)


async def test_token_way(hass: HomeAssistant, fleet_api: FleetApiSimulator) -> None:
    token = fleet_api.access_token
    result = await submit_token_form(hass, f"{fleet_api.base_url}/", token)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Demo Model 3"
    assert result["data"] == {
        CONF_PROVIDER: "tesla",
        CONF_URL: fleet_api.base_url,
        CONF_ACCESS_TOKEN: token,
    }
    assert result["result"].unique_id == token_subject(token)
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (FaultKind.UNREGISTERED_REGION, "region_not_registered"),
        (FaultKind.MISSING_SCOPES, "missing_scopes"),
        (FaultKind.PAYMENT_REQUIRED, "payment_required"),
    ],
)
async def test_token_way_explains_tesla_refusals(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, fault: FaultKind, error: str
) -> None:
    """412, missing scopes and 402 are no bad token: each is explained; nothing is saved."""
    fleet_api.set_fault(fault)
    result = await submit_token_form(hass, fleet_api.base_url, fleet_api.access_token)
    assert result["errors"] == {"base": error}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_token_way_follows_a_421(hass: HomeAssistant, fleet_api: FleetApiSimulator) -> None:
    """Tesla names the account's server: the entry is made for that one."""
    fleet_api.set_fault(FaultKind.OUT_OF_REGION)
    result = await submit_token_form(hass, fleet_api.base_url, fleet_api.access_token)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == fleet_api.alternate_base_url


async def test_token_way_errors_keep_input(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    token = fleet_api.access_token
    result = await submit_token_form(hass, "ftp://example.com", token)
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert suggested(result, CONF_ACCESS_TOKEN) == token

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet_api.base_url, CONF_ACCESS_TOKEN: "not-a-token"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    assert suggested(result, CONF_URL) == fleet_api.base_url

    fleet_api.set_fault(FaultKind.REFUSED)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet_api.base_url, CONF_ACCESS_TOKEN: token}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    fleet_api.clear_fault()

    with patch(
        "custom_components.tesla_resilient.config_flow.CloudLink.products",
        side_effect=RuntimeError("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_URL: fleet_api.base_url, CONF_ACCESS_TOKEN: token}
        )
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet_api.base_url, CONF_ACCESS_TOKEN: token}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_token_way_without_vehicles(hass: HomeAssistant, socket_enabled: None) -> None:
    empty = FleetApiSimulator([])
    await empty.start()
    try:
        result = await submit_token_form(hass, empty.base_url, empty.access_token)
    finally:
        await empty.stop()
    assert result["errors"] == {"base": "no_vehicles"}


async def test_token_way_duplicate(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, token_entry: MockConfigEntry
) -> None:
    result = await submit_token_form(hass, fleet_api.base_url, fleet_api.access_token)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_account_named_by_server_then_by_vehicles(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    with patch("custom_components.tesla_resilient.provider_flow.token_subject", return_value=None):
        result = await submit_token_form(hass, fleet_api.base_url, fleet_api.access_token)
        assert result["result"].unique_id == "00000000-0000-4000-8000-000000000001"

        with patch(
            "custom_components.tesla_resilient.provider_flow.CloudLink.account_id",
            side_effect=CloudError(Outcome.BAD_REQUEST, sent=True),
        ):
            result = await submit_token_form(hass, fleet_api.base_url, fleet_api.access_token)
    assert result["result"].unique_id == "vins:5YJ3E7EB0NF000001"


async def test_token_reauth(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, token_entry: MockConfigEntry
) -> None:
    fleet_api.set_fault(FaultKind.TOKEN_EXPIRED)
    assert not await hass.config_entries.async_setup(token_entry.entry_id)
    await hass.async_block_till_done()
    assert token_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert len(flows) == 1
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"])
    assert result["step_id"] == "reauth_token"
    assert result["description_placeholders"]["url"] == fleet_api.base_url

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ACCESS_TOKEN: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    fleet_api.clear_fault()
    fresh = fleet_api.access_token
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ACCESS_TOKEN: fresh}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert token_entry.data[CONF_ACCESS_TOKEN] == fresh
    await hass.async_block_till_done()
    assert token_entry.state is ConfigEntryState.LOADED


async def test_token_reconfigure(
    hass: HomeAssistant,
    fleet_api: FleetApiSimulator,
    other_api: FleetApiSimulator,
    token_entry: MockConfigEntry,
) -> None:
    result = await start_server_reconfigure(hass, token_entry)
    assert result["step_id"] == "reconfigure_server"
    assert suggested(result, CONF_URL) == fleet_api.base_url

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: "not a url", CONF_ACCESS_TOKEN: "x"}
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_URL: other_api.base_url, CONF_ACCESS_TOKEN: other_api.access_token},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "account_mismatch"

    result = await start_server_reconfigure(hass, token_entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet_api.base_url, CONF_ACCESS_TOKEN: "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    fresh = fleet_api.access_token
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: f"{fleet_api.base_url}/", CONF_ACCESS_TOKEN: fresh}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert token_entry.data == {
        CONF_PROVIDER: "tesla",
        CONF_URL: fleet_api.base_url,
        CONF_ACCESS_TOKEN: fresh,
    }


# -- OAuth2 --------------------------------------------------------------------------------------


@pytest.fixture
def tesla_servers(fleet_api: FleetApiSimulator) -> Iterator[None]:
    """Point Tesla's auth and regional servers at the simulator (the first region is down)."""
    with tesla_servers_at(fleet_api, ("http://127.0.0.1:9", fleet_api.base_url)):
        yield


async def sign_in(
    hass: HomeAssistant, client_factory: ClientSessionGenerator, result: dict[str, Any]
) -> dict[str, Any]:
    """Follow the external step: the simulator's authorize page, then HA's callback."""
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    query = parse_qs(urlsplit(result["url"]).query)
    assert query["redirect_uri"] == [REDIRECT]
    assert set(query["scope"][0].split()) >= {"vehicle_device_data", "vehicle_cmds"}
    session = async_get_clientsession(hass)
    async with session.get(result["url"], allow_redirects=False) as resp:
        assert resp.status == 302
        callback = urlsplit(resp.headers["Location"])
    client = await client_factory()
    resp = await client.get(f"{callback.path}?{callback.query}")
    assert resp.status == 200
    return await hass.config_entries.flow.async_configure(result["flow_id"])


async def start_oauth(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "oauth"}
    )


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_servers")
async def test_oauth_way_unpaid_application_says_so(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
) -> None:
    """Tesla's 402 after sign-in: the flow ends saying the developer account is not paid for."""
    flow = await start_oauth(hass)
    fleet_api.set_fault(FaultKind.PAYMENT_REQUIRED)
    result = await sign_in(hass, hass_client_no_auth, flow)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "payment_required"
    assert hass.config_entries.async_entries(DOMAIN) == []


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_servers")
async def test_oauth_way(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
) -> None:
    result = await sign_in(hass, hass_client_no_auth, await start_oauth(hass))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.data[CONF_URL] == fleet_api.base_url
    assert entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN] == fleet_api.access_token
    assert entry.unique_id == token_subject(fleet_api.access_token)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    again = await sign_in(hass, hass_client_no_auth, await start_oauth(hass))
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_configured"


@pytest.mark.usefixtures("current_request_with_host", "credentials")
async def test_oauth_way_cannot_reach_any_region(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
) -> None:
    with tesla_servers_at(fleet_api, ("http://127.0.0.1:9",)):
        result = await sign_in(hass, hass_client_no_auth, await start_oauth(hass))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


@pytest.mark.usefixtures("current_request_with_host", "credentials", "tesla_servers")
async def test_oauth_reauth_and_reconfigure(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
) -> None:
    entry = (await sign_in(hass, hass_client_no_auth, await start_oauth(hass)))["result"]
    await hass.async_block_till_done()

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_REAUTH, "entry_id": entry.entry_id}, data=entry.data
    )
    assert result["step_id"] == "reauth_confirm"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await sign_in(hass, hass_client_no_auth, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN] == fleet_api.access_token

    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "reconfigure_server"}
    )
    assert [str(key) for key in result["data_schema"].schema] == [CONF_URL]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: fleet_api.base_url}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


@pytest.mark.usefixtures("current_request_with_host", "credentials")
async def test_oauth_reauth_with_another_account(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    fleet_api: FleetApiSimulator,
    other_api: FleetApiSimulator,
) -> None:
    entry = account_entry(
        hass, fleet_api, oauth_token={CONF_ACCESS_TOKEN: fleet_api.access_token, "expires_at": 0}
    )
    with tesla_servers_at(other_api, (other_api.base_url,)):
        result = await entry.start_reauth_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
        result = await sign_in(hass, hass_client_no_auth, result)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "account_mismatch"
