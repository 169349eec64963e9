"""Config-flow steps that pair a Bluetooth key with a car by key-card tap."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import voluptuous as vol
from homeassistant import config_entries
from homeassistant.components import bluetooth
from homeassistant.config_entries import (
    ConfigFlowContext,
    ConfigFlowResult,
    ConfigSubentryFlow,
    SubentryFlowContext,
    SubentryFlowResult,
)
from homeassistant.const import CONF_ADDRESS
from homeassistant.core import callback
from homeassistant.data_entry_flow import FlowContext, FlowHandler, FlowResult
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
)

from . import redaction
from .ble import PAIRING_TIMEOUT_S, BluetoothLink
from .const import (
    CONF_CAR_PUBLIC_KEY,
    CONF_PRIVATE_KEY,
    CONF_VIN,
    DOMAIN,
    MODELS,
    SUBENTRY_VEHICLE_KEY,
)
from .errors import (
    BluetoothError,
    CarOutOfRange,
    ConnectFailed,
    NoConnectionSlot,
    PairingRefused,
    PairingTimedOut,
)
from .keys import VIN_RE, generate_private_key, is_car_local_name, vin_matches_local_name

_LOGGER = logging.getLogger(__name__)

PAIRING_ERRORS: Final[tuple[tuple[type[BluetoothError], str], ...]] = (
    (PairingRefused, "pairing_refused"),
    (PairingTimedOut, "pairing_timeout"),
    (CarOutOfRange, "out_of_range"),
    (NoConnectionSlot, "no_connection_slot"),
    (ConnectFailed, "bluetooth_cannot_connect"),
)
"""Translation key of the error each failed pairing shows; any other is bluetooth_cannot_connect."""


def normalize_vin(vin: str) -> str:
    """Return a VIN as the car spells it: upper case, no spaces."""
    return "".join(vin.split()).upper()


def default_title(vin: str) -> str:
    """Name a car known only by its VIN: its model and the VIN's serial digits."""
    return f"{MODELS.get(vin[3:4], 'Tesla')} {vin[-6:]}"


def discovered_title(name: str) -> str:
    """Name a car heard over Bluetooth before its VIN is known: the last six digits of its hash.

    The raw local name (S, sixteen hex digits, C) means nothing to a user; the discovery card
    shows this instead, and the same six digits stay findable in the advertised name.
    """
    return f"Tesla {name[11:17]}"


def _pairing_error(err: BluetoothError) -> str:
    return next(
        (key for kind, key in PAIRING_ERRORS if isinstance(err, kind)), "bluetooth_cannot_connect"
    )


class _PairingSteps[ContextT: FlowContext, ResultT: FlowResult[Any, Any], HandlerT](
    FlowHandler[ContextT, ResultT, HandlerT]
):
    """The pairing steps shared by the main flow and the vehicle-key subentry flow."""

    _vin: str | None = None
    _title: str | None = None
    _address: str | None = None
    _private_key: str | None = None
    _pair_task: asyncio.Task[bytes] | None = None
    _car_key: bytes | None = None
    _pair_error: str | None = None

    @property
    def _placeholders(self) -> dict[str, str]:
        return {"name": self._title or "", "vin": self._vin or ""}

    async def async_step_pair(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Explain the key-card tap; pairing starts when the user submits."""
        if user_input is not None:
            return await self.async_step_pair_wait()
        return self.async_show_form(
            step_id="pair", data_schema=vol.Schema({}), description_placeholders=self._placeholders
        )

    async def async_step_pair_wait(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Send the pairing request and wait for the key-card tap."""
        if self._pair_task is None:
            self._pair_error = None
            self._pair_task = self.hass.async_create_task(
                self._async_pair(), f"{DOMAIN} pairing {self._vin}"
            )
            self.hass.async_create_background_task(
                self._async_report_progress(self._pair_task), f"{DOMAIN} pairing progress"
            )
        if not self._pair_task.done():
            return self.async_show_progress(
                step_id="pair_wait",
                progress_action="wait_for_key_card",
                progress_task=self._pair_task,
                description_placeholders={
                    **self._placeholders,
                    "seconds": str(round(PAIRING_TIMEOUT_S)),
                },
            )
        task, self._pair_task = self._pair_task, None
        try:
            self._car_key = task.result()
        except BluetoothError as err:
            _LOGGER.debug("Pairing with %s failed: %s", self._vin, err)
            self._pair_error = _pairing_error(err)
            return self.async_show_progress_done(next_step_id="pair_failed")
        return self.async_show_progress_done(next_step_id="pair_finish")

    async def _async_report_progress(self, task: asyncio.Task[bytes]) -> None:
        """Move the flow's progress bar as the time for the tap runs out."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not task.done():
            self.async_update_progress(min(1.0, (loop.time() - started) / PAIRING_TIMEOUT_S))
            await asyncio.wait({task}, timeout=1)

    async def async_step_pair_failed(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Say why pairing failed; submitting tries again with the same key."""
        if user_input is not None:
            return await self.async_step_pair_wait()
        return self.async_show_form(
            step_id="pair_failed",
            data_schema=vol.Schema({}),
            errors={"base": self._pair_error or "bluetooth_cannot_connect"},
            description_placeholders=self._placeholders,
        )

    async def async_step_pair_finish(self, user_input: dict[str, Any] | None = None) -> ResultT:
        """Store the key and the car's pinned public key."""
        assert self._vin is not None
        assert self._private_key is not None
        assert self._car_key is not None
        return self._async_paired(
            {
                CONF_VIN: self._vin,
                CONF_PRIVATE_KEY: self._private_key,
                CONF_CAR_PUBLIC_KEY: self._car_key.hex(),
                CONF_ADDRESS: self._address,
            }
        )

    def _async_paired(self, data: dict[str, Any]) -> ResultT:
        raise NotImplementedError

    async def _async_pair(self) -> bytes:
        assert self._vin is not None
        if self._private_key is None:
            self._private_key = await self.hass.async_add_executor_job(generate_private_key)
        # A flow can run before the integration has set up anything: filter the logs first.
        redaction.install()
        link = BluetoothLink(self.hass, self._vin, self._private_key, None, address=self._address)
        try:
            return await link.async_pair(PAIRING_TIMEOUT_S)
        finally:
            self._address = link.address or self._address
            await link.async_close()


class BluetoothPairingFlowMixin(
    _PairingSteps[ConfigFlowContext, ConfigFlowResult, str], config_entries.ConfigFlow
):
    """Bluetooth discovery and pairing for the main config flow: a Bluetooth-only entry."""

    _discovered_name: str | None = None

    async def async_step_bluetooth(
        self, discovery_info: bluetooth.BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """Start from a Tesla heard over Bluetooth; a known car only gets its address updated."""
        name = discovery_info.name
        if not is_car_local_name(name):
            return self.async_abort(reason="not_supported")
        if (known := self._async_update_known_car(name, discovery_info.address)) is not None:
            return self.async_abort(reason=known)
        await self.async_set_unique_id(name[1:17])
        self._abort_if_unique_id_configured()
        self._address = discovery_info.address
        self._discovered_name = self._title = name
        self.context["title_placeholders"] = {"name": discovered_title(name)}
        return await self.async_step_bluetooth_confirm()

    @callback
    def _async_update_known_car(self, name: str, address: str) -> str | None:
        """Abort reason for a car already set up, after storing the address it now uses."""
        entries = self.hass.config_entries
        for entry in entries.async_entries(DOMAIN, include_ignore=False):
            if vin_matches_local_name(entry.data.get(CONF_VIN, ""), name):
                if entry.data.get(CONF_ADDRESS) != address:
                    entries.async_update_entry(entry, data={**entry.data, CONF_ADDRESS: address})
                return "car_already_configured"
            for subentry in entry.subentries.values():
                if subentry.subentry_type == SUBENTRY_VEHICLE_KEY and vin_matches_local_name(
                    subentry.data.get(CONF_VIN, ""), name
                ):
                    if subentry.data.get(CONF_ADDRESS) != address:
                        data = {**subentry.data, CONF_ADDRESS: address}
                        entries.async_update_subentry(entry, subentry, data=data)
                    return "car_already_configured"
        registry = dr.async_get(self.hass)
        for device in registry.devices.values():
            if any(
                domain == DOMAIN and vin_matches_local_name(identifier, name)
                for domain, identifier in device.identifiers
            ):
                return "account_vehicle"
        return None

    async def async_step_bluetooth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the VIN of the discovered car; it must hash to the name the car advertises."""
        errors: dict[str, str] = {}
        if user_input is not None:
            vin = normalize_vin(user_input[CONF_VIN])
            if not VIN_RE.match(vin):
                errors[CONF_VIN] = "invalid_vin"
            elif not vin_matches_local_name(vin, self._discovered_name or ""):
                errors[CONF_VIN] = "vin_mismatch"
            else:
                return await self._async_start_pairing(vin)
        return self.async_show_form(
            step_id="bluetooth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_VIN): TextSelector()}),
            errors=errors,
            description_placeholders={"name": self._title or ""},
        )

    async def async_step_bluetooth_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pair a car by its VIN without a Tesla account, when it was not discovered."""
        errors: dict[str, str] = {}
        if user_input is not None:
            vin = normalize_vin(user_input[CONF_VIN])
            heard = next(
                (
                    info
                    for info in bluetooth.async_discovered_service_info(self.hass)
                    if vin_matches_local_name(vin, info.name)
                ),
                None,
            )
            if not VIN_RE.match(vin):
                errors[CONF_VIN] = "invalid_vin"
            elif heard is None:
                errors["base"] = "not_found"
            elif (known := self._async_update_known_car(heard.name, heard.address)) is not None:
                return self.async_abort(reason=known)
            else:
                self._address = heard.address
                return await self._async_start_pairing(vin)
        return self.async_show_form(
            step_id="bluetooth_user",
            data_schema=vol.Schema({vol.Required(CONF_VIN): TextSelector()}),
            errors=errors,
        )

    async def _async_start_pairing(self, vin: str) -> ConfigFlowResult:
        await self.async_set_unique_id(vin, raise_on_progress=False)
        self._abort_if_unique_id_configured()
        self._vin = vin
        self._title = default_title(vin)
        return await self.async_step_pair()

    def _async_paired(self, data: dict[str, Any]) -> ConfigFlowResult:
        return self.async_create_entry(title=self._title or data[CONF_VIN], data=data)


class VehicleKeySubentryFlow(
    _PairingSteps[SubentryFlowContext, SubentryFlowResult, tuple[str, str]], ConfigSubentryFlow
):
    """Add a Bluetooth key to a vehicle of a Tesla account."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Choose the vehicle, then pair."""
        vehicles = self._vehicles_without_key()
        if user_input is not None:
            vin = normalize_vin(user_input[CONF_VIN])
            if VIN_RE.match(vin):
                self._vin = vin
                self._title = vehicles.get(vin) or default_title(vin)
                return await self.async_step_pair()
        if not vehicles:
            return self.async_abort(reason="no_vehicles")
        options = [SelectOptionDict(value=vin, label=name) for vin, name in vehicles.items()]
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {vol.Required(CONF_VIN): SelectSelector(SelectSelectorConfig(options=options))}
            ),
        )

    def _vehicles_without_key(self) -> dict[str, str]:
        entry = self._get_entry()
        paired = {
            subentry.data.get(CONF_VIN)
            for subentry in entry.subentries.values()
            if subentry.subentry_type == SUBENTRY_VEHICLE_KEY
        }
        vehicles: dict[str, str] = {}
        for device in dr.async_entries_for_config_entry(dr.async_get(self.hass), entry.entry_id):
            for domain, vin in device.identifiers:
                if domain == DOMAIN and VIN_RE.match(vin) and vin not in paired:
                    vehicles[vin] = device.name_by_user or device.name or default_title(vin)
        return vehicles

    def _async_paired(self, data: dict[str, Any]) -> SubentryFlowResult:
        return self.async_create_entry(
            title=self._title or data[CONF_VIN], data=data, unique_id=data[CONF_VIN]
        )
