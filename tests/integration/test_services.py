"""The precondition action: one call sets the cabin temperature and starts climate."""

from __future__ import annotations

from typing import Any

import pytest
import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_URL, EVENT_SERVICE_REGISTERED
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tesla_resilient.const import CONF_PROVIDER, DOMAIN
from custom_components.tesla_resilient.services import SERVICE_PRECONDITION
from custom_components.tesla_resilient.tokens import token_subject
from simulator.clock import FakeClock
from simulator.fleet_api import FleetApiSimulator
from simulator.vehicle import VirtualCar

from .common import OTHER_VIN, VIN, state_of


def device_id_of(hass: HomeAssistant, vin: str = VIN) -> str:
    """The device id of a vehicle, by its VIN."""
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, vin)})
    assert device is not None
    return device.id


async def precondition(hass: HomeAssistant, device_id: str, temperature: Any) -> None:
    await hass.services.async_call(
        DOMAIN,
        SERVICE_PRECONDITION,
        {"device_id": device_id, "temperature": temperature},
        blocking=True,
    )


async def rejected(hass: HomeAssistant, device_id: str, temperature: Any = 21) -> str:
    """Call the action expecting a ServiceValidationError of this integration; its key."""
    with pytest.raises(ServiceValidationError) as err:
        await precondition(hass, device_id, temperature)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key is not None
    return err.value.translation_key


@pytest.mark.usefixtures("loaded_entry")
async def test_precondition_sets_the_temperature_and_starts_climate(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator
) -> None:
    assert car.climate_on is False

    await precondition(hass, device_id_of(hass), 23.5)

    assert car.driver_temp_setting_c == 23.5
    assert car.passenger_temp_setting_c == 23.5
    assert car.climate_on is True
    assert car.executions["set_temps"] == 1
    assert car.executions["auto_conditioning_start"] == 1
    climate = state_of(hass, "climate", "climate")
    assert climate.state == "heat_cool"
    assert climate.attributes["temperature"] == 23.5
    assert state_of(hass, "sensor", "last_command_route").attributes["command"] == (
        "auto_conditioning_start"
    )


@pytest.mark.usefixtures("loaded_entry")
async def test_unknown_device_sends_nothing(
    hass: HomeAssistant, fleet_api: FleetApiSimulator
) -> None:
    sent = len(fleet_api.requests)

    with pytest.raises(ServiceValidationError) as err:
        await precondition(hass, "no-such-device", 21)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "unknown_vehicle"
    assert err.value.translation_placeholders == {"device_id": "no-such-device"}
    assert len(fleet_api.requests) == sent


async def test_devices_that_are_not_vehicles_are_unknown(
    hass: HomeAssistant,
    car: VirtualCar,
    fleet_api: FleetApiSimulator,
    loaded_entry: MockConfigEntry,
) -> None:
    registry = dr.async_get(hass)
    other = MockConfigEntry(domain="other_integration")
    other.add_to_hass(hass)
    foreign = registry.async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other_integration", VIN)}
    )
    cloud = registry.async_get_device(identifiers={(DOMAIN, f"{loaded_entry.entry_id}-cloud")})
    assert cloud is not None
    not_listed = registry.async_get_or_create(
        config_entry_id=loaded_entry.entry_id, identifiers={(DOMAIN, OTHER_VIN)}
    )
    sent = len(fleet_api.requests)

    for device in (foreign, cloud, not_listed):
        assert await rejected(hass, device.id) == "unknown_vehicle"

    assert len(fleet_api.requests) == sent
    assert car.climate_on is False


@pytest.mark.usefixtures("loaded_entry")
@pytest.mark.parametrize("temperature", [40, 14.5, 28.5])
async def test_temperature_outside_the_range_is_refused_before_sending(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator, temperature: float
) -> None:
    sent = len(fleet_api.requests)

    with pytest.raises(ServiceValidationError) as err:
        await precondition(hass, device_id_of(hass), temperature)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "value_out_of_range"
    assert err.value.translation_placeholders == {
        "value": str(float(temperature)),
        "min": "15",
        "max": "28",
    }
    assert len(fleet_api.requests) == sent
    assert car.driver_temp_setting_c == 21.0
    assert car.climate_on is False


@pytest.mark.usefixtures("loaded_entry")
@pytest.mark.parametrize("temperature", ["warm", None])
async def test_a_temperature_that_is_no_number_is_refused_by_the_schema(
    hass: HomeAssistant, car: VirtualCar, fleet_api: FleetApiSimulator, temperature: Any
) -> None:
    sent = len(fleet_api.requests)

    with pytest.raises(vol.Invalid):
        await precondition(hass, device_id_of(hass), temperature)

    assert len(fleet_api.requests) == sent
    assert car.climate_on is False


async def test_unloaded_entry_is_reported(
    hass: HomeAssistant, fleet_api: FleetApiSimulator, loaded_entry: MockConfigEntry
) -> None:
    device_id = device_id_of(hass)
    assert await hass.config_entries.async_unload(loaded_entry.entry_id)
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    sent = len(fleet_api.requests)

    with pytest.raises(ServiceValidationError) as err:
        await precondition(hass, device_id, 21)

    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "vehicle_not_loaded"
    assert err.value.translation_placeholders == {"name": "Demo Model 3"}
    assert len(fleet_api.requests) == sent


async def test_action_is_registered_once_and_outlives_an_entry(
    hass: HomeAssistant,
    sim_clock: FakeClock,
    token_entry: MockConfigEntry,
    fleet_api: FleetApiSimulator,
    other_api: FleetApiSimulator,
) -> None:
    registered: list[str] = []

    def on_registered(event: Event) -> None:
        if event.data["domain"] == DOMAIN:
            registered.append(event.data["service"])

    hass.bus.async_listen(EVENT_SERVICE_REGISTERED, on_registered)
    other_api.application_public_key = fleet_api.application_public_key
    other_api.enroll_application_key(OTHER_VIN)
    second = MockConfigEntry(
        domain=DOMAIN,
        title="Other",
        unique_id=token_subject(other_api.access_token),
        data={
            CONF_PROVIDER: "tesla",
            CONF_URL: other_api.base_url,
            CONF_ACCESS_TOKEN: other_api.access_token,
        },
        options=dict(token_entry.options),
    )
    second.add_to_hass(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert token_entry.state is second.state is ConfigEntryState.LOADED

    assert registered == [SERVICE_PRECONDITION]
    assert set(hass.services.async_services_for_domain(DOMAIN)) == {SERVICE_PRECONDITION}

    assert await hass.config_entries.async_unload(token_entry.entry_id)
    assert hass.services.has_service(DOMAIN, SERVICE_PRECONDITION)
    await precondition(hass, device_id_of(hass, OTHER_VIN), 19)

    assert other_api.car(OTHER_VIN).driver_temp_setting_c == 19
    assert other_api.car(OTHER_VIN).climate_on is True
    assert await rejected(hass, device_id_of(hass)) == "vehicle_not_loaded"
