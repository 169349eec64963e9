"""Diagnostics: what each vehicle's state holds and where it came from, secrets redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_ACCESS_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from yarl import URL

from .models import TeslaResilientConfigEntry
from .state import Field

TO_REDACT = {
    CONF_ACCESS_TOKEN,
    "refresh_token",
    "id_token",
    "private_key",
    "car_public_key",
    "vin",
    "serial_number",
    str(Field.LATITUDE),
    str(Field.LONGITUDE),
}


def _origin(url: str) -> str:
    """Scheme, host and port only: a URL may carry credentials in its user info or query."""
    parsed = URL(url)
    return str(parsed.origin()) if parsed.absolute else "**REDACTED**"


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry
) -> dict[str, Any]:
    """Return the entry's configuration and each vehicle's merged state."""
    data = entry.runtime_data
    now = data.clock.monotonic()
    entry_data = dict(entry.data)
    if CONF_URL in entry_data:
        entry_data[CONF_URL] = _origin(entry_data[CONF_URL])
    vehicles = []
    for vehicle in data.vehicles.values():
        fields = {
            str(key): {
                "value": found.value,
                "source": str(found.source),
                "age": round(now - found.at),
            }
            for key, found in vehicle.state.fields.items()
        }
        described: dict[str, Any] = {
            "vin": vehicle.vin,
            "model": vehicle.summary.model,
            "route_preference": str(vehicle.route_preference),
            "fields": async_redact_data(fields, TO_REDACT),
        }
        if (coordinator := vehicle.cloud_coordinator) is not None:
            described["cloud"] = {
                "vehicle_state": coordinator.vehicle_state,
                "last_update_success": coordinator.last_update_success,
                "last_error": type(coordinator.last_exception).__name__
                if coordinator.last_exception
                else None,
                "rate_limited_for": None
                if coordinator.retry_at is None
                else round(max(0.0, coordinator.retry_at - now)),
                "data_timestamp": coordinator.data_timestamp,
            }
        if (bluetooth := vehicle.bluetooth) is not None:
            described["bluetooth"] = {
                **bluetooth.diagnostics(),
                "last_update_success": bluetooth.last_update_success,
            }
        vehicles.append(described)
    cloud: dict[str, Any] | None = None
    if (account := data.account) is not None:
        cloud = {
            "provider": str(account.provider),
            "base_url": _origin(account.link.base_url),
            "location": data.location,
            "health": account.health.health.snapshot(now),
        }
    return {
        "entry": async_redact_data(entry_data, TO_REDACT),
        "cloud": async_redact_data(cloud, TO_REDACT),
        "vehicles": async_redact_data(vehicles, TO_REDACT),
    }
