"""The simulator's config entry, created from its `tesla_simulator:` YAML section."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import DEVICE_NAME, DOMAIN


class TeslaSimulatorConfigFlow(ConfigFlow, domain=DOMAIN):
    """Turn the YAML section into the one config entry."""

    VERSION = 1

    async def async_step_import(self, import_data: dict[str, Any]) -> ConfigFlowResult:
        """Create the entry, or update its port from YAML."""
        await self.async_set_unique_id(DOMAIN)
        self._abort_if_unique_id_configured(updates=import_data)
        return self.async_create_entry(title=DEVICE_NAME, data=import_data)

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Point to configuration.yaml, where the simulator is set up."""
        return self.async_abort(reason="yaml_only")
