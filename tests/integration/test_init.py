"""Setting up and unloading an entry against the simulated cloud."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from unittest.mock import patch

import pytest
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient import async_remove_config_entry_device
from custom_components.tesla_resilient.cloud_errors import OutcomeReport, Request
from custom_components.tesla_resilient.const import DOMAIN
from custom_components.tesla_resilient.diagnostics import async_get_config_entry_diagnostics
from custom_components.tesla_resilient.health import Outcome
from custom_components.tesla_resilient.tokens import token_subject
from simulator.clock import FakeClock
from simulator.fleet_api import FaultKind, FleetApiSimulator
from simulator.vehicle import VirtualCar

from .common import VIN, Advance, state_of


async def test_setup_and_unload(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, car: VirtualCar
) -> None:
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "sensor", "battery_level").state == "72"

    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, VIN)})
    assert device is not None
    assert device.model == "Model 3"
    assert device.serial_number == VIN
    assert device.sw_version == "2025.14.3"
    assert device.name == car.display_name

    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED


async def test_cloud_down_at_setup_retries(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    token_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
) -> None:
    fleet_api.set_fault(FaultKind.SERVER_ERROR)
    assert not await hass.config_entries.async_setup(token_entry.entry_id)
    assert token_entry.state is ConfigEntryState.SETUP_RETRY


async def test_software_update_reaches_the_device(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, car: VirtualCar, advance: Advance
) -> None:
    car.car_version = "2025.20.1 0f0f0f0f"
    car.charging = True
    await advance(20 * 60)
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, VIN)})
    assert device is not None
    assert device.sw_version == "2025.20.1"


async def test_only_vehicles_no_longer_listed_can_be_removed(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    registry = dr.async_get(hass)
    current = registry.async_get_device(identifiers={(DOMAIN, VIN)})
    stale = registry.async_get_or_create(
        config_entry_id=loaded_entry.entry_id, identifiers={(DOMAIN, "5YJ3E7EB0NF999999")}
    )
    assert current is not None
    assert not await async_remove_config_entry_device(hass, loaded_entry, current)
    assert await async_remove_config_entry_device(hass, loaded_entry, stale)


async def test_diagnostics_hold_no_secret(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    car: VirtualCar,
) -> None:
    diagnostics = await async_get_config_entry_diagnostics(hass, loaded_entry)
    text = json.dumps(diagnostics)
    assert loaded_entry.data[CONF_ACCESS_TOKEN] not in text
    assert VIN not in text
    assert str(car.latitude) not in text
    vehicle = diagnostics["vehicles"][0]
    assert vehicle["fields"]["battery_level"] == {"value": 72, "source": "cloud", "age": 0}
    assert vehicle["cloud"]["vehicle_state"] == "online"
    assert diagnostics["entry"][CONF_URL].startswith("http://127.0.0.1:")


# -- OAuth entries ---------------------------------------------------------------------------


@pytest.fixture
async def oauth_entry(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, sim_clock: FakeClock
) -> AsyncGenerator[MockConfigEntry]:
    """An OAuth entry whose stored token expired, with Tesla's token URL on the simulator."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential(fleet_api.client_id, fleet_api.client_secret), "sim"
    )
    token = fleet_api.access_token
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=token_subject(token),
        data={
            "auth_implementation": "sim",
            CONF_URL: fleet_api.base_url,
            CONF_TOKEN: {
                CONF_ACCESS_TOKEN: token,
                "refresh_token": fleet_api.refresh_token,
                "expires_at": 0,
                "scope": "openid offline_access vehicle_device_data vehicle_cmds",
            },
        },
    )
    entry.add_to_hass(hass)
    with patch(
        "custom_components.tesla_resilient.application_credentials.TOKEN_URL",
        f"{fleet_api.base_url}/oauth2/v3/token",
    ):
        yield entry


async def test_oauth_expired_token_is_refreshed(
    hass: HomeAssistant,
    oauth_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
) -> None:
    stored = oauth_entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN]
    assert await hass.config_entries.async_setup(oauth_entry.entry_id)
    assert oauth_entry.state is ConfigEntryState.LOADED
    assert oauth_entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN] != stored
    assert oauth_entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN] == fleet_api.access_token
    assert hass.states.get("device_tracker.demo_model_3_location") is None

    text = json.dumps(await async_get_config_entry_diagnostics(hass, oauth_entry))
    for secret in (fleet_api.access_token, fleet_api.refresh_token, stored):
        assert secret not in text


async def test_oauth_token_rejected_mid_session_is_refreshed_not_reauthed(
    hass: HomeAssistant,
    oauth_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    advance: Advance,
) -> None:
    assert await hass.config_entries.async_setup(oauth_entry.entry_id)
    reports: list[OutcomeReport] = []
    oauth_entry.runtime_data.account.link.add_outcome_listener(reports.append)
    before = oauth_entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN]

    fleet_api.set_fault(FaultKind.TOKEN_EXPIRED)
    await advance(60)

    assert not hass.config_entries.flow.async_progress()
    assert oauth_entry.data[CONF_TOKEN][CONF_ACCESS_TOKEN] != before
    assert [report.outcome for report in reports if report.request is not Request.STATUS] == [
        Outcome.SUCCESS
    ]
    assert oauth_entry.runtime_data.vehicles[VIN].coordinator.last_update_success
    assert hass.states.get("sensor.tesla_cloud_status").state == "online"  # type: ignore[union-attr]
    assert hass.states.get("binary_sensor.tesla_cloud").state == "on"  # type: ignore[union-attr]


async def test_oauth_refresh_token_rejected_starts_reauth(
    hass: HomeAssistant, oauth_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        oauth_entry,
        data={
            **oauth_entry.data,
            CONF_TOKEN: {**oauth_entry.data[CONF_TOKEN], "refresh_token": "revoked"},
        },
    )
    assert not await hass.config_entries.async_setup(oauth_entry.entry_id)
    assert oauth_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_oauth_token_endpoint_down_retries(
    hass: HomeAssistant, oauth_entry: MockConfigEntry
) -> None:
    with patch(
        "custom_components.tesla_resilient.application_credentials.TOKEN_URL",
        "http://127.0.0.1:9/oauth2/v3/token",
    ):
        assert not await hass.config_entries.async_setup(oauth_entry.entry_id)
    assert oauth_entry.state is ConfigEntryState.SETUP_RETRY


async def test_oauth_without_credentials_fails(
    hass: HomeAssistant, oauth_entry: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(
        oauth_entry, data={**oauth_entry.data, "auth_implementation": "gone"}
    )
    assert not await hass.config_entries.async_setup(oauth_entry.entry_id)
    assert oauth_entry.state is ConfigEntryState.SETUP_ERROR
