"""Service actions of the integration, addressed to a vehicle's device."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, ATTR_TEMPERATURE
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .router import Command
from .state import Field

if TYPE_CHECKING:
    from .models import TeslaResilientConfigEntry
    from .vehicle import VehicleRuntime

SERVICE_PRECONDITION: Final = "precondition"

PRECONDITION_SCHEMA: Final = vol.Schema(  # the range is the vehicle's check: a translated error
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_TEMPERATURE): vol.Coerce(float),
    }
)


def _unknown_vehicle(device_id: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_vehicle",
        translation_placeholders={"device_id": device_id},
    )


@callback
def async_get_vehicle(hass: HomeAssistant, device_id: str) -> VehicleRuntime:
    """Return the vehicle a device of this integration stands for, from a loaded entry.

    Raises ServiceValidationError when the device is not one of the integration's vehicles or
    none of its entries is loaded.
    """
    device = dr.async_get(hass).async_get(device_id)
    if device is None or device.entry_type is dr.DeviceEntryType.SERVICE:
        raise _unknown_vehicle(device_id)
    vins = {identifier for domain, identifier in device.identifiers if domain == DOMAIN}
    entries: list[TeslaResilientConfigEntry] = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.entry_id in device.config_entries
    ]
    if not vins or not entries:
        raise _unknown_vehicle(device_id)
    loaded = [entry for entry in entries if entry.state is ConfigEntryState.LOADED]
    if not loaded:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="vehicle_not_loaded",
            translation_placeholders={"name": device.name_by_user or device.name or device_id},
        )
    for entry in loaded:
        for vin in vins:
            if (vehicle := entry.runtime_data.vehicles.get(vin)) is not None:
                return vehicle
    raise _unknown_vehicle(device_id)


async def _async_precondition(call: ServiceCall) -> None:
    """Set the cabin temperature and start conditioning, over the best link."""
    vehicle = async_get_vehicle(call.hass, call.data[ATTR_DEVICE_ID])
    temperature: float = call.data[ATTR_TEMPERATURE]
    await vehicle.async_command(
        Command.SET_TEMPS,
        {"driver_temp": temperature, "passenger_temp": temperature},
        optimistic={Field.DRIVER_TEMP_SETTING: temperature},
    )
    await vehicle.async_command(
        Command.AUTO_CONDITIONING_START, optimistic={Field.CLIMATE_ON: True}
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's service actions, once for all its entries."""
    hass.services.async_register(
        DOMAIN, SERVICE_PRECONDITION, _async_precondition, schema=PRECONDITION_SCHEMA
    )
