"""The virtual car: one state shared by the simulated cloud and the simulated Bluetooth face."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Clock = Callable[[], float]

IDLE_SLEEP_S = 15 * 60
"""A parked car with nothing going on falls asleep after this long without activity."""

WAKE_DURATION_S = 4.0
"""How long the car takes from asleep to online after a wake request."""

CHARGE_LIMIT_RANGE = (50, 100)
CHARGE_CURRENT_RANGE = (0, 32)
TEMP_RANGE_C = (15.0, 28.0)

WINDOW_CLOSED = 0
WINDOW_VENT = 1


class SleepModel(StrEnum):
    """Whether the Fleet API's data requests keep an idle car awake.

    Sources: issue 16 ("Honest figures"); Home Assistant core's `tesla_fleet` coordinator
    (homeassistant/components/tesla_fleet/coordinator.py, "Handle pre-2021 vehicles which cannot
    sleep by themselves": it stops polling for 15 minutes only for those cars); tesla-fleet-api's
    `Vehicle.pre2021` (tesla_fleet_api/tesla/vehicle/vehicle.py) for which cars those are. Owners
    report newer cars falling asleep while polled.
    """

    SLEEPS = "sleeps"
    """Post-2021 cars: asleep after the idle period, whatever `vehicle_data` requests do."""

    KEPT_AWAKE = "kept_awake"
    """Model S and X built before 2021: each `vehicle_data` request counts as activity."""


class CommandSigning(StrEnum):
    """Whether the car takes plain REST commands, as the vehicle list's `command_signing` says.

    Sources: developer.tesla.com/docs/fleet-api ("2023-10-09 REST API vehicle commands endpoint
    deprecation warning": every vehicle except Model S and X built before 2021 needs the Vehicle
    Command Protocol); Home Assistant core's `tesla_fleet` (signs when the vehicle list says
    `required`); alandtse/tesla#858 and teslamotors/vehicle-command#252 (newer cars refusing
    plain commands).
    """

    OFF = "off"
    """Plain REST commands only: the car does not take signed ones through the cloud."""
    ALLOWED = "allowed"
    """Both plain and signed commands."""
    REQUIRED = "required"
    """Signed commands only: plain REST commands are refused."""


MODEL_YEARS = {code: 2010 + offset for offset, code in enumerate("ABCDEFGHJKLMNPRSTVWXY")}
"""The VIN's 10th character by model year (I, O, Q, U, Z and 0 are never used), 2010 on."""


def model_for(vin: str) -> str:
    """Return the model letter of a Tesla VIN (4th character): S, 3, X, Y, C (Cybertruck)..."""
    return vin[3:4]


def model_year_for(vin: str) -> int | None:
    """Return the model year a Tesla VIN encodes (10th character), None when unreadable."""
    return MODEL_YEARS.get(vin[9:10])


def is_pre2021(vin: str) -> bool:
    """Whether a VIN is a Model S or X built before 2021, by tesla-fleet-api's `Vehicle.pre2021`.

    Model S or X (4th character) with model year 2020 or earlier (10th character up to `L`), or
    2021 (`M`) with a plant/line code (8th character) of 1 to 4.
    """
    return vin[3:4] in ("S", "X") and (
        vin[9:10] <= "L" or (vin[9:10] == "M" and vin[7:8] in ("1", "2", "3", "4"))
    )


def sleep_model_for(vin: str) -> SleepModel:
    """Return the sleep model of a VIN: pre-2021 Model S and X are kept awake (`is_pre2021`)."""
    return SleepModel.KEPT_AWAKE if is_pre2021(vin) else SleepModel.SLEEPS


def command_signing_for(vin: str) -> CommandSigning:
    """Return what a VIN's car says about signing: `off` for pre-2021 S/X, else `required`.

    Tesla's deprecation notice exempts only Model S and X built before 2021 (`is_pre2021`);
    Model 3, Model Y, Cybertruck and newer S/X refuse plain REST commands. Where a car could
    answer `allowed`, the harsher `required` is played.
    """
    return CommandSigning.OFF if is_pre2021(vin) else CommandSigning.REQUIRED


class CommandError(Exception):
    """A command the car refuses; `reason` is the Fleet API's reason string."""

    def __init__(self, reason: str) -> None:
        """Keep the reason the car gives."""
        super().__init__(reason)
        self.reason = reason


class CarAsleep(Exception):
    """The infotainment computer is asleep: data and commands get no answer."""


@dataclass
class VirtualCar:
    """A Tesla's state and behaviour, with a clock that tests and benchmarks may replace."""

    vin: str = "5YJ3E7EB0NF000001"
    display_name: str = "Demo Model 3"
    vehicle_id: int = 1_492_931_337
    clock: Clock = time.monotonic
    wall_clock: Clock = time.time
    idle_sleep_s: float = IDLE_SLEEP_S
    wake_duration_s: float = WAKE_DURATION_S
    sleep_model: SleepModel | None = None
    """None: the model the VIN says (see `sleep_model_for`)."""
    command_signing: CommandSigning | None = None
    """None: what the VIN says (see `command_signing_for`)."""

    locked: bool = True
    doors: dict[str, int] = field(default_factory=lambda: {"df": 0, "dr": 0, "pf": 0, "pr": 0})
    windows: dict[str, int] = field(
        default_factory=lambda: {"fd": WINDOW_CLOSED, "rd": WINDOW_CLOSED, "fp": 0, "rp": 0}
    )
    trunk_open: bool = False
    frunk_open: bool = False
    charge_port_door_open: bool = True
    charge_port_latch: str = "Engaged"
    cable_connected: bool = True
    charging: bool = False
    battery_level: int = 72
    battery_range_mi: float = 231.4
    charge_limit_soc: int = 80
    charge_current_request: int = 16
    charge_current_request_max: int = 32
    climate_on: bool = False
    inside_temp_c: float = 18.5
    outside_temp_c: float = 11.0
    driver_temp_setting_c: float = 21.0
    passenger_temp_setting_c: float = 21.0
    sentry_mode: bool = False
    latitude: float = 52.3731
    longitude: float = 4.8922
    heading: int = 90
    odometer_mi: float = 18_342.7
    tpms_bar: dict[str, float] = field(
        default_factory=lambda: {"fl": 2.9, "fr": 2.9, "rl": 2.875, "rr": 2.9}
    )
    car_version: str = "2025.14.3 1a2b3c4d5e"
    shift_state: str | None = None
    speed_mph: int | None = None
    user_present: bool = False

    asleep: bool = False
    waking_until: float | None = None
    last_activity: float = 0.0
    executions: Counter[str] = field(default_factory=Counter)
    wakes: Counter[str] = field(default_factory=Counter)
    listeners: list[Callable[[], None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Start awake and active now, with the VIN's sleep model and signing unless given."""
        self.last_activity = self.clock()
        if self.sleep_model is None:
            self.sleep_model = sleep_model_for(self.vin)
        if self.command_signing is None:
            self.command_signing = command_signing_for(self.vin)
        else:
            self.command_signing = CommandSigning(self.command_signing)

    # -- sleep ---------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The Fleet API's free state: online, asleep (also while waking up)."""
        self._tick()
        return "asleep" if self.asleep else "online"

    @property
    def keeps_awake(self) -> bool:
        """Whether something stops the car from falling asleep.

        While it does, the car counts as active; the idle period starts once nothing does (call
        `touch` before ending what kept it awake, so the car sees the moment it ended).
        """
        return (
            self.charging
            or self.climate_on
            or self.sentry_mode
            or self.user_present
            or self.shift_state not in (None, "P")
        )

    def _tick(self) -> None:
        now = self.clock()
        if self.asleep and self.waking_until is not None and now >= self.waking_until:
            self.asleep = False
            self.waking_until = None
            self.last_activity = now
            self._notify()
        elif not self.asleep and self.keeps_awake:
            self.last_activity = now
        elif not self.asleep and now - self.last_activity >= self.idle_sleep_s:
            self.asleep = True
            self._notify()

    def touch(self) -> None:
        """Record activity that keeps an awake car from sleeping."""
        self._tick()
        if not self.asleep:
            self.last_activity = self.clock()

    def data_request(self) -> None:
        """Take a Fleet API `vehicle_data` request that reached the awake car (see SleepModel)."""
        if self.sleep_model is SleepModel.KEPT_AWAKE:
            self.touch()
        else:
            self._tick()

    def wake(self, via: str) -> str:
        """Start waking the car (or keep it awake) and return its state now."""
        self._tick()
        if self.asleep:
            if self.waking_until is None:
                self.wakes[via] += 1
                self.waking_until = self.clock() + self.wake_duration_s
            return "asleep"
        self.last_activity = self.clock()
        return "online"

    def sleep_now(self) -> None:
        """Put the car to sleep at once (the demo's and tests' switch)."""
        self.asleep = True
        self.waking_until = None
        self.climate_on = False
        self.user_present = False
        self._notify()

    def require_awake(self) -> None:
        """Raise CarAsleep unless the infotainment computer is awake."""
        self._tick()
        if self.asleep:
            raise CarAsleep

    def _notify(self) -> None:
        for listener in list(self.listeners):
            listener()

    # -- commands ------------------------------------------------------------------------------

    def execute(
        self,
        name: str,
        params: dict[str, Any] | None = None,
        *,
        via: str,
        needs_infotainment: bool = True,
    ) -> None:
        """Run a command by its Fleet API name; counts every execution per name and face.

        The security controller's commands (locks, closures) run while infotainment sleeps when
        they arrive over Bluetooth, so that face passes needs_infotainment=False for them.
        """
        if needs_infotainment:
            self.require_awake()
        handler = COMMANDS.get(name)
        if handler is None:
            raise CommandError(f"unknown command {name}")
        handler(self, params or {})
        self.executions[name] += 1
        self.executions[f"{via}:{name}"] += 1
        self.last_activity = self.clock()
        self._notify()

    # -- reads ---------------------------------------------------------------------------------

    @property
    def charging_state(self) -> str:
        """Charging state as the Fleet API words it."""
        if not self.cable_connected:
            return "Disconnected"
        if self.charging:
            return "Charging"
        if self.battery_level >= self.charge_limit_soc:
            return "Complete"
        return "Stopped"

    @property
    def charger_power_kw(self) -> int:
        """Power drawn from the charger."""
        return round(self.charge_current_request * 230 / 1000) if self.charging else 0

    @property
    def charge_rate_mph(self) -> float:
        """Range added per hour of charging."""
        return round(self.charger_power_kw * 3.6, 1) if self.charging else 0.0

    @property
    def time_to_full_charge_h(self) -> float:
        """Hours left until the charge limit at the current rate."""
        if not self.charging or self.charger_power_kw == 0:
            return 0.0
        missing_kwh = max(0, self.charge_limit_soc - self.battery_level) * 0.75
        return round(missing_kwh / self.charger_power_kw, 2)


def _bounded(params: dict[str, Any], key: str, low: float, high: float) -> float:
    try:
        value = float(params[key])
    except (KeyError, TypeError, ValueError) as err:
        raise CommandError(f"invalid {key}") from err
    if not low <= value <= high:
        raise CommandError(f"{key} out of range")
    return value


def _set_window(car: VirtualCar, params: dict[str, Any]) -> None:
    command = params.get("command")
    if command not in ("vent", "close"):
        raise CommandError("invalid command")
    position = WINDOW_VENT if command == "vent" else WINDOW_CLOSED
    for key in car.windows:
        car.windows[key] = position


def _actuate_trunk(car: VirtualCar, params: dict[str, Any]) -> None:
    which = params.get("which_trunk")
    if which == "rear":
        car.trunk_open = not car.trunk_open
    elif which == "front":
        if car.frunk_open:
            raise CommandError("frunk can only be closed by hand")
        car.frunk_open = True
    else:
        raise CommandError("invalid which_trunk")


def _charge_start(car: VirtualCar, _: dict[str, Any]) -> None:
    if not car.cable_connected:
        raise CommandError("not_plugged_in")
    if car.charging:
        raise CommandError("is_charging")
    car.charging = True


def _charge_stop(car: VirtualCar, _: dict[str, Any]) -> None:
    if not car.charging:
        raise CommandError("not_charging")
    car.charging = False


def _set_temps(car: VirtualCar, params: dict[str, Any]) -> None:
    car.driver_temp_setting_c = _bounded(params, "driver_temp", *TEMP_RANGE_C)
    car.passenger_temp_setting_c = _bounded(
        {"passenger_temp": params.get("passenger_temp", car.driver_temp_setting_c)},
        "passenger_temp",
        *TEMP_RANGE_C,
    )


def _set_charge_limit(car: VirtualCar, params: dict[str, Any]) -> None:
    car.charge_limit_soc = int(_bounded(params, "percent", *CHARGE_LIMIT_RANGE))


def _set_charging_amps(car: VirtualCar, params: dict[str, Any]) -> None:
    car.charge_current_request = int(
        _bounded(params, "charging_amps", CHARGE_CURRENT_RANGE[0], car.charge_current_request_max)
    )


def _set_sentry(car: VirtualCar, params: dict[str, Any]) -> None:
    car.sentry_mode = bool(params.get("on"))


def _port_open(car: VirtualCar, _: dict[str, Any]) -> None:
    """Open the charge port door, or unlock the cable when one is latched.

    Tesla's command reference for `charge_port_door_open`: "Opens the charge port or unlocks the
    cable"; the Fleet API has no separate unlock endpoint.
    """
    car.charge_port_door_open = True
    car.charge_port_latch = "Disengaged"


def _port_close(car: VirtualCar, _: dict[str, Any]) -> None:
    if car.cable_connected:
        raise CommandError("cable connected")
    car.charge_port_door_open = False


def _noop(_car: VirtualCar, _: dict[str, Any]) -> None:
    """Flash and honk change nothing the car reports; the execution counter records them."""


def _set_attr(attr: str, value: Any) -> Callable[[VirtualCar, dict[str, Any]], None]:
    def handler(car: VirtualCar, _: dict[str, Any]) -> None:
        setattr(car, attr, value)

    return handler


COMMANDS: dict[str, Callable[[VirtualCar, dict[str, Any]], None]] = {
    "door_lock": _set_attr("locked", True),
    "door_unlock": _set_attr("locked", False),
    "actuate_trunk": _actuate_trunk,
    "auto_conditioning_start": _set_attr("climate_on", True),
    "auto_conditioning_stop": _set_attr("climate_on", False),
    "set_temps": _set_temps,
    "charge_start": _charge_start,
    "charge_stop": _charge_stop,
    "set_charge_limit": _set_charge_limit,
    "set_charging_amps": _set_charging_amps,
    "charge_port_door_open": _port_open,
    "charge_port_door_close": _port_close,
    "flash_lights": _noop,
    "remote_start_drive": _noop,
    "honk_horn": _noop,
    "set_sentry_mode": _set_sentry,
    "window_control": _set_window,
}
"""Every command the integration's entities send, by Fleet API name."""

NON_IDEMPOTENT = frozenset({"actuate_trunk", "flash_lights", "honk_horn"})
"""Commands whose second execution does something the first did not."""
