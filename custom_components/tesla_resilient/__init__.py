"""Tesla Resilient: a Tesla through the Fleet API, kept usable when that cloud is not."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState, ConfigSubentry
from homeassistant.const import (
    CONF_ADDRESS,
    CONF_MODEL,
    CONF_NAME,
    Platform,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.typing import ConfigType

from . import redaction, repairs
from .account_link import async_cloud_link
from .application_key import ApplicationKey
from .ble import BluetoothLink
from .ble_coordinator import BluetoothCoordinator
from .clock import DATA_CLOCK, Clock
from .cloud import CloudLink
from .cloud_data import OFFLINE, VehicleSummary
from .cloud_errors import CloudAuthError, CloudError, MissingScopes, PaymentRequired
from .cloud_health import CloudHealthCoordinator
from .const import (
    CONF_APPLICATION_DOMAIN,
    CONF_CAR_PUBLIC_KEY,
    CONF_COMMAND_SIGNING,
    CONF_PRIVATE_KEY,
    CONF_ROUTE_PREFERENCE,
    CONF_SKIP_CLOUD_POLL,
    CONF_VEHICLES,
    CONF_VIN,
    DOMAIN,
    LOGGER,
    SCOPE_DATA,
    SCOPE_LOCATION,
    SIGNAL_VEHICLE_ADDED,
    SUBENTRY_VEHICLE_KEY,
    VEHICLE_LIST_INTERVAL,
)
from .health import AccountHealth, Capability, Outcome
from .models import CloudAccount, TeslaResilientConfigEntry, TeslaResilientData
from .providers import provider_of
from .router import RoutePreference
from .services import async_setup_services
from .vehicle import VehicleRuntime

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CLIMATE,
    Platform.COVER,
    Platform.DEVICE_TRACKER,
    Platform.LOCK,
    Platform.NUMBER,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

OUTAGE_OUTCOMES: Final = frozenset({Outcome.SERVER_ERROR, Outcome.TRANSPORT})


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Keep Bluetooth keys out of the logs and register the service actions, for good."""
    redaction.install()
    async_setup_services(hass)
    return True


def _key_subentries(entry: TeslaResilientConfigEntry) -> dict[str, ConfigSubentry]:
    """Return the account's Bluetooth keys by VIN."""
    return {
        subentry.data[CONF_VIN]: subentry
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_VEHICLE_KEY
    }


def _stored_vehicles(entry: TeslaResilientConfigEntry) -> list[VehicleSummary]:
    return [
        VehicleSummary(
            vehicle[CONF_VIN], vehicle[CONF_NAME], OFFLINE, vehicle.get(CONF_COMMAND_SIGNING)
        )
        for vehicle in entry.data.get(CONF_VEHICLES, ())
    ]


@callback
def _store_vehicles(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, vehicles: list[VehicleSummary]
) -> None:
    stored = [
        {
            CONF_VIN: vehicle.vin,
            CONF_NAME: vehicle.display_name,
            CONF_MODEL: vehicle.model,
            CONF_COMMAND_SIGNING: vehicle.command_signing,
        }
        for vehicle in vehicles
    ]
    if entry.data.get(CONF_VEHICLES) != stored:
        hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_VEHICLES: stored})


async def _async_vehicles(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, cloud: CloudLink
) -> list[VehicleSummary]:
    """List the account's vehicles; while the cloud is down, the stored list if a car has a key."""
    try:
        vehicles = await cloud.products()
    except CloudAuthError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except MissingScopes as err:
        repairs.async_scopes_issue(hass, entry.entry_id, entry.title, SCOPE_DATA, missing=True)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cloud_error",
            translation_placeholders={"error": str(err)},
        ) from err
    except CloudError as err:
        stored = _stored_vehicles(entry)
        keys = _key_subentries(entry)
        if unpaid := isinstance(err, PaymentRequired):
            reason, provider = err.reason, provider_of(entry.data)
            repairs.async_payment_issue(hass, entry.entry_id, provider, reason, title=entry.title)
        if (unpaid or err.outcome in OUTAGE_OUTCOMES) and any(v.vin in keys for v in stored):
            LOGGER.warning("The cloud lists no vehicles; loading the stored ones: %s", err)
            return stored
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cloud_error",
            translation_placeholders={"error": str(err)},
        ) from err
    _store_vehicles(hass, entry, vehicles)
    return vehicles


def _bluetooth(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    vehicle: VehicleRuntime,
    key: Mapping[str, Any],
    clock: Clock,
) -> BluetoothCoordinator:
    link = BluetoothLink(
        hass,
        vehicle.vin,
        key[CONF_PRIVATE_KEY],
        bytes.fromhex(key[CONF_CAR_PUBLIC_KEY]),
        address=key.get(CONF_ADDRESS),
        monotonic=clock.monotonic,
    )
    entry.async_on_unload(link.async_close)
    coordinator = BluetoothCoordinator(
        hass, entry, link, vehicle.state, name=vehicle.summary.display_name, clock=clock
    )
    vehicle.attach_bluetooth(coordinator)
    # The first read takes a connection and several round trips; setup does not wait for it,
    # so Home Assistant starts at once even when the cloud is down. Entities fill in when it
    # ends, and commands can go over Bluetooth meanwhile. Unloading or stopping cancels it.
    entry.async_create_background_task(
        hass, coordinator.async_refresh(), f"{DOMAIN} first Bluetooth read {vehicle.vin[-6:]}"
    )
    return coordinator


async def _async_application_key(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    cloud: CloudLink,
    listed: list[VehicleSummary],
    clock: Clock,
) -> tuple[ApplicationKey | None, str | None]:
    """Load the application's key when the owner named its domain; ask which cars have it.

    Only cars that need signing and have no Bluetooth key are asked about: one `fleet_status`
    request per setup, none when every car signs with its Bluetooth key.
    """
    if not (domain := entry.options.get(CONF_APPLICATION_DOMAIN)):
        return None, None
    key = await ApplicationKey.async_load(hass, cloud, clock.monotonic)
    keys = _key_subentries(entry)
    await key.async_check(
        [vehicle.vin for vehicle in listed if vehicle.signing_required and vehicle.vin not in keys]
    )
    return key, str(domain)


def _cloud_commands_up(health: AccountHealth, vin: str, clock: Clock) -> bool:
    return health.is_up(Capability.COMMANDS, clock.monotonic(), vin)


def _add_vehicle(
    hass: HomeAssistant,
    entry: TeslaResilientConfigEntry,
    account: CloudAccount,
    vehicles: dict[str, VehicleRuntime],
    summary: VehicleSummary,
    *,
    clock: Clock,
    location: bool,
) -> VehicleRuntime:
    """Add one vehicle of the account, with a Bluetooth link when it has a key."""
    key = _key_subentries(entry).get(summary.vin)
    vehicle = vehicles[summary.vin] = VehicleRuntime(
        hass,
        entry,
        account.link,
        summary,
        clock,
        location=location,
        route_preference=RoutePreference(
            entry.options.get(CONF_ROUTE_PREFERENCE, RoutePreference.AUTOMATIC)
        ),
        cloud_commands_up=partial(_cloud_commands_up, account.health.health, summary.vin, clock),
        key_subentry_id=None if key is None else key.subentry_id,
        skip_cloud_data_in_range=entry.options.get(CONF_SKIP_CLOUD_POLL, True),
        application_key=account.application_key,
        application_domain=account.application_domain,
        provider_signs=account.provider.signs_commands,
    )
    if key is not None:
        _bluetooth(hass, entry, vehicle, key.data, clock)
    if summary.signing_required:
        # A provider that signs clears the issue an entry may have had before it moved there.
        missing = vehicle.signing_required and vehicle.cloud_signer() is None
        vehicle.async_signing_issue(missing=missing)
    return vehicle


@callback
def _watch(entry: TeslaResilientConfigEntry, vehicle: VehicleRuntime) -> None:
    """Keep the vehicle's device and its entities in step with every link's updates."""
    entry.async_on_unload(vehicle.coordinator.async_add_listener(vehicle.async_update_device))
    if vehicle.bluetooth is not None and vehicle.bluetooth is not vehicle.coordinator:
        entry.async_on_unload(
            vehicle.bluetooth.async_add_listener(vehicle.coordinator.async_update_listeners)
        )


async def _async_sync_vehicles(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, account: CloudAccount
) -> None:
    """Add the vehicles the account gained and remove those it lost, unless data calls fail."""
    data = entry.runtime_data
    if not account.health.health.is_up(Capability.DATA, data.clock.monotonic()):
        return
    try:
        listed = await account.link.products()
    except CloudError as err:
        LOGGER.debug("Could not list the account's vehicles: %s", err)
        return
    if entry.state is not ConfigEntryState.LOADED:
        return
    _store_vehicles(hass, entry, listed)
    vins = {summary.vin for summary in listed}
    registry = dr.async_get(hass)
    for vin in [vin for vin in data.vehicles if vin not in vins]:
        vehicle = data.vehicles.pop(vin)
        if (device := registry.async_get_device(identifiers={(DOMAIN, vin)})) is not None:
            registry.async_update_device(device.id, remove_config_entry_id=entry.entry_id)
        for coordinator in (vehicle.cloud_coordinator, vehicle.bluetooth):
            if coordinator is not None:
                await coordinator.async_shutdown()
    for summary in listed:
        if summary.vin in data.vehicles:
            continue
        vehicle = _add_vehicle(
            hass, entry, account, data.vehicles, summary, clock=data.clock, location=data.location
        )
        await vehicle.coordinator.async_refresh()
        _watch(entry, vehicle)
        async_dispatcher_send(hass, SIGNAL_VEHICLE_ADDED.format(entry.entry_id), vehicle)


async def _async_setup_account(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, clock: Clock
) -> TeslaResilientData:
    """Connect to the account's cloud and its vehicles, over Bluetooth too where a key exists."""
    provider = provider_of(entry.data)
    cloud, scopes = await async_cloud_link(hass, entry, clock, provider)
    repairs.async_scopes_issue(hass, entry.entry_id, entry.title, SCOPE_DATA, missing=False)
    location = scopes is None or SCOPE_LOCATION in scopes
    listed = await _async_vehicles(hass, entry, cloud)
    vehicles: dict[str, VehicleRuntime] = {}
    health = CloudHealthCoordinator(
        hass,
        entry,
        cloud,
        AccountHealth(vins=[vehicle.vin for vehicle in listed]),
        clock=clock,
        vehicles=lambda: vehicles,
        separate_provider=provider.separate_cloud,
    )
    account = CloudAccount(
        cloud,
        health,
        *await _async_application_key(hass, entry, cloud, listed, clock),
        provider=provider,
    )
    entry.async_on_unload(cloud.add_outcome_listener(health.async_record))
    for summary in listed:
        _add_vehicle(hass, entry, account, vehicles, summary, clock=clock, location=location)

    async def first_refresh(vehicle: VehicleRuntime) -> None:
        if vehicle.bluetooth is None:
            await vehicle.coordinator.async_config_entry_first_refresh()
        else:
            await vehicle.coordinator.async_refresh()

    await asyncio.gather(*(first_refresh(vehicle) for vehicle in vehicles.values()))
    await health.async_refresh()
    return TeslaResilientData(account, clock, location, vehicles)


async def _async_setup_bluetooth_car(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, clock: Clock
) -> TeslaResilientData:
    """Reach a car without an account, over Bluetooth alone."""
    vin: str = entry.data[CONF_VIN]
    vehicle = VehicleRuntime(
        hass,
        entry,
        None,
        VehicleSummary(vin, entry.title, OFFLINE),
        clock,
        location=True,
        route_preference=RoutePreference.BLUETOOTH_ONLY,
    )
    _bluetooth(hass, entry, vehicle, entry.data, clock)
    return TeslaResilientData(None, clock, True, {vin: vehicle})


def _reload_key(entry: TeslaResilientConfigEntry) -> tuple[Any, ...]:
    """Return what an entry is set up from, apart from the data it stores for itself."""
    return (frozenset(entry.subentries), tuple(sorted(entry.options.items())))


async def async_setup_entry(hass: HomeAssistant, entry: TeslaResilientConfigEntry) -> bool:
    """Connect to the car or the account's cars, read each once and set up the platforms."""
    clock = hass.data.get(DATA_CLOCK) or Clock()
    if CONF_VIN in entry.data:
        data = await _async_setup_bluetooth_car(hass, entry, clock)
    else:
        data = await _async_setup_account(hass, entry, clock)
    entry.runtime_data = data
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    for vehicle in data.vehicles.values():
        _watch(entry, vehicle)
    if (account := data.account) is not None:

        async def async_sync_vehicles(_now: datetime) -> None:
            await _async_sync_vehicles(hass, entry, account)

        entry.async_on_unload(
            async_track_time_interval(
                hass, async_sync_vehicles, VEHICLE_LIST_INTERVAL, cancel_on_shutdown=True
            )
        )
    loaded_from = _reload_key(entry)

    async def async_reload_when_changed(
        hass: HomeAssistant, entry: TeslaResilientConfigEntry
    ) -> None:
        if _reload_key(entry) != loaded_from:
            hass.config_entries.async_schedule_reload(entry.entry_id)

    entry.async_on_unload(entry.add_update_listener(async_reload_when_changed))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: TeslaResilientConfigEntry) -> bool:
    """Unload the platforms; the coordinators stop and the Bluetooth links close with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: TeslaResilientConfigEntry, device: DeviceEntry
) -> bool:
    """Allow removing a vehicle's device once the account no longer lists the vehicle."""
    return not any(
        domain == DOMAIN and identifier in entry.runtime_data.vehicles
        for domain, identifier in device.identifiers
    )
