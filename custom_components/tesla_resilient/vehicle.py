"""One vehicle at runtime: its merged state, its links, and the one way commands go out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from . import repairs
from .application_key import ApplicationKey
from .billing import CostMeter
from .ble_coordinator import BluetoothCoordinator
from .clock import Clock
from .cloud import CloudLink
from .cloud_data import ONLINE, VehicleSummary
from .cloud_errors import (
    CloudError,
    CommandRejected,
    SigningRequired,
    VehicleAsleep,
    VehicleUnreached,
)
from .cloud_signing import CloudSigner, SigningKeyUnknown, may_have_run
from .command_errors import command_error
from .const import (
    CHARGE_LIMIT_RANGE,
    DEFAULT_MAX_CHARGING_AMPS,
    DOMAIN,
    TEMPERATURE_RANGE,
    WAKE_POLL_INTERVAL,
    WAKE_TIMEOUT,
)
from .coordinator import CloudVehicleCoordinator
from .errors import BluetoothError
from .health import Outcome
from .link_coordinator import LinkCoordinator
from .router import (
    AttemptResult,
    Command,
    Delivery,
    Route,
    RoutePreference,
    execute,
    plan,
)
from .state import Field, Source, VehicleState

type CommandLink = Callable[[str, dict[str, Any]], Awaitable[AttemptResult]]

_TRUNKS: Final = {"rear": Field.TRUNK_OPEN, "front": Field.FRUNK_OPEN}
"""The trunks `actuate_trunk` moves, and the field that tells whether each is open."""

_SOURCES: Final = {Route.CLOUD: Source.CLOUD, Route.BLUETOOTH: Source.BLUETOOTH}


def _delivery(err: CloudError) -> Delivery:
    """How far a failed cloud command got: only a sent request that got no verdict may have run."""
    if may_have_run(err):
        return Delivery.MAYBE_DELIVERED
    return Delivery.NOT_SENT


@dataclass(frozen=True, slots=True)
class LastCommand:
    """The latest command: its name, the link it last went over, and whether the car confirmed."""

    command: str
    route: Route
    confirmed: bool


class VehicleRuntime:
    """A vehicle of a loaded entry: state merged from every link, and its command path."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        cloud: CloudLink | None,
        summary: VehicleSummary,
        clock: Clock,
        *,
        location: bool,
        route_preference: RoutePreference = RoutePreference.AUTOMATIC,
        cloud_commands_up: Callable[[], bool] | None = None,
        key_subentry_id: str | None = None,
        skip_cloud_data_in_range: bool = False,
        application_key: ApplicationKey | None = None,
        application_domain: str | None = None,
        provider_signs: bool = False,
    ) -> None:
        """Set up the vehicle's state and, with an account, its cloud coordinator.

        `cloud_commands_up` tells whether the account's cloud takes commands now; with
        `skip_cloud_data_in_range` the paid cloud data poll waits while Bluetooth answers.
        `application_key` signs for the cars that have it, published at `application_domain`;
        with `provider_signs` the provider signs and commands go to it plain.
        """
        self.hass = hass
        self.entry = entry
        self.summary = summary
        self.vin = summary.vin
        self.clock = clock
        self.location = location
        self.state = VehicleState()
        self.route_preference = route_preference
        self.links: dict[Route, CommandLink] = {}
        self.cloud_commands_up: Callable[[], bool] = cloud_commands_up or (lambda: True)
        self.bluetooth_ready: Callable[[], bool] = lambda: False
        self.bluetooth: BluetoothCoordinator | None = None
        self.key_subentry_id = key_subentry_id
        self.last_command: LastCommand | None = None
        self.cost = CostMeter()
        self.provider_signs = provider_signs
        self.signing_required = summary.signing_required and not provider_signs
        """Whether commands are signed here: listed so, or Tesla refused; never for a provider."""
        self._signer: CloudSigner | None = None
        self._application_key = application_key
        self._application_domain = application_domain
        self._cloud = cloud
        self._cloud_coordinator: CloudVehicleCoordinator | None = None
        if cloud is not None:
            self._cloud_coordinator = CloudVehicleCoordinator(
                hass,
                entry,
                cloud,
                self.vin,
                state=self.state,
                clock=clock,
                location=location,
                shown=lambda: (self.state.revision, self.cost.usd),
                skip_data=self.bluetooth_answers if skip_cloud_data_in_range else None,
            )
            self.links[Route.CLOUD] = self._cloud_attempt
        self._wake_lock = asyncio.Lock()

    @property
    def cloud(self) -> CloudLink:
        """The account's cloud link; only vehicles of an account have one."""
        assert self._cloud is not None
        return self._cloud

    @property
    def cloud_coordinator(self) -> CloudVehicleCoordinator | None:
        """The cloud poll of the vehicle, None for a Bluetooth-only car."""
        return self._cloud_coordinator

    @property
    def coordinator(self) -> LinkCoordinator:
        """The coordinator the vehicle's entities follow: the cloud's, else Bluetooth's."""
        if self._cloud_coordinator is not None:
            return self._cloud_coordinator
        assert self.bluetooth is not None
        return self.bluetooth

    @callback
    def attach_bluetooth(self, coordinator: BluetoothCoordinator) -> None:
        """Read and command the vehicle over Bluetooth as well."""
        self.bluetooth = coordinator
        self.links[Route.BLUETOOTH] = self._bluetooth_attempt
        self.bluetooth_ready = self.bluetooth_reachable

    def bluetooth_reachable(self) -> bool:
        """Whether commands should try Bluetooth first: the car is heard and worth trying."""
        coordinator = self.bluetooth
        return coordinator is not None and not coordinator.stopped and coordinator.link.reachable

    def bluetooth_says_awake(self) -> bool:
        """Whether Bluetooth answers now and says the car is awake."""
        return self.bluetooth is not None and self.bluetooth_answers() and self.bluetooth.awake

    def bluetooth_answers(self) -> bool:
        """Whether the car is in Bluetooth range and answered its latest Bluetooth read."""
        coordinator = self.bluetooth
        return (
            coordinator is not None
            and not coordinator.stopped
            and coordinator.link.in_range
            and coordinator.last_update_success
        )

    @property
    def device_info(self) -> DeviceInfo:
        """The vehicle's device."""
        return DeviceInfo(
            identifiers={(DOMAIN, self.vin)},
            manufacturer="Tesla",
            name=self.summary.display_name,
            model=self.summary.model,
            serial_number=self.vin,
            sw_version=self.state.value(Field.SOFTWARE_VERSION),
        )

    @callback
    def async_state_changed(self) -> None:
        """Tell every entity of the vehicle that the merged state changed."""
        self.coordinator.async_update_listeners()
        if self.bluetooth is not None and self.bluetooth is not self.coordinator:
            self.bluetooth.async_update_listeners()

    @callback
    def async_update_device(self) -> None:
        """Keep the device's software version in step with what the car reports."""
        version = self.state.value(Field.SOFTWARE_VERSION)
        registry = dr.async_get(self.hass)
        device = registry.async_get_device(identifiers={(DOMAIN, self.vin)})
        if version and device is not None and device.sw_version != version:
            registry.async_update_device(device.id, sw_version=version)

    async def async_command(
        self,
        command: Command,
        params: Mapping[str, Any] | None = None,
        *,
        optimistic: Mapping[Field, Any] | None = None,
    ) -> None:
        """Run a command over the best link, waking the car when needed.

        Out-of-range values raise ServiceValidationError before anything is sent; failures raise
        a translated HomeAssistantError; success shows `optimistic` at once.
        """
        arguments = dict(params or {})
        self._validate(command, arguments)
        routes = [
            route
            for route in plan(
                command,
                self.route_preference,
                cloud_commands_up=self.cloud_commands_up(),
                bluetooth_ready=self.bluetooth_ready(),
            )
            if route in self.links
        ]
        if not routes:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="no_route")

        async def attempt(route: Route) -> AttemptResult:
            return await self.links[route](command, arguments)

        result = await execute(command, routes, attempt)
        if result.route is not None:
            self.last_command = LastCommand(command, result.route, result.confirmed)
        if not result.confirmed:
            self.async_state_changed()
            raise command_error(
                result,
                self.hass,
                self.entry,
                self.summary.display_name,
                self._cloud_coordinator,
            )
        if optimistic and result.route is not None:
            self.state.update(optimistic, _SOURCES[result.route], self.clock.monotonic())
        self.async_state_changed()

    async def async_move_trunk(self, which: str, *, open_: bool) -> None:
        """Open or close the rear or front trunk; nothing is sent when it already is there.

        `actuate_trunk` toggles, so sending it to a trunk in the wanted position would move it
        the wrong way.
        """
        field = _TRUNKS[which]
        if self.state.value(field) is open_:
            return
        await self.async_command(
            Command.ACTUATE_TRUNK, {"which_trunk": which}, optimistic={field: open_}
        )

    def _validate(self, command: str, params: Mapping[str, Any]) -> None:
        limits: list[tuple[str, float, float]] = []
        if command == Command.SET_CHARGE_LIMIT:
            limits.append(("percent", *CHARGE_LIMIT_RANGE))
        elif command == Command.SET_CHARGING_AMPS:
            ceiling = self.state.value(Field.CHARGE_CURRENT_REQUEST_MAX)
            limits.append(("charging_amps", 0, ceiling or DEFAULT_MAX_CHARGING_AMPS))
        elif command == Command.SET_TEMPS:
            limits.extend((key, *TEMPERATURE_RANGE) for key in ("driver_temp", "passenger_temp"))
        for key, low, high in limits:
            value = params.get(key)
            if not isinstance(value, int | float) or not low <= value <= high:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="value_out_of_range",
                    translation_placeholders={
                        "value": str(value),
                        "min": f"{low:g}",
                        "max": f"{high:g}",
                    },
                )

    async def _cloud_attempt(self, command: str, params: dict[str, Any]) -> AttemptResult:
        try:
            if command == Command.WAKE_UP:
                await self._wake()
            else:
                await self._cloud_command(command, params)
        except CommandRejected as err:
            return AttemptResult(Route.CLOUD, Delivery.REJECTED, err, err.reason)
        except CloudError as err:
            return AttemptResult(Route.CLOUD, _delivery(err), err)
        return AttemptResult(Route.CLOUD, Delivery.CONFIRMED)

    async def _bluetooth_attempt(self, command: str, params: dict[str, Any]) -> AttemptResult:
        assert self.bluetooth is not None
        try:
            await self.bluetooth.link.async_command(command, **params)
        except BluetoothError as err:
            return AttemptResult(Route.BLUETOOTH, err.delivery, err, err.reason)
        return AttemptResult(Route.BLUETOOTH, Delivery.CONFIRMED)

    async def _cloud_command(self, command: str, params: dict[str, Any]) -> None:
        if self.state.value(Field.ASLEEP) is not False:
            await self._wake()
        try:
            await self._send_over_cloud(command, params)
        except VehicleAsleep:
            await self._wake()
            try:
                await self._send_over_cloud(command, params)
            except VehicleAsleep as err:
                online = f"{err}, though Tesla lists the car online"
                unreached = VehicleUnreached(Outcome.VEHICLE_UNAVAILABLE, sent=False, detail=online)
                raise unreached from err

    async def _send_over_cloud(self, command: str, params: dict[str, Any]) -> None:
        """Send a command signed when the car needs it, plain otherwise.

        A plain command the cloud refuses for want of a signature ran nothing: it goes again
        signed, and from then on every command to this car is signed (never a provider's).
        """
        if not self.signing_required:
            try:
                await self.cloud.command(self.vin, command, **params)
            except SigningRequired:
                if self.provider_signs:
                    raise
                self.signing_required = True
            else:
                return
        signer, key = self.cloud_signer(), self._application_key
        if signer is None and key is not None and await key.async_has_key(self.vin):
            signer = self.cloud_signer()  # the owner added the application's key since
        if signer is None:
            self.async_signing_issue(missing=True)
            raise SigningKeyUnknown
        try:
            await signer.command(command, params)
        except SigningKeyUnknown:
            self.async_signing_issue(missing=True)
            raise
        self.async_signing_issue(missing=False)

    def cloud_signer(self) -> CloudSigner | None:
        """Return the signer of the car's cloud commands: the Bluetooth key, else the application's.

        The Bluetooth key paired in Home Assistant signs both routes and shares its sessions
        with the Bluetooth link; the application's key is used when the car has it.
        """
        if self._signer is None and self._cloud is not None:
            if self.bluetooth is not None:
                link = self.bluetooth.link
                self._signer = CloudSigner(
                    self._cloud,
                    self.vin,
                    link.keyring,
                    sessions=link.sessions,
                    monotonic=self.clock.monotonic,
                )
            elif self._application_key is not None:
                self._signer = self._application_key.signer(self.vin)
        return self._signer

    @callback
    def async_signing_issue(self, *, missing: bool) -> None:
        """Raise or clear the repair issue of a car that needs signing and knows no key of ours."""
        name, domain = self.summary.display_name, self._application_domain
        repairs.async_signing_issue(self.hass, self.vin, name, domain, missing=missing)

    async def _wake(self) -> None:
        """Bring the car online through the cloud, within WAKE_TIMEOUT."""
        async with self._wake_lock:
            state = await self.cloud.vehicle_state(self.vin)
            if state != ONLINE:
                state = await self.cloud.wake_up(self.vin)
                deadline = self.clock.monotonic() + WAKE_TIMEOUT
                while state != ONLINE:
                    if self.clock.monotonic() >= deadline:
                        raise VehicleAsleep(
                            Outcome.ASLEEP, sent=False, detail="still asleep after a wake request"
                        )
                    await self.clock.sleep(WAKE_POLL_INTERVAL)
                    state = await self.cloud.vehicle_state(self.vin)
            if self._cloud_coordinator is not None:
                self._cloud_coordinator.vehicle_state = ONLINE
            self.state.update({Field.ASLEEP: False}, Source.CLOUD, self.clock.monotonic())
